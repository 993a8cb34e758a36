"""Ledger fixtures: a fresh SQLite file per test, and one throwaway PostgreSQL server per session.

The PostgreSQL server is real (``tests/pg.py`` runs initdb into a temp dir and serves on a free
loopback port), so the PostgreSQL tests need its binaries: ``scripts/ensure-postgres.sh``
installs them. Without them the tests skip on a laptop and fail under ``CI``, where a skipped
backend would otherwise pass unnoticed.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest

from tests import pg


def _unavailable(reason: str) -> None:
    if os.environ.get("CI"):
        pytest.fail(f"PostgreSQL ledger tests cannot run under CI: {reason}", pytrace=False)
    pytest.skip(f"PostgreSQL ledger tests skipped: {reason}")


@pytest.fixture(scope="session")
def pg_server() -> Iterator[pg.PgServer]:
    try:
        import psycopg  # noqa: F401
    except ImportError:
        _unavailable("psycopg is not installed (pip install -e '.[dev]')")
    try:
        server = pg.start(durable=False)
    except pg.PgUnavailable as exc:
        _unavailable(str(exc))
        raise  # unreachable: _unavailable always raises
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def pg_url(pg_server: pg.PgServer) -> str:
    """A fresh, empty database on the session's server."""
    return pg_server.create_database(f"t_{uuid.uuid4().hex[:12]}")
