"""``submit_batch``: check the items, estimate at batch prices, submit once (docs/batch.md).

The journal is written before the create call (``submitting``) and after it (the batch id); the
create call is never retried by the client, since a retried create could make two batches. A
rerun that finds ``submitting`` without an id looks for the batch (``_recover``) before creating.
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty.batch.context import BatchError, CostRefused, Ctx, api_error, epoch, open_context, prices_here
from thrifty.batch.costs import Estimate, estimate
from thrifty.batch.input import BatchInputError, BatchItem, api_requests, build_items, read_jsonl, request_key
from thrifty.batch.journal import Submission

if TYPE_CHECKING:
    import anthropic

#: Created batches are looked for this long before the journaled start (clocks differ).
RECOVER_SLACK_S = 300.0


@dataclass(frozen=True)
class Submitted:
    estimate: Estimate
    #: ``None`` for a dry run.
    batch_id: str | None
    #: ``created``, ``journaled`` (submitted earlier: nothing sent), ``recovered`` (found among the
    #: account's batches after an interrupted submit), or ``dry-run``.
    how: str


def load_items(
    items: str | Path | Iterable[Mapping[str, Any]], *, model: str | None, max_tokens: int | None
) -> tuple[list[BatchItem], str]:
    """The checked items and where they came from (the file, or ``sdk``)."""
    from thrifty.agent.options import DEFAULT_MODEL, resolve_model

    default_model = resolve_model(model or os.environ.get("ANTHROPIC_MODEL") or DEFAULT_MODEL)
    if isinstance(items, str | Path):
        path = Path(items)
        raws = read_jsonl(path)
        source = str(path.resolve())
    else:
        raws = [(f"item {i}", raw) for i, raw in enumerate(items, 1)]
        source = "sdk"
    return build_items(raws, default_model=default_model, default_max_tokens=max_tokens), source


async def submit_batch(
    items: str | Path | Iterable[Mapping[str, Any]],
    *,
    model: str | None = None,
    max_tokens: int | None = None,
    max_cost_usd: Decimal | str | float | None = None,
    dry_run: bool = False,
    new: bool = False,
    client: anthropic.AsyncAnthropic | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    ledger: str | None = None,
) -> Submitted:
    """Check ``items`` (a JSONL path or dicts), estimate at batch prices, and submit them once.

    Raises ``BatchInputError`` for a bad item, ``CostRefused`` when the high estimate passes
    ``max_cost_usd`` (nothing is sent), ``BatchError`` otherwise. The same items submitted again
    return the journaled batch (``how="journaled"``) unless ``new``.
    """
    batch_items, source = load_items(items, model=model, max_tokens=max_tokens)
    cap = _cap(max_cost_usd)
    guess = estimate(batch_items, prices_here(cwd, env, ledger))
    if cap is not None:
        if guess.high_usd is None:
            raise CostRefused(
                f"cannot check --max-cost-usd: no known price for {', '.join(guess.unpriced)}", guess
            )
        if guess.high_usd > cap:
            raise CostRefused(
                f"refused: the high estimate ${guess.high_usd:.4f} passes --max-cost-usd ${cap}; "
                "nothing was sent",
                guess,
            )
    if dry_run:
        return Submitted(guess, None, "dry-run")
    async with open_context(client, cwd, env, ledger, record=False) as ctx:
        with ctx.journal.locked(request_key(batch_items)):
            return await _submit(ctx, batch_items, source, guess, new)


def _cap(value: Decimal | str | float | None) -> Decimal | None:
    if value is None:
        return None
    try:
        cap = Decimal(str(value))
    except InvalidOperation:
        cap = Decimal("NaN")
    if not cap.is_finite() or cap < 0:
        raise BatchInputError(f"max_cost_usd: {value!r} is not an amount in USD")
    return cap


async def _submit(ctx: Ctx, items: list[BatchItem], source: str, guess: Estimate, new: bool) -> Submitted:
    key = request_key(items)
    found = None if new else ctx.journal.get(key)
    if found is not None and found.batch_id:
        return Submitted(guess, found.batch_id, "journaled")
    ids = {item.custom_id: item.id for item in items}
    if found is not None:  # an earlier submit stopped between journaling and learning the id
        recovered = await _recover(ctx, found)
        if recovered is not None:
            ctx.journal.put_ids(recovered, ids, source)
            ctx.journal.put(Submission(key, "submitted", found.started_at, len(items), source, recovered))
            return Submitted(guess, recovered, "recovered")
    started = time.time()
    ctx.journal.put(Submission(key, "submitting", started, len(items), source))
    try:
        batch = await ctx.client.with_options(max_retries=0).messages.batches.create(
            requests=api_requests(items)  # type: ignore[arg-type]
        )
    except Exception as exc:
        import anthropic

        if isinstance(exc, anthropic.APIStatusError) and exc.status_code < 500:
            ctx.journal.forget(key)  # refused outright: nothing was created
        raise api_error(exc) from None
    ctx.journal.put_ids(batch.id, ids, source)
    ctx.journal.put(Submission(key, "submitted", started, len(items), source, batch.id))
    return Submitted(guess, batch.id, "created")


async def _recover(ctx: Ctx, found: Submission) -> str | None:
    """The batch an interrupted submit created, if the account has exactly one candidate: made
    since the journaled start (less ``RECOVER_SLACK_S``), with as many requests, and not already
    journaled. ``None`` when there is none (then it is created); ambiguity is a ``BatchError``."""
    known = ctx.journal.known_batches()
    since = found.started_at - RECOVER_SLACK_S
    candidates: list[str] = []
    try:
        async for batch in ctx.client.messages.batches.list(limit=100):
            if epoch(batch.created_at) < since:
                break  # newest first
            counts = batch.request_counts
            total = counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired
            if batch.id not in known and total == found.requests:
                candidates.append(batch.id)
    except Exception as exc:
        raise api_error(exc) from None
    if len(candidates) > 1:
        raise BatchError(
            f"an earlier submit of this input was interrupted and {len(candidates)} batches could be it "
            f"({', '.join(candidates)}); check them with 'thrifty batch status', then rerun with --new "
            "to submit anyway"
        )
    return candidates[0] if candidates else None
