"""pytest fixtures for projects that test against the simulator (registered as ``thrifty_sim``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from thrifty.testing.clock import ManualClock
from thrifty.testing.simulator import Simulator


@pytest.fixture
def sim_clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def simulator(sim_clock: ManualClock) -> Iterator[Simulator]:
    """A running simulator with no script and a manual clock; set a script with ``set_script``."""
    with Simulator(clock=sim_clock) as sim:
        yield sim
