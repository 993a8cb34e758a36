"""``batch_status``, ``batch_results`` and ``cancel_batch``; every result billed once in the ledger.

They talk to the API through the official client's ``messages.batches`` (``context.open_context``:
thrifty's normal credential resolution, or a caller's own ``client``). Results are ledger rows
keyed ``batch:<batch id>:<custom id>`` written in chunks, each its own transaction, so a poller
killed mid-way and rerun records only what is missing (docs/batch.md). Submitting is ``submit.py``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty.batch.context import BatchError, Ctx, NotReady, api_error, epoch, open_context
from thrifty.batch.costs import ledger_row, output_line

if TYPE_CHECKING:
    import anthropic

#: Rows per ledger transaction while collecting results.
ROW_CHUNK = 100


@dataclass(frozen=True)
class BatchStatus:
    batch_id: str
    processing_status: str
    counts: dict[str, int]
    created_at: str | None
    ended_at: str | None

    @property
    def ended(self) -> bool:
        return self.processing_status == "ended"

    def to_json(self) -> dict[str, Any]:
        return {
            "batch_id": self.batch_id,
            "processing_status": self.processing_status,
            "request_counts": self.counts,
            "created_at": self.created_at,
            "ended_at": self.ended_at,
        }


@dataclass
class BatchResults:
    batch_id: str
    lines: list[dict[str, Any]] = field(default_factory=list)
    #: Ledger rows this call added, and rows the ledger already held (an earlier run recorded them).
    recorded: int = 0
    already_recorded: int = 0
    cost_usd: Decimal = Decimal(0)


def _status(batch: Any) -> BatchStatus:
    def iso(value: Any) -> str | None:
        return value.astimezone(UTC).isoformat() if isinstance(value, datetime) else value

    counts = {k: int(v) for k, v in batch.request_counts.to_dict().items()}
    return BatchStatus(batch.id, batch.processing_status, counts, iso(batch.created_at), iso(batch.ended_at))


async def _retrieve(ctx: Ctx, batch_id: str) -> BatchStatus:
    try:
        return _status(await ctx.client.messages.batches.retrieve(batch_id))
    except Exception as exc:
        raise api_error(exc) from None


async def _wait(ctx: Ctx, batch_id: str, poll_interval: float, timeout: float | None) -> BatchStatus:
    deadline = None if timeout is None else time.monotonic() + timeout
    while True:
        status = await _retrieve(ctx, batch_id)
        if status.ended or (deadline is not None and time.monotonic() >= deadline):
            return status
        await asyncio.sleep(poll_interval)


async def batch_status(
    batch_id: str,
    *,
    wait: bool = False,
    poll_interval: float = 30.0,
    timeout: float | None = None,
    client: anthropic.AsyncAnthropic | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> BatchStatus:
    """The batch's processing status and counts; with ``wait``, once it has ended (or ``timeout``)."""
    async with open_context(client, cwd, env, None, record=False) as ctx:
        if wait:
            return await _wait(ctx, batch_id, poll_interval, timeout)
        return await _retrieve(ctx, batch_id)


async def cancel_batch(
    batch_id: str,
    *,
    client: anthropic.AsyncAnthropic | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> BatchStatus:
    """Ask the API to cancel the batch; requests already processed still have (billed) results."""
    async with open_context(client, cwd, env, None, record=False) as ctx:
        try:
            return _status(await ctx.client.messages.batches.cancel(batch_id))
        except Exception as exc:
            raise api_error(exc) from None


async def batch_results(
    batch_id: str,
    *,
    wait: bool = False,
    poll_interval: float = 30.0,
    timeout: float | None = None,
    client: anthropic.AsyncAnthropic | None = None,
    cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
    ledger: str | None = None,
    record: bool = True,
) -> BatchResults:
    """The batch's results keyed by the caller's ids, each succeeded one recorded in the ledger
    (once: a rerun adds only rows not yet there). ``NotReady`` while the batch has not ended."""
    async with open_context(client, cwd, env, ledger, record=record) as ctx:
        status = await (_wait(ctx, batch_id, poll_interval, timeout) if wait else _retrieve(ctx, batch_id))
        if not status.ended:
            processing = status.counts.get("processing", 0)
            raise NotReady(f"batch {batch_id} is {status.processing_status} ({processing} still processing)")
        ended = datetime.fromtimestamp(epoch(status.ended_at), UTC) if status.ended_at else _now()
        return await _collect(ctx, batch_id, ended)


async def _collect(ctx: Ctx, batch_id: str, ended: datetime) -> BatchResults:
    """Rows are dated (and priced) when the batch ended: when the API bills it, so reconcile
    places them on the same day as the bill, however late the results are collected."""
    ids = ctx.journal.ids(batch_id)
    out = BatchResults(batch_id)
    pending: list[Any] = []
    try:
        stream = await ctx.client.messages.batches.results(batch_id)
        async for entry in stream:
            result = entry.result.to_dict()
            custom_id = entry.custom_id
            item_id = ids.get(custom_id, custom_id)
            row = None
            message = result.get("message")
            if result.get("type") == "succeeded" and isinstance(message, dict):
                row = ledger_row(batch_id, custom_id, item_id, message, ctx.prices, ctx.who, ended)
                pending.append(row)
                out.cost_usd += row.cost_usd or 0
            out.lines.append(output_line(custom_id, item_id, result, row))
            if len(pending) >= ROW_CHUNK:
                _record(ctx, pending, out)
    except BatchError:
        raise
    except Exception as exc:
        raise api_error(exc) from None
    _record(ctx, pending, out)
    return out


def _record(ctx: Ctx, rows: list[Any], out: BatchResults) -> None:
    """One transaction per chunk: a run killed mid-way leaves whole chunks, the rerun the rest."""
    if not rows or ctx.ledger is None:
        rows.clear()
        return
    done = ctx.ledger.record_many(rows)
    added = len(done.new) + len(done.upgraded)
    out.recorded += added
    out.already_recorded += len(rows) - added
    rows.clear()


def _now() -> datetime:
    return datetime.now(UTC)
