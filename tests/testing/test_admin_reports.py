"""The Admin API's usage and cost reports, served from what the simulator itself billed.

Calls are made with the official SDK at known times on a manual clock, then the reports are read
over real HTTP the way an Admin API client reads them (``group_by[]=...``, ``x-api-key``). Every
expected figure comes from the responses the SDK got, or from the published prices by hand.
"""

from __future__ import annotations

import base64
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import anthropic
import httpx2
import pytest

from thrifty.testing import AccountSpec, ManualClock, Simulator
from thrifty.testing.admin_reports import DEFAULT_ADMIN_KEY, api_key_id

SONNET = "claude-sonnet-5-5"  # $2 in, $10 out per million
HAIKU = "claude-haiku-5-5"  # $0.10 in, $0.50 out per million (up to 100K prompt tokens)
DAY0 = datetime(2026, 9, 21, tzinfo=UTC).timestamp()
OTHER_KEY = "sk-ant-sim-second-key"
USAGE = "/v1/organizations/usage_report/messages"
COST = "/v1/organizations/cost_report"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(DAY0 + 10 * 3600)  # 10:00 UTC


@pytest.fixture
def sim(clock: ManualClock) -> Iterator[Simulator]:
    accounts = [
        AccountSpec(key="sk-ant-sim-api-key", mode="api", name="first"),
        AccountSpec(key=OTHER_KEY, mode="api", name="second"),
        AccountSpec(key="sk-ant-oat-sim-plan-token", mode="plan", name="plan"),
    ]
    with Simulator([{"text": "a reply of some length"}] * 50, clock=clock, accounts=accounts) as s:
        yield s


def call(sim: Simulator, model: str = SONNET, *, key: str | None = None, text: str = "hi") -> dict[str, Any]:
    client = anthropic.Anthropic(base_url=sim.base_url, api_key=key or sim.api_key, max_retries=0)
    message = client.messages.create(model=model, max_tokens=64, messages=[{"role": "user", "content": text}])
    return message.usage.model_dump()


def get(sim: Simulator, path: str, key: str | None = None, **params: Any) -> httpx2.Response:
    headers = {"x-api-key": key or sim.admin_key, "anthropic-version": "2023-06-01"}
    query = {(f"{k}[]" if isinstance(v, list) else k): v for k, v in params.items()}
    return httpx2.get(f"{sim.base_url}{path}", params=query, headers=headers)


def report(sim: Simulator, path: str = USAGE, **params: Any) -> dict[str, Any]:
    response = get(sim, path, **params)
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def stamp(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def total(rows: list[dict[str, Any]], name: str) -> int:
    return sum(int(r[name]) for r in rows)


def test_a_day_bucket_sums_every_call_billed_that_day(sim: Simulator, clock: ManualClock) -> None:
    first = call(sim)
    clock.advance(3 * 3600)
    second = call(sim, text="a longer question than the first")
    clock.advance(20 * 3600)  # the next day
    third = call(sim)
    body = report(sim, starting_at=stamp(DAY0), ending_at=stamp(DAY0 + 2 * 86400))
    assert [b["starting_at"] for b in body["data"]] == [stamp(DAY0), stamp(DAY0 + 86400)]
    assert [b["ending_at"] for b in body["data"]] == [stamp(DAY0 + 86400), stamp(DAY0 + 2 * 86400)]
    assert body["has_more"] is False and body["next_page"] is None
    day1, day2 = (b["results"] for b in body["data"])
    assert len(day1) == 1  # no group_by: one row per bucket
    assert day1[0]["uncached_input_tokens"] == first["input_tokens"] + second["input_tokens"]
    assert day1[0]["output_tokens"] == first["output_tokens"] + second["output_tokens"]
    assert day2[0]["output_tokens"] == third["output_tokens"]
    row = day1[0]
    assert set(row["cache_creation"]) == {"ephemeral_1h_input_tokens", "ephemeral_5m_input_tokens"}
    assert row["server_tool_use"] == {"web_search_requests": 0}
    assert row["model"] is None and row["service_tier"] is None and row["api_key_id"] is None


def test_hour_and_minute_buckets_are_snapped_to_utc(sim: Simulator, clock: ManualClock) -> None:
    clock.advance(90)  # 10:01:30
    usage = call(sim)
    # starting_at mid-hour snaps to the hour; the call lands in the 10:00 bucket.
    hours = report(
        sim, starting_at=stamp(DAY0 + 9.5 * 3600), ending_at=stamp(DAY0 + 12 * 3600), bucket_width="1h"
    )
    assert [b["starting_at"] for b in hours["data"]] == [stamp(DAY0 + h * 3600) for h in (9, 10, 11)]
    assert [len(b["results"]) for b in hours["data"]] == [0, 1, 0]
    assert hours["data"][1]["results"][0]["output_tokens"] == usage["output_tokens"]
    minutes = report(
        sim,
        starting_at=stamp(DAY0 + 10 * 3600 + 30),
        ending_at=stamp(DAY0 + 10 * 3600 + 180),
        bucket_width="1m",
    )
    assert [b["starting_at"][11:16] for b in minutes["data"]] == ["10:00", "10:01", "10:02"]
    assert [len(b["results"]) for b in minutes["data"]] == [0, 1, 0]


def test_group_by_model_tier_and_api_key(sim: Simulator) -> None:
    a = call(sim, SONNET)
    b = call(sim, HAIKU)
    c = call(sim, SONNET, key=OTHER_KEY)
    body = report(sim, starting_at=stamp(DAY0), limit=1, group_by=["model", "api_key_id", "service_tier"])
    rows = body["data"][0]["results"]
    got = {(r["model"], r["api_key_id"]): r for r in rows}
    assert set(got) == {
        (HAIKU, api_key_id(sim.api_key)),
        (SONNET, api_key_id(sim.api_key)),
        (SONNET, api_key_id(OTHER_KEY)),
    }
    assert got[(SONNET, api_key_id(sim.api_key))]["output_tokens"] == a["output_tokens"]
    assert got[(HAIKU, api_key_id(sim.api_key))]["output_tokens"] == b["output_tokens"]
    assert got[(SONNET, api_key_id(OTHER_KEY))]["output_tokens"] == c["output_tokens"]
    assert {r["service_tier"] for r in rows} == {"standard"}
    assert all(r["workspace_id"] is None and r["context_window"] is None for r in rows)
    assert all(sim.api_key not in str(r) and OTHER_KEY not in str(r) for r in rows)
    # Filters restrict before grouping.
    only = report(sim, starting_at=stamp(DAY0), limit=1, group_by=["model"], models=[HAIKU])
    assert [r["model"] for r in only["data"][0]["results"]] == [HAIKU]


def test_plan_usage_is_not_on_the_organisations_bill(sim: Simulator) -> None:
    call(sim, key="sk-ant-oat-sim-plan-token")
    body = report(sim, starting_at=stamp(DAY0), limit=1)
    assert body["data"][0]["results"] == []


def test_batch_usage_is_the_batch_tier_billed_when_processing_ends(clock: ManualClock) -> None:
    with Simulator([{"text": "batched"}] * 4, clock=clock, batch_processing_seconds=7200) as sim:
        client = sim.client()
        params = {"model": SONNET, "max_tokens": 32, "messages": [{"role": "user", "content": "q"}]}
        done = client.messages.batches.create(
            requests=[{"custom_id": f"r{i}", "params": params} for i in range(2)]
        )
        dropped = client.messages.batches.create(requests=[{"custom_id": "x", "params": params}])
        client.messages.batches.cancel(dropped.id)  # canceled before processing ended: not billed
        window = {"starting_at": stamp(DAY0 + 10 * 3600), "ending_at": stamp(DAY0 + 13 * 3600)}
        hours = report(sim, bucket_width="1h", group_by=["service_tier"], **window)
        assert [len(b["results"]) for b in hours["data"]] == [0, 0, 0]  # not processed yet
        clock.advance(7200)
        hours = report(sim, bucket_width="1h", group_by=["service_tier"], **window)
        assert [len(b["results"]) for b in hours["data"]] == [0, 0, 1]  # billed when it ended, 12:00
        row = hours["data"][2]["results"][0]
        assert row["service_tier"] == "batch"
        results = list(client.messages.batches.results(done.id))
        outputs = sum(r.result.message.usage.output_tokens for r in results if r.result.type == "succeeded")
        assert len(results) == 2
        assert row["output_tokens"] == outputs


def test_pages_follow_next_page_until_has_more_is_false(sim: Simulator, clock: ManualClock) -> None:
    for _ in range(5):
        call(sim)
        clock.advance(3600)
    start, end = stamp(DAY0 + 10 * 3600), stamp(DAY0 + 15 * 3600)
    seen: list[dict[str, Any]] = []
    page: str | None = None
    pages = 0
    while True:
        body = report(
            sim,
            starting_at=start,
            ending_at=end,
            bucket_width="1h",
            limit=2,
            **({"page": page} if page else {}),
        )
        pages += 1
        seen.extend(body["data"])
        assert len(body["data"]) <= 2
        if not body["has_more"]:
            assert body["next_page"] is None
            break
        page = body["next_page"]
        assert page.startswith("page_")
        # The token is the next bucket's start, as in the reference's example.
        assert base64.b64decode(page[5:]).decode() == seen[-1]["ending_at"]
    assert pages == 3
    assert [b["starting_at"] for b in seen] == [stamp(DAY0 + h * 3600) for h in range(10, 15)]
    assert all(len(b["results"]) == 1 for b in seen)


def test_default_limits_per_bucket_width(sim: Simulator) -> None:
    start = stamp(DAY0 - 40 * 86400)
    assert len(report(sim, starting_at=start)["data"]) == 7
    assert len(report(sim, starting_at=start, bucket_width="1h")["data"]) == 24
    assert len(report(sim, starting_at=start, bucket_width="1m")["data"]) == 60
    assert len(report(sim, COST, starting_at=start)["data"]) == 7


@pytest.mark.parametrize(
    ("path", "params", "needle"),
    [
        (USAGE, {}, "starting_at"),
        (USAGE, {"starting_at": "yesterday"}, "starting_at"),
        (USAGE, {"starting_at": "2026-09-21T00:00:00"}, "timezone"),
        (USAGE, {"starting_at": "2026-09-21T00:00:00Z", "bucket_width": "1w"}, "bucket_width"),
        (USAGE, {"starting_at": "2026-09-21T00:00:00Z", "bucket_width": "1d", "limit": 32}, "limit"),
        (USAGE, {"starting_at": "2026-09-21T00:00:00Z", "bucket_width": "1h", "limit": 169}, "limit"),
        (USAGE, {"starting_at": "2026-09-21T00:00:00Z", "bucket_width": "1m", "limit": 1441}, "limit"),
        (USAGE, {"starting_at": "2026-09-21T00:00:00Z", "limit": 0}, "limit"),
        (USAGE, {"starting_at": "2026-09-21T00:00:00Z", "group_by": ["colour"]}, "group_by"),
        (USAGE, {"starting_at": "2026-09-21T00:00:00Z", "ending_at": "2026-09-20T00:00:00Z"}, "ending_at"),
        (USAGE, {"starting_at": "2026-09-21T00:00:00Z", "page": "page_not-base64!"}, "page"),
        (COST, {"starting_at": "2026-09-21T00:00:00Z", "bucket_width": "1h"}, "bucket_width"),
        (COST, {"starting_at": "2026-09-21T00:00:00Z", "limit": 32}, "limit"),
        (COST, {"starting_at": "2026-09-21T00:00:00Z", "group_by": ["model"]}, "group_by"),
    ],
)
def test_bad_parameters_are_400_in_the_real_shape(
    sim: Simulator, path: str, params: dict[str, Any], needle: str
) -> None:
    response = get(sim, path, **params)
    assert response.status_code == 400
    body = response.json()
    assert body["type"] == "error"
    assert body["error"]["type"] == "invalid_request_error"
    assert needle in body["error"]["message"]
    assert response.headers["request-id"]


@pytest.mark.parametrize("which", ["api-key", "plan-token", "unknown", "none"])
def test_only_an_admin_key_reads_the_reports(sim: Simulator, which: str) -> None:
    key = {
        "api-key": sim.api_key,
        "plan-token": "sk-ant-oat-sim-plan-token",
        "unknown": "sk-ant-admin01-nope",
    }
    headers = {"anthropic-version": "2023-06-01"}
    if which != "none":
        headers["x-api-key"] = key[which]
    for path in (USAGE, COST):
        response = httpx2.get(f"{sim.base_url}{path}", params={"starting_at": stamp(DAY0)}, headers=headers)
        assert response.status_code == 401
        assert response.json()["error"]["type"] == "authentication_error"
        assert response.json()["type"] == "error"


def test_an_admin_key_cannot_call_the_messages_api(sim: Simulator) -> None:
    client = anthropic.Anthropic(base_url=sim.base_url, api_key=DEFAULT_ADMIN_KEY, max_retries=0)
    with pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model=SONNET, max_tokens=8, messages=[{"role": "user", "content": "hi"}])


def test_admin_requests_need_the_version_header(sim: Simulator) -> None:
    response = httpx2.get(
        f"{sim.base_url}{USAGE}", params={"starting_at": stamp(DAY0)}, headers={"x-api-key": sim.admin_key}
    )
    assert response.status_code == 400
    assert "anthropic-version" in response.json()["error"]["message"]


def cents(tokens: int, per_million: str) -> Decimal:
    return Decimal(tokens) * Decimal(per_million) / Decimal(10_000)


def test_cost_report_prices_each_token_type_in_cents(sim: Simulator) -> None:
    a = call(sim, SONNET)
    b = call(sim, HAIKU)
    body = report(sim, COST, starting_at=stamp(DAY0), limit=1, group_by=["description"])
    rows = body["data"][0]["results"]
    by = {(r["model"], r["token_type"]): r for r in rows}
    assert set(by) == {
        (SONNET, "uncached_input_tokens"),
        (SONNET, "output_tokens"),
        (HAIKU, "uncached_input_tokens"),
        (HAIKU, "output_tokens"),
    }
    assert Decimal(by[(SONNET, "uncached_input_tokens")]["amount"]) == cents(a["input_tokens"], "2")
    assert Decimal(by[(SONNET, "output_tokens")]["amount"]) == cents(a["output_tokens"], "10")
    assert Decimal(by[(HAIKU, "output_tokens")]["amount"]) == cents(b["output_tokens"], "0.50")
    row = by[(SONNET, "output_tokens")]
    assert row["currency"] == "USD" and row["cost_type"] == "tokens" and row["service_tier"] == "standard"
    assert row["context_window"] == "0-200k"
    assert row["description"] == "Claude Sonnet 5.5 Usage - Output Tokens"
    # Without grouping: one total per bucket, every descriptive field null.
    (whole,) = report(sim, COST, starting_at=stamp(DAY0), limit=1)["data"][0]["results"]
    assert Decimal(whole["amount"]) == sum(Decimal(r["amount"]) for r in rows)
    assert whole["model"] is None and whole["description"] is None and whole["token_type"] is None


def test_cost_report_bills_batches_at_the_discount(clock: ManualClock) -> None:
    with Simulator([{"text": "batched reply"}] * 2, clock=clock) as sim:
        params = {"model": SONNET, "max_tokens": 32, "messages": [{"role": "user", "content": "q"}]}
        sim.client().messages.batches.create(requests=[{"custom_id": "a", "params": params}])
        (usage_row,) = report(sim, starting_at=stamp(DAY0), limit=1)["data"][0]["results"]
        rows = report(sim, COST, starting_at=stamp(DAY0), limit=1, group_by=["description"])["data"][0][
            "results"
        ]
        output = next(r for r in rows if r["token_type"] == "output_tokens")
        assert output["service_tier"] == "batch"
        assert Decimal(output["amount"]) == cents(usage_row["output_tokens"], "10") / 2


def test_reset_forgets_the_billing_log(sim: Simulator) -> None:
    call(sim)
    sim.reset()
    assert report(sim, starting_at=stamp(DAY0), limit=1)["data"][0]["results"] == []
