from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest

from tests.usage.rows import make_row
from thrifty.usage.filters import parse_bound
from thrifty.usage.reports import Report, ReportRow, build_report, filter_projects

T = datetime(2025, 3, 1, 12, 0, tzinfo=UTC)


def keys(report: Report) -> list[tuple[str, str]]:
    return [(row.mode, row.key) for row in report.rows]


def test_daily_sums_each_column_exactly() -> None:
    rows = [
        make_row(at=datetime(2025, 3, 1, 9, tzinfo=UTC), inp=100, out=10, cw5=5, cw1=7, cr=1000, cost="0.1"),
        make_row(at=datetime(2025, 3, 1, 18, tzinfo=UTC), inp=200, out=20, cw5=1, cr=2000, cost="0.2"),
        make_row(at=datetime(2025, 3, 2, 1, tzinfo=UTC), inp=1, out=2, cw1=3, cr=4, cost="0.3", model="opus"),
    ]
    report = build_report("daily", rows, tz=UTC)
    first, second = report.rows
    assert first == ReportRow(
        key="2025-03-01",
        mode="api",
        calls=2,
        input_tokens=300,
        output_tokens=30,
        cache_write_tokens=13,
        cache_read_tokens=3000,
        cost_usd=Decimal("0.3"),
        models=("claude-sonnet-4-5",),
    )
    assert first.total_tokens == 3343
    assert first.cost_complete and first.cost_known
    assert (second.key, second.calls, second.total_tokens, second.models) == ("2025-03-02", 1, 10, ("opus",))
    total = report.totals["api"]
    assert (total.calls, total.total_tokens, total.cost_usd) == (3, 3353, Decimal("0.6"))
    assert total.models == ("claude-sonnet-4-5", "opus")


def test_costs_stay_exact_decimals() -> None:
    rows = [make_row(cost="0.1") for _ in range(3)] + [make_row(cost="0.000000375")]
    total = build_report("model", rows).totals["api"]
    assert total.cost_usd == Decimal("0.300000375")
    assert isinstance(total.cost_usd, Decimal)


def test_modes_get_separate_rows_and_totals() -> None:
    rows = [
        make_row(mode="api", cost="1.00"),
        make_row(mode="plan", cost="5.00"),
        make_row(mode="batch", cost="0.50"),
        make_row(mode="plan", cost="2.00"),
    ]
    report = build_report("daily", rows, tz=UTC)
    assert keys(report) == [("api", "2025-03-01"), ("plan", "2025-03-01"), ("batch", "2025-03-01")]
    assert {m: t.cost_usd for m, t in report.totals.items()} == {
        "api": Decimal("1.00"),
        "plan": Decimal("7.00"),
        "batch": Decimal("0.50"),
    }
    assert [r.calls for r in report.rows_of("plan")] == [2]
    # No grand total that would add the plan estimate to money billed.
    assert set(report.totals) == {"api", "plan", "batch"}


def test_modes_argument_narrows_rows_and_totals() -> None:
    rows = [make_row(mode="api"), make_row(mode="plan"), make_row(mode="plan")]
    report = build_report("model", rows, modes=["plan"])
    assert keys(report) == [("plan", "claude-sonnet-4-5")]
    assert list(report.totals) == ["plan"]
    assert report.totals["plan"].calls == 2


def test_empty_report_still_has_zero_totals_per_mode() -> None:
    report = build_report("monthly", [])
    assert report.rows == []
    for mode in ("api", "plan", "batch"):
        total = report.totals[mode]
        assert (total.calls, total.cost_usd, total.cost_complete, total.cost_known) == (
            0,
            Decimal(0),
            True,
            True,
        )


def test_unknown_price_is_flagged_not_zero() -> None:
    rows = [
        make_row(model="known", cost="0.25"),
        make_row(model="mystery", cost=None),
        make_row(model="known", cost="0.50", at=datetime(2025, 3, 2, tzinfo=UTC)),
    ]
    report = build_report("daily", rows, tz=UTC)
    mixed, clean = report.rows
    assert (mixed.cost_usd, mixed.unpriced_calls, mixed.cost_complete, mixed.cost_known) == (
        Decimal("0.25"),
        1,
        False,
        True,
    )
    assert clean.cost_complete
    total = report.totals["api"]
    assert (total.cost_usd, total.unpriced_calls, total.cost_complete) == (Decimal("0.75"), 1, False)


def test_group_with_no_price_at_all_is_unknown() -> None:
    rows = [make_row(model="mystery", cost=None), make_row(model="known", cost="1")]
    by_model = {row.key: row for row in build_report("model", rows).rows}
    assert not by_model["mystery"].cost_known
    assert by_model["mystery"].cost_usd == Decimal(0)
    assert by_model["known"].cost_known and by_model["known"].cost_complete


def test_daily_buckets_follow_the_timezone() -> None:
    late = make_row(at=datetime(2025, 3, 1, 23, 30, tzinfo=UTC))
    early = make_row(at=datetime(2025, 3, 2, 2, 0, tzinfo=UTC))
    assert keys(build_report("daily", [late, early], tz=UTC)) == [
        ("api", "2025-03-01"),
        ("api", "2025-03-02"),
    ]
    assert keys(build_report("daily", [late, early], tz=ZoneInfo("Asia/Tokyo"))) == [("api", "2025-03-02")]
    assert keys(build_report("daily", [late, early], tz=ZoneInfo("America/Los_Angeles"))) == [
        ("api", "2025-03-01")
    ]


def test_monthly_buckets_follow_the_timezone() -> None:
    row = make_row(at=datetime(2025, 3, 31, 22, 30, tzinfo=UTC))
    assert keys(build_report("monthly", [row], tz=UTC)) == [("api", "2025-03")]
    assert keys(build_report("monthly", [row], tz=ZoneInfo("Europe/Paris"))) == [("api", "2025-04")]


@pytest.fixture
def new_york(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("TZ", "America/New_York")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_default_timezone_is_the_system_local_one(new_york: None) -> None:
    row = make_row(at=datetime(2025, 3, 2, 3, 0, tzinfo=UTC))  # 22:00 on the 1st in New York
    assert keys(build_report("daily", [row])) == [("api", "2025-03-01")]


def test_session_view_reports_project_times_and_models() -> None:
    t1, t2, t3 = (datetime(2025, 3, 1, h, tzinfo=UTC) for h in (9, 10, 11))
    rows = [
        make_row(session="b", at=t3, model="opus", project="/p/two"),
        make_row(session="a", at=t2, model="sonnet", project="/p/one"),
        make_row(session="b", at=t1, model="haiku", project="/p/two"),
        make_row(session="b", at=t2, model="opus", project="/p/two", mode="plan"),
    ]
    report = build_report("session", rows)
    assert keys(report) == [("api", "b"), ("api", "a"), ("plan", "b")]  # by first call
    b = report.rows[0]
    assert (b.project, b.first_at, b.last_at, b.models, b.calls) == ("/p/two", t1, t3, ("haiku", "opus"), 2)
    assert report.totals["api"].project is None
    assert (report.totals["api"].first_at, report.totals["api"].last_at) == (t1, t3)


def test_session_in_two_projects_names_both() -> None:
    rows = [make_row(project="/p/one"), make_row(project="/p/two")]
    assert build_report("session", rows).rows[0].project == "/p/one, /p/two"


def test_other_views_carry_no_session_fields() -> None:
    row = build_report("daily", [make_row()], tz=UTC).rows[0]
    assert (row.project, row.first_at, row.last_at) == (None, None, None)


def test_model_view_groups_by_model_within_mode() -> None:
    rows = [
        make_row(model="opus", cost="2"),
        make_row(model="haiku", cost="1"),
        make_row(model="opus", cost="3"),
    ]
    report = build_report("model", rows)
    assert [(r.key, r.calls, r.cost_usd) for r in report.rows] == [
        ("haiku", 1, Decimal(1)),
        ("opus", 2, Decimal(5)),
    ]


def test_unknown_view_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown view"):
        build_report("yearly", [])


def test_filter_projects() -> None:
    rows = [make_row(project="/a"), make_row(project="named"), make_row(project="/b")]
    assert [r.project for r in filter_projects(rows, frozenset({"/a", "named"}))] == ["/a", "named"]
    assert len(filter_projects(rows, None)) == 3


def test_since_until_edges_select_whole_days() -> None:
    """The CLI's bounds applied as the ledger does (since inclusive, until exclusive)."""
    now = datetime(2025, 4, 1, tzinfo=UTC)
    tokyo = ZoneInfo("Asia/Tokyo")
    since = parse_bound("2025-03-02", flag="--since", tz=tokyo, now=now)
    until = parse_bound("20250302", flag="--until", tz=tokyo, now=now, end=True)
    instants = [
        datetime(2025, 3, 1, 14, 59, 59, 999999, tzinfo=UTC),  # 23:59:59.999999 on the 1st in Tokyo
        datetime(2025, 3, 1, 15, 0, tzinfo=UTC),  # midnight starting the 2nd
        datetime(2025, 3, 2, 14, 59, 59, 999999, tzinfo=UTC),  # last instant of the 2nd
        datetime(2025, 3, 2, 15, 0, tzinfo=UTC),  # midnight starting the 3rd
    ]
    kept = [make_row(at=t) for t in instants if since <= t < until]
    report = build_report("daily", kept, tz=tokyo)
    assert [(r.key, r.calls) for r in report.rows] == [("2025-03-02", 2)]


def test_weekly_buckets_by_the_first_day_of_the_week() -> None:
    rows = [
        make_row(at=datetime(2025, 3, 2, 23, 30, tzinfo=UTC)),  # Sunday
        make_row(at=datetime(2025, 3, 3, 0, 30, tzinfo=UTC)),  # Monday
        make_row(at=datetime(2025, 3, 9, 12, tzinfo=UTC)),  # the next Sunday
    ]
    assert [(r.key, r.calls) for r in build_report("weekly", rows, tz=UTC).rows] == [
        ("2025-02-24", 1),
        ("2025-03-03", 2),
    ]
    sunday = build_report("weekly", rows, tz=UTC, week_start="sunday")
    assert [(r.key, r.calls) for r in sunday.rows] == [("2025-03-02", 2), ("2025-03-09", 1)]
    # Tokyo is 9 hours ahead: Sunday 23:30 UTC is already Monday there.
    tokyo = build_report("weekly", rows, tz=ZoneInfo("Asia/Tokyo"))
    assert [(r.key, r.calls) for r in tokyo.rows] == [("2025-03-03", 3)]  # 3-09 12:00 UTC is 21:00 there
    with pytest.raises(ValueError, match="unknown week start"):
        build_report("weekly", rows, week_start="someday")


def test_breakdown_sums_per_model_and_adds_up() -> None:
    rows = [
        make_row(model="opus", inp=10, out=1, cost="2"),
        make_row(model="haiku", inp=5, out=1, cost=None),
        make_row(model="opus", inp=20, out=2, cost="3", mode="plan"),
        make_row(model="opus", inp=30, out=3, cost="4"),
    ]
    report = build_report("daily", rows, tz=UTC, breakdown=True)
    (api, plan) = report.rows
    assert [(b.key, b.mode, b.calls, b.input_tokens, b.cost_usd, b.cost_known) for b in api.breakdown] == [
        ("haiku", "api", 1, 5, Decimal(0), False),
        ("opus", "api", 2, 40, Decimal(6), True),
    ]
    assert [(b.key, b.calls) for b in plan.breakdown] == [("opus", 1)]
    assert [(b.key, b.calls) for b in report.totals["api"].breakdown] == [("haiku", 1), ("opus", 2)]
    assert build_report("daily", rows, tz=UTC).rows[0].breakdown == ()


def test_server_tool_uses_are_summed_and_their_fee_stays_in_the_cost() -> None:
    from dataclasses import replace

    from thrifty.billing.prices import bundled_prices
    from thrifty.core.usage import Usage

    prices = bundled_prices()
    searched = Usage(input_tokens=100, output_tokens=10, web_search_requests=3, web_fetch_requests=1)
    cost = prices.cost("claude-sonnet-4-5", searched)
    plain = prices.cost("claude-sonnet-4-5", replace(searched, web_search_requests=0, web_fetch_requests=0))
    assert cost is not None and plain is not None and cost - plain == Decimal("0.03")
    rows = [
        replace(make_row(at=T, inp=100, out=10, cost=str(cost)), web_search_requests=3, web_fetch_requests=1),
        replace(
            make_row(at=T, inp=100, out=10, cost=str(plain)), web_search_requests=0, web_fetch_requests=2
        ),
    ]
    [row] = build_report("daily", rows, tz=UTC).rows
    assert (row.web_search_requests, row.web_fetch_requests) == (3, 3)
    assert row.cost_usd == cost + plain
