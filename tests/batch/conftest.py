from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from thrifty.billing.ledger import Ledger, open_ledger
from thrifty.billing.paths import default_ledger_path
from thrifty.testing import Simulator
from thrifty.testing.clock import ManualClock

#: The batch's processing delay on the simulator's manual clock.
PROCESSING_S = 60.0

SCRIPT = {
    "conversations": [
        {
            "match": "structured",
            "turns": [{"tool_use": {"name": "StructuredOutput", "input": {"answer": "42"}}}],
        },
        {"match": "", "turns": [{"text": "A short answer."}]},
    ]
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[Simulator]:
    with Simulator(SCRIPT, clock=clock, batch_processing_seconds=PROCESSING_S) as running:
        yield running


@pytest.fixture
def project(tmp_path: Path) -> Path:
    where = tmp_path / "project"
    where.mkdir()
    return where


@pytest.fixture
def ledger() -> Iterator[Ledger]:
    opened = open_ledger(str(default_ledger_path(os.environ)))
    yield opened
    opened.close()
