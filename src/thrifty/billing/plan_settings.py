"""The ``"plan"`` block of thrifty's billing config: which Claude plan the user has, when its
billing cycle starts, and what to do with its monthly Agent SDK credit.

```json
{"plan": {"name": "max-5x", "billingCycleDay": 14,
          "agentSdkCredit": {"claimed": true, "usageCredits": false, "stopAt": "credit"},
          "limits": {"fiveHourTokens": 4000000, "weeklyTokens": 30000000}}}
```

- ``name``: a preset (``thrifty.billing.plan_presets.ALL_PRESETS``: pro, max-5x, max-20x, team,
  team-premium, enterprise) or ``"custom"``; a custom plan also gives ``label``,
  ``monthlyFeeUsd``, ``fiveHourTokens``, ``weeklyTokens`` and optionally ``agentSdkCreditUsd``
  (a USD amount, or null for no credit).
- ``billingCycleDay``: the day of the month the plan renews and the credit refreshes, 1 to 31
  (default 1). In a month without that day the cycle starts on the month's last day, as a
  subscription started on the 31st renews on February 28 (or 29).
- ``agentSdkCredit.claimed`` (default false): the credit is a one-time opt-in in the Claude
  account; until it is claimed Anthropic refuses headless plan usage.
- ``agentSdkCredit.usageCredits`` (default false): whether usage credits are enabled, so usage
  past the credit continues at API rates instead of stopping until the refresh.
- ``limits`` (optional, any plan): the window sizes you know better, in weighted tokens (input +
  cache writes + output): ``fiveHourTokens`` and/or ``weeklyTokens``. Anthropic publishes none,
  so a preset's are estimates; a limit set here wins over both the estimate and the one
  calibrated from the server's utilisation headers (``thrifty.billing.calibrate``), and the
  output names it "set by you". Naming another plan in a higher config file drops them.
- ``agentSdkCredit.stopAt``: ``"credit"`` (default) stops a plan run before it would draw past
  the credit, so no usage credits are spent; a share such as ``"80%"`` stops it earlier, keeping
  the rest of the credit for other headless use; ``"never"`` lets it run on into usage credits (or
  until Anthropic stops it, when usage credits are off).

``PlanSettings.from_dict`` raises ``ValueError`` naming the field (``plan.billingCycleDay ...``);
the config loader adds the file. ``to_dict`` writes the block back in the same shape.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from thrifty.billing.plan_presets import (
    ALL_PRESETS,
    PRESET_ALIASES,
    PlanDefinition,
    _fee,
    custom_plan,
    preset_key,
)

__all__ = [
    "CUSTOM",
    "CUSTOM_KEYS",
    "LIMIT_KEYS",
    "PLAN_KEYS",
    "STOP_AT",
    "PlanSettings",
    "check_block",
    "stop_fraction",
]

CUSTOM = "custom"
#: What ``agentSdkCredit.stopAt`` may say, besides a share of the credit such as ``"80%"``.
STOP_AT = ("credit", "never")
CUSTOM_KEYS = ("label", "monthlyFeeUsd", "agentSdkCreditUsd", "fiveHourTokens", "weeklyTokens")
PLAN_KEYS = ("name", "billingCycleDay", "agentSdkCredit", "limits", *CUSTOM_KEYS)
CREDIT_KEYS = ("claimed", "usageCredits", "stopAt")
#: ``plan.limits`` keys, and the window each sets (``thrifty.billing.calibrate`` names).
LIMIT_KEYS = {"fiveHourTokens": "five_hour", "weeklyTokens": "seven_day"}


def stop_fraction(stop_at: object) -> Decimal | None:
    """The share of the credit a plan run may draw before it stops: 1 for ``"credit"``, 0.8 for
    ``"80%"`` (1% to 100%); ``None`` for ``"never"`` or anything else."""
    if stop_at == "credit":
        return Decimal(1)
    if not isinstance(stop_at, str) or not stop_at.endswith("%") or not stop_at[:-1].isdigit():
        return None
    percent = int(stop_at[:-1])
    return Decimal(percent) / 100 if 1 <= percent <= 100 else None


@dataclass(frozen=True)
class PlanSettings:
    name: str
    #: Day of the month the cycle starts (1-31; clamped to the month's last day).
    billing_cycle_day: int = 1
    claimed: bool = False
    usage_credits: bool = False
    stop_at: str = "credit"
    #: The plan itself when ``name`` is ``"custom"``.
    custom: PlanDefinition | None = None
    #: ``plan.limits``: window sizes the user set, weighted tokens (``None``: not set).
    five_hour_limit: int | None = None
    weekly_limit: int | None = None

    @property
    def definition(self) -> PlanDefinition:
        """The plan: the preset of that name, or the custom plan the block describes, with the
        limits the user set in ``plan.limits`` (no longer estimates once both are set)."""
        plan = self.custom if self.custom is not None else ALL_PRESETS[self.name]
        if self.five_hour_limit is None and self.weekly_limit is None:
            return plan
        return replace(
            plan,
            five_hour_tokens=self.five_hour_limit or plan.five_hour_tokens,
            weekly_tokens=self.weekly_limit or plan.weekly_tokens,
            estimate=plan.estimate and (self.five_hour_limit is None or self.weekly_limit is None),
        )

    @property
    def user_limits(self) -> dict[str, int]:
        """The limits set in ``plan.limits``, by window name (``five_hour``, ``seven_day``)."""
        out = {}
        if self.five_hour_limit is not None:
            out["five_hour"] = self.five_hour_limit
        if self.weekly_limit is not None:
            out["seven_day"] = self.weekly_limit
        return out

    @property
    def sdk_credit_usd(self) -> Decimal | None:
        return self.definition.sdk_credit_usd

    def to_dict(self) -> dict[str, Any]:
        """The ``"plan"`` block as the config file holds it."""
        out: dict[str, Any] = {"name": self.name, "billingCycleDay": self.billing_cycle_day}
        if self.custom is not None:
            plan = self.custom
            credit = plan.sdk_credit_usd
            out.update(
                label=plan.label,
                monthlyFeeUsd=str(plan.monthly_fee_usd),
                agentSdkCreditUsd=None if credit is None else str(credit),
                fiveHourTokens=plan.five_hour_tokens,
                weeklyTokens=plan.weekly_tokens,
            )
        out["agentSdkCredit"] = {
            "claimed": self.claimed,
            "usageCredits": self.usage_credits,
            "stopAt": self.stop_at,
        }
        limits = {
            k: v
            for k, v in (("fiveHourTokens", self.five_hour_limit), ("weeklyTokens", self.weekly_limit))
            if v
        }
        if limits:
            out["limits"] = limits
        return out

    @classmethod
    def from_dict(cls, data: Any) -> PlanSettings:
        """Raises ``ValueError`` naming the bad field; callers add which file it came from."""
        check_block(data)
        name = data.get("name")
        name = preset_key(name) if isinstance(name, str) else name
        if name is None:
            raise ValueError(f"plan.name is required: one of {', '.join([*ALL_PRESETS, CUSTOM])}")
        credit = data.get("agentSdkCredit", {})
        custom = None
        if name == CUSTOM:
            missing = [k for k in CUSTOM_KEYS if k != "agentSdkCreditUsd" and k not in data]
            if missing:
                raise ValueError(f'plan.{missing[0]} is required for a "custom" plan')
            try:
                custom = custom_plan(
                    label=data["label"],
                    monthly_fee_usd=data["monthlyFeeUsd"],
                    five_hour_tokens=data["fiveHourTokens"],
                    weekly_tokens=data["weeklyTokens"],
                    sdk_credit_usd=data.get("agentSdkCreditUsd"),
                )
            except ValueError as exc:
                raise ValueError(f"plan: {exc}") from None
        limits = data.get("limits", {})
        five, week = limits.get("fiveHourTokens"), limits.get("weeklyTokens")
        base = custom if custom is not None else ALL_PRESETS[name]
        if (week or base.weekly_tokens) < (five or base.five_hour_tokens):
            raise ValueError(
                "plan.limits: the weekly limit cannot be smaller than the 5-hour limit "
                f"({week or base.weekly_tokens:,} < {five or base.five_hour_tokens:,})"
            )
        return cls(
            name=name,
            billing_cycle_day=data.get("billingCycleDay", 1),
            claimed=credit.get("claimed", False),
            usage_credits=credit.get("usageCredits", False),
            stop_at=credit.get("stopAt", "credit"),
            custom=custom,
            five_hour_limit=five,
            weekly_limit=week,
        )


def _bool(value: Any, where: str) -> None:
    if not isinstance(value, bool):
        raise ValueError(f"{where} must be true or false, got {json.dumps(value)}")


def check_block(data: Any) -> None:
    """Check the keys a ``"plan"`` block has (any may be missing); ``ValueError`` names the first bad one.

    Used per file by the config loader, which merges the blocks key by key before
    ``PlanSettings.from_dict`` checks that the result is complete.
    """
    if not isinstance(data, dict):
        raise ValueError('plan must be an object like {"name": "max-5x", "billingCycleDay": 1}')
    for key in data:
        if key not in PLAN_KEYS:
            raise ValueError(f"plan.{key} is not a key; allowed: {', '.join(PLAN_KEYS)}")
    if "name" in data and data["name"] not in (*ALL_PRESETS, *PRESET_ALIASES, CUSTOM):
        allowed = ", ".join([*ALL_PRESETS, CUSTOM])
        raise ValueError(f"plan.name must be one of {allowed}, got {json.dumps(data['name'])}")
    if "name" in data and data["name"] != CUSTOM:
        extra = [k for k in CUSTOM_KEYS if k in data]
        if extra:
            raise ValueError(f'plan.{extra[0]} is only for a "custom" plan (plan.name is a preset)')
    if "billingCycleDay" in data:
        day = data["billingCycleDay"]
        if isinstance(day, bool) or not isinstance(day, int) or not 1 <= day <= 31:
            raise ValueError(
                f"plan.billingCycleDay must be a day of the month from 1 to 31, got {json.dumps(day)}"
            )
    if "label" in data and (not isinstance(data["label"], str) or not data["label"].strip()):
        raise ValueError("plan.label must be a non-empty string")
    for key in ("monthlyFeeUsd", "agentSdkCreditUsd"):
        if key in data and not (key == "agentSdkCreditUsd" and data[key] is None):
            _fee(data[key], f"plan.{key}")
    for key in ("fiveHourTokens", "weeklyTokens"):
        if key in data:
            value = data[key]
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(f"plan.{key} must be a positive whole number of weighted tokens")
    if "limits" in data:
        limits = data["limits"]
        if not isinstance(limits, dict):
            raise ValueError(
                'plan.limits must be an object like {"fiveHourTokens": 4000000, "weeklyTokens": 30000000}'
            )
        for key, value in limits.items():
            if key not in LIMIT_KEYS:
                raise ValueError(f"plan.limits.{key} is not a key; allowed: {', '.join(LIMIT_KEYS)}")
            if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
                raise ValueError(
                    f"plan.limits.{key} must be a positive whole number of weighted tokens, "
                    f"got {json.dumps(value)}"
                )
    if "agentSdkCredit" in data:
        credit = data["agentSdkCredit"]
        if not isinstance(credit, dict):
            raise ValueError(
                'plan.agentSdkCredit must be an object like {"claimed": true, "stopAt": "credit"}'
            )
        for key, value in credit.items():
            if key not in CREDIT_KEYS:
                raise ValueError(f"plan.agentSdkCredit.{key} is not a key; allowed: {', '.join(CREDIT_KEYS)}")
            if key == "stopAt":
                if stop_fraction(value) is None and value != "never":
                    raise ValueError(
                        'plan.agentSdkCredit.stopAt must be "credit", a share of it such as "80%", '
                        f'or "never", got {json.dumps(value)}'
                    )
            else:
                _bool(value, f"plan.agentSdkCredit.{key}")


def merge_blocks(into: dict[str, Any], block: dict[str, Any]) -> None:
    """Merge a checked ``"plan"`` block over ``into``, key by key (``agentSdkCredit`` too).

    A block that names the plan starts the plan over: a custom plan's fields (and the
    ``limits``) from a lower file do not stick to the preset a higher file names.
    """
    if "name" in block:
        for key in ("name", "limits", *CUSTOM_KEYS):
            into.pop(key, None)
    for key, value in block.items():
        if key in ("agentSdkCredit", "limits"):
            into.setdefault(key, {}).update(value)
        else:
            into[key] = value
