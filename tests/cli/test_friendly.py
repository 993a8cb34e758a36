"""The friendlier CLI of issue 18, as a user meets it: a subprocess over a real SQLite ledger.

"Did you mean" for a mistyped view or sub-command, the short flags, ``--last``/``--order`` (with
totals that match the rows shown), the hint when the ledger is empty but a Claude Code history
waits to be imported, and ``thrifty advise`` leading with its verdict.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest

from tests.cli.conftest import Run
from tests.ledger_sandbox import LedgerSandbox
from tests.usage.history import Profile, generate
from tests.usage.rows import make_row

DAY = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


class Thrifty(LedgerSandbox):
    def __call__(self, *args: str, **env: str) -> Run:
        return self.run(*args, **env)


@pytest.fixture
def thrifty(tmp_path: Path) -> Thrifty:
    return Thrifty(tmp_path)


@pytest.fixture
def days(thrifty: Thrifty) -> Thrifty:
    """Five days of API calls (1, 2, ... 5 calls at $0.01) and one plan call on the first."""
    rows = [make_row(at=DAY + timedelta(days=d, minutes=m)) for d in range(5) for m in range(d + 1)]
    thrifty.fill([*rows, make_row(at=DAY, mode="plan", cost="0.5")])
    return thrifty


def one_line_error(run: Run) -> str:
    assert run.code == 1, run
    assert run.stdout == "" and "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


# --- did you mean ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "meant"),
    [
        (["usage", "dayly"], "daily"),
        (["usage", "blokcs"], "blocks"),
        (["usage", "--mode", "plna"], "plan"),
        (["batch", "sumbit", "x.jsonl"], "submit"),
        (["completion", "bahs"], "bash"),
    ],
)
def test_a_mistyped_choice_names_the_likely_one(thrifty: Thrifty, args: list[str], meant: str) -> None:
    line = one_line_error(thrifty(*args))
    assert f"did you mean '{meant}'?" in line
    assert "choose from" not in line  # one suggestion, not the whole list


def test_a_word_far_from_every_view_still_lists_them(thrifty: Thrifty) -> None:
    line = one_line_error(thrifty("usage", "yearly"))
    assert "invalid choice" in line and "did you mean" not in line and "'daily'" in line


# --- short flags, --last, --order ------------------------------------------------------------


def test_short_flags_are_the_long_ones(days: Thrifty) -> None:
    long = days("usage", "--json", "--since", "2025-03-03", "--timezone", "UTC")
    short = days("usage", "-j", "-s", "2025-03-03", "--timezone", "UTC")
    assert long.code == short.code == 0, short.stderr
    assert short.json == long.json
    assert short.json["totals"]["api"]["calls"] == 3 + 4 + 5
    assert (
        days("advise", "-j", "-s", "2025-03-01", "--until", "2025-03-06").json["usage"]["all"]["calls"] == 16
    )


@pytest.mark.parametrize("command", [["status"], ["sessions"], ["import"]])
def test_every_json_flag_has_its_short_form(days: Thrifty, command: list[str]) -> None:
    (days.home / ".claude" / "projects").mkdir(parents=True, exist_ok=True)
    long, short = days(*command, "--json"), days(*command, "-j")
    assert long.code == short.code, short.stderr
    assert "unrecognized arguments" not in short.stderr
    assert short.stdout.strip() and type(short.json) is type(long.json)


def test_last_keeps_the_last_rows_and_totals_only_them(days: Thrifty) -> None:
    doc = days("usage", "daily", "-j", "--timezone", "UTC", "--last", "2").json
    api = [r for r in doc["rows"] if r["mode"] == "api"]
    assert [(r["key"], r["calls"]) for r in api] == [("2025-03-04", 4), ("2025-03-05", 5)]
    assert doc["totals"]["api"]["calls"] == 9
    assert Decimal(doc["totals"]["api"]["cost"]) == Decimal("0.09")
    plan = [r for r in doc["rows"] if r["mode"] == "plan"]
    assert [r["key"] for r in plan] == ["2025-03-01"] and doc["totals"]["plan"]["calls"] == 1


def test_order_desc_puts_the_newest_first(days: Thrifty) -> None:
    doc = days("usage", "daily", "-j", "--timezone", "UTC", "--order", "desc").json
    keys = [r["key"] for r in doc["rows"] if r["mode"] == "api"]
    assert keys == sorted(keys, reverse=True) and len(keys) == 5
    assert doc["totals"]["api"]["calls"] == 15
    text = days("usage", "daily", "--timezone", "UTC", "--order", "desc", "--last", "2").stdout
    assert text.index("2025-03-05") < text.index("2025-03-04") and "2025-03-03" not in text


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["blocks", "--last", "2"], "--last goes with the daily"),
        (["mismatches", "--order", "desc"], "--order goes with the daily"),
        (["--last", "0"], "--last must be"),
        (["--order", "newest"], "invalid choice"),
    ],
)
def test_last_and_order_are_refused_where_they_mean_nothing(
    days: Thrifty, args: list[str], needle: str
) -> None:
    assert needle in one_line_error(days("usage", *args))


# --- the empty report -----------------------------------------------------------------------


def test_empty_usage_points_at_a_claude_code_history(thrifty: Thrifty, tmp_path: Path) -> None:
    projects = tmp_path / "claude" / "projects" / "-work-app"
    projects.mkdir(parents=True)
    (projects / "0b7e.jsonl").write_text("{}\n")
    run = thrifty("usage", CLAUDE_CONFIG_DIR=str(tmp_path / "claude"))
    assert run.code == 0, run.stderr
    first, *rest = run.stdout.strip().splitlines()
    assert first == f"No usage recorded yet in {thrifty.ledger}."
    assert "Claude Code history found: 1 transcript in" in rest[0]
    assert "thrifty import" in rest[1]
    # Without a history the message stays one line; JSON never carries the hint.
    assert thrifty("usage").stdout.strip() == f"No usage recorded yet in {thrifty.ledger}."
    doc = thrifty("usage", "-j", CLAUDE_CONFIG_DIR=str(tmp_path / "claude")).json
    assert doc["rows"] == []


def test_the_default_claude_dir_is_found_too(thrifty: Thrifty) -> None:
    folder = thrifty.home / ".claude" / "projects" / "-work-app"
    folder.mkdir(parents=True)
    for name in ("a.jsonl", "b.jsonl"):
        (folder / name).write_text("{}\n")
    assert "2 transcripts in" in thrifty("usage", "session").stdout


# --- advise leads with its verdict -----------------------------------------------------------


def test_advise_puts_the_verdict_first(thrifty: Thrifty) -> None:
    thrifty.fill(generate(seed=5, profile=Profile(days=14)).rows)
    period = ["--since", "2025-03-03", "--until", "2025-03-16", "--timezone", "UTC"]
    doc = thrifty("advise", *period, "-j").json
    run = thrifty("advise", *period)
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == f"Verdict: {doc['verdict']['text']}"
    assert lines[1].startswith(f"  Usage: {doc['usage']['all']['calls']:,} calls")
    assert "Cheapest options that fit" in lines[2]
    table = next(i for i, line in enumerate(lines) if line.startswith("API-equivalent cost"))
    assert table > 3 and sum("Verdict:" in line for line in lines) == 1
    assert lines[-1].startswith("Rule: ") or any(line.startswith("Rule: ") for line in lines[-5:])
