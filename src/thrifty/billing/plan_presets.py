"""What a subscription plan costs and roughly how much it allows, so plan usage can be reported.

Anthropic publishes plan prices but not window sizes in tokens, so the preset limits are
estimates (``estimate=True``) and every place that shows them says so. They are counted in the
same weighted tokens the plan windows meter: input + cache writes + output, with cache reads
free (the weighting of ``thrifty.testing.accounts``). Users who know better numbers use
``custom_plan``.

Agent SDK credit (``sdk_credit_usd``): from June 15, 2026, Agent SDK and ``claude -p`` usage on a
plan no longer counts toward the plan's 5-hour and weekly windows; it draws a separate monthly
credit at standard API rates, then usage credits (if enabled) or stops until the credit
refreshes. The amounts are Anthropic's, per user: "Use the Claude Agent SDK with your Claude
plan", https://support.claude.com/en/articles/15036540-use-the-claude-agent-sdk-with-your-claude-plan
(checked 2026-12-06). ``None`` means not eligible, or not known to thrifty.
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
    #: The monthly Agent SDK credit in USD (from 2026-06-15); ``None``: not eligible or unknown.
    sdk_credit_usd: Decimal | None = None

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
            "agentSdkCreditUsd": None if self.sdk_credit_usd is None else str(self.sdk_credit_usd),
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
        if "agentSdkCreditUsd" in data:
            raw = data["agentSdkCreditUsd"]
            credit = None if raw is None else _fee(raw, "plan.agentSdkCreditUsd")
        else:  # stored before the credit existed: a preset's name brings the preset's credit
            preset = ALL_PRESETS.get(name)
            credit = preset.sdk_credit_usd if preset is not None else None
        return _checked(
            name,
            label,
            _fee(data.get("monthlyFeeUsd"), "plan.monthlyFeeUsd"),
            _tokens(data.get("fiveHourTokens"), "plan.fiveHourTokens"),
            _tokens(data.get("weeklyTokens"), "plan.weeklyTokens"),
            estimate,
            credit,
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
    name: str,
    label: str,
    fee: Decimal,
    five_hour: int,
    weekly: int,
    estimate: bool,
    sdk_credit: Decimal | None = None,
) -> PlanDefinition:
    if weekly < five_hour:
        raise ValueError("the weekly limit cannot be smaller than the 5-hour limit")
    return PlanDefinition(name, label, fee, five_hour, weekly, estimate, sdk_credit)


# Relative sizes follow Anthropic's public descriptions: Max 5x and 20x give 5x and 20x Pro's
# per-session usage, while their weekly allowances grow less steeply. Absolute numbers are ours.
# Fees are Anthropic's list prices (monthly billing); the Agent SDK credits are from the support
# article cited in the module docstring (checked 2026-12-06).
PRESETS: MappingProxyType[str, PlanDefinition] = MappingProxyType(
    {
        p.name: p
        for p in (
            PlanDefinition("pro", "Pro", Decimal("20"), 1_000_000, 10_000_000, True, Decimal("20")),
            PlanDefinition("max-5x", "Max 5x", Decimal("100"), 5_000_000, 35_000_000, True, Decimal("100")),
            PlanDefinition(
                "max-20x", "Max 20x", Decimal("200"), 20_000_000, 60_000_000, True, Decimal("200")
            ),
            # Team Standard seats: $20 Agent SDK credit.
            PlanDefinition(
                "team", "Team (standard)", Decimal("30"), 1_250_000, 12_500_000, True, Decimal("20")
            ),
        )
    }
)

#: Presets a user can name in the ``"plan"`` config block (and a stored login can carry) but that
#: ``thrifty advise`` does not compare by default and ``thrifty login --plan`` does not list yet.
EXTRA_PRESETS: MappingProxyType[str, PlanDefinition] = MappingProxyType(
    {
        p.name: p
        for p in (
            # Team Premium seat: $150 per member per month billed monthly ("How is my Team plan
            # bill calculated?", https://support.claude.com/it/articles/9267289, checked
            # 2026-12-06); $100 Agent SDK credit. Window sizes: our estimate, as Max 5x.
            PlanDefinition(
                "team-premium", "Team (premium)", Decimal("150"), 5_000_000, 35_000_000, True, Decimal("100")
            ),
            # Enterprise, usage-based: $20 Agent SDK credit. The fee is negotiated and usage is
            # billed per use, so thrifty knows no monthly fee: 0 here (not a real price), and the
            # window sizes are placeholders. Seat-based Enterprise Premium seats ($200 credit) and
            # Standard seats (not eligible) are set up as a "custom" plan.
            PlanDefinition(
                "enterprise",
                "Enterprise (usage-based)",
                Decimal("0"),
                5_000_000,
                35_000_000,
                True,
                Decimal("20"),
            ),
        )
    }
)

#: Every preset by name: ``PRESETS`` then ``EXTRA_PRESETS``.
ALL_PRESETS: MappingProxyType[str, PlanDefinition] = MappingProxyType({**PRESETS, **EXTRA_PRESETS})


def custom_plan(
    *,
    five_hour_tokens: int,
    weekly_tokens: int,
    monthly_fee_usd: Decimal | str | int,
    name: str = "custom",
    label: str = "Custom plan",
    sdk_credit_usd: Decimal | str | int | None = None,
) -> PlanDefinition:
    """A plan with limits the user supplied, so they are not labelled as estimates."""
    return _checked(
        name,
        label,
        _fee(monthly_fee_usd, "monthly fee"),
        _tokens(five_hour_tokens, "5-hour limit"),
        _tokens(weekly_tokens, "weekly limit"),
        False,
        None if sdk_credit_usd is None else _fee(sdk_credit_usd, "Agent SDK credit"),
    )
