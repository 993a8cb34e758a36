"""The ledger: every billed call, once, in SQLite (default) or PostgreSQL (for teams).

Both backends implement ``Ledger`` and pass the same conformance suite
(``tests/billing/ledger_conformance.py``).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from decimal import Decimal
from typing import Protocol

from thrifty.billing.ledger.rows import MODES, LedgerRow, RowQuery

__all__ = ["MODES", "Ledger", "LedgerError", "LedgerRow", "RowQuery", "open_ledger"]


class LedgerError(RuntimeError):
    """The ledger cannot be opened or written (bad URL, missing driver, unreachable server)."""


class Ledger(Protocol):
    #: Where the ledger lives, for display: a file path or a URL with any password masked.
    location: str

    def append(self, row: LedgerRow) -> bool:
        """Commit one row durably before returning. False if its request_id was already recorded."""
        ...

    def append_many(self, rows: Iterable[LedgerRow]) -> int:
        """Commit rows in one transaction; returns how many were new (duplicates are skipped)."""
        ...

    def query(self, q: RowQuery) -> list[LedgerRow]:
        """Matching rows, oldest first (by recorded_at, then request_id)."""
        ...

    def spend(self, *, mode: str, since: datetime, until: datetime | None = None) -> Decimal:
        """Sum of known costs of ``mode`` rows in [since, until); unknown (None) costs add nothing."""
        ...

    def latest_rate_limits(self, account: str) -> tuple[datetime, dict[str, str]] | None:
        """The newest row of ``account`` that carried plan-window headers, with when it was seen."""
        ...

    def close(self) -> None: ...


def open_ledger(url: str | None = None) -> Ledger:
    """Open (creating and migrating as needed) the ledger at ``url``.

    ``None`` or a plain path means SQLite (``None``: ``ledger.sqlite3`` in the platform data dir);
    ``sqlite:///path`` likewise; ``postgresql://...`` / ``postgres://...`` means PostgreSQL.
    """
    from thrifty.billing.ledger.open import open_url

    return open_url(url)
