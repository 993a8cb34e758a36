"""A cap that cannot be checked does not pass: unknown prices never count as $0 toward a cap, and
a user can price a model in config. Guard and meter level; the end-to-end runs are in
``tests/cli/test_budget_prices.py`` and ``tests/sdk/test_budget_prices.py``."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from thrifty.agent.options import AgentOptions
from thrifty.agent.session import Session
from thrifty.billing.budget import BudgetGuard, UnpricedModel
from thrifty.billing.config import Budget, ConfigError, load_billing_config
from thrifty.billing.ledger import RowQuery, open_ledger
from thrifty.billing.meter import Meter, MeterContext
from thrifty.billing.prices import bundled_prices
from thrifty.billing.tally import Tally
from thrifty.core.endings import BudgetExceeded
from thrifty.core.events import ApiUsage, Result
from thrifty.core.usage import Usage
from thrifty.testing import Simulator

UNKNOWN = "acme-model-1"


def usage_event(model: str, usage: dict[str, Any], request_id: str = "req_1") -> ApiUsage:
    return ApiUsage("s1", request_id, "msg_1", model, Usage.from_api(usage), 10, True, 0, raw_usage=usage)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    (tmp_path / "config").mkdir()
    return {"THRIFTY_CONFIG_DIR": str(tmp_path / "config"), "THRIFTY_DATA_DIR": str(tmp_path / "data")}


def write_json(path: Path, data: Any) -> Path:
    path.write_text(json.dumps(data))
    return path


# -- the guard ------------------------------------------------------------------------------


def test_an_unknown_call_cost_stops_the_run_under_a_cap() -> None:
    tally = Tally()
    tally.add(usage_event("claude-sonnet-5-5", {"input_tokens": 10}), Decimal("0.01"))
    assert tally.known_cost() == Decimal("0.01")
    tally.add(usage_event(UNKNOWN, {"input_tokens": 130_000}, "req_2"), None)
    assert tally.known_cost() is None
    assert tally.cost == Decimal("0.01")  # what the result shows; the model's basis says unknown
    assert tally.model_usage()[UNKNOWN]["costBasis"] == "unknown"
    guard = BudgetGuard(mode="api", run_cap=Decimal("100"))
    with pytest.raises(BudgetExceeded, match=r"a call of this run has no known price, so the run's maximum"):
        guard.check(tally.known_cost(), Decimal("0.001"))


def test_without_a_cap_unknown_prices_pass(tmp_path: Path) -> None:
    ledger = open_ledger(str(tmp_path / "l.sqlite3"))
    guard = BudgetGuard(mode="api", ledger=ledger, caps=Budget(daily=Decimal("5")), model=lambda: UNKNOWN)
    no_cap = BudgetGuard(mode="api", ledger=ledger, model=lambda: UNKNOWN)
    no_cap.check(None, None)
    no_cap.require_price(UNKNOWN)
    assert no_cap.caps_in_force() == []
    with pytest.raises(BudgetExceeded, match=r"the daily api budget \(\$5.00\) cannot be checked"):
        guard.check(Decimal(0), None)
    with pytest.raises(UnpricedModel, match=r"model 'acme-model-1' has no known price"):
        guard.require_price(UNKNOWN)
    guard.require_price("claude-sonnet-5-5")
    guard.require_price("claude-sonnet-4-5[1m]")
    ledger.close()


def test_a_daily_cap_without_a_ledger_is_not_in_force() -> None:
    # --no-ledger: daily and monthly caps are not checked at all (as before), so they refuse nothing
    guard = BudgetGuard(mode="api", caps=Budget(daily=Decimal("5")))
    assert guard.caps_in_force() == []
    guard.require_price(UNKNOWN)


def test_the_refusal_is_one_line_naming_the_model_and_how_to_price_it() -> None:
    guard = BudgetGuard(mode="api", run_cap=Decimal("0.01"), user_file="/home/u/.config/thrifty/config.json")
    line = guard.unpriced(UNKNOWN)
    assert line == (
        "model 'acme-model-1' has no known price, so the run's maximum budget ($0.01) cannot be "
        "checked; give it a price in .thrifty.json or /home/u/.config/thrifty/config.json, e.g. "
        '"prices": {"acme-model-1": {"input": "3", "output": "15"}} (USD per million tokens)'
    )


# -- price overrides in config --------------------------------------------------------------


def test_prices_in_config_are_read_with_the_bundled_defaults(tmp_path: Path, env: dict[str, str]) -> None:
    user = write_json(
        tmp_path / "config" / "config.json",
        {"prices": {UNKNOWN: {"input": "1", "output": "2"}, "other": {"input": "1", "output": "1"}}},
    )
    project = write_json(
        tmp_path / ".thrifty.json",
        {
            "prices": {
                UNKNOWN: {
                    "input": "3",
                    "output": 15,
                    "cache_write_1h": "6.5",
                    "tiers": [{"above": 1000, "input": "6", "output": "30"}],
                }
            }
        },
    )
    config = load_billing_config(tmp_path, env)
    price, where = config.prices[UNKNOWN]
    assert where == str(project)  # the project's entry replaces the user's for that model
    assert (price.input, price.output) == (Decimal(3), Decimal(15))
    assert price.cache_write_5m == Decimal("3.75") and price.cache_read == Decimal("0.3")
    assert price.cache_write_1h == Decimal("6.5")
    assert price.for_prompt(2000).input == Decimal(6)
    assert config.prices["other"][1] == str(user)
    table = bundled_prices().with_overrides(config.prices)
    assert table.version_for(UNKNOWN) == f"override:{project}"
    assert table.version_for("claude-sonnet-5-5") == bundled_prices().version
    assert bundled_prices().price(UNKNOWN) is None  # the shared table is untouched


@pytest.mark.parametrize(
    ("prices", "message"),
    [
        ([], r"prices must be an object like"),
        ({UNKNOWN: "3"}, r"prices\.acme-model-1 must be an object"),
        ({UNKNOWN: {"input": "3"}}, r"prices\.acme-model-1\.output is required"),
        ({UNKNOWN: {"input": "x", "output": "1"}}, r"prices\.acme-model-1\.input must be an amount"),
        ({UNKNOWN: {"input": "-1", "output": "1"}}, r"prices\.acme-model-1\.input must be a non-negative"),
        ({UNKNOWN: {"input": None, "output": "1"}}, r"prices\.acme-model-1\.input must be an amount"),
        ({UNKNOWN: {"input": "1", "output": "1", "cache": "1"}}, r"prices\.acme-model-1\.cache is not a"),
        ({UNKNOWN: {"input": "1", "output": "1", "tiers": {}}}, r"acme-model-1\.tiers must be a list"),
        (
            {UNKNOWN: {"input": "1", "output": "1", "tiers": [{"input": "1", "output": "1"}]}},
            r"prices\.acme-model-1\.tiers\[0\]\.above is required",
        ),
        ({"": {"input": "1", "output": "1"}}, r"prices has an empty model id"),
    ],
)
def test_a_bad_price_is_one_line_naming_the_file_and_key(
    tmp_path: Path, env: dict[str, str], prices: Any, message: str
) -> None:
    path = write_json(tmp_path / ".thrifty.json", {"prices": prices})
    with pytest.raises(ConfigError, match=message) as info:
        load_billing_config(tmp_path, env)
    text = str(info.value)
    assert text.startswith(f"{path}: ") and "\n" not in text


def test_an_overridden_price_meters_the_row_and_stamps_it(tmp_path: Path, env: dict[str, str]) -> None:
    project = write_json(tmp_path / ".thrifty.json", {"prices": {UNKNOWN: {"input": "3", "output": "15"}}})
    prices = bundled_prices().with_overrides(load_billing_config(tmp_path, env).prices)
    ledger = open_ledger(str(tmp_path / "l.sqlite3"))
    meter = Meter(MeterContext("s1", "api", "acct", "proj"), ledger, prices=prices)
    meter.record(usage_event(UNKNOWN, {"input_tokens": 1_000_000, "output_tokens": 100_000}))
    meter.record(usage_event("claude-sonnet-5-5", {"input_tokens": 1_000_000}, "req_2"))
    rows = {r.request_id: r for r in ledger.query(RowQuery())}
    ledger.close()
    assert rows["req_1"].cost_usd == Decimal("4.5")
    assert rows["req_1"].price_version == f"override:{project}"
    assert rows["req_2"].cost_usd == Decimal(2) and rows["req_2"].price_version == bundled_prices().version
    assert meter.spent() == Decimal("6.5")


# -- the loop: the backstop when an unpriced request or cost gets past the setup check -------

LOOP = {"tool_use": {"name": "Bash", "input": {"command": "echo spend"}}}


def agent_options(sim: Simulator, cwd: Path, **kw: Any) -> AgentOptions:
    env = {
        "ANTHROPIC_BASE_URL": sim.base_url,
        "ANTHROPIC_API_KEY": sim.api_key,
        "THRIFTY_KEYRING": "0",
        "THRIFTY_CONFIG_DIR": str(cwd / "config"),
    }
    return AgentOptions(cwd=cwd, environ=env, ledger=str(cwd / "l.sqlite3"), allowed_tools=["Bash"], **kw)


async def last_result(session: Session, prompt: str) -> Result:
    events = [e async for e in session.turn(prompt)]
    assert isinstance(events[-1], Result)
    return events[-1]


@pytest.mark.anyio
async def test_a_request_to_an_unpriced_model_under_a_cap_ends_the_turn(tmp_path: Path) -> None:
    with Simulator([LOOP] * 5) as sim:
        async with Session(agent_options(sim, tmp_path, max_budget_usd=Decimal("1"))) as session:
            session.prepared.model = UNKNOWN  # past set_model's refusal, as a future path might
            result = await last_result(session, "spend")
        assert sim.message_requests() == []
    assert result.subtype == "error_max_budget_usd" and result.exit_code == 1
    assert result.errors[0].startswith(f"model '{UNKNOWN}' has no known price, so the run's maximum budget")


@pytest.mark.anyio
async def test_a_call_of_unknown_cost_stops_the_run_rather_than_counting_as_free(tmp_path: Path) -> None:
    with Simulator([LOOP] * 5) as sim:
        async with Session(agent_options(sim, tmp_path, max_budget_usd=Decimal("100"))) as session:
            # as if an answer came back from a model with no price (e.g. the server substituted one)
            session.meter.record(usage_event(UNKNOWN, {"input_tokens": 130_000}, "req_unpriced"))
            result = await last_result(session, "spend")
        assert sim.message_requests() == []
    assert result.subtype == "error_max_budget_usd"
    assert result.errors[0].startswith("a call of this run has no known price, so the run's maximum budget")
