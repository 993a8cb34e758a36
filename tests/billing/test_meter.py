"""Costs match published prices computed by hand, for every bucket kind, and reach the ledger exact."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from thrifty.billing.ledger import RowQuery, open_ledger
from thrifty.billing.meter import Meter, MeterContext
from thrifty.billing.prices import bundled_prices
from thrifty.billing.spool import Spool
from thrifty.core.events import ApiUsage
from thrifty.core.usage import Usage

M = 1_000_000


def usage_event(model: str, usage: dict[str, Any], request_id: str | None = "req_1") -> ApiUsage:
    return ApiUsage("s1", request_id, "msg_1", model, Usage.from_api(usage), 10, True, 0, raw_usage=usage)


# (model, usage, hand-computed dollars). Published per-million prices: sonnet-5-5 $2 in / $10 out,
# writes 1.25x (5m) and 2x (1h) input, reads 0.1x; opus-5-5 $4 / $20 with its own cache rates
# $5 (5m), $8 (1h), $0.20 (read); haiku-5-5 $0.10 / $0.50.
CASES = [
    ("claude-sonnet-5-5", {"input_tokens": M}, "2.00"),
    ("claude-sonnet-5-5", {"output_tokens": M}, "10.00"),
    ("claude-sonnet-5-5", {"cache_creation_input_tokens": M}, "2.50"),
    (
        "claude-sonnet-5-5",
        {"cache_creation_input_tokens": M, "cache_creation": {"ephemeral_1h_input_tokens": M}},
        "4.00",
    ),
    ("claude-sonnet-5-5", {"cache_read_input_tokens": M}, "0.20"),
    ("claude-opus-5-5", {"input_tokens": 1000, "output_tokens": 20}, "0.0044"),
    ("claude-opus-5-5", {"cache_creation_input_tokens": M}, "5.00"),
    (
        "claude-opus-5-5",
        {"cache_creation_input_tokens": M, "cache_creation": {"ephemeral_1h_input_tokens": M}},
        "8.00",
    ),
    ("claude-opus-5-5", {"cache_read_input_tokens": M}, "0.20"),
    # 10,000 reads at $0.01/M + 2,000 5m writes at $0.125/M
    (
        "claude-haiku-5-5",
        {"cache_read_input_tokens": 10_000, "cache_creation_input_tokens": 2_000},
        "0.00035",
    ),
    # Tiers: the whole call moves to the higher price once the prompt passes the threshold.
    ("claude-haiku-5-5", {"input_tokens": 100_000, "output_tokens": 1000}, "0.0105"),  # 0.01 + 0.0005
    ("claude-haiku-5-5", {"input_tokens": 100_001, "output_tokens": 1000}, "0.0525005"),  # 0.0500005 + 0.0025
    # 150,000 reads + 50,001 input = 200,001 prompt tokens: Sonnet 4.5's long-context premium ($6/$22.50,
    # reads 0.1x = $0.60): 50,001*6 + 150,000*0.6 + 1,000*22.5 = 300006 + 90000 + 22500 micro$
    (
        "claude-sonnet-4-5",
        {"input_tokens": 50_001, "cache_read_input_tokens": 150_000, "output_tokens": 1000},
        "0.412506",
    ),
    ("claude-sonnet-4-5", {"input_tokens": 200_000, "output_tokens": 1000}, "0.615"),  # 0.6 + 0.015
    # Mixed: 1,234 in, 567 out, 300 5m + 200 1h writes, 9,000 reads on sonnet-5-5.
    (
        "claude-sonnet-5-5",
        {
            "input_tokens": 1234,
            "output_tokens": 567,
            "cache_creation_input_tokens": 500,
            "cache_creation": {"ephemeral_5m_input_tokens": 300, "ephemeral_1h_input_tokens": 200},
            "cache_read_input_tokens": 9000,
        },
        # 1234*2 + 567*10 + 300*2.5 + 200*4 + 9000*0.2 = 2468 + 5670 + 750 + 800 + 1800 = 11488 micro$
        "0.011488",
    ),
]


@pytest.mark.parametrize(("model", "usage", "dollars"), CASES)
def test_cost_matches_hand_computed_price(
    model: str, usage: dict[str, Any], dollars: str, tmp_path: Path
) -> None:
    ledger = open_ledger(str(tmp_path / "l.sqlite3"))
    meter = Meter(MeterContext("s1", "api", "ANTHROPIC_API_KEY", "/p"), ledger)
    row = meter.record(usage_event(model, usage))
    assert row.cost_usd == Decimal(dollars)
    assert round(row.cost_usd, 2) == round(Decimal(dollars), 2)
    [stored] = ledger.query(RowQuery())
    assert stored.cost_usd == Decimal(dollars) and stored.price_version == bundled_prices().version
    assert meter.tally.cost == Decimal(dollars)
    ledger.close()


def test_batch_mode_is_half_price(tmp_path: Path) -> None:
    meter = Meter(MeterContext("s1", "batch", "ANTHROPIC_API_KEY", "/p"), None)
    row = meter.record(usage_event("claude-sonnet-5-5", {"input_tokens": M, "output_tokens": M}))
    assert row.cost_usd == Decimal("6.00")  # (2 + 10) / 2


def test_unknown_model_costs_none_not_zero(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "l.sqlite3"))
    meter = Meter(MeterContext("s1", "api", "k", "/p"), ledger)
    row = meter.record(usage_event("claude-imaginary-9", {"input_tokens": 100}))
    assert row.cost_usd is None
    assert ledger.query(RowQuery())[0].cost_usd is None
    assert meter.tally.model_usage()["claude-imaginary-9"]["costBasis"] == "unknown"


def test_every_bucket_lands_in_its_column(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "l.sqlite3"))
    meter = Meter(MeterContext("s1", "plan", "login:pro", "proj", {"ci": "yes"}), ledger)
    meter.record(
        usage_event(
            "claude-sonnet-5-5",
            {
                "input_tokens": 1,
                "output_tokens": 2,
                "cache_creation_input_tokens": 7,
                "cache_creation": {"ephemeral_5m_input_tokens": 3, "ephemeral_1h_input_tokens": 4},
                "cache_read_input_tokens": 5,
            },
            request_id="req_abc",
        )
    )
    [row] = ledger.query(RowQuery())
    assert (row.input_tokens, row.output_tokens, row.cache_write_5m_tokens) == (1, 2, 3)
    assert (row.cache_write_1h_tokens, row.cache_read_tokens) == (4, 5)
    assert (row.request_id, row.mode, row.account, row.project, row.tags) == (
        "req_abc",
        "plan",
        "login:pro",
        "proj",
        {"ci": "yes"},
    )


def test_rows_survive_an_unwritable_ledger_and_are_replayed(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "l.sqlite3"))
    spool = Spool(tmp_path / "spool.jsonl")
    meter = Meter(MeterContext("s1", "api", "k", "/p"), ledger, spool=spool)
    ledger.close()  # every write now fails, as a dropped PostgreSQL connection would
    meter.record(usage_event("claude-sonnet-5-5", {"input_tokens": 10}, request_id="req_lost?"))
    assert meter.problems and "req_lost?" not in meter.problems[0]
    assert [r.request_id for r in spool.pending()] == ["req_lost?"]
    reopened = open_ledger(str(tmp_path / "l.sqlite3"))
    Meter(MeterContext("s2", "api", "k", "/p"), reopened, spool=spool)  # replays on open
    assert [r.request_id for r in reopened.query(RowQuery())] == ["req_lost?"]
    assert not spool.path.exists()
    reopened.close()
