"""SDK: a budget cap that cannot be checked does not pass. ``max_budget_usd`` (or a configured
daily cap) with a model the price table does not know raises ``thrifty.SetupError`` before any
request; ``Client.set_model`` refuses such a model under a cap and keeps the current one."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

import thrifty
from tests.sdk.conftest import MakeOptions
from thrifty.testing import Simulator
from thrifty.testing.models import ModelCatalog, ModelSpec

pytestmark = pytest.mark.anyio

UNKNOWN = "acme-model-1"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """The simulator also serves a model thrifty has no price for."""
    catalog = ModelCatalog([*ModelCatalog.load().specs, ModelSpec(UNKNOWN, "Acme 1", "2026-01-01T00:00:00Z")])
    with Simulator(catalog=catalog) as s:
        yield s


@pytest.fixture
def opts(options: MakeOptions, tmp_path: Path, sim: Simulator) -> MakeOptions:
    """The shared options, with config and data (the ledger) under the test's directory."""

    def make(**overrides: object) -> thrifty.Options:
        env = {
            "ANTHROPIC_API_KEY": sim.api_key,
            "ANTHROPIC_BASE_URL": sim.base_url,
            "THRIFTY_CONFIG_DIR": str(tmp_path / "config"),
            "THRIFTY_DATA_DIR": str(tmp_path / "data"),
            "THRIFTY_KEYRING": "0",
        }
        return options(env=env, **overrides)

    return make


async def test_query_with_an_unpriced_model_under_a_cap_raises_setup_error(
    sim: Simulator, opts: MakeOptions
) -> None:
    sim.set_script([{"text": "never"}])
    with pytest.raises(thrifty.SetupError, match=rf"model '{UNKNOWN}' has no known price, so the run's"):
        async for _ in thrifty.query("hi", opts(model=UNKNOWN, max_budget_usd="0.01")):
            pass
    assert sim.message_requests() == []


async def test_a_monthly_cap_refuses_it_too(sim: Simulator, opts: MakeOptions, project: Path) -> None:
    (project / ".thrifty.json").write_text(json.dumps({"budgets": {"api": {"monthly": "100"}}}))
    with pytest.raises(thrifty.SetupError, match=r"so the monthly api budget \(\$100.00\) cannot be checked"):
        async with thrifty.Client(opts(model=UNKNOWN)):
            pass
    assert sim.message_requests() == []


async def test_a_price_override_lets_the_sdk_run(sim: Simulator, opts: MakeOptions, project: Path) -> None:
    (project / ".thrifty.json").write_text(json.dumps({"prices": {UNKNOWN: {"input": "3", "output": "15"}}}))
    sim.set_script([{"text": "priced"}])
    messages = [m async for m in thrifty.query("hi", opts(model=UNKNOWN, max_budget_usd="1"))]
    result = messages[-1]
    assert isinstance(result, thrifty.Result) and result.subtype == "success"
    assert result.total_cost_usd > 0


async def test_set_model_refuses_an_unpriced_model_under_a_cap(sim: Simulator, opts: MakeOptions) -> None:
    sim.set_script([{"text": "one"}])
    async with thrifty.Client(opts(max_budget_usd="1")) as client:
        with pytest.raises(ValueError, match=rf"model '{UNKNOWN}' has no known price"):
            await client.set_model(UNKNOWN)
        await client.query("hi")
        results = [m async for m in client.receive_response() if isinstance(m, thrifty.Result)]
        assert results[-1].subtype == "success"
        assert await client.set_model("opus") == "claude-opus-5-5"  # a priced model is fine
    assert [r.body["model"] for r in sim.message_requests()] == ["claude-sonnet-5-5"]


async def test_without_a_cap_set_model_to_an_unpriced_model_runs(sim: Simulator, opts: MakeOptions) -> None:
    sim.set_script([{"text": "unpriced"}])
    async with thrifty.Client(opts()) as client:
        assert await client.set_model(UNKNOWN) == UNKNOWN
        await client.query("hi")
        results = [m async for m in client.receive_response() if isinstance(m, thrifty.Result)]
    assert results[-1].subtype == "success"
    assert results[-1].model_usage[UNKNOWN]["costBasis"] == "unknown"
    assert [r.body["model"] for r in sim.message_requests()] == [UNKNOWN]
