"""Ledger rows for the report tests: only the fields a report reads vary."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime
from decimal import Decimal

from thrifty.billing.ledger.rows import LedgerRow

_ids = itertools.count()
T = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def make_row(
    *,
    n: int | None = None,
    at: datetime = T,
    mode: str = "api",
    cost: str | None = "0.01",
    model: str = "claude-sonnet-4-5",
    session: str = "s1",
    project: str = "/work/app",
    inp: int = 100,
    out: int = 10,
    cw5: int = 0,
    cw1: int = 0,
    cr: int = 0,
) -> LedgerRow:
    n = next(_ids) if n is None else n
    return LedgerRow(
        request_id=f"req_{n}",
        session_id=session,
        mode=mode,
        account="ANTHROPIC_API_KEY" if mode != "plan" else "login:max-5x",
        model=model,
        input_tokens=inp,
        output_tokens=out,
        cache_write_5m_tokens=cw5,
        cache_write_1h_tokens=cw1,
        cache_read_tokens=cr,
        cost_usd=None if cost is None else Decimal(cost),
        price_version="test",
        project=project,
        recorded_at=at,
    )
