"""Fixtures the usage tests share."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from thrifty.billing.ledger import Ledger, open_ledger


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    """A real SQLite ledger in the test's own directory."""
    led = open_ledger(str(tmp_path / "ledger.sqlite3"))
    yield led
    led.close()
