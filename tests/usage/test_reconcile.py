"""The comparison behind ``thrifty reconcile``, and the reading of the reports it compares with.

The report documents below are the reference's own examples (docs/reconcile.md); the ledger rows
are built by hand, so every expected sum and status can be checked by reading the test.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from tests.usage.rows import make_row
from thrifty.billing.ledger import LedgerRow
from thrifty.usage.admin_report import CostLine, UsageLine, cost_lines, usage_lines
from thrifty.usage.reconcile import (
    MATCH,
    MISSING_LOCALLY,
    MISSING_REMOTELY,
    OVER_COUNTED,
    UNATTRIBUTED,
    Key,
    Tolerance,
    ToleranceError,
    reconcile,
)

DAY = date(2025, 8, 1)
AT = datetime(2025, 8, 1, 12, 0, tzinfo=UTC)
MODEL = "claude-sonnet-4-20250514"

#: The reference's example answer of GET /v1/organizations/usage_report/messages.
USAGE_EXAMPLE = {
    "data": [
        {
            "starting_at": "2025-08-01T00:00:00Z",
            "ending_at": "2025-08-02T00:00:00Z",
            "results": [
                {
                    "uncached_input_tokens": 1500,
                    "cache_creation": {"ephemeral_1h_input_tokens": 1000, "ephemeral_5m_input_tokens": 500},
                    "cache_read_input_tokens": 200,
                    "output_tokens": 500,
                    "server_tool_use": {"web_search_requests": 10},
                    "api_key_id": "apikey_01Rj2N8SVvo6BePZj99NhmiT",
                    "workspace_id": "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ",
                    "model": MODEL,
                    "service_tier": "standard",
                    "context_window": "0-200k",
                }
            ],
        }
    ],
    "has_more": True,
    "next_page": "page_MjAyNS0wNS0xNFQwMDowMDowMFo=",
}
#: The reference's example answer of GET /v1/organizations/cost_report.
COST_EXAMPLE = {
    "data": [
        {
            "starting_at": "2025-08-01T00:00:00Z",
            "ending_at": "2025-08-02T00:00:00Z",
            "results": [
                {
                    "currency": "USD",
                    "amount": "123.78912",
                    "workspace_id": "wrkspc_01JwQvzr7rXLA5AGx3HKfFUJ",
                    "description": "Claude Sonnet 4 Usage - Input Tokens",
                    "cost_type": "tokens",
                    "context_window": "0-200k",
                    "model": MODEL,
                    "service_tier": "standard",
                    "token_type": "uncached_input_tokens",
                }
            ],
        }
    ],
    "has_more": False,
    "next_page": None,
}


def test_the_reference_examples_read_as_tokens_and_dollars() -> None:
    (usage,) = usage_lines([USAGE_EXAMPLE])
    assert usage == UsageLine(DAY, MODEL, "standard", 1500, 500, 1500, 200, web_search_requests=10)
    (cost,) = cost_lines([COST_EXAMPLE])
    # "123.78912" is in cents: $1.2378912.
    assert cost == CostLine(DAY, MODEL, "standard", "tokens", "uncached_input_tokens", Decimal("1.2378912"))


def remote(inp: int = 100, out: int = 10, *, model: str = MODEL, tier: str = "standard") -> UsageLine:
    return UsageLine(DAY, model, tier, inp, out, 0, 0)


def dollars(usd: str, *, model: str | None = MODEL, tier: str | None = "standard") -> CostLine:
    return CostLine(DAY, model, tier, "tokens" if model else "web_search", None, Decimal(usd))


EXACT = Tolerance.parse("0")


def test_equal_sides_match_and_plan_rows_are_left_out() -> None:
    rows = [
        make_row(at=AT, model=MODEL, inp=60, out=4, cost="0.006"),
        make_row(at=AT, model=MODEL, inp=40, out=6, cost="0.004"),
        make_row(at=AT, model=MODEL, inp=999, out=999, mode="plan"),  # not on the organisation's bill
    ]
    result = reconcile(rows, [remote(100, 10)], [dollars("0.006"), dollars("0.004")], EXACT)
    (line,) = result.lines
    assert line.key == Key(DAY, MODEL, "standard")
    assert line.status == MATCH
    assert line.local is not None and line.local.calls == 2
    assert line.difference() == {
        "input_tokens": 0,
        "output_tokens": 0,
        "cache_write_tokens": 0,
        "cache_read_tokens": 0,
        "cost": Decimal(0),
    }
    assert result.within_tolerance


def test_usage_from_elsewhere_is_missing_locally() -> None:
    rows = [make_row(at=AT, model=MODEL, inp=100, out=10, cost="0.01")]
    result = reconcile(
        rows,
        [remote(150, 15), remote(50, 5, model="claude-haiku-4-5")],
        [dollars("0.015"), dollars("0.001", model="claude-haiku-4-5")],
        EXACT,
    )
    status = {line.key.model: line.status for line in result.lines}
    assert status == {MODEL: MISSING_LOCALLY, "claude-haiku-4-5": MISSING_LOCALLY}
    sonnet = next(line for line in result.lines if line.key.model == MODEL)
    assert sonnet.difference()["input_tokens"] == -50
    assert sonnet.difference()["cost"] == Decimal("-0.005")
    assert not result.within_tolerance
    assert result.counts()[MISSING_LOCALLY] == 2


def test_more_in_the_ledger_is_over_counted_and_none_at_all_is_missing_remotely() -> None:
    rows = [
        make_row(at=AT, model=MODEL, inp=200, out=10, cost="0.02"),
        make_row(at=AT, model="claude-opus-4-1", inp=5, out=5, cost="0.001"),
    ]
    result = reconcile(rows, [remote(100, 10)], [dollars("0.01")], EXACT)
    status = {line.key.model: line.status for line in result.lines}
    assert status == {MODEL: OVER_COUNTED, "claude-opus-4-1": MISSING_REMOTELY}


def test_batch_rows_meet_the_batch_tier() -> None:
    rows = [make_row(at=AT, model=MODEL, mode="batch", inp=100, out=10, cost="0.005")]
    result = reconcile(rows, [remote(100, 10, tier="batch")], [dollars("0.005", tier="batch")], EXACT)
    (line,) = result.lines
    assert (line.key.service_tier, line.status) == ("batch", MATCH)


def test_priority_usage_has_no_cost_and_is_compared_by_tokens() -> None:
    result = reconcile([], [remote(10, 1, tier="priority")], [], EXACT)
    (line,) = result.lines
    assert line.remote is not None and line.remote.cost is None
    assert line.status == MISSING_LOCALLY
    assert line.difference()["cost"] is None


def test_a_cost_tied_to_no_model_is_shown_but_never_fails() -> None:
    rows = [make_row(at=AT, model=MODEL, inp=100, out=10, cost="0.01")]
    code = CostLine(DAY, None, None, "code_execution", None, Decimal("0.10"))
    result = reconcile(rows, [remote(100, 10)], [dollars("0.01"), code], EXACT)
    assert [(line.key.model, line.status) for line in result.lines] == [
        (MODEL, MATCH),
        ("(code_execution)", UNATTRIBUTED),
    ]
    assert result.within_tolerance


def fees(row: LedgerRow) -> Decimal:
    return row.web_search_requests * Decimal("0.01")


def test_web_search_fees_are_compared_on_their_own_line() -> None:
    # The ledger's cost holds the tokens ($0.01) and two searches ($0.02); the bill shows them apart.
    searched = replace(make_row(at=AT, model=MODEL, inp=100, out=10, cost="0.03"), web_search_requests=2)
    searches = dollars("0.02", model=None, tier=None)
    result = reconcile([searched], [remote(100, 10)], [dollars("0.01"), searches], EXACT, fees)
    assert [(line.key.model, line.status) for line in result.lines] == [
        (MODEL, MATCH),
        ("(web_search)", MATCH),
    ]
    assert result.lines[1].local is not None and result.lines[1].local.cost == Decimal("0.02")
    # A search the ledger does not know of is missing locally.
    more = dollars("0.03", model=None, tier=None)
    result = reconcile([searched], [remote(100, 10)], [dollars("0.01"), more], EXACT, fees)
    assert [line.status for line in result.lines] == [MATCH, MISSING_LOCALLY]
    # Searches in the ledger that the bill does not show are missing remotely.
    result = reconcile([searched], [remote(100, 10)], [dollars("0.01")], EXACT, fees)
    assert [line.status for line in result.lines] == [MATCH, MISSING_REMOTELY]
    assert result.local_total.calls == 1


@pytest.mark.parametrize(
    ("tolerance", "status"),
    [
        ("0", MISSING_LOCALLY),
        ("0.5%", MISSING_LOCALLY),
        ("1%", MATCH),
        ("$0.00005", MISSING_LOCALLY),
        ("0.0001", MATCH),
    ],
)
def test_tolerance_as_a_share_or_as_dollars(tolerance: str, status: str) -> None:
    # The ledger is 1 input token (0.99%) and $0.0001 (0.99%) short of the bill.
    rows = [make_row(at=AT, model=MODEL, inp=99, out=10, cost="0.0100")]
    result = reconcile(rows, [remote(100, 10)], [dollars("0.0101")], Tolerance.parse(tolerance))
    assert [line.status for line in result.lines] == [status]


@pytest.mark.parametrize("text", ["", "abc", "-1%", "$1%", "101%", "1.2.3"])
def test_unreadable_tolerances(text: str) -> None:
    with pytest.raises(ToleranceError):
        Tolerance.parse(text)


def test_days_are_utc_days() -> None:
    late = datetime(2025, 8, 1, 23, 59, tzinfo=UTC)
    early = datetime(2025, 8, 2, 0, 1, tzinfo=UTC)
    rows = [make_row(at=late, model=MODEL, cost="0.01"), make_row(at=early, model=MODEL, cost="0.01")]
    result = reconcile(rows, [], [], EXACT)
    assert [line.key.day for line in result.lines] == [DAY, date(2025, 8, 2)]
    assert {line.status for line in result.lines} == {MISSING_REMOTELY}
