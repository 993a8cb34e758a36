"""Every Claude model prices to its published figures; ids resolve exactly; server-tool fees count.

Published USD per million tokens (input, output, 5-minute write, 1-hour write, cache read) are
written out here by hand from the sources ``docs/prices.md`` lists, not derived from the table.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from thrifty.billing.meter import Meter, MeterContext
from thrifty.billing.prices import (
    SERVER_TOOL_FIELDS,
    ModelPrice,
    PriceTable,
    bundled_data,
    bundled_prices,
    table_from_data,
)
from thrifty.core.events import ApiUsage
from thrifty.core.usage import Usage
from thrifty.usage.claude_code import Call, to_row

ROOT = Path(__file__).resolve().parents[2]
OLD_VERSION = "2026-11-24.1"

# (ids, published input, output, 5m write, 1h write, cache read), USD per million tokens.
OPUS_4 = ("15", "75", "18.75", "30", "1.50")
SONNET = ("3", "15", "3.75", "6", "0.30")
OPUS_45 = ("5", "25", "6.25", "10", "0.50")
PUBLISHED: list[tuple[tuple[str, ...], tuple[str, str, str, str, str]]] = [
    (("claude-opus-4-1-20250805", "claude-opus-4-1"), OPUS_4),
    (("claude-opus-4-20250514", "claude-opus-4-0"), OPUS_4),
    (("claude-sonnet-4-20250514", "claude-sonnet-4-0"), SONNET),
    (("claude-3-7-sonnet-20250219", "claude-3-7-sonnet-latest"), SONNET),
    (("claude-3-5-sonnet-20241022", "claude-3-5-sonnet-20240620", "claude-3-5-sonnet-latest"), SONNET),
    (("claude-3-5-haiku-20241022", "claude-3-5-haiku-latest"), ("0.80", "4", "1", "1.6", "0.08")),
    (("claude-3-opus-20240229", "claude-3-opus-latest"), OPUS_4),
    (("claude-3-sonnet-20240229",), SONNET),
    # Haiku 3's 5-minute write is $0.30 (1.2x), not the 1.25x rule.
    (("claude-3-haiku-20240307",), ("0.25", "1.25", "0.30", "0.50", "0.03")),
    (("claude-sonnet-4-5-20250929", "claude-sonnet-4-5", "claude-sonnet-4-6"), SONNET),
    (("claude-haiku-4-5-20251001", "claude-haiku-4-5"), ("1", "5", "1.25", "2", "0.10")),
    (
        (
            "claude-opus-4-5-20251101",
            "claude-opus-4-5",
            "claude-opus-4-6",
            "claude-opus-4-7",
            "claude-opus-4-8",
        ),
        OPUS_45,
    ),
    (("claude-opus-5",), OPUS_45),
    (("claude-opus-5-5",), ("4", "20", "5", "8", "0.20")),
    (("claude-sonnet-5", "claude-sonnet-5-5"), ("2", "10", "2.50", "4", "0.20")),
    (("claude-haiku-5-5",), ("0.10", "0.50", "0.125", "0.20", "0.01")),
    (("claude-fable-5",), ("10", "50", "12.50", "20", "1")),
    # Fable 5.1's cache reads are the pricing page's exception: 0.025x input.
    (("claude-fable-5-1",), ("10", "50", "12.50", "20", "0.25")),
]
CASES = [(model, prices) for ids, prices in PUBLISHED for model in ids]
#: 1,000 tokens in each bucket: a 4,000-token prompt, under every tier's threshold.
EACH_1000 = Usage(
    input_tokens=1000,
    output_tokens=1000,
    cache_read_tokens=1000,
    cache_write_5m_tokens=1000,
    cache_write_1h_tokens=1000,
)


def _per_1000(*amounts: str) -> Decimal:
    return sum((Decimal(a) for a in amounts), Decimal(0)) / 1000


@pytest.mark.parametrize(("model", "published"), CASES)
def test_every_generally_available_model_prices_to_its_published_figures(
    model: str, published: tuple[str, str, str, str, str]
) -> None:
    table = bundled_prices()
    assert table.cost(model, EACH_1000) == _per_1000(*published)
    one_each = [
        Usage(input_tokens=100_000),  # under the 200K long-context threshold
        Usage(output_tokens=100_000),
        Usage(cache_write_5m_tokens=10_000),
        Usage(cache_write_1h_tokens=10_000),
        Usage(cache_read_tokens=10_000),
    ]
    scale = [Decimal("0.1"), Decimal("0.1"), Decimal("0.01"), Decimal("0.01"), Decimal("0.01")]
    for usage, amount, factor in zip(one_each, published, scale, strict=True):
        assert table.cost(model, usage) == Decimal(amount) * factor, (model, usage)


@pytest.mark.parametrize("model", ["claude-2.1", "claude-2.0"])
def test_claude_2_prices_input_and_output(model: str) -> None:
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000)
    assert bundled_prices().cost(model, usage) == Decimal(32)  # $8 in + $24 out


@pytest.mark.parametrize("model", ["claude-sonnet-4-20250514", "claude-sonnet-4-0", "claude-sonnet-4-5"])
def test_sonnet_4_and_4_5_long_context_premium_over_200k(model: str) -> None:
    table = bundled_prices()
    # 200,000 prompt tokens: standard rates; 200,001: the whole call at $6 / $22.50, writes and
    # reads at the same multipliers of $6 ($7.50, $12, $0.60).
    assert table.cost(model, Usage(input_tokens=200_000, output_tokens=1000)) == Decimal("0.615")
    long = Usage(
        input_tokens=1,
        cache_write_5m_tokens=100_000,
        cache_write_1h_tokens=50_000,
        cache_read_tokens=50_000,
        output_tokens=1000,
    )
    # 1*6 + 100,000*7.5 + 50,000*12 + 50,000*0.6 + 1,000*22.5 micro-dollars
    assert table.cost(model, long) == Decimal("1.402506")


def test_a_dated_id_resolves_to_the_undated_id_in_the_table() -> None:
    table = bundled_prices()
    assert table.resolve("claude-opus-4-6-20260205") == "claude-opus-4-6"
    assert table.cost("claude-opus-4-6-20260205", EACH_1000) == _per_1000(*OPUS_45)
    assert table.version_for("claude-opus-4-6-20260205") == table.version
    # The same through an alias, and with Claude Code's [1m] suffix.
    assert table.cost("claude-haiku-4-5-20260101", EACH_1000) == table.cost("claude-haiku-4-5", EACH_1000)
    assert table.resolve("claude-sonnet-4-5-20250929[1m]") == "claude-sonnet-4-5-20250929"
    assert table.resolve("claude-opus-4-6-20260205[1m]") == "claude-opus-4-6"


@pytest.mark.parametrize(
    "model",
    [
        "claude-opus-4",  # not Opus 4.6, nor Opus 4 (whose ids are -20250514 and -4-0)
        "claude-sonnet-4",
        "claude-opus-4-20990101",  # a date on an id the table does not have
        "claude-opus",
        "claude-opus-4-6x",
        "claude-opus-4-6-2026",  # not a date
        "claude-opus-4-6-latest",
        "opus",
        "",
    ],
)
def test_ids_never_resolve_by_prefix(model: str) -> None:
    table = bundled_prices()
    assert table.resolve(model) is None
    assert table.price(model) is None
    assert table.cost(model, EACH_1000) is None


@pytest.mark.parametrize(
    ("model", "key"),
    [
        ("anthropic.claude-3-5-sonnet-20241022-v2:0", "claude-3-5-sonnet-20241022"),
        ("us.anthropic.claude-sonnet-4-20250514-v1:0", "claude-sonnet-4-20250514"),
        ("global.anthropic.claude-haiku-4-5-20251001-v1:0", "claude-haiku-4-5-20251001"),
        ("eu.anthropic.claude-opus-4-6-v1", "claude-opus-4-6"),
        (
            "arn:aws:bedrock:us-east-1::foundation-model/anthropic.claude-opus-4-1-20250805-v1:0",
            "claude-opus-4-1-20250805",
        ),
        ("claude-3-5-sonnet-v2@20241022", "claude-3-5-sonnet-20241022"),
        ("claude-sonnet-4@20250514", "claude-sonnet-4-20250514"),
        ("claude-opus-4-6@20260205", "claude-opus-4-6"),
        ("anthropic.claude-v2:1", None),
        ("anthropic.claude-opus-4-v1:0", None),
    ],
)
def test_bedrock_and_vertex_ids_resolve_to_the_anthropic_id(model: str, key: str | None) -> None:
    assert bundled_prices().resolve(model) == key


def test_three_web_searches_cost_exactly_three_cents_more() -> None:
    table = bundled_prices()
    plain = Usage(input_tokens=1234, output_tokens=567, cache_read_tokens=9000)
    searched = Usage(input_tokens=1234, output_tokens=567, cache_read_tokens=9000, web_search_requests=3)
    for model in ("claude-sonnet-4-6", "claude-opus-4-1-20250805", "claude-opus-4-6-20260205"):
        base = table.cost(model, plain)
        assert base is not None
        assert table.cost(model, searched) == base + Decimal("0.03")
    assert table.cost("claude-sonnet-4-6", Usage(web_search_requests=1000)) == Decimal(10)  # $10 / 1,000


def test_web_fetch_adds_nothing_beyond_tokens() -> None:
    table = bundled_prices()
    usage = Usage(input_tokens=5000, output_tokens=100)
    fetched = Usage(input_tokens=5000, output_tokens=100, web_fetch_requests=7)
    assert table.cost("claude-sonnet-4-6", fetched) == table.cost("claude-sonnet-4-6", usage)


def test_batch_halves_tokens_but_not_search_fees() -> None:
    table = bundled_prices()
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000, web_search_requests=3)
    assert table.cost("claude-sonnet-4-6", usage) == Decimal("18.03")  # 3 + 15 + 0.03
    assert table.cost("claude-sonnet-4-6", usage, batch=True) == Decimal("9.03")  # (3 + 15) / 2 + 0.03


def test_fees_never_price_an_unknown_model() -> None:
    assert bundled_prices().cost("claude-unknown-9", Usage(web_search_requests=3)) is None


def test_opus_and_sonnet_4_6_had_a_long_context_premium_until_2026_03_13() -> None:
    table = bundled_prices()
    long = Usage(input_tokens=250_000, output_tokens=1000)
    before = datetime(2026, 3, 12, 23, 59, tzinfo=UTC)
    after = datetime(2026, 3, 13, tzinfo=UTC)
    assert table.cost("claude-opus-4-6", long, at=before) == Decimal("2.5375")  # 250K * $10 + 1K * $37.50
    assert table.cost("claude-opus-4-6", long, at=after) == Decimal("1.275")  # 250K * $5 + 1K * $25
    assert table.cost("claude-opus-4-6", long) == Decimal("1.275")  # no date: the current price
    assert table.cost("claude-sonnet-4-6[1m]", long, at=before) == Decimal("1.5225")  # $6 / $22.50
    assert table.cost("claude-sonnet-4-6", long, at=datetime(2026, 3, 12, 12)) == Decimal(
        "1.5225"
    )  # naive: UTC
    assert table.cost("claude-sonnet-4-6", long, at=after) == Decimal("0.765")
    # A short prompt cost the same before and after.
    short = Usage(input_tokens=1000, output_tokens=1000)
    assert table.cost("claude-opus-4-6", short, at=before) == table.cost("claude-opus-4-6", short, at=after)


def _meter(now: datetime, mode: str = "api") -> Meter:
    return Meter(MeterContext("s1", mode, "acct", "proj"), None, now=lambda: now)


def _event(model: str, usage: Usage) -> ApiUsage:
    return ApiUsage("s1", "req_1", "msg_1", model, usage, 10, True, 0)


def test_the_meter_prices_search_fees_and_the_price_in_force_when_it_records() -> None:
    now = datetime(2026, 12, 1, tzinfo=UTC)
    usage = Usage(input_tokens=1_000_000, output_tokens=1_000_000, web_search_requests=3)
    row = _meter(now).record(_event("claude-sonnet-4-6", usage))
    assert row.cost_usd == Decimal("18.03") and row.web_search_requests == 3
    assert _meter(now, "batch").record(_event("claude-sonnet-4-6", usage)).cost_usd == Decimal("9.03")
    long = Usage(input_tokens=250_000, output_tokens=1000)
    then = datetime(2026, 3, 1, tzinfo=UTC)
    assert _meter(then).record(_event("claude-opus-4-6", long)).cost_usd == Decimal("2.5375")
    row = _meter(now).record(_event("claude-opus-4-1-20250805", Usage(input_tokens=1000)))
    assert row.cost_usd == Decimal("0.015") and row.price_version == bundled_prices().version


def test_the_claude_code_import_prices_through_the_table_with_fees() -> None:
    usage = Usage(input_tokens=1000, output_tokens=100, web_search_requests=2)
    call = Call(
        "msg_1",
        "req_1",
        1100,
        "claude-sonnet-4-20250514",
        usage,
        datetime(2026, 5, 1, tzinfo=UTC),
        "s",
        "p",
        {},
    )
    row = to_row(call, "api", bundled_prices())
    assert row.cost_usd == Decimal("0.0045") + Decimal("0.02")  # 1000 * $3 + 100 * $15, 2 searches


def test_an_override_for_the_undated_id_prices_its_dated_ids() -> None:
    table = bundled_prices()
    mine = ModelPrice(Decimal(1), Decimal(2), Decimal(3), Decimal(4), Decimal(5))
    overridden = table.with_overrides({"claude-opus-4-6": (mine, "/p/.thrifty.json")})
    assert overridden.cost("claude-opus-4-6-20260205", Usage(input_tokens=1_000_000)) == Decimal(1)
    assert overridden.version_for("claude-opus-4-6-20260205") == "override:/p/.thrifty.json"
    assert overridden.cost("claude-opus-4-6", Usage(web_search_requests=1)) == Decimal("0.01")  # fees kept


def test_every_price_names_its_sources_and_the_docs_cite_them() -> None:
    data = bundled_data()
    assert data["version"] != OLD_VERSION
    sources: dict[str, str] = data["sources"]
    docs = (ROOT / "docs" / "prices.md").read_text("utf-8")
    for name, where in sources.items():
        assert f"`{name}`" in docs, name
        url = re.search(r"https://\S+", where)
        if url is not None:
            assert url.group(0) in docs, url.group(0)
    entries: list[tuple[str, dict[str, Any]]] = [*data["models"].items(), *data["server_tools"].items()]
    for name, raw in entries:
        assert raw["source"], name
        assert all(source in sources for source in raw["source"]), name
    assert set(data["server_tools"]) == set(SERVER_TOOL_FIELDS)
    assert data["batch_discount_applies_to"] == "tokens"


def test_an_id_priced_twice_is_refused() -> None:
    data = bundled_data()
    data["models"]["claude-opus-4-1"] = {"input": "1", "output": "2"}  # already an alias
    with pytest.raises(ValueError, match="claude-opus-4-1"):
        table_from_data(data)


def test_a_table_without_server_tool_data_charges_no_fee() -> None:
    table = PriceTable("t", Decimal("0.5"), {"m": ModelPrice(*(Decimal(1) for _ in range(5)))})
    assert table.cost("m", Usage(input_tokens=1_000_000, web_search_requests=5)) == Decimal(1)
