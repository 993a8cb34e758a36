"""``plan.limits``: window sizes the user sets, over a preset's estimates and calibrated ones."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from thrifty.billing.calibrate import USER, resolve_limits
from thrifty.billing.config import ConfigError, load_billing_config, user_config_file
from thrifty.billing.plan_presets import PRESETS
from thrifty.billing.plan_settings import PlanSettings


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"THRIFTY_CONFIG_DIR": str(tmp_path / "config"), "THRIFTY_DATA_DIR": str(tmp_path / "data")}


def write(path: Path, data: Any) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))


def test_limits_override_the_preset_and_say_so(env: dict[str, str], tmp_path: Path) -> None:
    block = {"name": "max-5x", "limits": {"fiveHourTokens": 4_000_000, "weeklyTokens": 30_000_000}}
    write(user_config_file(env), {"plan": block})
    settings = load_billing_config(tmp_path, env).plan
    assert settings is not None
    plan = settings.definition
    assert (plan.name, plan.label, plan.monthly_fee_usd) == (
        "max-5x",
        "Max 5x",
        PRESETS["max-5x"].monthly_fee_usd,
    )
    assert (plan.five_hour_tokens, plan.weekly_tokens, plan.estimate) == (4_000_000, 30_000_000, False)
    assert settings.user_limits == {"five_hour": 4_000_000, "seven_day": 30_000_000}
    assert settings.to_dict()["limits"] == block["limits"]
    assert PlanSettings.from_dict(settings.to_dict()) == settings

    limits = resolve_limits(plan, user=settings.user_limits)
    assert [lim.source for lim in limits.limits] == [USER, USER]
    assert limits.line() == (
        "Max 5x limits: 5-hour 4,000,000 set by you, weekly 30,000,000 set by you (weighted tokens)."
    )


def test_one_limit_set_leaves_the_other_an_estimate() -> None:
    settings = PlanSettings.from_dict({"name": "pro", "limits": {"weeklyTokens": 12_000_000}})
    plan = settings.definition
    assert plan.weekly_tokens == 12_000_000 and plan.five_hour_tokens == PRESETS["pro"].five_hour_tokens
    assert plan.estimate is True
    limits = resolve_limits(plan, user=settings.user_limits)
    assert (limits.five_hour.source, limits.weekly.source) == ("estimate", "user")
    assert "not published" in limits.line() and "weekly 12,000,000 set by you" in limits.line()


def test_a_higher_file_naming_another_plan_drops_the_limits(env: dict[str, str], tmp_path: Path) -> None:
    write(user_config_file(env), {"plan": {"name": "pro", "limits": {"fiveHourTokens": 2_000_000}}})
    repo = tmp_path / "repo"
    (repo / ".git").mkdir(parents=True)
    write(repo / ".thrifty.json", {"plan": {"name": "max-5x"}})
    settings = load_billing_config(repo, env).plan
    assert settings is not None and settings.user_limits == {}
    assert settings.definition == PRESETS["max-5x"]


@pytest.mark.parametrize(
    ("limits", "message"),
    [
        ([1], "plan.limits must be an object"),
        ({"fiveHour": 1}, "plan.limits.fiveHour is not a key; allowed: fiveHourTokens, weeklyTokens"),
        (
            {"fiveHourTokens": 0},
            "plan.limits.fiveHourTokens must be a positive whole number of weighted tokens, got 0",
        ),
        (
            {"weeklyTokens": "lots"},
            'plan.limits.weeklyTokens must be a positive whole number of weighted tokens, got "lots"',
        ),
        ({"fiveHourTokens": True}, "plan.limits.fiveHourTokens must be a positive whole number"),
        (
            {"fiveHourTokens": 50_000_000},
            "plan.limits: the weekly limit cannot be smaller than the 5-hour limit",
        ),
    ],
)
def test_bad_limits_are_one_clear_error_naming_the_key(
    env: dict[str, str], tmp_path: Path, limits: Any, message: str
) -> None:
    path = user_config_file(env)
    write(path, {"plan": {"name": "pro", "limits": limits}})
    with pytest.raises(ConfigError) as err:
        load_billing_config(tmp_path, env)
    text = str(err.value)
    assert message in text and "\n" not in text
