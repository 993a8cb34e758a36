"""``thrifty statusline`` as Claude Code runs it: a subprocess with the status line JSON on stdin,
against a SQLite ledger filled by the test.

The figures are worked out from the rows below; where one depends on the clock (the burn rate,
"today" near midnight), the test computes it from the same rows and the ``now`` the command
reports, so a wrong sum or a figure from the wrong place fails as a plain mismatch.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Cli, Run, run_thrifty
from tests.cli.test_light_commands import heavy, imported
from tests.cli.test_usage_cli import Usage, make_row
from thrifty.billing.ledger import LedgerRow
from thrifty.usage.statusline import FIELDS, parse_input, render

MODEL = {"id": "claude-opus-4-5", "display_name": "Opus 4.5"}


def status(usage: Usage, *args: str, stdin: str | None = "{}", **env: str) -> Run:
    return thrifty(usage, "statusline", *args, stdin=stdin, **env)


def thrifty(usage: Usage, *args: str, stdin: str | None, **env: str) -> Run:
    """``thrifty ARGS`` in the project, ``stdin`` piped (``None``: no input at all)."""
    return run_thrifty(*args, cwd=usage.project, env={**usage.base_env, **env}, stdin=stdin)


def payload(session: str = "cc-1", **extra: Any) -> str:
    doc = {
        "session_id": session,
        "transcript_path": "/home/u/.claude/projects/p/cc-1.jsonl",
        "cwd": "/work/app",
        "model": MODEL,
        "workspace": {"current_dir": "/work/app", "project_dir": "/work/app"},
        "version": "2.1.90",
        "cost": {"total_cost_usd": 1.5, "total_duration_ms": 60000},
        "exceeds_200k_tokens": False,
    }
    return json.dumps({**doc, **extra})


def ok_line(run: Run) -> str:
    """The one line printed, after checking the run succeeded without a traceback."""
    assert run.code == 0, run.stderr
    assert "Traceback" not in run.stderr
    lines = run.stdout.splitlines()
    assert len(lines) == 1, run.stdout
    return lines[0]


def rows_now(project: Path) -> tuple[datetime, list[LedgerRow]]:
    """Session cc-1 on the plan (2 calls, $1.00, 500,000 weighted tokens), another session on the
    API today ($2.00), and an old plan call outside every window but the weekly one."""
    now = datetime.now(UTC)
    p, model = str(project.resolve()), "claude-sonnet-4-5"

    def at(minutes: float) -> str:
        return (now - timedelta(minutes=minutes)).isoformat()

    return now, [
        make_row(1, at(90), "plan", "cc-1", p, model, "0.75", 300_000, 50_000, cr=10**6),
        make_row(2, at(30), "plan", "cc-1", p, model, "0.25", 100_000, 50_000),
        make_row(3, at(20), "api", "s-api", p, model, "2.00", 1000, 100),
        make_row(4, at(3 * 24 * 60), "plan", "s-old", p, model, "9", 1, 1),
    ]


def today_cost(rows: list[LedgerRow], mode: str, now: datetime) -> Decimal:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return sum(
        (r.cost_usd or Decimal(0) for r in rows if r.mode == mode and r.recorded_at >= midnight), Decimal(0)
    )


@pytest.fixture
def usage(tmp_path: Path) -> Usage:
    return Usage(tmp_path)


@pytest.fixture
def filled(usage: Usage) -> tuple[Usage, list[LedgerRow]]:
    _, rows = rows_now(usage.project)
    usage.fill(rows)
    return usage, rows


def test_line_has_session_today_block_and_burn_from_the_ledger(filled: tuple[Usage, list[LedgerRow]]) -> None:
    usage, rows = filled
    run = status(usage, "--json", "--timezone", "UTC", stdin=payload())
    doc = run.json
    now = datetime.fromisoformat(doc["now"])
    assert run.code == 0 and doc["mode"] == "plan"
    session = doc["session"]
    assert (session["cost"], session["source"], session["ledger_calls"]) == ("1.00", "ledger", 2)
    assert session["claude_code_cost"] == "1.5"
    today = doc["today"]
    assert Decimal(today["cost"]) == today_cost(rows, "plan", now)
    # The API call is reported beside the plan's estimate, never added to it.
    assert Decimal(today["by_mode"].get("api", "0")) == today_cost(rows, "api", now)
    block = doc["block"]
    start = datetime.fromisoformat(block["start"])
    assert start == (now - timedelta(minutes=90)).replace(minute=0, second=0, microsecond=0)
    assert (block["calls"], block["cost"]) == (2, "1.00")
    elapsed = Decimal((now - start).total_seconds())
    assert Decimal(block["burn_usd_per_hour"]) == pytest.approx(
        Decimal("1.00") * 3600 / elapsed, rel=Decimal("1e-4")
    )
    assert doc["five_hour"] is None and doc["weekly"] is None and doc["plan"] is None  # no plan known
    line = ok_line(status(usage, "--no-color", "--timezone", "UTC", stdin=payload()))
    burn = Decimal(block["burn_usd_per_hour"]).quantize(Decimal("0.01"))
    assert line.startswith(
        f"Opus 4.5 | $1.00 session | ${today_cost(rows, 'plan', now):,.2f} today | $1.00 block ("
    )
    assert line.endswith(f"left) | ${burn}/h")


def test_session_falls_back_to_claude_codes_cost_when_the_ledger_has_none(filled: tuple[Usage, Any]) -> None:
    usage, _ = filled
    doc = status(usage, "--json", stdin=payload(session="not-imported-yet")).json
    assert (doc["session"]["cost"], doc["session"]["source"], doc["session"]["ledger_calls"]) == (
        "1.5",
        "claude-code",
        0,
    )
    assert doc["mode"] == "api"  # no session rows: the latest call's mode
    line = ok_line(status(usage, "--no-color", "--format", "{session} session", stdin=payload(session="x")))
    assert line == "$1.50 session"


def test_rate_limits_from_claude_code_win_over_the_ledger(filled: tuple[Usage, Any]) -> None:
    usage, _ = filled
    reset = int(datetime.now(UTC).timestamp()) + 3630
    limits = {
        "five_hour": {"used_percentage": 42.3, "resets_at": reset},
        "seven_day": {"used_percentage": 85.7, "resets_at": reset + 86400},
    }
    text = payload(rate_limits=limits)
    line = ok_line(
        status(usage, "--no-color", "--plan", "pro", "--format", "{block} ({left}) | {weekly}", stdin=text)
    )
    assert line == "42% of 5h (1h00m left) | wk 14% left"
    doc = status(usage, "--json", "--plan", "pro", stdin=text).json
    assert doc["five_hour"] == {
        "used_percent": "42.3",
        "source": "claude-code",
        "estimate": False,
        "resets_at": datetime.fromtimestamp(reset, UTC).isoformat(),
    }
    assert (doc["weekly"]["remaining_percent"], doc["weekly"]["source"]) == ("14.3", "claude-code")


def test_plan_shares_from_the_ledger_are_marked_as_estimates(filled: tuple[Usage, Any]) -> None:
    usage, _ = filled
    fmt = "{block} | {weekly}"
    # Pro's estimated limits: 1,000,000 per 5 hours, 10,000,000 per week (weighted tokens).
    line = ok_line(status(usage, "--no-color", "--plan", "pro", "--format", fmt, stdin=payload()))
    assert line == "~50% of 5h | wk ~95% left"
    doc = status(usage, "--json", "--plan", "pro", stdin=payload()).json
    assert (doc["five_hour"]["used_percent"], doc["five_hour"]["source"], doc["five_hour"]["estimate"]) == (
        "50.0",
        "ledger",
        True,
    )
    assert doc["weekly"]["used_percent"] == "5.0" and doc["plan"]["name"] == "pro"
    # Without a plan the block shows its cost, and the week has nothing to be measured against.
    assert ok_line(status(usage, "--no-color", "--format", fmt, stdin=payload())) == "$1.00 block"


def test_the_plan_stored_by_login_is_used(filled: tuple[Usage, Any]) -> None:
    usage, _ = filled
    login = thrifty(usage, "login", "--plan", "max-5x", stdin=None, THRIFTY_KEYRING="0")
    assert login.code == 0, login.stderr
    line = ok_line(status(usage, "--no-color", "--format", "{block}", stdin=payload(), THRIFTY_KEYRING="0"))
    assert line == "~10% of 5h"  # 500,000 of Max 5x's estimated 5,000,000


def test_format_drops_empty_segments_and_colours_only_when_asked(filled: tuple[Usage, Any]) -> None:
    usage, _ = filled
    fmt = "[{model}] | {weekly} | {session} spent | {dir}"
    assert (
        ok_line(status(usage, "--no-color", "--format", fmt, stdin=payload()))
        == "[Opus 4.5] | $1.00 spent | app"
    )
    coloured = ok_line(status(usage, "--format", fmt, stdin=payload()))
    assert "\033[36mOpus 4.5\033[0m" in coloured
    assert "\033[" not in ok_line(status(usage, "--format", fmt, stdin=payload(), NO_COLOR="1"))
    from_env = status(usage, "--no-color", stdin=payload(), THRIFTY_STATUSLINE_FORMAT="{model}/{ctx}")
    assert ok_line(from_env) == "Opus 4.5/"
    with_ctx = payload(context_window={"used_percentage": 26.4, "context_window_size": 200000})
    assert ok_line(status(usage, "--no-color", "--format", "{ctx}", stdin=with_ctx)) == "ctx 26%"


@pytest.mark.parametrize(
    ("stdin", "note"),
    [
        ("not json at all", "stdin is not JSON"),
        ("[1, 2]", "stdin is JSON but not an object (got list)"),
    ],
)
def test_input_that_is_not_claude_codes_json_still_prints_the_ledger_line(
    filled: tuple[Usage, Any], stdin: str, note: str
) -> None:
    usage, _ = filled
    run = status(usage, "--no-color", "--format", "{model} | {session} | {block}", stdin=stdin)
    assert ok_line(run) == "$2.00 block"  # no session: the latest call's mode (the API's) and block
    (line,) = run.stderr.splitlines()
    assert note in line and line.startswith("thrifty statusline: ")


def test_odd_fields_are_skipped_not_fatal(filled: tuple[Usage, Any]) -> None:
    usage, _ = filled
    odd = json.dumps(
        {"session_id": 5, "model": "opus", "cost": {"total_cost_usd": "lots"}, "rate_limits": [1]}
    )
    run = status(usage, "--no-color", "--format", "{model}|{session}|{today}", stdin=odd)
    assert run.stderr == ""
    assert ok_line(run).startswith("$")  # no model, no session: today's cost alone


def test_an_unreadable_ledger_still_prints_what_claude_code_sent(usage: Usage) -> None:
    broken = usage.data / "broken.sqlite3"
    broken.write_text("this is not a database\n" * 100)
    run = status(usage, "--no-color", "--ledger", str(broken), stdin=payload())
    assert ok_line(run) == "Opus 4.5 | $1.50 session | thrifty: ledger unreadable"
    assert len(run.stderr.strip().splitlines()) == 1 and "Traceback" not in run.stderr


def test_an_empty_ledger_and_no_input(usage: Usage) -> None:
    assert ok_line(status(usage, "--no-color", stdin=None)) == "thrifty: no usage recorded"
    assert not usage.ledger.exists()  # looking does not create the ledger
    assert ok_line(status(usage, "--no-color", stdin=payload())) == "Opus 4.5 | $1.50 session"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--format", "{model} {nope}"], "--format: unknown field {nope}; fields: model, session"),
        (["--format", "{model"], "--format: "),
        (["--plan", "gold"], "--plan must be one of pro, max-5x"),
        (["--timezone", "Mars/Olympus"], "--timezone: unknown zone"),
    ],
)
def test_bad_arguments_are_one_line_and_exit_1(usage: Usage, args: list[str], needle: str) -> None:
    run = status(usage, *args, stdin=payload())
    assert (run.code, run.stdout) == (1, "")
    (line,) = run.stderr.strip().splitlines()
    assert needle in line and "Traceback" not in run.stderr


def test_the_block_is_placed_as_the_whole_history_places_it(usage: Usage) -> None:
    """A call on every hour for 30 hours leaves no 5-hour gap, so blocks of 5 calls chain from the
    first one: the active block starts 4 hours before this hour. Read from 24 hours back only, the
    chain would start later and put it at 3 hours before; the statusline must read further back."""
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    p = str(usage.project.resolve())
    rows = [
        make_row(500 + k, (hour - timedelta(hours=k)).isoformat(), "plan", "long", p, "claude-sonnet-4-5",
                 "0.10", 10, 10)
        for k in range(30)
    ]  # fmt: skip
    usage.fill(rows)
    mine = status(usage, "--json", stdin=payload(session="long")).json["block"]
    theirs = usage.inproc("blocks", "--active", "--json", "--timezone", "UTC").json["blocks"][0]
    assert (mine["start"], mine["calls"]) == (theirs["start"], theirs["calls"])
    assert datetime.fromisoformat(mine["start"]) == hour - timedelta(hours=4) and mine["calls"] == 5


def test_statusline_loads_neither_rich_nor_any_client(cli: Cli) -> None:
    names = imported(cli, "statusline")
    assert "thrifty.cli.statusline" in names
    assert heavy(names) == []
    assert not [name for name in names if name.split(".")[0] == "rich"]


def test_render_and_parse_input_directly() -> None:
    fields = dict.fromkeys(FIELDS, "")
    fields.update(model="Opus", burn="$1.00/h")
    assert render("{model} | {block} ({left}) | {burn}", fields) == "Opus | $1.00/h"
    assert render("{model}   ({left})  x", fields) == "Opus x"
    got = parse_input(
        json.dumps({"model": {"id": "claude-x"}, "rate_limits": {"five_hour": {"used_percentage": 5}}})
    )
    assert got.model == "claude-x" and got.rate_limits["five_hour"].resets_at is None
    iso = parse_input(
        '{"rate_limits": {"seven_day": {"used_percentage": "7", "resets_at": "2026-03-28T00:00:00Z"}}}'
    )
    assert iso.rate_limits["seven_day"].resets_at == datetime(2026, 3, 28, tzinfo=UTC)


def test_weekly_window_from_hourly_sums_is_the_row_by_row_rebuild(tmp_path: Path) -> None:
    """A window that closes within an hour that has calls on both sides is the case the hourly
    sums cannot settle alone; ``thrifty status``'s row-by-row rebuild is the reference."""
    from tests.usage.rows import make_row as usage_row
    from thrifty.billing.ledger import RowQuery, open_ledger
    from thrifty.billing.plan_presets import ALL_PRESETS
    from thrifty.billing.windows import from_rows
    from thrifty.usage.statusline import weekly_from_ledger

    now = datetime.now(UTC)
    t0 = (now - timedelta(days=10)).replace(minute=30)
    week = timedelta(days=7)
    times = [t0, t0 + week - timedelta(minutes=1), t0 + week + timedelta(minutes=1)]
    times += [t0 + timedelta(hours=5 * k, minutes=7 * k % 60) for k in range(1, 40)]
    rows = [usage_row(n=900 + i, at=t, mode="plan", inp=1000 * (i + 1), out=100) for i, t in enumerate(times)]
    ledger = open_ledger(str(tmp_path / "ledger.sqlite3"))
    try:
        ledger.append_many(rows)
        plan = ALL_PRESETS["pro"]
        mine = weekly_from_ledger(ledger, plan, now)
        states = from_rows(ledger.query(RowQuery(since=now - 2 * week, mode="plan")), plan, now=now)
    finally:
        ledger.close()
    (reference,) = [s for s in states if s.name == "seven_day"]
    assert mine.resets_at == reference.resets_at == t0 + week + timedelta(minutes=1) + week
    assert mine.percent == Decimal(str(round(reference.used * 100, 1))) and mine.percent > 0
