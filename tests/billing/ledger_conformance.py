"""The one suite every ledger backend must pass, so SQLite and PostgreSQL give the same answers.

A backend's test module subclasses ``LedgerConformance`` and provides a ``harness`` fixture: a URL
for a fresh, empty ledger and a way to run raw SQL against the store underneath it.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest

from tests.billing.factory import T0, at, make_row
from thrifty.billing.ledger import Ledger, LedgerError, RowQuery, open_ledger
from thrifty.billing.ledger.migrations import MIGRATIONS

EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


@dataclass
class Harness:
    url: str
    #: Runs one statement on a separate raw connection, committed; returns its rows (if any).
    sql: Callable[[str], list[tuple[Any, ...]]]
    #: What must never appear in ``location`` or in an error (the URL's password), if any.
    secret: str | None = None


class LedgerConformance:
    @pytest.fixture
    def harness(self) -> Harness:
        raise NotImplementedError("a backend's test module provides the harness")

    @pytest.fixture
    def ledger(self, harness: Harness) -> Iterator[Ledger]:
        ledger = open_ledger(harness.url)
        yield ledger
        ledger.close()

    # -- one row, every field -------------------------------------------------------------------
    def test_round_trip_every_field_exactly(self, ledger: Ledger) -> None:
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
        )
        assert ledger.append(row) is True
        [back] = ledger.query(RowQuery())
        assert back == row
        assert str(back.cost_usd) == "123.456789012345678901234567890123450"
        assert isinstance(back.cost_usd, Decimal)
        assert back.recorded_at.utcoffset() == timedelta(0)
        assert back.recorded_at.tzinfo is not None
        assert type(back.input_tokens) is int and type(back.complete) is bool

    def test_unknown_cost_and_absent_headers_stay_absent(self, ledger: Ledger) -> None:
        none = make_row("r-none", cost_usd=None, rate_limits=None, tags={}, message_id=None)
        empty = make_row("r-empty", rate_limits={}, cost_usd=Decimal("0"))
        ledger.append_many([none, empty])
        by_id = {r.request_id: r for r in ledger.query(RowQuery())}
        assert by_id["r-none"] == none and by_id["r-none"].cost_usd is None
        assert by_id["r-none"].rate_limits is None and by_id["r-none"].message_id is None
        assert by_id["r-empty"] == empty and by_id["r-empty"].rate_limits == {}

    def test_other_zones_come_back_as_the_same_instant_in_utc(self, ledger: Ledger) -> None:
        paris = timezone(timedelta(hours=2))
        ledger.append(make_row("r1", recorded_at=datetime(2025, 6, 1, 14, 0, tzinfo=paris)))
        [back] = ledger.query(RowQuery())
        assert back.recorded_at == datetime(2025, 6, 1, 12, 0, tzinfo=UTC)
        assert back.recorded_at.utcoffset() == timedelta(0)

    def test_naive_time_and_unknown_mode_are_refused(self, ledger: Ledger) -> None:
        with pytest.raises(ValueError, match="timezone-aware"):
            ledger.append(make_row("r1", recorded_at=datetime(2025, 1, 1)))
        with pytest.raises(ValueError, match="mode"):
            ledger.append(make_row("r2", mode="free"))
        with pytest.raises(ValueError, match="timezone-aware"):
            ledger.query(RowQuery(since=datetime(2025, 1, 1)))
        assert ledger.query(RowQuery()) == []

    # -- idempotence --------------------------------------------------------------------------------
    def test_second_append_of_a_request_id_is_a_no_op(self, ledger: Ledger) -> None:
        first = make_row("r1")
        assert ledger.append(first) is True
        assert ledger.append(replace(first, cost_usd=Decimal("99"), session_id="other")) is False
        assert ledger.query(RowQuery()) == [first]

    def test_append_many_counts_only_new_rows(self, ledger: Ledger) -> None:
        ledger.append(make_row("r0"))
        batch = (make_row(f"r{i}", recorded_at=at(i)) for i in (0, 1, 2, 3, 2))  # a generator, dupes
        assert ledger.append_many(batch) == 3
        assert ledger.append_many([]) == 0
        assert ledger.append_many([make_row("r1"), make_row("r4", recorded_at=at(4))]) == 1
        assert [r.request_id for r in ledger.query(RowQuery())] == ["r0", "r1", "r2", "r3", "r4"]

    def test_append_many_is_all_or_nothing(self, ledger: Ledger) -> None:
        with pytest.raises(ValueError):
            ledger.append_many([make_row("ok"), make_row("bad", recorded_at=datetime(2025, 1, 1))])
        assert ledger.query(RowQuery()) == []

    # -- queries ------------------------------------------------------------------------------------
    def _dataset(self, ledger: Ledger) -> list[Any]:
        rows = [
            make_row("a1", recorded_at=at(0), mode="api", project="/p/one", session_id="s1"),
            make_row("a2", recorded_at=at(10), mode="plan", project="/p/two", session_id="s1", model="opus"),
            make_row("a3", recorded_at=at(20), mode="batch", account="login:pro", session_id="s2"),
            make_row("a4", recorded_at=at(30), mode="api", source="claude-code", session_id="s2"),
            make_row("a5", recorded_at=at(40), mode="api", project="/p/one", model="opus", cost_usd=None),
        ]
        ledger.append_many(random.Random(4).sample(rows, len(rows)))
        return rows

    def test_query_filters(self, ledger: Ledger) -> None:
        self._dataset(ledger)

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

    def test_order_is_time_then_request_id_by_code_point(self, ledger: Ledger) -> None:
        ids = ["B", "a", "Ä", "b", "_", "a-10", "a-9"]
        ledger.append_many(make_row(rid, recorded_at=at(5)) for rid in ids)
        ledger.append(make_row("z-early", recorded_at=at(1)))
        ledger.append(make_row("0-late", recorded_at=at(9)))
        got = [r.request_id for r in ledger.query(RowQuery())]
        assert got == ["z-early", *sorted(ids), "0-late"]

    def test_spend_sums_known_costs_of_one_mode_in_the_window(self, ledger: Ledger) -> None:
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

    def test_spend_is_exact_beyond_28_digits(self, ledger: Ledger) -> None:
        ledger.append(make_row("x1", cost_usd=Decimal("1000000")))
        ledger.append(make_row("x2", cost_usd=Decimal("0.000000000000000000000000000001")))
        total = ledger.spend(mode="api", since=EPOCH)
        assert total == Decimal("1000000.000000000000000000000000000001")

    def test_latest_rate_limits(self, ledger: Ledger) -> None:
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

    # -- lifetime -----------------------------------------------------------------------------------
    def test_reopen_keeps_rows_and_migrations_run_once(self, harness: Harness) -> None:
        first = open_ledger(harness.url)
        first.append(make_row("keep", cost_usd=Decimal("0.5")))
        first.close()
        before = harness.sql("SELECT name, applied_at FROM thrifty_migrations ORDER BY name")
        assert [name for name, _ in before] == [m.name for m in MIGRATIONS]
        for _ in range(2):
            again = open_ledger(harness.url)
            assert [r.request_id for r in again.query(RowQuery())] == ["keep"]
            again.close()
        assert harness.sql("SELECT name, applied_at FROM thrifty_migrations ORDER BY name") == before

    def test_a_newer_thriftys_ledger_is_refused(self, harness: Harness) -> None:
        open_ledger(harness.url).close()
        harness.sql(
            "INSERT INTO thrifty_migrations (name, applied_at) VALUES ('m999_from_the_future', "
            "'2030-01-01T00:00:00.000000Z')"
        )
        with pytest.raises(LedgerError) as info:
            open_ledger(harness.url)
        message = str(info.value)
        assert "was written by a newer thrifty (migration m999_from_the_future); upgrade thrifty" in message
        assert message.startswith("ledger at ") and "\n" not in message
        if harness.secret:
            assert harness.secret not in message

    def test_location_never_shows_a_password(self, ledger: Ledger, harness: Harness) -> None:
        assert ledger.location
        if harness.secret:
            assert harness.secret not in ledger.location and "***" in ledger.location

    def test_rows_recorded_at_the_same_instant_by_two_ledgers_are_both_kept(self, harness: Harness) -> None:
        one, two = open_ledger(harness.url), open_ledger(harness.url)
        assert one.append(make_row("p1", recorded_at=T0)) and two.append(make_row("p2", recorded_at=T0))
        assert two.append(make_row("p1")) is False
        assert [r.request_id for r in one.query(RowQuery())] == ["p1", "p2"]
        one.close()
        two.close()
