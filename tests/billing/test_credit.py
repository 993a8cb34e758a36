"""The monthly Agent SDK credit against a real SQLite ledger: which rows draw it, cycle edges, the lines."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from tests.billing.factory import make_row
from thrifty.billing.credit import CreditState, check_credit, credit_state, cycle_bounds, cycle_start_on
from thrifty.billing.ledger import Ledger, open_ledger
from thrifty.billing.ledger.rows import LedgerRow
from thrifty.billing.plan_settings import PlanSettings

_ids = itertools.count()
MAX5 = PlanSettings("max-5x", billing_cycle_day=14, claimed=True)
NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


@pytest.fixture
def ledger(tmp_path: Path) -> Iterator[Ledger]:
    store = open_ledger(str(tmp_path / "ledger.sqlite3"))
    yield store
    store.close()


def row(
    when: datetime, cost: str | None = "10", *, entrypoint: str | None = None, mode: str = "plan"
) -> LedgerRow:
    """thrifty's own plan run by default; ``entrypoint``: a Claude Code import with that entry point."""
    base = make_row(
        f"req-{next(_ids)}", mode=mode, recorded_at=when, cost_usd=None if cost is None else Decimal(cost)
    )
    if entrypoint is not None:
        base = replace(base, source="claude-code", tags={"entrypoint": entrypoint})
    return base


def test_cycles_start_on_the_billing_day() -> None:
    assert cycle_start_on(date(2026, 12, 6), 14) == (date(2026, 11, 14), date(2026, 12, 14))
    assert cycle_start_on(date(2026, 12, 14), 14) == (date(2026, 12, 14), date(2027, 1, 14))
    assert cycle_start_on(date(2026, 12, 13), 14) == (date(2026, 11, 14), date(2026, 12, 14))
    assert cycle_start_on(date(2027, 1, 5), 14) == (date(2026, 12, 14), date(2027, 1, 14))
    assert cycle_start_on(date(2026, 12, 1), 1) == (date(2026, 12, 1), date(2027, 1, 1))


def test_a_day_past_the_months_end_clamps_to_its_last_day() -> None:
    assert cycle_start_on(date(2027, 2, 27), 31) == (date(2027, 1, 31), date(2027, 2, 28))
    assert cycle_start_on(date(2027, 2, 28), 31) == (date(2027, 2, 28), date(2027, 3, 31))
    assert cycle_start_on(date(2028, 2, 29), 30) == (date(2028, 2, 29), date(2028, 3, 30))
    assert cycle_start_on(date(2026, 4, 30), 31) == (date(2026, 4, 30), date(2026, 5, 31))
    assert cycle_start_on(date(2026, 5, 30), 31) == (date(2026, 4, 30), date(2026, 5, 31))


def test_cycle_bounds_read_now_in_the_given_zone() -> None:
    settings = PlanSettings("pro", billing_cycle_day=7)
    late = datetime(2026, 12, 6, 23, 30, tzinfo=UTC)
    assert cycle_bounds(settings, late, UTC) == (date(2026, 11, 7), date(2026, 12, 7))
    from zoneinfo import ZoneInfo

    assert cycle_bounds(settings, late, ZoneInfo("Asia/Tokyo")) == (date(2026, 12, 7), date(2027, 1, 7))


def test_only_headless_plan_rows_of_this_cycle_draw_the_credit(ledger: Ledger) -> None:
    ledger.append_many(
        [
            row(datetime(2026, 11, 14, 0, 0, tzinfo=UTC), "30"),  # the cycle's first instant: counts
            row(datetime(2026, 11, 13, 23, 59, tzinfo=UTC), "500"),  # the previous cycle
            row(datetime(2026, 12, 1, tzinfo=UTC), "12.5", entrypoint="sdk-cli"),  # claude -p
            row(datetime(2026, 12, 2, tzinfo=UTC), "7.5", entrypoint="sdk-py"),
            row(datetime(2026, 12, 3, tzinfo=UTC), "900", entrypoint="cli"),  # interactive: windows
            row(datetime(2026, 12, 4, tzinfo=UTC), "900", mode="api"),  # an API key's usage
        ]
    )
    state = credit_state(ledger, MAX5, NOW, UTC)
    assert (state.credit, state.used, state.calls, state.unpriced_calls) == (Decimal(100), Decimal(50), 3, 0)
    assert (state.remaining, state.percent_remaining, state.overage_used) == (Decimal(50), 50, Decimal(0))
    assert state.refreshes_on == date(2026, 12, 14) and state.cycle_start == date(2026, 11, 14)
    assert (
        state.describe()
        == "50% of your monthly Agent SDK credit remaining ($50.00 of $100.00, refreshes on Dec 14)"
    )
    assert check_credit(state, "credit") is None
    assert check_credit(state, "credit", Decimal("50")) is None
    refusal = check_credit(state, "credit", Decimal("50.01"))
    assert refusal is not None and "would be passed by the next request" in refusal and "Dec 14" in refusal


def test_rows_before_june_15_2026_counted_toward_the_windows_not_the_credit(ledger: Ledger) -> None:
    settings = PlanSettings("pro", billing_cycle_day=1, claimed=True)
    ledger.append_many(
        [
            row(datetime(2026, 6, 14, 23, 59, tzinfo=UTC), "15"),
            row(datetime(2026, 6, 15, 0, 0, tzinfo=UTC), "4"),
            row(datetime(2026, 6, 20, tzinfo=UTC), "1", entrypoint="sdk-ts"),
        ]
    )
    state = credit_state(ledger, settings, datetime(2026, 6, 25, tzinfo=UTC), UTC)
    assert (state.cycle_start, state.used, state.calls) == (date(2026, 6, 1), Decimal(5), 2)
    assert state.describe().startswith("75% of your monthly Agent SDK credit remaining ($15.00 of $20.00")


def test_unpriced_rows_are_counted_and_the_amounts_are_bounds(ledger: Ledger) -> None:
    ledger.append_many(
        [row(datetime(2026, 12, 1, tzinfo=UTC), "40"), row(datetime(2026, 12, 2, tzinfo=UTC), None)]
    )
    state = credit_state(ledger, MAX5, NOW, UTC)
    assert (state.used, state.calls, state.unpriced_calls) == (Decimal(40), 1, 1)
    lines = state.describe().splitlines()
    assert lines == [
        "at most 60% of your monthly Agent SDK credit remaining "
        "(at most $60.00 of $100.00, refreshes on Dec 14)",
        "at least $40.00 used this cycle: 1 call with no known price not counted",
    ]


def test_overage_with_and_without_usage_credits(ledger: Ledger) -> None:
    ledger.append_many(
        [row(datetime(2026, 11, 20, tzinfo=UTC), "80"), row(datetime(2026, 12, 1, tzinfo=UTC), "45")]
    )
    on = credit_state(ledger, replace(MAX5, usage_credits=True), NOW, UTC)
    assert (on.remaining, on.overage_used, on.percent_remaining, on.spent) == (
        Decimal(0),
        Decimal(25),
        0,
        True,
    )
    assert on.describe().splitlines() == [
        "0% of your monthly Agent SDK credit remaining ($0.00 of $100.00, refreshes on Dec 14)",
        "Agent SDK credit spent: $25.00 past it drawn from usage credits at API rates since Nov 14",
    ]
    assert check_credit(on, "never") is None  # usage credits pay for it
    stop = check_credit(on, "credit")
    assert stop is not None and "is spent" in stop and "refreshes on Dec 14" in stop
    off = credit_state(ledger, MAX5, NOW, UTC)
    assert off.describe().splitlines()[1] == (
        "Agent SDK credit spent and usage credits are off: Anthropic stops Agent SDK requests until the "
        "credit refreshes on Dec 14"
    )
    assert check_credit(off, "never") == (
        "The monthly Agent SDK credit is spent ($125.00 of $100.00 used this cycle) and usage credits are "
        "off: Agent SDK requests would stop until Dec 14"
    )


def test_an_unclaimed_credit_refuses_plan_runs_and_says_how_to_claim(ledger: Ledger) -> None:
    state = credit_state(ledger, replace(MAX5, claimed=False), NOW, UTC)
    text = state.describe()
    assert "not claimed" in text and "Claude account settings" in text and "15036540" in text
    refusal = check_credit(state, "never")
    assert refusal is not None and "not claimed" in refusal and "thrifty login --credit-claimed" in refusal


def test_a_plan_without_a_credit_is_described_and_not_checked(ledger: Ledger) -> None:
    custom = PlanSettings.from_dict(
        {"name": "custom", "label": "Seat", "monthlyFeeUsd": "60", "fiveHourTokens": 1, "weeklyTokens": 2}
    )
    state = credit_state(ledger, custom, NOW, UTC)
    assert state.credit is None and "has no monthly Agent SDK credit" in state.describe()
    assert check_credit(state, "credit", Decimal(5)) is None


def test_with_spend_adds_a_runs_own_spend() -> None:
    state = CreditState(
        "Pro", Decimal(20), Decimal(19), 3, 0, date(2026, 12, 1), date(2027, 1, 1), True, False
    )
    assert check_credit(state, "credit") is None
    assert check_credit(state.with_spend(Decimal(1)), "credit") is not None


def test_a_share_of_the_credit_stops_earlier(ledger: Ledger) -> None:
    state = credit_state(ledger, MAX5, NOW, UTC)
    assert check_credit(state.with_spend(Decimal("79")), "80%") is None
    refusal = check_credit(state.with_spend(Decimal("79")), "80%", Decimal("2"))
    assert refusal is not None and refusal.startswith("Stopped at 80% of the monthly Agent SDK credit")
    assert "would be passed by the next request" in refusal
    assert check_credit(state.with_spend(Decimal("80")), "80%") is not None
    # "credit" is the whole of it; "never" lets it run on into usage credits.
    assert check_credit(state.with_spend(Decimal("99")), "credit") is None
    on = credit_state(ledger, replace(MAX5, usage_credits=True), NOW, UTC)
    assert check_credit(on.with_spend(Decimal("150")), "never") is None


@pytest.mark.parametrize("value", ["80%", "1%", "100%", "credit", "never"])
def test_stop_at_accepts_credit_a_share_or_never(value: str) -> None:
    assert PlanSettings.from_dict({"name": "pro", "agentSdkCredit": {"stopAt": value}}).stop_at == value


@pytest.mark.parametrize("value", ["0%", "101%", "80", "0.8", 0.8, "%", "eighty%"])
def test_stop_at_refuses_anything_else(value: object) -> None:
    with pytest.raises(ValueError, match="stopAt must be"):
        PlanSettings.from_dict({"name": "pro", "agentSdkCredit": {"stopAt": value}})
