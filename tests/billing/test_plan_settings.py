"""The ``"plan"`` config block: presets with their Agent SDK credit, custom plans, merging, errors."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from thrifty.billing.config import ConfigError, load_billing_config
from thrifty.billing.plan_presets import ALL_PRESETS, PRESETS, PlanDefinition
from thrifty.billing.plan_settings import PlanSettings

EXAMPLE = {
    "name": "max-5x",
    "billingCycleDay": 14,
    "agentSdkCredit": {"claimed": True, "usageCredits": False, "stopAt": "credit"},
}


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"THRIFTY_CONFIG_DIR": str(tmp_path / "config"), "THRIFTY_DATA_DIR": str(tmp_path / "data")}


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    (path / ".git").mkdir(parents=True)
    return path


def user(env: dict[str, str], data: Any) -> Path:
    from thrifty.billing.config import user_config_file

    path = user_config_file(env)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def test_preset_credits_follow_anthropics_article() -> None:
    credits = {name: p.sdk_credit_usd for name, p in ALL_PRESETS.items()}
    assert credits == {
        "pro": Decimal(20),
        "max-5x": Decimal(100),
        "max-20x": Decimal(200),
        "team": Decimal(20),
        "team-premium": Decimal(100),
        "enterprise": Decimal(20),
    }
    assert list(PRESETS) == ["pro", "max-5x", "max-20x", "team"]


def test_plan_definitions_carry_the_credit_and_old_dicts_still_load() -> None:
    plan = PRESETS["max-20x"]
    assert plan.to_dict()["agentSdkCreditUsd"] == "200"
    assert PlanDefinition.from_dict(plan.to_dict()) == plan
    old = {k: v for k, v in plan.to_dict().items() if k != "agentSdkCreditUsd"}
    assert PlanDefinition.from_dict(old) == plan  # stored before the credit: the preset's value
    custom = {**old, "name": "custom"}
    assert PlanDefinition.from_dict(custom).sdk_credit_usd is None
    assert PlanDefinition.from_dict({**custom, "agentSdkCreditUsd": "35"}).sdk_credit_usd == Decimal(35)
    assert PlanDefinition.from_dict({**plan.to_dict(), "agentSdkCreditUsd": None}).sdk_credit_usd is None
    with pytest.raises(ValueError, match=r"plan\.agentSdkCreditUsd must be"):
        PlanDefinition.from_dict({**custom, "agentSdkCreditUsd": "lots"})


def test_round_trip_and_definition() -> None:
    settings = PlanSettings.from_dict(EXAMPLE)
    assert settings == PlanSettings("max-5x", 14, True, False, "credit")
    assert settings.to_dict() == EXAMPLE
    assert settings.definition == PRESETS["max-5x"] and settings.sdk_credit_usd == Decimal(100)
    assert PlanSettings.from_dict({"name": "pro"}) == PlanSettings("pro", 1, False, False, "credit")
    custom = {
        "name": "custom",
        "billingCycleDay": 31,
        "label": "Enterprise premium seat",
        "monthlyFeeUsd": "0",
        "agentSdkCreditUsd": "200",
        "fiveHourTokens": 5_000_000,
        "weeklyTokens": 30_000_000,
        "agentSdkCredit": {"claimed": True, "usageCredits": True, "stopAt": "never"},
    }
    parsed = PlanSettings.from_dict(custom)
    assert parsed.to_dict() == custom
    assert parsed.definition.label == "Enterprise premium seat" and parsed.sdk_credit_usd == Decimal(200)
    assert not parsed.definition.estimate


def test_the_config_reads_and_merges_the_block(env: dict[str, str], repo: Path) -> None:
    assert load_billing_config(repo, env).plan is None
    user(env, {"plan": EXAMPLE})
    assert load_billing_config(repo, env).plan == PlanSettings("max-5x", 14, True, False, "credit")
    (repo / ".thrifty.json").write_text(json.dumps({"plan": {"agentSdkCredit": {"stopAt": "never"}}}))
    assert load_billing_config(repo, env).plan == PlanSettings("max-5x", 14, True, False, "never")


BAD = [
    ("mega", "plan.name must be one of pro, max-5x, max-20x, team, team-premium, enterprise, custom"),
    ({"name": "pro", "cycle": 1}, "plan.cycle is not a key"),
    (
        {"name": "pro", "billingCycleDay": 0},
        "plan.billingCycleDay must be a day of the month from 1 to 31, got 0",
    ),
    ({"name": "pro", "billingCycleDay": 32}, "plan.billingCycleDay must be a day of the month from 1 to 31"),
    ({"name": "pro", "billingCycleDay": "1"}, "plan.billingCycleDay must be a day of the month"),
    ({"billingCycleDay": 3}, "plan.name is required"),
    ({"name": "pro", "label": "X"}, 'plan.label is only for a "custom" plan'),
    ({"name": "custom", "label": "X"}, 'plan.monthlyFeeUsd is required for a "custom" plan'),
    ({"name": "pro", "agentSdkCredit": True}, "plan.agentSdkCredit must be an object"),
    (
        {"name": "pro", "agentSdkCredit": {"claimed": "yes"}},
        'plan.agentSdkCredit.claimed must be true or false, got "yes"',
    ),
    (
        {"name": "pro", "agentSdkCredit": {"usageCredits": 1}},
        "plan.agentSdkCredit.usageCredits must be true or false",
    ),
    (
        {"name": "pro", "agentSdkCredit": {"stopAt": "overage"}},
        'plan.agentSdkCredit.stopAt must be "credit", a share of it such as "80%", or "never"',
    ),
    ({"name": "pro", "agentSdkCredit": {"stop": "credit"}}, "plan.agentSdkCredit.stop is not a key"),
    (
        {"name": "custom", "label": "X", "monthlyFeeUsd": "1", "fiveHourTokens": 0, "weeklyTokens": 1},
        "plan.fiveHourTokens must be a positive whole number",
    ),
]


@pytest.mark.parametrize(("block", "message"), BAD)
def test_bad_blocks_are_one_line_naming_the_file_and_field(
    env: dict[str, str], repo: Path, block: Any, message: str
) -> None:
    value = {"name": block} if isinstance(block, str) else block
    path = user(env, {"plan": value})
    with pytest.raises(ConfigError) as info:
        load_billing_config(repo, env)
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"{path}: ") and message in text
