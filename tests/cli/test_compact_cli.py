"""``thrifty -p`` past the context window: a ``compact_boundary`` frame, a ledger row for the
summary, ``/compact`` by hand, and ``--resume`` from the summary; and with compaction turned off,
the failure it used to be."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.agent.test_compact import reading_script, small_window
from tests.cli.conftest import Cli
from thrifty.billing.ledger import LedgerRow, RowQuery, open_ledger
from thrifty.testing import Simulator

PROMPT = "read big.txt"


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    """The usual ``cli``, against a simulator whose model has a 28,000-token window."""
    project = tmp_path / "project"
    home = tmp_path / "home"
    project.mkdir()
    home.mkdir()
    big = project / "big.txt"
    big.write_text("lorem ipsum dolor sit amet\n" * 1_200)
    with Simulator(reading_script(str(big)), catalog=small_window(28_000)) as sim:
        yield Cli(sim, project, home)


def ledger_rows(cli: Cli) -> list[LedgerRow]:
    db = open_ledger(str(cli.ledger_path))
    try:
        return list(db.query(RowQuery()))
    finally:
        db.close()


def run(cli: Cli, *args: str, **env: str) -> tuple[int, list[dict[str, Any]], str]:
    flags = ["--output-format", "stream-json", "--verbose", "--model", "sonnet", "--allowedTools", "Read"]
    done = cli(*args, *flags, env=cli.env(**env))
    return done.code, done.lines, done.stderr


def boundaries(frames: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [f for f in frames if f.get("type") == "system" and f.get("subtype") == "compact_boundary"]


def test_a_run_that_crosses_the_window_compacts_and_finishes(cli: Cli) -> None:
    code, frames, err = run(cli, "-p", PROMPT, "--tools", "Read")
    assert code == 0, err
    (boundary,) = boundaries(frames)
    assert boundary["compact_metadata"]["trigger"] == "auto"
    assert boundary["compact_metadata"]["pre_tokens"] > 28_000 / 2
    assert boundary["session_id"] == frames[0]["session_id"] and boundary["uuid"]
    assert boundary["compact_metadata"]["duration_ms"] >= 0
    result = frames[-1]
    assert result["subtype"] == "success" and result["result"] == "done after 0 reads"
    answered = [r for r in cli.sim.message_requests() if r.status == 200]
    rows = ledger_rows(cli)
    assert len(rows) == len(answered)  # the summary call is a row like any other
    assert result["total_cost_usd"] == pytest.approx(float(sum(r.cost_usd or 0 for r in rows)))

    # By hand, then a resume that goes on from the summary.
    session_id = result["session_id"]
    code, frames, err = run(cli, "-p", "/compact keep it short", "--resume", session_id, "--tools", "Read")
    assert code == 0, err
    (manual,) = boundaries(frames)
    assert manual["compact_metadata"]["trigger"] == "manual"
    assert frames[-1]["subtype"] == "success" and frames[-1]["num_turns"] == 0
    code, frames, err = run(cli, "-p", "what did you read?", "--resume", session_id, "--tools", "Read")
    assert code == 0, err
    sent = cli.sim.message_requests()[-1].body["messages"]
    assert "This session is being continued" in str(sent[0]["content"])
    assert frames[-1]["result"] == "done after 0 reads"


def test_disabled_auto_compact_fails_as_before(cli: Cli) -> None:
    code, frames, _ = run(cli, "-p", PROMPT, "--tools", "Read", DISABLE_AUTO_COMPACT="1")
    assert code == 1
    assert not boundaries(frames)
    result = frames[-1]
    assert result["is_error"] and result["result"] == "Prompt is too long"
    assert result["api_error_status"] == 400
