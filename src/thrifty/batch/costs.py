"""What a batch will cost before it is sent, and the ledger row and output line of each result.

The estimate is ``billing.estimate``'s deliberately high guess at batch prices: input priced as an
uncached 5-minute cache write, output ``typical`` at its default guess and ``high`` at each
request's full ``max_tokens``. ``--max-cost-usd`` is checked against ``high``.

A succeeded result is one ledger row: request id ``batch:<batch id>:<custom id>`` (the ledger's
natural key, so recording it again changes nothing), mode ``batch``, priced with
``PriceTable.cost(..., batch=True)``: exactly the batch discount times the live price of the same
usage. Errored, canceled and expired requests are not billed and get no row.

An agent's batched call (``batch.pool``) has the same request id and price, and the session id
and tags of the session that made it (``batch_row``), so its row is the same whether the
session's meter wrote it or the pool (or a rerun) did for a session that could not.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from thrifty.batch.input import STRUCTURED_TOOL, BatchItem
from thrifty.billing.estimate import input_tokens, next_call_cost
from thrifty.billing.ledger import LedgerRow
from thrifty.billing.prices import PriceTable
from thrifty.core.usage import Usage

if TYPE_CHECKING:
    from thrifty.batch.pool_journal import Owner


@dataclass(frozen=True)
class Estimate:
    requests: int
    input_tokens: int
    max_output_tokens: int
    #: At batch prices; ``None`` when some model has no known price (``unpriced`` names them).
    typical_usd: Decimal | None
    high_usd: Decimal | None
    unpriced: tuple[str, ...]

    def describe(self) -> str:
        head = (
            f"estimate: {self.requests} request{'s' * (self.requests != 1)}, ~{self.input_tokens:,} input "
            f"tokens, at most {self.max_output_tokens:,} output tokens"
        )
        if self.typical_usd is None or self.high_usd is None:
            return f"{head}; no known price for {', '.join(self.unpriced)}"
        return f"{head}: typical ${self.typical_usd:.4f}, high ${self.high_usd:.4f} at batch prices"

    def to_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests,
            "input_tokens": self.input_tokens,
            "max_output_tokens": self.max_output_tokens,
            "typical_usd": None if self.typical_usd is None else f"{self.typical_usd:f}",
            "high_usd": None if self.high_usd is None else f"{self.high_usd:f}",
            "unpriced": list(self.unpriced),
        }


def estimate(items: list[BatchItem], prices: PriceTable) -> Estimate:
    typical = high = Decimal(0)
    unpriced: list[str] = []
    tokens = outputs = 0
    for item in items:
        model, params = item.params["model"], item.params
        tokens += input_tokens(params)
        outputs += int(params["max_tokens"])
        low = next_call_cost(prices, model, params)
        top = next_call_cost(prices, model, params, output_guess=int(params["max_tokens"]))
        if low is None or top is None:
            if model not in unpriced:
                unpriced.append(model)
            continue
        typical += low
        high += top
    if unpriced:
        return Estimate(len(items), tokens, outputs, None, None, tuple(unpriced))
    discount = prices.batch_discount
    return Estimate(len(items), tokens, outputs, typical * discount, high * discount, ())


def request_id(batch_id: str, custom_id: str) -> str:
    return f"batch:{batch_id}:{custom_id}"


@dataclass(frozen=True)
class Who:
    """Who pays, stamped on every row: the credential's label and the project."""

    account: str
    project: str


def ledger_row(
    batch_id: str,
    custom_id: str,
    item_id: str | int,
    message: dict[str, Any],
    prices: PriceTable,
    who: Who,
    at: datetime,
) -> LedgerRow:
    """The row of one ``thrifty batch`` result: its own session, tagged with where it came from."""
    tags = {"batch_id": batch_id, "custom_id": custom_id, "item_id": str(item_id)}
    return _row(batch_id, custom_id, message, prices, at, f"batch:{batch_id}", who.account, who.project, tags)


def batch_row(
    batch_id: str, custom_id: str, owner: Owner, message: dict[str, Any], prices: PriceTable, at: datetime
) -> LedgerRow:
    """The row the session's meter writes for this result (same request id, so one of the two is
    kept): the pool writes it for a result no session took, and a rerun for a killed run's."""
    who = (owner.session_id, owner.account, owner.project)
    return _row(batch_id, custom_id, message, prices, at, *who, dict(owner.tags))


def _row(
    batch_id: str,
    custom_id: str,
    message: dict[str, Any],
    prices: PriceTable,
    at: datetime,
    session_id: str,
    account: str,
    project: str,
    tags: dict[str, str],
) -> LedgerRow:
    usage = Usage.from_api(message.get("usage") or {})
    model = str(message.get("model") or "")
    return LedgerRow(
        request_id=request_id(batch_id, custom_id),
        session_id=session_id,
        mode="batch",
        account=account,
        model=model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_write_5m_tokens=usage.cache_write_5m_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cost_usd=prices.cost(model, usage, batch=True, at=at),
        price_version=prices.version_for(model),
        project=project,
        recorded_at=at,
        tags=tags,
        message_id=message.get("id"),
        web_search_requests=usage.web_search_requests,
        web_fetch_requests=usage.web_fetch_requests,
    )


def output_line(
    custom_id: str,
    item_id: str | int,
    result: dict[str, Any],
    row: LedgerRow | None,
) -> dict[str, Any]:
    """One line of ``results``: keyed by the caller's id, the exact cost as a decimal string."""
    status = str(result.get("type"))
    message = result.get("message") if status == "succeeded" else None
    out: dict[str, Any] = {"id": item_id, "custom_id": custom_id, "status": status, "text": None}
    if isinstance(message, dict):
        blocks = [b for b in message.get("content") or [] if isinstance(b, dict)]
        texts = [str(b.get("text", "")) for b in blocks if b.get("type") == "text"]
        out["text"] = "".join(texts) if texts else None
        forced = [
            b.get("input") for b in blocks if b.get("type") == "tool_use" and b.get("name") == STRUCTURED_TOOL
        ]
        if forced:
            out["structured_output"] = forced[0]
            if out["text"] is None:
                out["text"] = json.dumps(forced[0], ensure_ascii=False)
    out["message"] = message
    out["usage"] = message.get("usage") if isinstance(message, dict) else None
    out["cost_usd"] = None if row is None or row.cost_usd is None else f"{row.cost_usd:f}"
    if status == "errored":
        out["error"] = result.get("error")
    return out
