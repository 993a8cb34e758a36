"""``thrifty usage`` as a user runs it: a subprocess against a SQLite ledger filled by the test.

Every figure asserted here is worked out by hand from the rows below, so a wrong sum, a mode
leaking into another's total or an unknown price read as zero shows up as a plain mismatch.
"""

from __future__ import annotations

import contextlib
import csv
import io
import os
import subprocess
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from unittest import mock

import pytest

from tests.cli.conftest import Run as CliRun
from tests.usage.rows import make_row as usage_row
from thrifty.billing.ledger import LedgerRow, open_ledger


class Run(CliRun):
    def rows(self, mode: str) -> dict[str, dict[str, Any]]:
        return {row["key"]: row for row in self.json["rows"] if row["mode"] == mode}


class Usage:
    def __init__(self, tmp: Path) -> None:
        self.project = tmp / "project"
        self.data = tmp / "data"
        self.ledger = self.data / "ledger.sqlite3"
        self.project.mkdir()
        self.data.mkdir()
        (tmp / "home").mkdir()
        self.base_env = {k: v for k, v in os.environ.items() if not k.startswith(("THRIFTY_", "ANTHROPIC_"))}
        self.base_env.update(
            HOME=str(tmp / "home"),
            THRIFTY_CONFIG_DIR=str(tmp / "config"),
            THRIFTY_DATA_DIR=str(self.data),
            COLUMNS="200",
        )

    def fill(self, rows: list[LedgerRow], path: Path | None = None) -> None:
        ledger = open_ledger(str(path or self.ledger))
        try:
            assert ledger.append_many(rows) == len(rows)
        finally:
            ledger.close()

    def inproc(self, *args: str, **env: str) -> Run:
        """The same command in this process: for the many small filter cases, where a fresh
        interpreter per case would cost seconds and prove nothing the subprocess tests do not."""
        from thrifty.cli.main import main

        out, err = io.StringIO(), io.StringIO()
        with (
            mock.patch.dict(os.environ, {**self.base_env, **env}, clear=True),
            contextlib.chdir(self.project),
            contextlib.redirect_stdout(out),
            contextlib.redirect_stderr(err),
        ):
            try:
                code = main(["usage", *args])
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
        return Run(code, out.getvalue(), err.getvalue())

    def __call__(self, *args: str, **env: str) -> Run:
        result = subprocess.run(
            [sys.executable, "-m", "thrifty", "usage", *args],
            cwd=self.project,
            env={**self.base_env, **env},
            capture_output=True,
            text=True,
            timeout=120,
        )
        return Run(result.returncode, result.stdout, result.stderr)


def make_row(n: int, at: str, mode: str, session: str, project: str, model: str, cost: str | None,
             inp: int, out: int, cw5: int = 0, cw1: int = 0, cr: int = 0) -> LedgerRow:  # fmt: skip
    return usage_row(
        n=n, at=datetime.fromisoformat(at).astimezone(UTC), mode=mode, session=session, project=project,
        model=model, cost=cost, inp=inp, out=out, cw5=cw5, cw1=cw1, cr=cr,
    )  # fmt: skip


def sample(project: Path) -> list[LedgerRow]:
    p = str(project.resolve())
    sonnet, opus = "claude-sonnet-4-5", "claude-opus-4-1"
    return [
        make_row(1, "2025-03-01T10:00Z", "api", "s-alpha", p, sonnet, "0.123456", 1000, 200, 300, 100, 5000),
        make_row(2, "2025-03-01T23:30Z", "api", "s-alpha", p, opus, "1.5", 2000, 400, cr=10000),
        make_row(3, "2025-03-02T08:00Z", "api", "s-beta", "named-project", "mystery-model", None, 10, 5),
        make_row(4, "2025-03-02T09:00Z", "api", "s-beta", "named-project", sonnet, "2.000001", 1234567, 89),
        make_row(5, "2025-03-01T12:00Z", "plan", "s-gamma", p, opus, "10.25", 500, 50, cr=1000),
        make_row(6, "2025-04-15T00:00Z", "batch", "s-delta", p, sonnet, "0.05", 100, 100),
    ]  # fmt: skip


@pytest.fixture
def usage(tmp_path: Path) -> Usage:
    return Usage(tmp_path)


@pytest.fixture
def filled(usage: Usage) -> Usage:
    usage.fill(sample(usage.project))
    return usage


def ok(run: Run) -> Run:
    assert run.code == 0, run.stderr
    assert "Traceback" not in run.stderr
    return run


def one_line_error(run: Run) -> str:
    assert run.code == 1
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


def test_daily_tables_show_each_mode_apart(filled: Usage) -> None:
    out = ok(filled("daily", "--timezone", "UTC")).stdout
    for title in ("API (billed per token)", "Plan (API-equivalent estimate, not billed)", "Batch"):
        assert title in out
    assert out.index("API (billed") < out.index("Plan (API") < out.index("Batch")
    for figure in ("2025-03-01", "2025-03-02", "2025-04-15", "1,234,577", "1,253,671", "19,000"):
        assert figure in out
    assert "$1.62" in out and "≥ $2.00" in out and "≥ $3.62" in out
    assert "$10.25" in out and "$0.05" in out
    assert "13.92" not in out  # no grand total adding the plan estimate to billed dollars
    assert "no known price" in out


def test_daily_json_has_exact_sums(filled: Usage) -> None:
    run = ok(filled("daily", "--json", "--timezone", "UTC"))
    doc = run.json
    assert doc["view"] == "daily" and doc["timezone"] == "UTC"
    api = run.rows("api")
    assert list(api) == ["2025-03-01", "2025-03-02"]
    day1 = api["2025-03-01"]
    assert (day1["calls"], day1["input_tokens"], day1["output_tokens"]) == (2, 3000, 600)
    assert (day1["cache_write_tokens"], day1["cache_read_tokens"], day1["total_tokens"]) == (
        400,
        15000,
        19000,
    )
    assert (day1["cost"], day1["cost_complete"]) == ("1.623456", True)
    day2 = api["2025-03-02"]
    assert (day2["cost"], day2["cost_complete"], day2["unpriced_calls"]) == ("2.000001", False, 1)
    assert day2["models"] == ["claude-sonnet-4-5", "mystery-model"]
    totals = doc["totals"]
    assert (totals["api"]["calls"], totals["api"]["total_tokens"]) == (4, 1253671)
    assert (totals["api"]["cost"], totals["api"]["cost_complete"]) == ("3.623457", False)
    assert (totals["plan"]["cost"], totals["plan"]["cost_complete"]) == ("10.25", True)
    assert totals["batch"]["cost"] == "0.05"
    assert doc["cost_basis"]["plan"].startswith("api-equivalent")


def test_timezone_moves_calls_across_midnight(filled: Usage) -> None:
    api = ok(filled("daily", "--json", "--timezone", "Asia/Tokyo")).rows("api")
    assert {key: row["calls"] for key, row in api.items()} == {"2025-03-01": 1, "2025-03-02": 3}


def test_default_timezone_is_local(filled: Usage) -> None:
    api = ok(filled("daily", "--json", TZ="Pacific/Honolulu")).rows("api")
    assert {key: row["calls"] for key, row in api.items()} == {"2025-03-01": 4}


def test_monthly(filled: Usage) -> None:
    run = ok(filled("monthly", "--json", "--timezone", "UTC"))
    assert [(r["mode"], r["key"], r["calls"]) for r in run.json["rows"]] == [
        ("api", "2025-03", 4),
        ("plan", "2025-03", 1),
        ("batch", "2025-04", 1),
    ]


def test_session_view(filled: Usage) -> None:
    run = ok(filled("session", "--json", "--timezone", "UTC"))
    alpha = run.rows("api")["s-alpha"]
    assert alpha["project"] == str(filled.project.resolve())
    assert (alpha["first_at"], alpha["last_at"]) == ("2025-03-01T10:00:00+00:00", "2025-03-01T23:30:00+00:00")
    assert alpha["models"] == ["claude-opus-4-1", "claude-sonnet-4-5"]
    assert alpha["cost"] == "1.623456"
    assert run.rows("api")["s-beta"]["project"] == "named-project"
    text = ok(filled("session", "--timezone", "UTC")).stdout
    assert "s-alpha" in text and "named-project" in text and "2025-03-01 23:30" in text


def test_model_view_marks_unpriced_model_unknown(filled: Usage) -> None:
    run = ok(filled("model", "--json"))
    api = run.rows("api")
    assert (api["mystery-model"]["cost"], api["mystery-model"]["cost_complete"]) == (None, False)
    assert api["claude-sonnet-4-5"]["cost"] == "2.123457"
    assert "unknown" in ok(filled("model")).stdout


def test_csv_parses_with_the_same_fields(filled: Usage) -> None:
    run = ok(filled("model", "--csv"))
    rows = list(csv.DictReader(io.StringIO(run.stdout)))
    assert [(r["mode"], r["key"]) for r in rows] == [
        ("api", "claude-opus-4-1"),
        ("api", "claude-sonnet-4-5"),
        ("api", "mystery-model"),
        ("plan", "claude-opus-4-1"),
        ("batch", "claude-sonnet-4-5"),
    ]
    mystery = rows[2]
    assert (mystery["cost"], mystery["cost_complete"], mystery["calls"]) == ("", "false", "1")
    assert (rows[1]["cost"], rows[1]["input_tokens"], rows[1]["total_tokens"]) == (
        "2.123457",
        "1235567",
        "1241256",
    )


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--since", "2025-03-02", "--until", "2025-03-02"], {"api": 2, "plan": 0, "batch": 0}),
        (["--since", "20250301", "--until", "20250301"], {"api": 2, "plan": 1, "batch": 0}),
        (["--since", "2025-03-01T12:00:00Z"], {"api": 3, "plan": 1, "batch": 1}),
        (["--until", "2025-03-01T12:00:00Z"], {"api": 1, "plan": 0, "batch": 0}),
        (["--project", "."], {"api": 2, "plan": 1, "batch": 1}),
        (["--project", "named-project"], {"api": 2, "plan": 0, "batch": 0}),
        (["--since", "7d"], {"api": 0, "plan": 0, "batch": 0}),
    ],
)
def test_filters(filled: Usage, args: list[str], expected: dict[str, int]) -> None:
    totals = ok(filled.inproc("daily", "--json", "--timezone", "UTC", *args)).json["totals"]
    assert {mode: total["calls"] for mode, total in totals.items()} == expected


def test_mode_filter_reports_only_that_mode(filled: Usage) -> None:
    doc = ok(filled.inproc("--mode", "plan", "--json")).json
    assert list(doc["totals"]) == ["plan"] and {r["mode"] for r in doc["rows"]} == {"plan"}
    text = ok(filled("--mode", "plan")).stdout
    assert "Plan (API-equivalent" in text and "API (billed" not in text


def test_filters_matching_nothing_say_so(filled: Usage) -> None:
    run = ok(filled("--since", "2030-01-01"))
    assert run.stdout.strip() == f"No usage in {filled.ledger} matches these filters."


@pytest.mark.parametrize("fmt", [[], ["--json"], ["--csv"]])
def test_missing_ledger_is_empty_and_not_created(usage: Usage, fmt: list[str]) -> None:
    run = ok(usage(*fmt))
    if not fmt:
        assert run.stdout.strip() == f"No usage recorded yet in {usage.ledger}."
    elif fmt == ["--json"]:
        assert run.json["rows"] == [] and run.json["totals"]["api"]["cost"] == "0"
    else:
        assert run.stdout.splitlines()[0].startswith("key,mode,calls,")
        assert len(run.stdout.splitlines()) == 1
    assert not usage.ledger.exists()


def test_empty_ledger_is_friendly(usage: Usage) -> None:
    usage.fill([])
    run = ok(usage("session"))
    assert run.stdout.startswith("No usage recorded yet in ") and str(usage.ledger) in run.stdout


def test_ledger_from_env_and_flag(usage: Usage, tmp_path: Path) -> None:
    other = tmp_path / "other.sqlite3"
    usage.fill(sample(usage.project)[:1], other)
    assert ok(usage("--json", THRIFTY_LEDGER=str(other))).json["totals"]["api"]["calls"] == 1
    assert ok(usage("--json", "--ledger", str(other))).json["totals"]["api"]["calls"] == 1
    # --ledger wins over the environment.
    run = ok(usage("--json", "--ledger", str(usage.ledger), THRIFTY_LEDGER=str(other)))
    assert run.json["totals"]["api"]["calls"] == 0


def test_unopenable_ledger_is_one_line(usage: Usage, tmp_path: Path) -> None:
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database" * 100)
    line = one_line_error(usage("--ledger", str(garbage)))
    assert line.startswith("error: ") and "ledger" in line


def test_bad_since_is_one_line(filled: Usage) -> None:
    line = one_line_error(filled("--since", "xyz"))
    assert line == "error: --since: cannot read 'xyz'; use YYYY-MM-DD, an ISO time, or 7d/24h"


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--until", "tomorrowish"], "--until: cannot read 'tomorrowish'"),
        (["--timezone", "Mars/Base"], "--timezone: unknown zone 'Mars/Base'"),
        (["--since", "2025-03-02", "--until", "2025-03-01"], "--since must be before --until"),
        (["yearly"], "invalid choice"),
        (["--json", "--csv"], "not allowed with"),
        (["--mode", "free"], "invalid choice"),
    ],
)
def test_bad_arguments_are_one_line(filled: Usage, args: list[str], needle: str) -> None:
    assert needle in one_line_error(filled.inproc(*args))


def test_narrow_terminal_still_renders(filled: Usage) -> None:
    run = ok(filled("session", COLUMNS="40"))
    assert "API" in run.stdout and "Plan" in run.stdout


def test_help_explains_views_and_options(usage: Usage) -> None:
    out = ok(usage("--help")).stdout
    for word in ("daily", "monthly", "session", "model", "--since", "--until", "--timezone", "--project"):
        assert word in out
    assert "whole day" in out and "API prices" in out


# --- weekly, breakdown, sources, cost modes -------------------------------------------------


def test_weekly_view_keys_weeks_by_their_first_day(filled: Usage) -> None:
    run = ok(filled.inproc("weekly", "--json", "--timezone", "UTC"))
    assert run.json["start_of_week"] == "monday"
    # 2025-03-01 is a Saturday and 03-02 a Sunday: the same Monday-based week.
    assert {k: r["calls"] for k, r in run.rows("api").items()} == {"2025-02-24": 4}
    assert list(run.rows("batch")) == ["2025-04-14"]
    sunday = ok(filled.inproc("weekly", "--json", "--timezone", "UTC", "--start-of-week", "sunday"))
    assert {k: r["calls"] for k, r in sunday.rows("api").items()} == {"2025-02-23": 2, "2025-03-02": 2}
    assert "Week of" in ok(filled("weekly", "--timezone", "UTC")).stdout


def test_breakdown_lists_each_model_under_its_group(filled: Usage) -> None:
    run = ok(filled.inproc("daily", "--json", "--timezone", "UTC", "--breakdown"))
    day1 = run.rows("api")["2025-03-01"]
    assert [(b["key"], b["calls"], b["cost"], b["total_tokens"]) for b in day1["breakdown"]] == [
        ("claude-opus-4-1", 1, "1.5", 12400),
        ("claude-sonnet-4-5", 1, "0.123456", 6600),
    ]
    total = run.json["totals"]["api"]["breakdown"]
    assert [(b["key"], b["cost"], b["cost_complete"]) for b in total] == [
        ("claude-opus-4-1", "1.5", True),
        ("claude-sonnet-4-5", "2.123457", True),
        ("mystery-model", None, False),
    ]
    assert "breakdown" not in ok(filled.inproc("daily", "--json")).json["rows"][0]
    text = ok(filled("daily", "--timezone", "UTC", "--breakdown")).stdout
    assert "└ claude-opus-4-1" in text and "└ mystery-model" in text


def imported(project: Path) -> list[LedgerRow]:
    """Claude Code rows as the importer writes them: plan mode, logged costUSD in a tag on some."""
    rows = []
    for n, (at, cost, logged, entrypoint) in enumerate(
        [
            ("2025-03-01T09:00Z", "0.40", "0.40", "cli"),
            ("2025-03-01T09:30Z", "0.60", "0.90", "cli"),  # logged 0.30 more than calculated
            ("2025-03-01T10:00Z", "1.00", None, "sdk-cli"),
            ("2025-03-01T10:10Z", None, "0.25", "cli"),  # a model we cannot price
        ]
    ):
        row = make_row(
            100 + n, at, "plan", "cc-1", str(project.resolve()), "claude-sonnet-4-5", cost, 1000, 100
        )
        tags = {"entrypoint": entrypoint, "sidechain": "false", "version": "2.0.14"}
        if logged is not None:
            tags["logged_cost_usd"] = logged
        rows.append(replace(row, source="claude-code", account="claude-code", tags=tags))
    return rows


@pytest.fixture
def mixed(usage: Usage) -> Usage:
    usage.fill(sample(usage.project) + imported(usage.project))
    return usage


def test_source_filter(mixed: Usage) -> None:
    def calls(*args: str) -> dict[str, int]:
        doc = ok(mixed.inproc("monthly", "--json", *args)).json
        return {mode: total["calls"] for mode, total in doc["totals"].items()}

    assert calls() == {"api": 4, "plan": 5, "batch": 1}
    assert calls("--source", "claude-code") == {"api": 0, "plan": 4, "batch": 0}
    assert calls("--source", "thrifty") == {"api": 4, "plan": 1, "batch": 1}
    assert ok(mixed.inproc("--json", "--source", "all")).json["source"] == "all"


@pytest.mark.parametrize(
    ("mode", "cost", "unpriced"),
    [
        ("auto", "2.55", 0),  # 0.40 + 0.90 (logged) + 1.00 (calculated) + 0.25 (logged)
        ("calculate", "2.00", 1),  # 0.40 + 0.60 + 1.00, one call without a price
        ("display", "1.55", 1),  # 0.40 + 0.90 + 0.25; the call with no logged cost is unpriced
    ],
)
def test_cost_modes(mixed: Usage, mode: str, cost: str, unpriced: int) -> None:
    args = ["monthly", "--json", "--source", "claude-code", "--cost-mode", mode]
    doc = ok(mixed.inproc(*args)).json
    total = doc["totals"]["plan"]
    assert doc["cost_mode"] == mode
    assert (Decimal(total["cost"]), total["unpriced_calls"]) == (Decimal(cost), unpriced)


def test_cost_mode_display_says_what_the_lower_bound_leaves_out(mixed: Usage) -> None:
    out = ok(mixed("monthly", "--source", "claude-code", "--cost-mode", "display")).stdout
    assert "≥ $1.55" in out and "1 call had no logged cost" in out and "--cost-mode display" in out


# --- mismatches ----------------------------------------------------------------------------


def test_mismatches_list_logged_and_calculated(mixed: Usage) -> None:
    doc = ok(mixed.inproc("mismatches", "--json", "--timezone", "UTC")).json
    assert (doc["compared"], doc["not_comparable"], doc["tolerance"]) == (2, 1, "0.001")
    assert (doc["logged_total"], doc["calculated_total"]) == ("1.30", "1.00")
    (m,) = doc["mismatches"]
    assert (m["request_id"], m["logged"], m["calculated"], m["difference"]) == (
        "req_101",
        "0.90",
        "0.60",
        "0.30",
    )
    assert m["recorded_at"] == "2025-03-01T09:30:00+00:00"
    assert ok(mixed.inproc("mismatches", "--json", "--tolerance", "0.5")).json["mismatches"] == []
    text = ok(mixed("mismatches", "--timezone", "UTC")).stdout
    assert "$0.90" in text and "$0.60" in text and "+$0.30" in text
    assert "1 of 2 calls with a logged cost differ" in text and "1 more call has a logged cost" in text


def test_mismatches_with_nothing_logged(filled: Usage) -> None:
    out = ok(filled.inproc("mismatches")).stdout
    assert "No call has both a logged and a calculated cost" in out


# --- blocks --------------------------------------------------------------------------------


def test_blocks_json_by_hand(filled: Usage) -> None:
    doc = ok(filled.inproc("blocks", "--json", "--timezone", "UTC", "--mode", "api")).json
    blocks = [(b["start"][:16], b["end"][:16], b["gap"], b["calls"], b["cost"]) for b in doc["blocks"]]
    assert blocks == [
        ("2025-03-01T10:00", "2025-03-01T15:00", False, 1, "0.123456"),
        ("2025-03-01T15:00", "2025-03-01T23:00", True, 0, "0"),
        ("2025-03-01T23:00", "2025-03-02T04:00", False, 1, "1.5"),
        ("2025-03-02T04:00", "2025-03-02T08:00", True, 0, "0"),
        ("2025-03-02T08:00", "2025-03-02T13:00", False, 2, "2.000001"),
    ]
    last = doc["blocks"][-1]
    assert (last["cost_complete"], last["weighted_tokens"], last["active"], last["projection"]) == (
        False,
        1234671,
        False,
        None,
    )
    text = ok(filled("blocks", "--timezone", "UTC")).stdout
    assert "5-hour blocks" in text and "gap (8h 00m)" in text and "2025-03-02 08:00" in text


def fresh_plan_rows(project: Path) -> tuple[datetime, list[LedgerRow]]:
    now = datetime.now(UTC)
    start = now - timedelta(minutes=100)
    p, model = str(project.resolve()), "claude-sonnet-4-5"
    later, old = (start + timedelta(minutes=50)).isoformat(), (start - timedelta(hours=30)).isoformat()
    return start, [
        make_row(201, start.isoformat(), "plan", "s-now", p, model, "0.75", 300_000, 50_000, cr=10**6),
        make_row(202, later, "plan", "s-now", p, model, "0.25", 100_000, 50_000),
        make_row(203, old, "plan", "s-old", p, model, "9", 1, 1),
    ]


def test_active_block_projection_and_plan_share(usage: Usage) -> None:
    _, rows = fresh_plan_rows(usage.project)
    usage.fill(rows)
    doc = ok(usage("blocks", "--active", "--json", "--plan", "max-5x")).json
    assert doc["active_only"] and doc["plan"]["name"] == "max-5x"
    (block,) = doc["blocks"]
    assert (block["active"], block["calls"], block["weighted_tokens"], block["cost"]) == (
        True,
        2,
        500_000,
        "1.00",
    )
    p = block["projection"]
    # Reproduce the projection from the printed numbers: used x 5 h / elapsed.
    elapsed, remaining = p["elapsed_seconds"], p["remaining_seconds"]
    assert elapsed + remaining == pytest.approx(5 * 3600, abs=0.01)
    assert p["projected_weighted_tokens"] == pytest.approx(500_000 * 5 * 3600 / elapsed, abs=1)
    assert Decimal(p["projected_cost"]) == pytest.approx(Decimal("1.00") * 5 * 3600 / Decimal(str(elapsed)))
    use = block["plan_use"]
    assert (use["plan"], use["five_hour_limit"], use["estimate"], use["used_percent"]) == (
        "max-5x",
        5_000_000,
        True,
        "10.0",
    )
    assert Decimal(use["projected_percent"]) == pytest.approx(
        Decimal(p["projected_weighted_tokens"]) / 50_000, abs=Decimal("0.06")
    )
    text = ok(usage("blocks", "--active", "--plan", "max-5x")).stdout
    assert "Active plan block" in text and "left)" in text and "Projected at" in text
    assert "Plan Max 5x: 10.0% of the estimated 5-hour limit (5,000,000 weighted tokens) used" in text


def test_active_block_uses_the_recorded_plan(usage: Usage) -> None:
    usage.fill(fresh_plan_rows(usage.project)[1])
    env = {**usage.base_env, "THRIFTY_KEYRING": "0"}
    login = subprocess.run(
        [sys.executable, "-m", "thrifty", "login", "--plan", "pro"],
        stdin=subprocess.DEVNULL,
        cwd=usage.project,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert login.returncode == 0, login.stderr
    doc = ok(usage("blocks", "--active", "--json", THRIFTY_KEYRING="0")).json
    assert doc["plan"]["name"] == "pro"
    assert doc["blocks"][0]["plan_use"]["used_percent"] == "50.0"
    # Without a recorded plan there is no share to show, and no error.
    none = ok(usage("blocks", "--active", "--json", THRIFTY_CONFIG_DIR=str(usage.project / "none"))).json
    assert none["plan"] is None and none["blocks"][0]["plan_use"] is None


def test_no_active_block_says_when_the_last_call_was(filled: Usage) -> None:
    out = ok(filled.inproc("blocks", "--active", "--timezone", "UTC")).stdout
    assert out.startswith("No active block: the last call was at 2025-04-15 00:00")
    assert ok(filled.inproc("blocks", "--active", "--json")).json["blocks"] == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["daily", "--active"], "--active goes with the blocks view"),
        (["model", "--plan", "pro"], "--plan goes with the blocks view"),
        (["daily", "--tolerance", "1"], "--tolerance goes with the mismatches view"),
        (["daily", "--start-of-week", "sunday"], "--start-of-week goes with the weekly view"),
        (["blocks", "--csv"], "--csv is for the daily, weekly, monthly, session, model views"),
        (["mismatches", "--tolerance", "-1"], "--tolerance: '-1' is not a non-negative amount"),
        (["mismatches", "--tolerance", "lots"], "--tolerance: 'lots' is not a non-negative amount"),
        (
            ["blocks", "--plan", "gold"],
            "--plan must be one of pro, max-5x, max-20x, team, team-premium, enterprise, ",
        ),
        (["blocks", "--plan", "login"], "--plan login: no plan is recorded"),
        (["--cost-mode", "guess"], "invalid choice"),
        (["--source", "cursor"], "invalid choice"),
    ],
)
def test_new_flags_fail_in_one_line(filled: Usage, args: list[str], needle: str) -> None:
    assert needle in one_line_error(filled.inproc(*args, THRIFTY_KEYRING="0"))
