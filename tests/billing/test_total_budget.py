"""The ``total`` budget period: a cap on everything a scope ever spent, whatever the calendar.

A monthly cap forgets last month's spend at midnight on the 1st; a total cap must not, and a call
held in flight across that midnight must still count. Checked on a real SQLite file and a real
PostgreSQL server (``tests/pg.py``), with the guard's own clock set either side of a month's turn,
and through ``thrifty status`` as a subprocess.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.billing.factory import make_row
from tests.billing.test_reservations import status_outputs
from thrifty.billing.budget import BudgetGuard
from thrifty.billing.config import Budget, ConfigError, load_billing_config
from thrifty.billing.ledger import Ledger, Reservation, open_ledger
from thrifty.core.endings import BudgetExceeded

#: Just before and just after a month's turn, in UTC (the guard's clock in these tests).
JAN_31 = datetime(2026, 1, 31, 23, 50, tzinfo=UTC)
FEB_1 = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)
SCOPE = "tag:fleet=abc"


@pytest.fixture(params=["sqlite", "postgres"])
def ledger(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    url = str(tmp_path / "ledger.sqlite3") if request.param == "sqlite" else request.getfixturevalue("pg_url")
    store = open_ledger(url)
    try:
        yield store
    finally:
        store.close()


def guard(ledger: Ledger, at: datetime, **budget: str) -> BudgetGuard:
    caps = Budget(**{period: Decimal(v) for period, v in budget.items()})
    return BudgetGuard(mode="api", ledger=ledger, scope_caps={SCOPE: caps}, now=lambda: at)


def held(guard: BudgetGuard) -> Reservation | None:
    """The guard's hold, read afresh (each check replaces it)."""
    return guard.held


def test_a_total_cap_counts_last_months_rows_a_monthly_cap_forgets(ledger: Ledger) -> None:
    ledger.append(make_row("jan", tags={"fleet": "abc"}, cost_usd=Decimal("0.90"), recorded_at=JAN_31))
    monthly = guard(ledger, FEB_1, monthly="1")
    monthly.check(Decimal(0), Decimal("0.2"), tags={"fleet": "abc"})
    assert monthly.held is not None  # February has spent nothing: the monthly cap lets it through
    monthly.release()
    total = guard(ledger, FEB_1, total="1")
    with pytest.raises(BudgetExceeded) as info:
        total.check(Decimal(0), Decimal("0.2"), tags={"fleet": "abc"})
    assert str(info.value) == "Reached the total budget of tag:fleet=abc ($1.00; $0.90 spent in all)"
    assert held(total) is None
    # Within the headroom the total cap reserves, and a run without the tag is not checked.
    total.check(Decimal(0), Decimal("0.1"), tags={"fleet": "abc"})
    hold = held(total)
    assert hold is not None and hold.amount == Decimal("0.1")
    other = guard(ledger, FEB_1, total="1")
    other.check(Decimal(0), Decimal("5"), tags={"fleet": "xyz"})
    assert other.held is None


def test_a_hold_taken_before_the_months_turn_still_counts_after_it(ledger: Ledger) -> None:
    ledger.append(make_row("jan", tags={"fleet": "abc"}, cost_usd=Decimal("0.50"), recorded_at=JAN_31))
    in_flight = guard(ledger, JAN_31, total="1")
    in_flight.check(Decimal(0), Decimal("0.40"), tags={"fleet": "abc"})
    assert isinstance(in_flight.held, Reservation)
    # Ten minutes later it is February, and the January call is still in flight.
    after = JAN_31 + timedelta(minutes=10)
    assert after.month == 2
    late = guard(ledger, after, total="1")
    with pytest.raises(BudgetExceeded) as info:
        late.check(Decimal(0), Decimal("0.2"), tags={"fleet": "abc"})
    assert "($1.00; $0.50 spent in all, $0.40 held by calls in flight)" in str(info.value)
    # The call lands (row in, hold out, one transaction): it counts once, in all.
    ledger.append(
        make_row("jan-late", tags={"fleet": "abc"}, cost_usd=Decimal("0.45"), recorded_at=after),
        settle=in_flight.take(),
    )
    found = ledger.scope_spend(SCOPE, since=datetime(1970, 1, 1, tzinfo=UTC), now=after)
    assert (found.spent, found.reserved) == (Decimal("0.95"), Decimal(0))
    with pytest.raises(BudgetExceeded, match=r"\$0.95 spent in all\)$"):
        late.check(Decimal(0), Decimal("0.1"), tags={"fleet": "abc"})


def test_total_sits_beside_daily_and_monthly_in_one_check(ledger: Ledger) -> None:
    old = datetime(2024, 6, 1, tzinfo=UTC)
    ledger.append(make_row("old", tags={"fleet": "abc"}, cost_usd=Decimal("3"), recorded_at=old))
    both = guard(ledger, FEB_1, daily="10", monthly="10", total="3.5")
    assert both.caps_in_force() == [
        "the daily budget of tag:fleet=abc ($10.00)",
        "the monthly budget of tag:fleet=abc ($10.00)",
        "the total budget of tag:fleet=abc ($3.50)",
    ]
    with pytest.raises(BudgetExceeded, match="total budget of tag:fleet=abc"):
        both.check(Decimal(0), Decimal("0.6"), tags={"fleet": "abc"})


# -- config ---------------------------------------------------------------------------------------------
def _config(cwd: Path, budgets: Any) -> None:
    (cwd / ".thrifty.json").write_text(json.dumps({"budgets": budgets}))


def test_total_parses_for_modes_and_scopes(tmp_path: Path) -> None:
    _config(tmp_path, {"api": {"daily": "5", "total": 100}, "tag:fleet=abc": {"total": "20"}})
    config = load_billing_config(tmp_path, {"THRIFTY_CONFIG_DIR": str(tmp_path / "cfg")})
    assert config.budgets == {
        "api": Budget(daily=Decimal("5"), total=Decimal("100")),
        "tag:fleet=abc": Budget(total=Decimal("20")),
    }
    assert config.budgets["api"].periods() == [("daily", Decimal("5")), ("total", Decimal("100"))]


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("twenty", 'budgets.tag:fleet=abc.total must be an amount in USD like "5.00", got "twenty"'),
        ("-1", 'budgets.tag:fleet=abc.total must be a non-negative amount in USD, got "-1"'),
        (True, 'budgets.tag:fleet=abc.total must be an amount in USD like "5.00", or null'),
        ({"usd": 1}, 'budgets.tag:fleet=abc.total must be an amount in USD like "5.00", or null'),
        ("NaN", "budgets.tag:fleet=abc.total must be a non-negative amount in USD"),
    ],
)
def test_a_bad_total_is_one_line(value: Any, problem: str, tmp_path: Path) -> None:
    _config(tmp_path, {"tag:fleet=abc": {"total": value}})
    with pytest.raises(ConfigError) as info:
        load_billing_config(tmp_path, {"THRIFTY_CONFIG_DIR": str(tmp_path / "cfg")})
    assert problem in str(info.value) and "\n" not in str(info.value)


def test_an_unknown_period_names_total_among_the_allowed(tmp_path: Path) -> None:
    _config(tmp_path, {"tag:fleet=abc": {"lifetime": "20"}})
    with pytest.raises(ConfigError) as info:
        load_billing_config(tmp_path, {"THRIFTY_CONFIG_DIR": str(tmp_path / "cfg")})
    assert str(info.value).endswith(
        "budgets.tag:fleet=abc.lifetime is not a period; allowed: daily, monthly, total"
    )


# -- thrifty status --------------------------------------------------------------------------------------
def test_status_shows_a_total_cap_with_every_month_counted(tmp_path: Path) -> None:
    ledger_path = tmp_path / "ledger.sqlite3"
    store = open_ledger(str(ledger_path))
    now = datetime.now(UTC)
    store.append(
        make_row("old", tags={"fleet": "abc"}, cost_usd=Decimal("7"), recorded_at=now - timedelta(days=70))
    )
    store.append(make_row("new", tags={"fleet": "abc"}, cost_usd=Decimal("1.25"), recorded_at=now))
    store.close()
    _config(tmp_path, {"tag:fleet=abc": {"monthly": "5", "total": "20"}})
    out = status_outputs(tmp_path, ledger_path)
    budgets = {(b["scope"], b["period"]): b for b in json.loads(out["--json"])["budgets"]}
    assert {k: (b["capUsd"], b["spentUsd"]) for k, b in budgets.items()} == {
        ("tag:fleet=abc", "monthly"): ("5", "1.25"),
        ("tag:fleet=abc", "total"): ("20", "8.25"),
    }
    assert "Budget:        tag:fleet=abc total: $8.25 of $20.00 in all" in out[None]
    assert "Budget:        tag:fleet=abc monthly: $1.25 of $5.00 this month" in out[None]
