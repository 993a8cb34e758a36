"""The grouped views from the ledger's own sums are the views from its rows, to the last digit.

Every report here is built twice: by ``aggregated_report`` (``Ledger.aggregate``, buckets folded
into days) and by ``build_report`` over ``ledger.query`` rows (what ``thrifty usage`` did before),
and the two must print alike: same groups, same order, same Decimal spelling ("0.10" is not
"0.1"). The ledgers, SQLite and PostgreSQL, hold generated histories across both 2025 DST
changes of New York plus calls on every local midnight (and a microsecond before it) of each
zone tested, so a bucket placed on the wrong day cannot hide.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from tests import pg
from tests.billing.conftest import pg_server  # noqa: F401 - the throwaway PostgreSQL server
from tests.usage import cc_history, history
from tests.usage.rows import make_row
from thrifty.billing.ledger import LOGGED_COST_TAG, Ledger, LedgerRow, RowQuery, open_ledger
from thrifty.billing.ledger.sql import _Aggregation
from thrifty.usage.aggregate import FINEST_BUCKET, aggregated_report, buckets_for
from thrifty.usage.claude_code import discover
from thrifty.usage.costs import COST_MODES, apply_cost_mode
from thrifty.usage.importer import import_claude_code
from thrifty.usage.reports import Report, build_report, filter_projects

ZONES = {
    "UTC": UTC,
    "America/New_York": ZoneInfo("America/New_York"),  # DST changes on 2025-03-09 and 2025-11-02
    "Asia/Kolkata": ZoneInfo("Asia/Kolkata"),  # +05:30
    "Asia/Kathmandu": ZoneInfo("Asia/Kathmandu"),  # +05:45
    "Australia/Lord_Howe": ZoneInfo("Australia/Lord_Howe"),  # +10:30, half an hour more in summer
}
CALENDAR = ("daily", "weekly", "monthly")
SMALL = history.Profile(sessions_per_day=(1, 2), calls_per_session=(3, 10), nightly_calls=(2, 6))
SPRING = datetime(2025, 3, 3, tzinfo=UTC)
AUTUMN = datetime(2025, 10, 20, tzinfo=UTC)


def _midnights(tz: tzinfo, start: datetime, days: int) -> Iterator[datetime]:
    """Each local midnight in [start - 1 day, start + days], as a UTC instant."""
    first = start.astimezone(tz).date() - timedelta(days=1)
    for n in range(days + 2):
        day = first + timedelta(days=n)
        yield datetime(day.year, day.month, day.day, tzinfo=tz).astimezone(UTC)


def _offset_changes(tz: tzinfo, start: datetime, days: int) -> Iterator[datetime]:
    """The instants (to the minute) at which ``tz`` changes its UTC offset."""
    moment, end = start, start + timedelta(days=days)
    while moment < end:
        later = moment + timedelta(hours=1)
        if moment.astimezone(tz).utcoffset() != later.astimezone(tz).utcoffset():
            while (
                moment.astimezone(tz).utcoffset()
                == (moment + timedelta(minutes=1)).astimezone(tz).utcoffset()
            ):
                moment += timedelta(minutes=1)
            yield moment + timedelta(minutes=1)
        moment = later


def _edges() -> list[LedgerRow]:
    """Calls on every local midnight and offset change of each zone, and a microsecond before."""
    instants: set[datetime] = set()
    for tz in ZONES.values():
        for start, days in ((SPRING, 30), (AUTUMN, 30), (datetime(2025, 9, 28, tzinfo=UTC), 10)):
            instants.update(_midnights(tz, start, days))
            instants.update(_offset_changes(tz, start, days))
    rows = []
    spellings = ("0.10", "1.5e-05", "0.0123456789012345678", "2E+1")
    for n, moment in enumerate(sorted(instants)):
        for m, at in enumerate((moment - timedelta(microseconds=1), moment)):
            i = 2 * n + m
            row = make_row(
                n=900_000 + i,
                at=at,
                mode=("api", "plan", "batch")[i % 3],
                model=("claude-sonnet-4-5", "claude-opus-4-5", "claude-mystery-9")[i % 3 if i % 7 else 2],
                cost=None if i % 11 == 0 else ("0.012345", "0.5", "0.000000375", "3")[i % 4],
                session=f"edge-{i % 5}",
                project=("/home/dev/app", "/srv/ci/app")[i % 2],
                inp=i,
                out=2 * i,
                cw5=i % 13,
                cw1=i % 17,
                cr=10 * i,
            )
            tags = {LOGGED_COST_TAG: spellings[i % 4]} if i % 3 == 0 else {}
            rows.append(replace(row, source=("claude-code", "thrifty")[i % 2], tags=tags))
    return rows


def _all_rows() -> list[LedgerRow]:
    return [
        *history.generate(seed=11, profile=SMALL, start=SPRING).rows,
        *history.generate(seed=12, profile=SMALL, start=AUTUMN).rows,
        *_edges(),
    ]


class Backend:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self.rows = ledger.query(RowQuery())
        self._costed: dict[str, list[LedgerRow]] = {}

    def costed(self, cost_mode: str) -> list[LedgerRow]:
        if cost_mode not in self._costed:
            self._costed[cost_mode] = apply_cost_mode(self.rows, cost_mode)
        return self._costed[cost_mode]


@pytest.fixture(scope="module")
def sqlite_backend(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Backend]:
    ledger = open_ledger(str(tmp_path_factory.mktemp("aggregate") / "ledger.sqlite3"))
    ledger.append_many(_all_rows())
    yield Backend(ledger)
    ledger.close()


@pytest.fixture(scope="module")
def postgres_backend(pg_server: pg.PgServer) -> Iterator[Backend]:  # noqa: F811
    ledger = open_ledger(pg_server.create_database("aggregate_reports"))
    ledger.append_many(_all_rows())
    yield Backend(ledger)
    ledger.close()


@pytest.fixture(params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Backend:
    found: Backend = request.getfixturevalue(f"{request.param}_backend")
    # Every tag here is a plain decimal, so the store sums it: never the row-by-row fallback.
    monkeypatch.setattr(_Aggregation, "from_rows", _no_row_path)
    return found


def _no_row_path(*args: Any) -> Any:
    raise AssertionError("the ledger summed row by row")


def same(aggregated: Report | None, from_rows: Report) -> None:
    assert aggregated is not None, "the buckets could not be placed"
    assert aggregated == from_rows
    assert repr(aggregated) == repr(from_rows)  # Decimal spelling too


def test_the_history_crosses_what_it_must(sqlite_backend: Backend) -> None:
    rows = sqlite_backend.rows
    assert len(rows) > 1500
    assert {r.mode for r in rows} == {"api", "plan", "batch"}
    assert {r.source for r in rows} == {"thrifty", "claude-code"}
    assert any(r.cost_usd is None for r in rows) and any(LOGGED_COST_TAG in r.tags for r in rows)
    new_york = ZONES["America/New_York"]
    assert len({r.recorded_at.astimezone(new_york).utcoffset() for r in rows}) == 2


@pytest.mark.parametrize("breakdown", [False, True], ids=["plain", "breakdown"])
@pytest.mark.parametrize("zone", [*ZONES, "local"])
@pytest.mark.parametrize("cost_mode", COST_MODES)
@pytest.mark.parametrize("view", CALENDAR)
def test_calendar_views_equal_the_row_reports(
    backend: Backend,
    view: str,
    cost_mode: str,
    zone: str,
    breakdown: bool,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    tz: tzinfo | None = ZONES.get(zone)
    if zone == "local":  # the system zone, resolved per instant: New York's DST through the OS
        monkeypatch.setenv("TZ", "America/New_York")
        time.tzset()
    try:
        week_start = "sunday" if breakdown else "monday"
        got = aggregated_report(
            backend.ledger,
            RowQuery(),
            view=view,
            tz=tz,
            cost_mode=cost_mode,
            breakdown=breakdown,
            week_start=week_start,
        )
        rows = backend.costed(cost_mode)
        same(got, build_report(view, rows, tz=tz, breakdown=breakdown, week_start=week_start))
    finally:
        monkeypatch.undo()
        time.tzset()


@pytest.mark.parametrize("breakdown", [False, True], ids=["plain", "breakdown"])
@pytest.mark.parametrize("cost_mode", COST_MODES)
@pytest.mark.parametrize("view", ["session", "model"])
def test_session_and_model_views_equal_the_row_reports(
    backend: Backend, view: str, cost_mode: str, breakdown: bool
) -> None:
    got = aggregated_report(backend.ledger, RowQuery(), view=view, cost_mode=cost_mode, breakdown=breakdown)
    same(got, build_report(view, backend.costed(cost_mode), breakdown=breakdown))


@pytest.mark.parametrize(
    ("query", "modes", "projects"),
    [
        (RowQuery(source="claude-code"), None, None),
        (RowQuery(source="thrifty", mode="plan"), ["plan"], None),
        (RowQuery(), None, frozenset({"/home/dev/app", "app"})),
        (RowQuery(), None, frozenset({"/nowhere"})),
        (RowQuery(since=SPRING + timedelta(days=3, hours=5), until=AUTUMN + timedelta(days=2)), None, None),
        (RowQuery(mode="batch"), ["batch", "api"], frozenset({"/srv/ci/app", "/srv/ci/payments"})),
    ],
)
@pytest.mark.parametrize("cost_mode", COST_MODES)
@pytest.mark.parametrize("view", ["daily", "session"])
def test_filters_narrow_both_alike(
    backend: Backend,
    view: str,
    cost_mode: str,
    query: RowQuery,
    modes: list[str] | None,
    projects: frozenset[str] | None,
) -> None:
    kolkata = ZONES["Asia/Kolkata"]
    got = aggregated_report(
        backend.ledger,
        query,
        view=view,
        tz=kolkata,
        modes=modes or ["api", "plan", "batch"],
        cost_mode=cost_mode,
        projects=projects,
    )
    rows = apply_cost_mode(filter_projects(backend.ledger.query(query), projects), cost_mode)
    same(got, build_report(view, rows, tz=kolkata, modes=modes or ["api", "plan", "batch"]))


def test_buckets_are_local_days_or_divide_every_offset_of_the_zone() -> None:
    year = [SPRING + timedelta(days=d) for d in range(0, 366, 7)]
    assert buckets_for(UTC, year) == (86400, 0)
    assert buckets_for(ZONES["Asia/Kolkata"], year) == (86400, 19800)
    assert buckets_for(ZONES["Asia/Kathmandu"], year) == (86400, 20700)
    assert buckets_for(ZoneInfo("America/St_Johns"), year) == (1800, 0)  # -03:30 and -02:30
    assert buckets_for(ZONES["America/New_York"], year) == (3600, 0)
    assert buckets_for(ZONES["Australia/Lord_Howe"], year) == (1800, 0)
    assert buckets_for(ZoneInfo("Asia/Kathmandu"), [datetime(1985, 6, 1, tzinfo=UTC), *year]) == (900, 0)


def test_an_offset_missed_by_the_guess_is_caught_and_summed_finer(sqlite_backend: Backend) -> None:
    new_york = ZONES["America/New_York"]
    calls: list[tuple[int, int]] = []
    real = sqlite_backend.ledger.aggregate

    def spy(q: RowQuery, **kwargs: Any) -> Any:
        calls.append((kwargs["bucket_seconds"], kwargs["bucket_offset"]))
        return real(q, **kwargs)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(sqlite_backend.ledger, "aggregate", spy)
        # As if the report only knew New York's winter: days of -05:00, wrong all summer.
        mp.setattr("thrifty.usage.aggregate._around", lambda query, now: [SPRING])
        got = aggregated_report(sqlite_backend.ledger, RowQuery(), view="daily", tz=new_york)
    assert calls == [(86400, -18000), (FINEST_BUCKET, 0)]
    same(got, build_report("daily", sqlite_backend.costed("auto"), tz=new_york))


def test_a_zone_whose_offset_was_odd_minutes_falls_back_to_rows(tmp_path: Path) -> None:
    monrovia = ZoneInfo("Africa/Monrovia")  # -00:44:30 until 1972
    rows = [make_row(at=datetime(1971, 5, 1, h, 44, 29, tzinfo=UTC), cost="0.25") for h in range(0, 24, 3)]
    ledger = open_ledger(str(tmp_path / "ledger.sqlite3"))
    ledger.append_many(rows)
    assert aggregated_report(ledger, RowQuery(), view="daily", tz=monrovia) is None
    from thrifty.cli.usage.common import load_report

    ledger.close()
    _, report = load_report(str(tmp_path / "ledger.sqlite3"), RowQuery(), view="daily", tz=monrovia)
    assert repr(report) == repr(build_report("daily", rows, tz=monrovia))
    assert [r.key for r in report.rows] == ["1971-04-30", "1971-05-01"]


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_odd_logged_cost_tags_are_read_as_the_rows_read_them(
    kind: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    url = str(tmp_path / "ledger.sqlite3")
    if kind == "postgres":
        url = request.getfixturevalue("pg_server").create_database("odd_tags")
    ledger = open_ledger(url)
    odd = ("abc", "", "1,5", "NaN", " 0.25 ", "-0.5", "1_000", "Infinity")
    rows = [
        replace(
            make_row(at=SPRING + timedelta(hours=i), cost="0.1" if i % 2 else None),
            tags={LOGGED_COST_TAG: tag},
        )
        for i, tag in enumerate(odd * 2)
    ]
    rows += [replace(r, source="thrifty") for r in (make_row(at=SPRING), make_row(at=SPRING, cost=None))]
    ledger.append_many(rows)
    try:
        for cost_mode in COST_MODES:
            for view in ("daily", "model"):
                got = aggregated_report(ledger, RowQuery(), view=view, tz=UTC, cost_mode=cost_mode)
                same(got, build_report(view, apply_cost_mode(rows, cost_mode), tz=UTC))
    finally:
        ledger.close()


@pytest.mark.parametrize("kind", ["sqlite", "postgres"])
def test_cost_sums_are_exact(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = str(tmp_path / "ledger.sqlite3")
    if kind == "postgres":
        url = request.getfixturevalue("pg_server").create_database("exact_sums")
    ledger = open_ledger(url)
    step = Decimal("0.000000000001")
    rows = [
        replace(
            make_row(at=SPRING + timedelta(seconds=i), cost=f"{step * i:f}"),
            tags={LOGGED_COST_TAG: f"{step * (i % 3):f}"} if i % 2 else {},
        )
        for i in range(1, 10_001)
    ]
    rows += [
        make_row(at=SPRING, cost="1000000"),
        make_row(at=SPRING, cost="0.000000000000000000000000000001"),
    ]
    ledger.append_many(rows)
    try:
        for cost_mode in COST_MODES:
            got = aggregated_report(ledger, RowQuery(), view="daily", tz=UTC, cost_mode=cost_mode)
            same(got, build_report("daily", apply_cost_mode(rows, cost_mode), tz=UTC))
        got = aggregated_report(ledger, RowQuery(), view="daily", tz=UTC, cost_mode="calculate")
        assert got is not None
        assert str(got.totals["api"].cost_usd) == "1000000.000050005000000000000000000001"
    finally:
        ledger.close()


def test_imported_claude_code_history_reports_alike(tmp_path: Path) -> None:
    generated = cc_history.generate(tmp_path / "claude", seed=5, min_sessions=12)
    ledger = open_ledger(str(tmp_path / "ledger.sqlite3"))
    try:
        import_claude_code(ledger, discover([str(generated.config_dir)]).dirs)
        rows = ledger.query(RowQuery())
        assert any(LOGGED_COST_TAG in r.tags for r in rows) and any(r.cost_usd is None for r in rows)
        for view in ("daily", "session"):
            for cost_mode in COST_MODES:
                for tz in (UTC, ZONES["Asia/Kathmandu"]):
                    got = aggregated_report(
                        ledger, RowQuery(), view=view, tz=tz, cost_mode=cost_mode, breakdown=True
                    )
                    expected = build_report(view, apply_cost_mode(rows, cost_mode), tz=tz, breakdown=True)
                    same(got, expected)
    finally:
        ledger.close()


def test_usage_daily_reads_no_rows_and_loads_no_tables(tmp_path: Path) -> None:
    """The CLI takes the aggregate path, and ``--json`` does without rich."""
    path = tmp_path / "ledger.sqlite3"
    ledger = open_ledger(str(path))
    ledger.append_many(history.generate(seed=3, profile=SMALL).rows)
    ledger.close()
    script = (
        "import sys\n"
        "from thrifty.billing.ledger.sql import SqlLedger\n"
        "def refuse(*a, **k): raise AssertionError('rows read')\n"
        "SqlLedger.query = refuse\n"
        "from thrifty.cli.main import main\n"
        f"code = main(['usage', 'daily', '--json', '--ledger', {str(path)!r}])\n"
        "assert code == 0, code\n"
        "assert not [m for m in sys.modules if m == 'rich' or m.startswith('rich.')], 'rich loaded'\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "THRIFTY_LEDGER"}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert '"view": "daily"' in run.stdout
