"""The rows the ledger conformance cases write: every field set to something a backend could get wrong."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from thrifty.billing.ledger import LedgerRow

#: The time of ``make_row``'s rows: microseconds set, so a store that truncates them is caught.
T0 = datetime(2025, 3, 1, 12, 0, 0, 123456, tzinfo=UTC)


def make_row(request_id: str, **overrides: Any) -> LedgerRow:
    """A row with every field set to something a backend could get wrong; keywords override."""
    row = LedgerRow(
        request_id=request_id,
        session_id="sess-1",
        mode="api",
        account="ANTHROPIC_API_KEY",
        model="claude-sonnet-4-5",
        input_tokens=1200,
        output_tokens=345,
        cache_write_5m_tokens=10,
        cache_write_1h_tokens=20,
        cache_read_tokens=3000,
        cost_usd=Decimal("0.012345"),
        price_version="2025-03-01",
        project="/home/dev/project",
        recorded_at=T0,
        tags={"ticket": "ABC-1"},
        message_id=f"msg_{request_id}",
        rate_limits=None,
    )
    return replace(row, **overrides)


def at(minutes: float) -> datetime:
    """``T0`` plus ``minutes``."""
    return T0 + timedelta(minutes=minutes)
