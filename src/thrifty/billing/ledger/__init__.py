"""The ledger: every billed call, once, in SQLite (default) or PostgreSQL (for teams).

Both backends implement ``Ledger`` and pass the same conformance suite
(``thrifty.billing.ledger.conformance``, shipped so a third-party backend can run it too).
"""

from __future__ import annotations

from thrifty.billing.ledger.contract import (
    GROUP_COLUMNS,
    LOGGED_COST_TAG,
    Bucket,
    CapCheck,
    Ledger,
    LedgerBusy,
    LedgerError,
    LoggedCosts,
    Recorded,
    Refusal,
    Reservation,
    ScopeSpend,
    read_logged_cost,
    scope_parts,
)
from thrifty.billing.ledger.open import open_url
from thrifty.billing.ledger.rows import LIVE_SOURCE, MODES, LedgerRow, RowQuery, completeness
from thrifty.billing.ledger.shared import SharedLedger, shared_ledger

__all__ = [
    "GROUP_COLUMNS",
    "LIVE_SOURCE",
    "LOGGED_COST_TAG",
    "MODES",
    "Bucket",
    "CapCheck",
    "Ledger",
    "LedgerBusy",
    "LedgerError",
    "LedgerRow",
    "LoggedCosts",
    "Recorded",
    "Refusal",
    "Reservation",
    "RowQuery",
    "ScopeSpend",
    "SharedLedger",
    "completeness",
    "open_ledger",
    "read_logged_cost",
    "scope_parts",
    "shared_ledger",
]


def open_ledger(url: str | None = None) -> Ledger:
    """Open (creating and migrating as needed) the ledger at ``url``.

    ``None`` or a plain path means SQLite (``None``: ``ledger.sqlite3`` in the platform data dir);
    ``sqlite:///path`` likewise; ``postgresql://...`` / ``postgres://...`` means PostgreSQL.
    """
    return open_url(url)
