"""``Usage``: read once from the Messages API's usage block, summed with ``+``, written back in
the shape a run's ``Result.usage`` has."""

from __future__ import annotations

import dataclasses
import json
from decimal import Decimal
from typing import Any

import pytest

from thrifty.billing.prices import bundled_prices
from thrifty.billing.tally import Tally
from thrifty.core.events import ApiUsage
from thrifty.core.usage import Usage

#: A usage block as the Messages API sends it today (split cache writes, server tools, thinking).
REAL: dict[str, Any] = {
    "input_tokens": 12,
    "cache_creation_input_tokens": 3000,
    "cache_read_input_tokens": 45000,
    "cache_creation": {"ephemeral_5m_input_tokens": 1000, "ephemeral_1h_input_tokens": 2000},
    "output_tokens": 640,
    "output_tokens_details": {"thinking_tokens": 200},
    "server_tool_use": {"web_search_requests": 2, "web_fetch_requests": 1},
    "service_tier": "priority",
}


def test_from_api_reads_a_real_block() -> None:
    assert Usage.from_api(REAL) == Usage(
        input_tokens=12,
        output_tokens=640,
        cache_read_tokens=45000,
        cache_write_5m_tokens=1000,
        cache_write_1h_tokens=2000,
        thinking_tokens=200,
        web_search_requests=2,
        web_fetch_requests=1,
        service_tier="priority",
    )


def test_an_unsplit_cache_write_total_counts_as_5_minute_writes() -> None:
    u = Usage.from_api({"input_tokens": 1, "cache_creation_input_tokens": 500, "output_tokens": 2})
    assert (u.cache_write_5m_tokens, u.cache_write_1h_tokens) == (500, 0)
    assert u.cache_write_tokens == 500


def test_a_split_that_sums_to_less_than_the_total_puts_the_rest_in_5_minute_writes() -> None:
    raw = {"cache_creation_input_tokens": 500, "cache_creation": {"ephemeral_1h_input_tokens": 100}}
    u = Usage.from_api(raw)
    assert (u.cache_write_5m_tokens, u.cache_write_1h_tokens) == (400, 100)


def test_a_split_without_a_total_is_read_as_is() -> None:
    u = Usage.from_api({"cache_creation": {"ephemeral_5m_input_tokens": 30, "ephemeral_1h_input_tokens": 70}})
    assert (u.cache_write_5m_tokens, u.cache_write_1h_tokens) == (30, 70)


def test_missing_fields_read_as_zero() -> None:
    assert Usage.from_api(None) == Usage()
    assert Usage.from_api({}) == Usage.ZERO
    u = Usage.from_api({"input_tokens": 7})
    assert u == Usage(input_tokens=7) and u.service_tier is None


@pytest.mark.parametrize(
    "value", [None, "12", "x", -5, True, False, float("nan"), float("inf"), [], {}, {"a": 1}]
)
def test_garbage_counts_read_as_zero(value: Any) -> None:
    raw = {
        "input_tokens": value,
        "output_tokens": value,
        "cache_read_input_tokens": value,
        "cache_creation_input_tokens": value,
        "cache_creation": {"ephemeral_5m_input_tokens": value, "ephemeral_1h_input_tokens": value},
        "output_tokens_details": {"thinking_tokens": value},
        "server_tool_use": {"web_search_requests": value, "web_fetch_requests": value},
    }
    assert Usage.from_api(raw) == Usage()
    if not isinstance(value, str):
        assert Usage.from_api({"service_tier": value}).service_tier is None


@pytest.mark.parametrize(
    "raw",
    [
        "not a mapping",
        [1, 2],
        {"cache_creation": "x", "output_tokens_details": 3, "server_tool_use": None, "service_tier": ""},
    ],
)
def test_malformed_blocks_never_raise(raw: Any) -> None:
    assert Usage.from_api(raw) == Usage()


def test_a_whole_float_count_is_read() -> None:
    assert Usage.from_api({"output_tokens": 12.0}).output_tokens == 12


def test_derived_totals() -> None:
    u = Usage.from_api(REAL)
    assert u.cache_write_tokens == 3000
    assert u.prompt_tokens == 12 + 3000 + 45000
    assert u.total_tokens == 12 + 3000 + 45000 + 640
    assert u.weighted_tokens == 12 + 3000 + 640


def test_addition_sums_every_count_and_keeps_the_latest_tier() -> None:
    a = Usage(
        input_tokens=1, output_tokens=2, cache_write_1h_tokens=3, web_search_requests=1, service_tier="batch"
    )
    b = Usage(input_tokens=10, cache_read_tokens=5, thinking_tokens=4, web_fetch_requests=2)
    assert a + b == Usage(
        input_tokens=11,
        output_tokens=2,
        cache_read_tokens=5,
        cache_write_1h_tokens=3,
        thinking_tokens=4,
        web_search_requests=1,
        web_fetch_requests=2,
        service_tier="batch",  # b said nothing: a's stays
    )
    assert (a + dataclasses.replace(b, service_tier="priority")).service_tier == "priority"


def test_zero_is_the_identity_and_sum_works() -> None:
    u = Usage.from_api(REAL)
    assert u + Usage() == u == Usage.ZERO + u
    assert sum([u, u, u]) == Usage.from_api(REAL) + u + u
    assert sum([], Usage()) == Usage()
    with pytest.raises(TypeError):
        u + 1  # type: ignore[operator]


def test_usage_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        Usage().input_tokens = 1  # type: ignore[misc]


def test_to_api_round_trips_a_full_block() -> None:
    assert Usage.from_api(REAL).to_api() == REAL
    assert Usage.from_api(Usage.from_api(REAL).to_api()) == Usage.from_api(REAL)


def test_to_api_has_the_result_usage_keys_in_order() -> None:
    """Exactly the keys (and order) a run's ``Result.usage`` had before ``Usage``: JSON output of
    the CLI is byte-identical."""
    out = Usage().to_api()
    assert list(out) == [
        "input_tokens",
        "cache_creation_input_tokens",
        "cache_read_input_tokens",
        "output_tokens",
        "server_tool_use",
        "service_tier",
        "cache_creation",
        "output_tokens_details",
    ]
    assert list(out["server_tool_use"]) == ["web_search_requests", "web_fetch_requests"]
    assert list(out["cache_creation"]) == ["ephemeral_1h_input_tokens", "ephemeral_5m_input_tokens"]
    assert out["service_tier"] == "standard"


def test_the_tally_reports_to_api_of_the_summed_usage() -> None:
    tally = Tally()
    first = dict(REAL, service_tier="standard")
    second = {"input_tokens": 5, "output_tokens": 6, "cache_creation_input_tokens": 7}
    for n, (model, raw) in enumerate([("claude-sonnet-5-5", first), ("claude-haiku-5-5", second)]):
        event = ApiUsage("s", f"req_{n}", None, model, Usage.from_api(raw), 1, True, 0, raw_usage=raw)
        tally.add(event, Decimal(1))
    expected = (Usage.from_api(first) + Usage.from_api(second)).to_api()
    assert tally.usage() == expected
    assert json.dumps(tally.usage()) == json.dumps(expected)
    assert tally.usage()["cache_creation"] == {
        "ephemeral_1h_input_tokens": 2000,
        "ephemeral_5m_input_tokens": 1007,
    }
    assert tally.model_usage()["claude-sonnet-5-5"]["webSearchRequests"] == 2


def test_tally_service_tier_defaults_to_standard_and_keeps_the_last_reported() -> None:
    tally = Tally()
    assert tally.usage()["service_tier"] == "standard"
    for n, tier in enumerate(["priority", None]):
        raw = {"input_tokens": 1, "service_tier": tier}
        tally.add(ApiUsage("s", f"r{n}", None, "m", Usage.from_api(raw), 1, True, 0), None)
    assert tally.usage()["service_tier"] == "priority"


def test_pricing_reads_the_usage() -> None:
    prices = bundled_prices()
    u = Usage(input_tokens=1_000_000, cache_write_5m_tokens=1_000_000, cache_write_1h_tokens=1_000_000)
    # sonnet-5-5: $2 in, writes 1.25x (5m) and 2x (1h) input.
    assert prices.cost("claude-sonnet-5-5", u) == Decimal("2") + Decimal("2.5") + Decimal("4")
    assert prices.cost("acme-model-1", u) is None
