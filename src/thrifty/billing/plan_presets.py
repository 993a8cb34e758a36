"""What a subscription plan costs and roughly how much it allows, so plan usage can be reported.

Anthropic publishes plan prices but not window sizes in tokens, so the preset limits are
estimates (``estimate=True``) and every place that shows them says so. They are counted in the
same weighted tokens the plan windows meter: input + cache writes + output, with cache reads
free (the weighting of ``thrifty.testing.accounts``). Users who know better numbers use
``custom_plan``.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from types import MappingProxyType
from typing import Any


@dataclass(frozen=True)
class PlanDefinition:
    name: str
    label: str
    monthly_fee_usd: Decimal
    five_hour_tokens: int
    weekly_tokens: int
    #: True when the limits are thrifty's estimates rather than numbers the user gave.
    estimate: bool = False

    def describe(self) -> str:
        """One line for status and login output; says "estimated" whenever the limits are guesses."""
        kind = "estimated limits" if self.estimate else "limits"
        return (
            f"{self.label} (${self.monthly_fee_usd}/mo; {kind}: {self.five_hour_tokens:,} per 5 hours, "
            f"{self.weekly_tokens:,} per week, weighted tokens)"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "label": self.label,
            "monthlyFeeUsd": str(self.monthly_fee_usd),
            "fiveHourTokens": self.five_hour_tokens,
            "weeklyTokens": self.weekly_tokens,
            "estimate": self.estimate,
        }

    @classmethod
    def from_dict(cls, data: Any) -> PlanDefinition:
        """Raises ``ValueError`` naming the bad field; callers add which file it came from."""
        if not isinstance(data, dict):
            raise ValueError("plan must be an object")
        name, label = data.get("name"), data.get("label")
        if not isinstance(name, str) or not name:
            raise ValueError("plan.name must be a non-empty string")
        if not isinstance(label, str) or not label:
            raise ValueError("plan.label must be a non-empty string")
        estimate = data.get("estimate", False)
        if not isinstance(estimate, bool):
            raise ValueError("plan.estimate must be true or false")
        return _checked(
            name,
            label,
            _fee(data.get("monthlyFeeUsd"), "plan.monthlyFeeUsd"),
            _tokens(data.get("fiveHourTokens"), "plan.fiveHourTokens"),
            _tokens(data.get("weeklyTokens"), "plan.weeklyTokens"),
            estimate,
        )


def _fee(value: Any, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, str | int | float | Decimal):
        raise ValueError(f"{field} must be a decimal amount in USD")
    try:
        fee = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{field} must be a decimal amount in USD") from None
    if not fee.is_finite() or fee < 0:
        raise ValueError(f"{field} must be a non-negative amount in USD")
    return fee


def _tokens(value: Any, field: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
        raise ValueError(f"{field} must be a positive whole number of tokens")
    return value


def _checked(
    name: str, label: str, fee: Decimal, five_hour: int, weekly: int, estimate: bool
) -> PlanDefinition:
    if weekly < five_hour:
        raise ValueError("the weekly limit cannot be smaller than the 5-hour limit")
    return PlanDefinition(name, label, fee, five_hour, weekly, estimate)


# Relative sizes follow Anthropic's public descriptions: Max 5x and 20x give 5x and 20x Pro's
# per-session usage, while their weekly allowances grow less steeply. Absolute numbers are ours.
PRESETS: MappingProxyType[str, PlanDefinition] = MappingProxyType(
    {
        p.name: p
        for p in (
            PlanDefinition("pro", "Pro", Decimal("20"), 1_000_000, 10_000_000, estimate=True),
            PlanDefinition("max-5x", "Max 5x", Decimal("100"), 5_000_000, 35_000_000, estimate=True),
            PlanDefinition("max-20x", "Max 20x", Decimal("200"), 20_000_000, 60_000_000, estimate=True),
            PlanDefinition("team", "Team (standard)", Decimal("30"), 1_250_000, 12_500_000, estimate=True),
        )
    }
)


def custom_plan(
    *,
    five_hour_tokens: int,
    weekly_tokens: int,
    monthly_fee_usd: Decimal | str | int,
    name: str = "custom",
    label: str = "Custom plan",
) -> PlanDefinition:
    """A plan with limits the user supplied, so they are not labelled as estimates."""
    return _checked(
        name,
        label,
        _fee(monthly_fee_usd, "monthly fee"),
        _tokens(five_hour_tokens, "5-hour limit"),
        _tokens(weekly_tokens, "weekly limit"),
        False,
    )
