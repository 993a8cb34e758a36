"""Budgets that hold across workers: reservations in the ledger, on real SQLite files and a real
PostgreSQL server, with real worker processes.

The child side runs as ``python -m tests.billing.test_reservations MODE ...`` from the repository
root. ``measure`` prints the overshoot with and without reservations (the figure in docs/billing.md)::

    python -m tests.billing.test_reservations measure sqlite 16     # SQLite files in a temp dir
    python -m tests.billing.test_reservations measure /tmp 16       # SQLite files in /tmp
    python -m tests.billing.test_reservations measure postgres 16   # a throwaway server
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.billing.factory import make_row
from tests.billing.test_budget import LOOP, options, run
from tests.billing.workers import reaped, spawn
from thrifty.billing.budget import BudgetGuard, day_start
from thrifty.billing.config import Budget, ConfigError, load_billing_config
from thrifty.billing.ledger import Ledger, Reservation, RowQuery, open_ledger
from thrifty.billing.ledger.migrations import MIGRATIONS
from thrifty.billing.ledger.sqlite import SqliteLedger
from thrifty.core.endings import BudgetExceeded
from thrifty.testing import Simulator

REPO = Path(__file__).resolve().parents[2]
#: Each worker's calls: what the estimate says, what the call then costs (at most the estimate).
ESTIMATE = Decimal("0.012")
COST = Decimal("0.010")
CAP = Decimal("1.00")
WORKERS = 16


# -- the child side -----------------------------------------------------------------------------
def _child_spend(url: str, worker: int, reserve: bool, latency: float) -> None:
    """Spend against the daily api cap until refused: check, "send" (sleep), record the row.

    ``reserve``: the guard (``Ledger.reserve``); else the check as it was before reservations (read
    the spend, compare, no hold), to measure what that let through."""
    print("ready", flush=True)
    sys.stdin.readline()
    ledger = open_ledger(url)
    guard = BudgetGuard(mode="api", caps=Budget(daily=CAP), ledger=ledger, scopes=("project:fleet",))
    calls = 0
    while True:
        if reserve:
            try:
                guard.check(Decimal(0), ESTIMATE, tags={"worker": str(worker)})
            except BudgetExceeded:
                break
        else:
            spent = ledger.spend(mode="api", since=day_start(datetime.now(UTC)))
            if spent >= CAP or spent + ESTIMATE > CAP:
                break
        time.sleep(latency)  # the request in flight
        row = make_row(f"w{worker}-{calls}", cost_usd=COST, recorded_at=datetime.now(UTC), project="fleet")
        ledger.append(row, settle=guard.take())
        calls += 1
    ledger.close()
    print(f"calls={calls}", flush=True)


def _child_hold_and_hang(url: str, ttl_s: float) -> None:
    """Reserve most of the cap, say so, then hang until killed (a worker that dies mid-call)."""
    ledger = open_ledger(url)
    guard = BudgetGuard(
        mode="api", caps=Budget(daily=CAP), ledger=ledger, reservation_ttl=timedelta(seconds=ttl_s)
    )
    guard.check(Decimal(0), CAP - ESTIMATE)
    print("held", flush=True)
    time.sleep(600)


MODULE = "tests.billing.test_reservations"


def spend_with_workers(
    url: str, *, workers: int = WORKERS, reserve: bool = True, latency: float = 0.02
) -> Decimal:
    """``workers`` processes spending against one daily cap at once; the final spend."""
    procs = [
        spawn("spend", url, str(k), "1" if reserve else "0", str(latency), module=MODULE)
        for k in range(workers)
    ]
    with reaped(procs):
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready", proc.stderr
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        for proc in procs:
            _out, err = proc.communicate(timeout=240)
            assert proc.returncode == 0, err
    ledger = open_ledger(url)
    spent = ledger.spend(mode="api", since=day_start(datetime.now(UTC)))
    left = ledger.scope_spend("mode:api", since=day_start(datetime.now(UTC)), now=datetime.now(UTC))
    ledger.close()
    assert left.reserved == 0, "every hold was settled"
    return spent


# -- many workers, one cap ----------------------------------------------------------------------
def _check_overshoot(url: str) -> None:
    spent = spend_with_workers(url)
    over = spent - CAP
    calls = spent / COST
    # Each call cost at most its estimate, so reservations keep the total within the cap; the
    # documented bound is one call's estimate.
    assert over <= ESTIMATE, (
        f"{WORKERS} workers overshot the ${CAP} cap by ${over} ({over / ESTIMATE:.2f} estimates)"
    )
    assert spent >= CAP - ESTIMATE - COST * WORKERS, f"stopped early at ${spent} ({calls} calls)"
    print(f"{WORKERS} workers, cap ${CAP}: spent ${spent}, overshoot ${max(over, Decimal(0))}")


def test_sixteen_workers_share_one_daily_cap_on_sqlite(tmp_path: Path) -> None:
    _check_overshoot(str(tmp_path / "ledger.sqlite3"))


def test_sixteen_workers_share_one_daily_cap_on_postgres(pg_url: str) -> None:
    _check_overshoot(pg_url)


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_a_crashed_workers_hold_expires(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = str(tmp_path / "ledger.sqlite3") if backend == "sqlite" else request.getfixturevalue("pg_url")
    ttl = 3.0
    proc = spawn("hang", url, str(ttl), module=MODULE)
    with reaped([proc]):
        assert proc.stdout is not None and proc.stdout.readline().strip() == "held", proc.stderr
        started = time.monotonic()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    ledger = open_ledger(url)
    guard = BudgetGuard(mode="api", caps=Budget(daily=CAP), ledger=ledger)
    with pytest.raises(BudgetExceeded, match=r"\$0.00 spent today, \$0.99 held by calls in flight"):
        guard.check(Decimal(0), ESTIMATE * 2)
    time.sleep(max(0.0, ttl - (time.monotonic() - started)) + 0.5)
    guard.check(Decimal(0), ESTIMATE * 2)  # the dead worker's hold has expired
    guard.release()
    ledger.close()


# -- one process: the guard's holds ----------------------------------------------------------------
def test_one_run_holds_one_reservation_at_a_time(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "l.sqlite3"))
    guard = BudgetGuard(mode="api", caps=Budget(daily=Decimal("1")), ledger=ledger)
    now = datetime.now(UTC)
    for _ in range(5):  # a call that failed before usage: the next check replaces its hold
        guard.check(Decimal(0), Decimal("0.6"))
    assert ledger.scope_spend("mode:api", since=day_start(now), now=now).reserved == Decimal("0.6")
    ledger.append(make_row("x", cost_usd=Decimal("0.5"), recorded_at=datetime.now(UTC)), settle=guard.take())
    assert guard.held is None and ledger.scope_spend("mode:api", since=day_start(now), now=now).reserved == 0
    guard.check(Decimal(0), Decimal("0.5"))
    with pytest.raises(BudgetExceeded, match=r"daily api budget \(\$1.00; \$0.50 spent today\)"):
        guard.check(Decimal(0), Decimal("0.51"))  # its own hold is replaced, never counted twice
    guard.release()
    ledger.close()


def test_uncapped_runs_hold_nothing(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "l.sqlite3"))
    guard = BudgetGuard(mode="api", run_cap=Decimal("5"), ledger=ledger)
    guard.check(Decimal(0), Decimal("1"))
    assert guard.held is None
    ledger.close()


def test_an_old_ledger_gains_the_reservations_table(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite3"
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE thrifty_migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)")
    for migration in MIGRATIONS[:3]:
        for statement in migration.sqlite:
            conn.execute(statement)
        conn.execute(
            "INSERT INTO thrifty_migrations VALUES (?, '2026-01-01T00:00:00.000000Z')", (migration.name,)
        )
    conn.commit()
    conn.close()
    ledger: Ledger = SqliteLedger(path)
    guard = BudgetGuard(mode="api", caps=Budget(daily=Decimal("1")), ledger=ledger)
    guard.check(Decimal(0), Decimal("0.5"))
    assert guard.held is not None
    ledger.close()
    names = [n for (n,) in sqlite3.connect(path).execute("SELECT name FROM thrifty_migrations ORDER BY name")]
    assert names == [m.name for m in MIGRATIONS] and "m004_reservations" in names


# -- scoped caps through the agent loop ---------------------------------------------------------------
def status_outputs(tmp_path: Path, ledger_path: Path) -> dict[str | None, str]:
    """``thrifty status --json`` and plain ``thrifty status`` (keyed by the flag) as a user runs
    them in ``tmp_path``, on ``ledger_path``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_", "THRIFTY_"))}
    env.update(
        ANTHROPIC_API_KEY="sk-ant-test",
        THRIFTY_CONFIG_DIR=str(tmp_path / "cfg"),
        THRIFTY_DATA_DIR=str(tmp_path / "data"),
        THRIFTY_LEDGER=str(ledger_path),
        THRIFTY_KEYRING="0",
        HOME=str(tmp_path),
    )
    out: dict[str | None, str] = {}
    for flag in ("--json", None):
        proc = subprocess.run(
            [sys.executable, "-m", "thrifty", "status", *([flag] if flag else [])],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert proc.returncode == 0, proc.stderr
        out[flag] = proc.stdout
    return out


def _config(cwd: Path, budgets: dict[str, Any], project: str | None = None) -> None:
    data: dict[str, Any] = {"budgets": budgets}
    if project is not None:
        data["project"] = project
    (cwd / ".thrifty.json").write_text(json.dumps(data))


@pytest.mark.anyio
async def test_a_project_cap_stops_runs_in_that_project_only(tmp_path: Path) -> None:
    ledger_path = tmp_path / "ledger.sqlite3"
    ledger = open_ledger(str(ledger_path))
    now = datetime.now(UTC)
    ledger.append(make_row("pay", project="payments", cost_usd=Decimal("0.05"), recorded_at=now))
    ledger.close()
    payments, web = tmp_path / "payments", tmp_path / "web"
    payments.mkdir()
    web.mkdir()
    _config(payments, {"project:payments": {"monthly": "0.05"}}, project="payments")
    _config(web, {"project:payments": {"monthly": "0.05"}}, project="web")
    with Simulator([{"text": "done"}] * 3) as sim:
        _, stopped = await run("spend", options(sim, payments, ledger_path))
        assert sim.message_requests() == []
        _, fine = await run("spend", options(sim, web, ledger_path))
    assert stopped.subtype == "error_max_budget_usd"
    assert stopped.errors == [
        "Reached the monthly budget of project:payments ($0.05; $0.05 spent this month)"
    ]
    assert fine.subtype == "success"


@pytest.mark.anyio
async def test_a_tag_cap_stops_runs_with_that_tag_only(tmp_path: Path) -> None:
    ledger_path = tmp_path / "ledger.sqlite3"
    ledger = open_ledger(str(ledger_path))
    ledger.append(
        make_row("infra", tags={"team": "infra"}, cost_usd=Decimal("0.02"), recorded_at=datetime.now(UTC))
    )
    ledger.close()
    _config(tmp_path, {"tag:team=infra": {"daily": "0.02"}})
    with Simulator([{"text": "done"}] * 3) as sim:
        _, stopped = await run("spend", options(sim, tmp_path, ledger_path, tags={"team": "infra"}))
        assert sim.message_requests() == []
        _, other = await run("spend", options(sim, tmp_path, ledger_path, tags={"team": "web"}))
        _, untagged = await run("spend", options(sim, tmp_path, ledger_path))
    assert stopped.errors == ["Reached the daily budget of tag:team=infra ($0.02; $0.02 spent today)"]
    assert other.subtype == untagged.subtype == "success"
    rows = open_ledger(str(ledger_path)).query(RowQuery(since=day_start(datetime.now(UTC))))
    assert [r.tags.get("team") for r in rows if r.request_id != "infra"] == ["web", None]


@pytest.mark.anyio
async def test_a_daily_cap_across_sessions_of_one_run_leaves_no_hold(tmp_path: Path) -> None:
    ledger_path = tmp_path / "ledger.sqlite3"
    _config(tmp_path, {"api": {"daily": "5"}, "account:ANTHROPIC_API_KEY": {"daily": "5"}})
    with Simulator([LOOP] * 3 + [{"text": "done"}]) as sim:
        _, result = await run("spend", options(sim, tmp_path, ledger_path))
    assert result.subtype == "success"
    ledger = open_ledger(str(ledger_path))
    now = datetime.now(UTC)
    for scope in ("mode:api", "account:ANTHROPIC_API_KEY", f"project:{tmp_path}"):
        held = ledger.scope_spend(scope, since=day_start(now), now=now)
        assert held.reserved == 0 and held.spent > 0, scope
    ledger.close()


@pytest.mark.anyio
async def test_a_call_that_fails_before_usage_leaves_no_hold_once_the_run_ends(tmp_path: Path) -> None:
    ledger_path = tmp_path / "ledger.sqlite3"
    _config(tmp_path, {"api": {"daily": "5"}})
    fault = {"kind": "http_error", "status": 400, "error_type": "invalid_request_error", "times": 0}
    with Simulator([{"text": "never", "fault": fault}]) as sim:
        _, result = await run("spend", options(sim, tmp_path, ledger_path))
        assert len(sim.message_requests()) == 1
    assert result.is_error
    ledger = open_ledger(str(ledger_path))
    now = datetime.now(UTC)
    assert ledger.scope_spend("mode:api", since=day_start(now), now=now) == (Decimal(0), Decimal(0))
    ledger.close()


# -- thrifty status --------------------------------------------------------------------------------------
def test_status_shows_each_scope_against_its_cap(tmp_path: Path) -> None:
    ledger_path = tmp_path / "ledger.sqlite3"
    ledger = open_ledger(str(ledger_path))
    now = datetime.now(UTC)
    ledger.append(
        make_row("pay", project="payments", tags={"team": "infra"}, cost_usd=Decimal("1.5"), recorded_at=now)
    )
    ledger.append(make_row("web", project="web", cost_usd=Decimal("4"), recorded_at=now))
    hold = ledger.reserve(["tag:team=infra"], Decimal("0.25"), [], ttl=timedelta(minutes=5), now=now)
    ledger.close()
    _config(
        tmp_path,
        {"api": {"daily": "10"}, "project:payments": {"monthly": "200"}, "tag:team=infra": {"daily": "20"}},
    )
    out = status_outputs(tmp_path, ledger_path)
    budgets = {(b["scope"], b["period"]): b for b in json.loads(out["--json"])["budgets"]}
    assert {k: (b["capUsd"], b["spentUsd"], b["reservedUsd"]) for k, b in budgets.items()} == {
        ("api", "daily"): ("10", "5.5", "0"),
        ("project:payments", "monthly"): ("200", "1.5", "0"),
        ("tag:team=infra", "daily"): ("20", "1.5", "0.25"),
    }
    assert isinstance(hold, Reservation)
    assert (
        "Budget:        tag:team=infra daily: $1.50 of $20.00 today (+$0.25 held by calls in flight)"
        in out[None]
    )
    assert "Budget:        project:payments monthly: $1.50 of $200.00 this month" in out[None]


# -- config ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("budgets", "problem"),
    [
        (
            {"team:infra": {"daily": "1"}},
            "budgets.team:infra is not a mode; allowed: api, plan, batch, or a scope",
        ),
        (
            {"projects:x": {"daily": "1"}},
            "is not a mode; allowed: api, plan, batch, or a scope project:<name>",
        ),
        ({"project:": {"daily": "1"}}, "budgets.project: names no project"),
        ({"project: x": {"daily": "1"}}, "has spaces around it"),
        ({"tag:team": {"daily": "1"}}, "budgets.tag:team must be tag:<key>=<value>"),
        ({"tag:=infra": {"daily": "1"}}, "must be tag:<key>=<value>"),
        ({'tag:a"b=1': {"daily": "1"}}, "no quote or backslash in the key"),
        ({"account:x": {"weekly": "1"}}, "budgets.account:x.weekly is not a period; allowed: daily, monthly"),
        (
            {"tag:team=infra": {"daily": "lots"}},
            'budgets.tag:team=infra.daily must be an amount in USD like "5.00"',
        ),
        ({"project:p": 5}, "budgets.project:p must be an object"),
    ],
)
def test_scoped_budget_config_errors_are_one_line(
    budgets: dict[str, Any], problem: str, tmp_path: Path
) -> None:
    _config(tmp_path, budgets)
    with pytest.raises(ConfigError) as info:
        load_billing_config(tmp_path, {"THRIFTY_CONFIG_DIR": str(tmp_path / "cfg")})
    assert problem in str(info.value) and "\n" not in str(info.value)


def test_scoped_budgets_parse_and_merge(tmp_path: Path) -> None:
    _config(
        tmp_path,
        {
            "api": {"daily": "5"},
            "project:payments": {"monthly": "200"},
            "tag:team=infra": {"daily": "20"},
            "tag:note=a=b": {"daily": "1"},
            "account:login:max-5x": {"daily": 3},
        },
    )
    config = load_billing_config(tmp_path, {"THRIFTY_CONFIG_DIR": str(tmp_path / "cfg")})
    assert config.budgets == {
        "api": Budget(daily=Decimal("5")),
        "project:payments": Budget(monthly=Decimal("200")),
        "tag:team=infra": Budget(daily=Decimal("20")),
        "tag:note=a=b": Budget(daily=Decimal("1")),
        "account:login:max-5x": Budget(daily=Decimal("3")),
    }


# -- the figure --------------------------------------------------------------------------------------
def _measure(where: str, workers: int) -> None:
    """``where``: a directory for SQLite files, ``sqlite`` for a temp one, or ``postgres`` for a
    throwaway server."""
    if where == "sqlite":
        import tempfile

        with tempfile.TemporaryDirectory(prefix="measure-") as tmp:
            _measure(tmp, workers)
        return
    server = None
    if where == "postgres":
        from tests import pg

        server = pg.start(durable=False)
    try:
        for reserve in (False, True):
            if server is not None:
                url = server.create_database(f"measure_{int(reserve)}_{os.getpid()}")
            else:
                url = str(Path(where) / f"measure-{int(reserve)}-{os.getpid()}.sqlite3")
            _measure_one(url, workers, reserve)
    finally:
        if server is not None:
            server.stop()


def _measure_one(url: str, workers: int, reserve: bool) -> None:
    started = time.perf_counter()
    spent = spend_with_workers(url, workers=workers, reserve=reserve)
    over = spent - CAP
    print(
        f"{'reservations' if reserve else 'read-then-check'}: {workers} workers, cap ${CAP}, "
        f"call ${COST} (estimate ${ESTIMATE}): spent ${spent}, overshoot ${over} "
        f"= {over / COST:.1f} calls, {time.perf_counter() - started:.1f} s"
    )


def main(argv: list[str]) -> None:
    mode, *rest = argv
    if mode == "spend":
        url, worker, reserve, latency = rest
        _child_spend(url, int(worker), reserve == "1", float(latency))
    elif mode == "hang":
        url, ttl = rest
        _child_hold_and_hang(url, float(ttl))
    elif mode == "measure":
        url, workers = rest
        _measure(url, int(workers))
    else:
        raise SystemExit(f"unknown mode {mode}")


if __name__ == "__main__":
    main(sys.argv[1:])
