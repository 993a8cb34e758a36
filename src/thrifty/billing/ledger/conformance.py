"""The ledger contract as runnable checks: every backend, built in or third-party, must pass them.

thrifty's SQLite and PostgreSQL ledgers run exactly these cases (``tests/billing/``), so a backend
that passes them gives the same answers: rows back unchanged (exact ``Decimal`` costs, UTC
instants, tags), one row per ``request_id`` (the most complete copy of a call, see
``rows.completeness``), the same order, filters, sums and time buckets, and the same budget
reservations (``conformance_reservations``: what counts against a cap, settle, release, expiry).

A backend's tests hand over a factory of fresh, empty stores; ``Harness.open`` opens a new handle
on one store (some cases open two, or reopen)::

    from thrifty.billing.ledger.conformance import Harness, run_ledger_conformance

    def test_my_ledger_conforms(tmp_path_factory: pytest.TempPathFactory) -> None:
        def fresh_store() -> Harness:
            path = tmp_path_factory.mktemp("ledger") / "ledger.db"
            return Harness(open=lambda: MyLedger(path))

        run_ledger_conformance(fresh_store)

or, to see each contract pass or fail on its own, one test per case::

    @pytest.mark.parametrize("case", CASES, ids=str)
    def test_conformance(case: Case, tmp_path: Path) -> None:
        case(Harness(open=lambda: MyLedger(tmp_path / "ledger.db")))

pytest is not needed: a broken contract raises ``AssertionError`` (under pytest, which rewrites
the asserts of every ``thrifty`` module, with the values compared). The ``needs_sql`` cases read
``thrifty_migrations`` through ``Harness.sql``, so they apply only to backends on thrifty's SQL
schema; ``SCHEMA_FREE_CASES`` is the rest.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import closing, contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import MAX_PREC, Decimal, localcontext
from functools import partial
from typing import Any, TypeVar
from unittest import mock

from thrifty.billing.ledger import (
    LOGGED_COST_TAG,
    Bucket,
    Ledger,
    LedgerError,
    LedgerRow,
    LoggedCosts,
    RowQuery,
    read_logged_cost,
)
from thrifty.billing.ledger.conformance_rows import T0, at, make_row
from thrifty.billing.ledger.migrations import MIGRATIONS
from thrifty.billing.ledger.sql import _Aggregation

__all__ = [
    "CASES",
    "SCHEMA_FREE_CASES",
    "T0",
    "Case",
    "Harness",
    "at",
    "make_row",
    "run_ledger_conformance",
]

_E = TypeVar("_E", bound=BaseException)


@dataclass(frozen=True)
class Harness:
    """One fresh, empty store, as one case sees it."""

    #: Opens a new handle on this store; a case may call it more than once (reopening, two writers)
    #: and closes what it opens.
    open: Callable[[], Ledger]
    #: Runs one statement on a separate raw connection, committed; returns its rows (if any). Only
    #: backends on thrifty's SQL schema have one; the ``needs_sql`` cases need it.
    sql: Callable[[str], list[tuple[Any, ...]]] | None = None
    #: What must never appear in ``location`` or in an error (a URL's password), if any.
    secret: str | None = None


@dataclass(frozen=True)
class Case:
    """One contract: ``case(harness)`` checks it on a fresh store, raising ``AssertionError``."""

    name: str
    check: Callable[[Harness], None]
    needs_sql: bool = False

    def __call__(self, harness: Harness) -> None:
        if self.needs_sql and harness.sql is None:
            raise ValueError(f"ledger conformance case {self.name} needs a Harness with sql")
        self.check(harness)

    def __str__(self) -> str:
        return self.name


def run_ledger_conformance(
    make_harness: Callable[[], Harness], *, cases: Iterable[Case] | None = None
) -> None:
    """Check ``cases`` against a backend, each on the fresh store ``make_harness()`` returns (it is
    called once per case). By default every case the harness can run: all of ``CASES``, less the
    ``needs_sql`` ones when the harness has no ``sql``.

    Returns ``None`` when the backend keeps the whole contract; raises the first failure (an
    ``AssertionError``, or whatever the backend raised) with a note naming the case.
    """
    for case in CASES if cases is None else cases:
        harness = make_harness()
        if cases is None and case.needs_sql and harness.sql is None:
            continue
        try:
            case(harness)
        except Exception as exc:
            exc.add_note(f"in ledger conformance case {case.name}")
            raise


# -- rows -------------------------------------------------------------------------------------------
# -- what the answers must be -----------------------------------------------------------------------
EPOCH = datetime(2000, 1, 1, tzinfo=UTC)
EPOCH_1970 = datetime(1970, 1, 1, tzinfo=UTC)

#: Logged cost tags the store sums itself (Claude Code writes ``repr(float)``, so exponents too).
REGULAR_TAGS = ("0.5", "0.012345", "1.5e-05", "2E+1", "0.10", "7")


def _no_row_path(*args: Any) -> Any:
    raise AssertionError("summed row by row")


def _exact(buckets: list[Bucket]) -> list[str]:
    """Buckets as text, in order: equal Decimals with other exponents ("0.1", "0.10") differ."""
    return sorted(repr(b) for b in buckets)


def _reference_buckets(
    rows: list[LedgerRow],
    by: tuple[str, ...],
    bucket_seconds: int | None,
    bucket_offset: int = 0,
    *,
    times: bool = True,
    logged: bool = True,
) -> list[Bucket]:
    """What ``aggregate`` must return, worked out from the rows."""
    groups: dict[tuple[Any, ...], list[LedgerRow]] = {}
    offset = timedelta(seconds=bucket_offset)
    for row in rows:
        key = tuple(getattr(row, column) for column in by)
        if bucket_seconds is not None:
            key += ((row.recorded_at + offset - EPOCH_1970) // timedelta(seconds=bucket_seconds),)
        groups.setdefault(key, []).append(row)
    out = []
    with localcontext(prec=MAX_PREC):
        for key, members in groups.items():
            values = dict(zip(by, key, strict=False))
            start = (
                EPOCH_1970 + key[-1] * timedelta(seconds=bucket_seconds) - offset if bucket_seconds else None
            )
            priced = [r.cost_usd for r in members if r.cost_usd is not None]
            tagged = [(r, read_logged_cost(r.tags.get(LOGGED_COST_TAG))) for r in members]
            untagged = [r for r, cost in tagged if cost is None]
            costs = LoggedCosts(
                sum((cost for _, cost in tagged if cost is not None), Decimal(0)),
                sum(1 for _, cost in tagged if cost is not None),
                sum((r.cost_usd for r in untagged if r.cost_usd is not None), Decimal(0)),
                sum(1 for r in untagged if r.cost_usd is None),
            )
            out.append(
                Bucket(
                    mode=values.get("mode"),
                    model=values.get("model"),
                    source=values.get("source"),
                    session_id=values.get("session_id"),
                    project=values.get("project"),
                    account=values.get("account"),
                    start=start,
                    calls=len(members),
                    input_tokens=sum(r.input_tokens for r in members),
                    output_tokens=sum(r.output_tokens for r in members),
                    cache_write_5m_tokens=sum(r.cache_write_5m_tokens for r in members),
                    cache_write_1h_tokens=sum(r.cache_write_1h_tokens for r in members),
                    cache_read_tokens=sum(r.cache_read_tokens for r in members),
                    cost_usd=sum(priced, Decimal(0)),
                    unpriced_calls=len(members) - len(priced),
                    logged=costs if logged else None,
                    first_at=min(r.recorded_at for r in members) if times else None,
                    last_at=max(r.recorded_at for r in members) if times else None,
                    web_search_requests=sum(r.web_search_requests for r in members),
                    web_fetch_requests=sum(r.web_fetch_requests for r in members),
                )
            )
    return out


@contextmanager
def _raises(kind: type[_E], match: str | None = None) -> Iterator[list[_E]]:
    """``pytest.raises`` without pytest: the block must raise ``kind`` (with ``match`` in it)."""
    caught: list[_E] = []
    try:
        yield caught
    except kind as exc:
        if match is not None and not re.search(match, str(exc)):
            raise AssertionError(f"{type(exc).__name__} {str(exc)!r} does not match {match!r}") from exc
        caught.append(exc)
        return
    raise AssertionError(f"did not raise {kind.__name__}")


# -- the cases, in the order they run ----------------------------------------------------------------
_CASES: list[Case] = []


def _case(check: Callable[[Harness], None], *, name: str | None = None, needs_sql: bool = False) -> None:
    _CASES.append(Case(name or check.__name__, check, needs_sql))


def _on_a_ledger(check: Callable[[Ledger], None]) -> Callable[[Ledger], None]:
    """Register a case that needs one open ledger on its fresh store."""

    def run(harness: Harness) -> None:
        with closing(harness.open()) as ledger:
            check(ledger)

    _case(run, name=check.__name__)
    return check


def _on_the_store(check: Callable[[Harness], None]) -> Callable[[Harness], None]:
    """Register a case that opens (and reopens) the store itself."""
    _case(check)
    return check


def _on_the_sql_schema(check: Callable[[Harness], None]) -> Callable[[Harness], None]:
    """Register a case that also reads thrifty's SQL schema through ``Harness.sql``."""
    _case(check, needs_sql=True)
    return check


# -- one row, every field -------------------------------------------------------------------------
@_on_a_ledger
def round_trip_every_field_exactly(ledger: Ledger) -> None:
    row = make_row(
        "req_ünïcode_1",
        session_id="sess-✓",
        mode="plan",
        account="login:max-5x",
        input_tokens=2**40,
        output_tokens=7,
        cache_write_5m_tokens=1,
        cache_write_1h_tokens=2,
        cache_read_tokens=3,
        # 36 significant digits: no float, and no 28-digit Decimal context, survives this.
        cost_usd=Decimal("123.456789012345678901234567890123450"),
        project="/home/zoë/项目 🚀/café",
        recorded_at=datetime(2025, 12, 31, 23, 59, 59, 999999, tzinfo=UTC),
        tags={"ticket": "ÄBC-1", "empty": "", "emoji": "💸"},
        message_id="msg_01",
        complete=False,
        attempt=3,
        source="claude-code",
        rate_limits={"anthropic-ratelimit-unified-status": "allowed", "reset": "1735689600"},
        web_search_requests=2**33,
        web_fetch_requests=5,
    )
    assert ledger.append(row) is True
    [back] = ledger.query(RowQuery())
    assert back == row
    assert str(back.cost_usd) == "123.456789012345678901234567890123450"
    assert isinstance(back.cost_usd, Decimal)
    assert back.recorded_at.utcoffset() == timedelta(0)
    assert back.recorded_at.tzinfo is not None
    assert type(back.input_tokens) is int and type(back.complete) is bool


@_on_a_ledger
def unknown_cost_and_absent_headers_stay_absent(ledger: Ledger) -> None:
    none = make_row("r-none", cost_usd=None, rate_limits=None, tags={}, message_id=None)
    empty = make_row("r-empty", rate_limits={}, cost_usd=Decimal("0"))
    ledger.append_many([none, empty])
    by_id = {r.request_id: r for r in ledger.query(RowQuery())}
    assert by_id["r-none"] == none and by_id["r-none"].cost_usd is None
    assert by_id["r-none"].rate_limits is None and by_id["r-none"].message_id is None
    assert by_id["r-empty"] == empty and by_id["r-empty"].rate_limits == {}


@_on_a_ledger
def other_zones_come_back_as_the_same_instant_in_utc(ledger: Ledger) -> None:
    paris = timezone(timedelta(hours=2))
    ledger.append(make_row("r1", recorded_at=datetime(2025, 6, 1, 14, 0, tzinfo=paris)))
    [back] = ledger.query(RowQuery())
    assert back.recorded_at == datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
    assert back.recorded_at.utcoffset() == timedelta(0)


@_on_a_ledger
def naive_time_and_unknown_mode_are_refused(ledger: Ledger) -> None:
    with _raises(ValueError, match="timezone-aware"):
        ledger.append(make_row("r1", recorded_at=datetime(2025, 1, 1)))
    with _raises(ValueError, match="mode"):
        ledger.append(make_row("r2", mode="free"))
    with _raises(ValueError, match="timezone-aware"):
        ledger.query(RowQuery(since=datetime(2025, 1, 1)))
    assert ledger.query(RowQuery()) == []


# -- idempotence ------------------------------------------------------------------------------------
@_on_a_ledger
def second_append_of_a_request_id_is_a_no_op(ledger: Ledger) -> None:
    first = make_row("r1")
    assert ledger.append(first) is True
    assert ledger.append(replace(first, cost_usd=Decimal("99"), session_id="other")) is False
    assert ledger.query(RowQuery()) == [first]


@_on_a_ledger
def append_many_counts_only_new_rows(ledger: Ledger) -> None:
    ledger.append(make_row("r0"))
    batch = (make_row(f"r{i}", recorded_at=at(i)) for i in (0, 1, 2, 3, 2))  # a generator, dupes
    assert ledger.append_many(batch) == 3
    assert ledger.append_many([]) == 0
    assert ledger.append_many([make_row("r1"), make_row("r4", recorded_at=at(4))]) == 1
    assert [r.request_id for r in ledger.query(RowQuery())] == ["r0", "r1", "r2", "r3", "r4"]


@_on_a_ledger
def append_many_is_all_or_nothing(ledger: Ledger) -> None:
    with _raises(ValueError):
        ledger.append_many([make_row("ok"), make_row("bad", recorded_at=datetime(2025, 1, 1))])
    assert ledger.query(RowQuery()) == []


# -- queries ----------------------------------------------------------------------------------------
def _dataset(ledger: Ledger) -> list[LedgerRow]:
    rows = [
        make_row("a1", recorded_at=at(0), mode="api", project="/p/one", session_id="s1"),
        make_row("a2", recorded_at=at(10), mode="plan", project="/p/two", session_id="s1", model="opus"),
        make_row("a3", recorded_at=at(20), mode="batch", account="login:pro", session_id="s2"),
        make_row("a4", recorded_at=at(30), mode="api", source="claude-code", session_id="s2"),
        make_row("a5", recorded_at=at(40), mode="api", project="/p/one", model="opus", cost_usd=None),
    ]
    ledger.append_many(random.Random(4).sample(rows, len(rows)))
    return rows


@_on_a_ledger
def query_filters(ledger: Ledger) -> None:
    _dataset(ledger)

    def ids(**kw: Any) -> list[str]:
        return [r.request_id for r in ledger.query(RowQuery(**kw))]

    assert ids() == ["a1", "a2", "a3", "a4", "a5"]
    assert ids(since=at(10)) == ["a2", "a3", "a4", "a5"]  # inclusive
    assert ids(until=at(30)) == ["a1", "a2", "a3"]  # exclusive
    assert ids(since=at(10), until=at(10)) == []
    assert ids(since=at(10), until=at(10) + timedelta(microseconds=1)) == ["a2"]
    assert ids(mode="api") == ["a1", "a4", "a5"]
    assert ids(project="/p/one") == ["a1", "a5"]
    assert ids(session_id="s2") == ["a3", "a4"]
    assert ids(model="opus") == ["a2", "a5"]
    assert ids(account="login:pro") == ["a3"]
    assert ids(source="claude-code") == ["a4"]
    assert ids(mode="api", project="/p/one", since=at(1)) == ["a5"]
    assert ids(project="/p/none") == []


@_on_a_ledger
def order_is_time_then_request_id_by_code_point(ledger: Ledger) -> None:
    ids = ["B", "a", "Ä", "b", "_", "a-10", "a-9"]
    ledger.append_many(make_row(rid, recorded_at=at(5)) for rid in ids)
    ledger.append(make_row("z-early", recorded_at=at(1)))
    ledger.append(make_row("0-late", recorded_at=at(9)))
    got = [r.request_id for r in ledger.query(RowQuery())]
    assert got == ["z-early", *sorted(ids), "0-late"]


@_on_a_ledger
def spend_sums_known_costs_of_one_mode_in_the_window(ledger: Ledger) -> None:
    ledger.append_many(
        [
            make_row("s1", recorded_at=at(0), cost_usd=Decimal("0.1")),
            make_row("s2", recorded_at=at(1), cost_usd=Decimal("0.2")),
            make_row("s3", recorded_at=at(2), cost_usd=None),
            make_row("s4", recorded_at=at(3), cost_usd=Decimal("5"), mode="plan"),
            make_row("s5", recorded_at=at(4), cost_usd=Decimal("0.0001")),
        ]
    )
    assert ledger.spend(mode="api", since=EPOCH) == Decimal("0.3001")
    assert ledger.spend(mode="api", since=at(0), until=at(4)) == Decimal("0.3")
    assert ledger.spend(mode="api", since=at(1), until=at(2)) == Decimal("0.2")
    assert ledger.spend(mode="plan", since=EPOCH) == Decimal("5")
    assert ledger.spend(mode="batch", since=EPOCH) == Decimal("0")
    assert ledger.spend(mode="api", since=at(2), until=at(4)) == Decimal("0")


@_on_a_ledger
def spend_is_exact_beyond_28_digits(ledger: Ledger) -> None:
    ledger.append(make_row("x1", cost_usd=Decimal("1000000")))
    ledger.append(make_row("x2", cost_usd=Decimal("0.000000000000000000000000000001")))
    total = ledger.spend(mode="api", since=EPOCH)
    assert total == Decimal("1000000.000000000000000000000000000001")


@_on_a_ledger
def latest_rate_limits(ledger: Ledger) -> None:
    assert ledger.latest_rate_limits("login:max") is None
    ledger.append_many(
        [
            make_row("l1", account="login:max", recorded_at=at(0), rate_limits={"status": "allowed"}),
            make_row("l3", account="login:max", recorded_at=at(20), rate_limits=None),
            make_row("l4", account="login:max", recorded_at=at(30), rate_limits={}),
            make_row("l5", account="other", recorded_at=at(40), rate_limits={"status": "other"}),
        ]
    )
    ledger.append(make_row("l2", account="login:max", recorded_at=at(10), rate_limits={"status": "near"}))
    assert ledger.latest_rate_limits("login:max") == (at(10), {"status": "near"})
    assert ledger.latest_rate_limits("other") == (at(40), {"status": "other"})
    assert ledger.latest_rate_limits("nobody") is None


# -- lifetime ---------------------------------------------------------------------------------------
_MIGRATED = "SELECT name, applied_at FROM thrifty_migrations ORDER BY name"


@_on_the_store
def reopen_keeps_rows_and_migrations_run_once(harness: Harness) -> None:
    """Rows survive closing and reopening; on thrifty's SQL schema, every migration ran once."""
    first = harness.open()
    first.append(make_row("keep", cost_usd=Decimal("0.5")))
    first.close()
    before = harness.sql(_MIGRATED) if harness.sql else []
    if harness.sql:
        assert [name for name, _ in before] == [m.name for m in MIGRATIONS]
    for _ in range(2):
        again = harness.open()
        assert [r.request_id for r in again.query(RowQuery())] == ["keep"]
        again.close()
    if harness.sql:
        assert harness.sql(_MIGRATED) == before


@_on_the_sql_schema
def a_newer_thriftys_ledger_is_refused(harness: Harness) -> None:
    assert harness.sql is not None
    harness.open().close()
    harness.sql(
        "INSERT INTO thrifty_migrations (name, applied_at) VALUES ('m999_from_the_future', "
        "'2030-01-01T00:00:00.000000Z')"
    )
    with _raises(LedgerError) as caught:
        harness.open()
    message = str(caught[0])
    assert "was written by a newer thrifty (migration m999_from_the_future); upgrade thrifty" in message
    assert message.startswith("ledger at ") and "\n" not in message
    if harness.secret:
        assert harness.secret not in message


@_on_the_store
def location_never_shows_a_password(harness: Harness) -> None:
    with closing(harness.open()) as ledger:
        assert ledger.location
        if harness.secret:
            assert harness.secret not in ledger.location and "***" in ledger.location


@_on_the_store
def rows_recorded_at_the_same_instant_by_two_ledgers_are_both_kept(harness: Harness) -> None:
    one, two = harness.open(), harness.open()
    assert one.append(make_row("p1", recorded_at=T0)) and two.append(make_row("p2", recorded_at=T0))
    assert two.append(make_row("p1")) is False
    assert [r.request_id for r in one.query(RowQuery())] == ["p1", "p2"]
    one.close()
    two.close()


# -- aggregate --------------------------------------------------------------------------------------
def _mixed(ledger: Ledger, *, tags: tuple[str, ...] = REGULAR_TAGS, start: datetime = T0) -> list[LedgerRow]:
    """Rows varying in every group column, time, cost spelling and logged cost tag."""
    rng = random.Random(7)
    costs: list[Decimal | None] = [
        Decimal("0.012345"),
        Decimal("0.10"),
        Decimal("1E-7"),
        Decimal("0E-12"),
        Decimal("0"),
        Decimal("3"),
        Decimal("123.456789012345678901234567890123450"),
        None,
    ]
    rows = []
    for i in range(300):
        moment = start + timedelta(seconds=rng.randint(0, 3 * 86400), microseconds=rng.randint(0, 999_999))
        if i % 25 == 0:  # on a bucket boundary, and just before one
            moment = start.replace(minute=0, second=0, microsecond=0) + timedelta(hours=i)
            moment -= timedelta(microseconds=i % 2)
        tag = rng.choice((None, None, *tags))
        rows.append(
            make_row(
                f"g{i:03d}",
                mode=rng.choice(("api", "plan", "batch")),
                model=rng.choice(("sonnet", "opus", "haiku")),
                source=rng.choice(("thrifty", "claude-code")),
                session_id=f"s{rng.randint(1, 6)}",
                project=rng.choice(("/p/one", "/p/two", "名前")),
                account=rng.choice(("ANTHROPIC_API_KEY", "login:max")),
                input_tokens=rng.randint(0, 10**6),
                output_tokens=rng.randint(0, 10**4),
                cache_write_5m_tokens=rng.randint(0, 10**4),
                cache_write_1h_tokens=rng.randint(0, 10**4),
                cache_read_tokens=rng.randint(0, 10**7),
                cost_usd=rng.choice(costs),
                recorded_at=moment,
                tags={"ticket": "T-1"} if tag is None else {"ticket": "T-1", LOGGED_COST_TAG: tag},
                web_search_requests=i % 3,
                web_fetch_requests=i * 7 % 5,
            )
        )
    ledger.append_many(rows)
    return rows


def aggregate_matches_the_rows(
    harness: Harness, by: tuple[str, ...], bucket_seconds: int | None, bucket_offset: int
) -> None:
    with closing(harness.open()) as ledger:
        rows = _mixed(ledger)
        # thrifty's SQL backends sum plain decimal tags in the store, never row by row; the patch
        # makes a slip onto the row path fail (other backends never take it, so it changes nothing).
        with mock.patch.object(_Aggregation, "from_rows", _no_row_path):
            for times, logged in ((True, True), (False, False), (False, True)):
                got = ledger.aggregate(
                    RowQuery(),
                    by=by,
                    bucket_seconds=bucket_seconds,
                    bucket_offset=bucket_offset,
                    times=times,
                    logged=logged,
                )
                expected = _reference_buckets(
                    rows, by, bucket_seconds, bucket_offset, times=times, logged=logged
                )
                assert _exact(got) == _exact(expected)


for _by, _seconds, _offset in [
    ((), None, 0),
    (("mode",), None, 0),
    (("mode", "model"), 900, 0),
    (("model", "mode", "source"), 3600, 0),
    (("session_id", "project", "mode", "model"), None, 0),
    (("account", "source"), 86400, 0),
    (("mode", "model"), 86400, 20700),  # days in +05:45
    (("source",), 86400, -34200),  # days in -09:30
    (("project",), 7, 3),
    ((), 60, 0),
]:
    _case(
        partial(aggregate_matches_the_rows, by=_by, bucket_seconds=_seconds, bucket_offset=_offset),
        name=f"aggregate_matches_the_rows[{','.join(_by) or 'all'}-{_seconds}-{_offset}]",
    )


@_on_a_ledger
def aggregate_reads_every_logged_cost_tag_as_a_row_would(ledger: Ledger) -> None:
    odd = ("abc", "", "1,5", "NaN", "-Infinity", "sNaN", " 0.25 ", "-0.5", "1_000", "٣.٥", "1e400000")
    rows = _mixed(ledger, tags=(*REGULAR_TAGS, *odd))
    for by, bucket_seconds, offset in (
        (("mode", "model"), 900, 0),
        ((), None, 0),
        (("model",), 86400, 19800),
    ):
        got = ledger.aggregate(RowQuery(), by=by, bucket_seconds=bucket_seconds, bucket_offset=offset)
        assert _exact(got) == _exact(_reference_buckets(rows, by, bucket_seconds, offset))


@_on_a_ledger
def aggregate_filters_as_query_does(ledger: Ledger) -> None:
    rows = _mixed(ledger)
    for q in (
        RowQuery(since=at(600), until=at(3000)),
        RowQuery(mode="plan", source="claude-code"),
        RowQuery(project="名前", account="login:max", session_id="s2", model="opus"),
        RowQuery(project="/p/none"),
    ):
        matching = ledger.query(q)
        assert len(matching) < len(rows)
        got = ledger.aggregate(q, by=("mode", "model"), bucket_seconds=3600)
        assert _exact(got) == _exact(_reference_buckets(matching, ("mode", "model"), 3600))


@_on_a_ledger
def aggregate_of_nothing_is_empty(ledger: Ledger) -> None:
    assert ledger.aggregate(RowQuery()) == []
    assert ledger.aggregate(RowQuery(), by=("mode",), bucket_seconds=900, logged=False) == []
    ledger.append(make_row("one"))
    assert ledger.aggregate(RowQuery(mode="plan")) == []


@_on_a_ledger
def aggregate_buckets_are_utc_multiples_of_their_length(ledger: Ledger) -> None:
    edge = datetime(2025, 3, 1, 18, 15, tzinfo=UTC)
    ledger.append_many(
        [
            make_row("before", recorded_at=edge - timedelta(microseconds=1)),
            make_row("at", recorded_at=edge),
            make_row("after", recorded_at=edge + timedelta(minutes=14, seconds=59, microseconds=999999)),
            make_row("old", recorded_at=datetime(1969, 12, 31, 23, 59, 59, 500000, tzinfo=UTC)),
            make_row("older", recorded_at=datetime(1, 1, 1, 0, 7, tzinfo=UTC)),
        ]
    )
    starts = {b.start: b.calls for b in ledger.aggregate(RowQuery(), bucket_seconds=900)}
    assert starts == {
        edge - timedelta(minutes=15): 1,
        edge: 2,
        datetime(1969, 12, 31, 23, 45, tzinfo=UTC): 1,
        datetime(1, 1, 1, tzinfo=UTC): 1,
    }
    recent = RowQuery(since=datetime(2000, 1, 1, tzinfo=UTC))
    [day] = ledger.aggregate(recent, bucket_seconds=86400)
    assert (day.start, day.calls) == (datetime(2025, 3, 1, tzinfo=UTC), 3)
    # Days of a clock 5:45 ahead of UTC: the edge is midnight there.
    days = {b.start: b.calls for b in ledger.aggregate(recent, bucket_seconds=86400, bucket_offset=20700)}
    assert days == {edge - timedelta(days=1): 1, edge: 2}
    assert (day.first_at, day.last_at) == (
        edge - timedelta(microseconds=1),
        edge + timedelta(seconds=899.999999),
    )


@_on_a_ledger
def aggregate_sums_exactly(ledger: Ledger) -> None:
    step = Decimal("0.000000000001")
    rows = [
        make_row(f"e{i:05d}", cost_usd=step * i, tags={LOGGED_COST_TAG: f"{step * i:f}"})
        for i in range(1, 10001)
    ]
    rows += [
        make_row("big", cost_usd=Decimal("1000000"), tags={}),
        make_row("tiny", cost_usd=Decimal("0.000000000000000000000000000001"), tags={}),
        make_row("none", cost_usd=None, tags={}),
    ]
    ledger.append_many(rows)
    [total] = ledger.aggregate(RowQuery())
    steps = step * (10000 * 10001 // 2)
    assert str(total.cost_usd) == "1000000.000050005000000000000000000001"  # 37 digits
    assert (total.calls, total.unpriced_calls) == (10003, 1)
    assert total.logged == LoggedCosts(steps, 10000, Decimal("1000000.000000000000000000000000000001"), 1)
    assert str(total.logged.cost_usd) == "0.000050005000"


@_on_a_ledger
def aggregate_refuses_what_it_cannot_group_by(ledger: Ledger) -> None:
    for by in (("tags",), ("mode", "mode"), ("recorded_at",), ("mode; DROP TABLE thrifty_calls",)):
        with _raises(ValueError, match="group by"):
            ledger.aggregate(RowQuery(), by=by)
    not_whole_seconds: tuple[Any, ...] = (0, -900, 1.5)
    for seconds in not_whole_seconds:
        with _raises(ValueError, match="bucket_seconds"):
            ledger.aggregate(RowQuery(), bucket_seconds=seconds)
    not_within_a_day: tuple[Any, ...] = (86400, -86400, 0.5)
    for offset in not_within_a_day:
        with _raises(ValueError, match="bucket_offset"):
            ledger.aggregate(RowQuery(), bucket_seconds=900, bucket_offset=offset)


# The cases about copies of one call and server tool counts live apart (this file is long).
from thrifty.billing.ledger import conformance_copies  # noqa: E402

for _check in conformance_copies.CHECKS:
    _on_a_ledger(_check)

# Budget reservations (``Ledger.reserve``), likewise apart.
from thrifty.billing.ledger import conformance_reservations  # noqa: E402

for _check in conformance_reservations.CHECKS:
    _on_a_ledger(_check)


@_on_the_store
def reservations_are_seen_by_every_handle_on_the_store(harness: Harness) -> None:
    conformance_reservations.holds_are_seen_by_every_handle_on_the_store(harness.open)


#: Every case, in order; each needs a fresh, empty store.
CASES: tuple[Case, ...] = tuple(_CASES)
#: The cases for a backend not on thrifty's SQL schema (a ``Harness`` without ``sql``).
SCHEMA_FREE_CASES: tuple[Case, ...] = tuple(case for case in CASES if not case.needs_sql)
