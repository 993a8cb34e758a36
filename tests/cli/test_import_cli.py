"""``thrifty import`` as a user runs it: a subprocess reading a generated Claude Code history
(``CLAUDE_CONFIG_DIR``) into a real SQLite ledger, then ``thrifty usage`` on the result."""

from __future__ import annotations

import os
import pty
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from tests.cli.conftest import Cli, Run
from tests.usage.cc_history import TEST_PROFILE, History, generate
from thrifty.billing.prices import bundled_prices
from thrifty.core.usage import Usage

SEED = 4


@pytest.fixture
def history(tmp_path: Path) -> History:
    return generate(tmp_path / "claude", seed=SEED, min_sessions=12, profile=TEST_PROFILE)


def run(cli: Cli, history: History | Path, *args: str) -> Run:
    config = history.config_dir if isinstance(history, History) else history
    return cli("import", *args, env=cli.env(CLAUDE_CONFIG_DIR=str(config)))


def test_import_then_daily_report_matches_the_history(cli: Cli, history: History) -> None:
    result = run(cli, history, "--json")
    assert result.code == 0, result.stderr
    doc = result.json
    assert doc["ledger"] == str(cli.ledger_path) and doc["mode"] == "plan"
    assert doc["dirs"] == [str(history.config_dir)] and doc["dirs_from"] == "CLAUDE_CONFIG_DIR"
    assert (doc["files_total"], doc["bytes_total"], doc["lines"]) == (
        len(history.files),
        history.size,
        history.lines,
    )
    assert (doc["calls_imported"], doc["usage_lines"], doc["duplicates"]) == (
        len(history.calls),
        history.usage_lines,
        history.duplicates,
    )
    assert doc["skipped"] == dict(sorted(history.skipped.items()))
    assert result.stderr == ""

    report = cli(
        "usage", "daily", "--json", "--timezone", "UTC", "--mode", "plan", "--cost-mode", "calculate"
    )
    assert report.code == 0, report.stderr
    rows = {row["key"]: row for row in report.json["rows"] if row["mode"] == "plan"}
    prices = bundled_prices()
    for day, totals in history.by_day().items():
        row = rows.pop(day)
        assert (row["calls"], row["input_tokens"], row["output_tokens"]) == (
            totals.calls,
            totals.input_tokens,
            totals.output_tokens,
        )
        assert (row["cache_write_tokens"], row["cache_read_tokens"]) == (
            totals.cache_write_tokens,
            totals.cache_read_tokens,
        )
        costs = [
            prices.cost(c.model, Usage.from_api(c.usage())) for c in history.calls.values() if c.day == day
        ]
        assert Decimal(row["cost"]) == sum((c for c in costs if c is not None), Decimal(0))
        assert row["cost_complete"] is (None not in costs)
    assert rows == {}

    # The default cost mode (auto, as ccusage's) prefers the cost Claude Code logged.
    auto = cli("usage", "monthly", "--json", "--timezone", "UTC", "--mode", "plan")
    expected = Decimal(0)
    for c in history.calls.values():
        cost = Decimal(c.logged_cost) if c.logged_cost else prices.cost(c.model, Usage.from_api(c.usage()))
        expected += cost or 0
    assert Decimal(auto.json["totals"]["plan"]["cost"]) == expected


def test_a_second_import_reads_nothing_and_full_reads_all_again(cli: Cli, history: History) -> None:
    assert run(cli, history).code == 0
    again = run(cli, history, "--json").json
    assert (again["files_read"], again["bytes_read"], again["calls_imported"]) == (0, 0, 0)
    full = run(cli, history, "--json", "--full").json
    assert (full["bytes_read"], full["calls_imported"], full["full"]) == (history.size, 0, True)
    assert full["duplicates"] == history.usage_lines


def test_text_summary_names_the_ledger_and_the_figures(cli: Cli, history: History) -> None:
    result = run(cli, history)
    assert result.code == 0, result.stderr
    out = result.stdout
    assert f"Imported Claude Code usage into {cli.ledger_path}" in out
    assert "mode plan: api-equivalent estimate, not billed" in out
    assert f"{len(history.calls):,} new, {history.duplicates:,} duplicate lines" in out
    assert f"{history.skipped['malformed']:,} malformed" in out and "synthetic" in out
    assert f"{history.lines:,} read, {history.usage_lines:,} with usage" in out


def test_mode_api_into_a_named_ledger(cli: Cli, history: History, tmp_path: Path) -> None:
    ledger = tmp_path / "team.sqlite3"
    result = run(cli, history, "--mode", "api", "--ledger", str(ledger), "--json")
    assert result.code == 0, result.stderr
    assert result.json["ledger"] == str(ledger)
    report = cli("usage", "monthly", "--json", "--ledger", str(ledger), "--timezone", "UTC")
    totals = report.json["totals"]
    assert totals["api"]["calls"] == len(history.calls) and totals["plan"]["calls"] == 0
    assert not cli.ledger_path.exists()  # the default ledger was left alone


def test_claude_dir_flags_override_the_environment(cli: Cli, history: History) -> None:
    result = cli(
        "import",
        "--json",
        "--claude-dir",
        str(history.projects_dir),  # a projects/ dir works too
        env=cli.env(CLAUDE_CONFIG_DIR="/nonexistent"),
    )
    assert result.code == 0, result.stderr
    assert result.json["dirs_from"] == "--claude-dir" and result.json["calls_imported"] == len(history.calls)


def test_no_claude_data_is_a_one_line_error(cli: Cli, tmp_path: Path) -> None:
    missing = tmp_path / "nowhere"
    result = run(cli, missing)
    assert result.code == 1 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and result.stderr.startswith("error: no Claude Code data found")
    assert str(missing) in result.stderr and "CLAUDE_CONFIG_DIR" in result.stderr

    default = cli("import", env=cli.env())  # HOME has neither ~/.config/claude nor ~/.claude
    assert default.code == 1
    assert str(cli.home / ".claude") in default.stderr and "--claude-dir" in default.stderr


def test_bad_arguments_exit_1(cli: Cli, history: History) -> None:
    for args in (["--mode", "batch"], ["--progress", "--no-progress"], ["--workers", "-1"], ["codex"]):
        result = run(cli, history, *args)
        assert result.code == 1 and result.stderr.startswith("error:"), args


def _on_a_terminal(cli: Cli, history: History, *args: str) -> tuple[int, str, str]:
    """Run with stderr on a pseudo-terminal (as in an interactive shell), stdout on a pipe."""
    leader, follower = pty.openpty()
    proc = subprocess.Popen(
        [sys.executable, "-m", "thrifty", "import", *args],
        cwd=cli.cwd,
        env=cli.env(CLAUDE_CONFIG_DIR=str(history.config_dir), COLUMNS="100"),
        stdout=subprocess.PIPE,
        stderr=follower,
        text=True,
    )
    os.close(follower)
    chunks = []
    while True:
        try:
            data = os.read(leader, 65536)
        except OSError:  # EIO: the child closed the terminal
            break
        if not data:
            break
        chunks.append(data)
    out = proc.stdout.read() if proc.stdout else ""
    code = proc.wait(timeout=60)
    os.close(leader)
    return code, out, b"".join(chunks).decode(errors="replace")


def test_progress_bar_only_on_a_terminal_and_never_with_json(cli: Cli, history: History) -> None:
    code, out, err = _on_a_terminal(cli, history, "--progress", "--full")
    assert code == 0 and "Imported Claude Code usage" in out
    assert "importing Claude Code usage" in err

    code, out, err = _on_a_terminal(cli, history, "--full")  # small: no bar unless asked
    assert code == 0 and "importing" not in err

    code, out, err = _on_a_terminal(cli, history, "--progress", "--json", "--full")
    assert code == 0 and out.startswith("{") and "importing" not in err

    piped = run(cli, history, "--progress", "--full")  # stderr is not a terminal
    assert piped.code == 0 and piped.stderr == ""
