"""Ledger URL -> backend: a path or ``sqlite://`` URL opens SQLite, ``postgresql://`` PostgreSQL.

A URL shown to a person goes through ``urls.mask_url``, never printed as typed: a team's
PostgreSQL URL usually carries a password.
"""

from __future__ import annotations

from pathlib import Path

from thrifty.billing import paths
from thrifty.billing.ledger.contract import Ledger, LedgerError
from thrifty.billing.ledger.urls import SCHEME, mask_url

ACCEPTED = "a file path, sqlite:///abs/path, or postgresql://user:password@host:port/db"
NO_DRIVER = "PostgreSQL ledger needs psycopg: pip install 'thrifty[postgres]'"


def sqlite_path(url: str) -> str:
    """The file path of a plain path or ``sqlite://`` URL (``sqlite:///abs/path`` -> ``/abs/path``)."""
    path = url[len("sqlite://") :] if url.startswith("sqlite://") else url
    if not path:
        raise LedgerError(f"empty SQLite ledger path in {url!r}; expected {ACCEPTED}")
    return path


def open_url(url: str | None) -> Ledger:
    if url is None:
        from thrifty.billing.ledger.sqlite import SqliteLedger

        return SqliteLedger(paths.default_ledger_path())
    if not url.strip():
        raise LedgerError(f"empty ledger URL; expected {ACCEPTED}")
    match = SCHEME.match(url)
    scheme = match.group(1).lower() if match else None
    if scheme in (None, "sqlite"):
        from thrifty.billing.ledger.sqlite import SqliteLedger

        return SqliteLedger(Path(sqlite_path(url)))
    if scheme in ("postgresql", "postgres"):
        try:
            import psycopg  # noqa: F401 - only to learn whether the optional driver is installed
        except ImportError:
            raise LedgerError(NO_DRIVER) from None
        from thrifty.billing.ledger.postgres import PostgresLedger

        return PostgresLedger(url)
    raise LedgerError(f"unsupported ledger URL {mask_url(url)!r}: expected {ACCEPTED}")
