"""What a subscription plan costs and roughly how much it allows, so plan usage can be reported.

Every published fact about a preset (its name, monthly fee, what is limited and over which
windows) sits in ``PLAN_FACTS`` with the source it comes from, next to the data; docs/plans.md
lists them. Anthropic publishes plan prices and which windows limit usage, but not how large
the windows are in tokens: every preset's ``five_hour_tokens`` and ``weekly_tokens`` are
thrifty's estimates (``estimate=True``), derived from the simulator's weighting, not from any
published source, and every place that shows them says so. They are counted in the same weighted
tokens the plan windows meter: input + cache writes + output, with cache reads free (the
weighting of ``thrifty.testing.accounts``). Better numbers come, in this order, from the user
(``"plan": {"limits": {...}}`` in the config, or ``custom_plan``) and from what the server
reports (``thrifty.billing.calibrate``).

Plan names changed on 2026-10-30: Anthropic now sells Max 5x as "Max" and Max 20x as "Ultra"
(see ``PLAN_FACTS``). The preset keys (``max-5x``, ``max-20x``) and labels stay as they were so
stored logins and configs keep working.

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


# Window sizes: NOT PUBLISHED. The absolute numbers are thrifty's estimates (from the simulator's
# weighting); only their ratios follow Anthropic's descriptions (Max 5x and 20x: 5x and 20x Pro's
# usage per session). Fees, names and what is limited: PLAN_FACTS below, each with its source.
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
#: Anthropic's names since 2026-10-30 (``PLAN_FACTS``), accepted wherever a preset is named.
PRESET_ALIASES: MappingProxyType[str, str] = MappingProxyType({"max": "max-5x", "ultra": "max-20x"})


def preset_key(name: str) -> str:
    """``name``'s preset key: an alias (``max``, ``ultra``) becomes the key it stands for."""
    return PRESET_ALIASES.get(name, name)


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


# -- published facts, each with its source ------------------------------------------------------

CHECKED = "2026-12-06"


@dataclass(frozen=True)
class Source:
    title: str
    url: str
    #: True for Anthropic's own pages; False for a third-party report (used only where Anthropic's
    #: pages say nothing, and marked as such wherever it is shown).
    anthropic: bool = True
    checked: str = CHECKED

    def cite(self) -> str:
        who = "" if self.anthropic else "third-party report: "
        return f'{who}"{self.title}", {self.url} (checked {self.checked})'


@dataclass(frozen=True)
class Fact:
    """One statement about a plan and where it is published."""

    #: ``name`` | ``fee`` | ``limited`` | ``windows`` | ``limits`` | ``credit``
    topic: str
    text: str
    source: Source


@dataclass(frozen=True)
class PlanFacts:
    name: str
    #: What Anthropic calls the plan today (the preset's label may keep an older name).
    anthropic_name: str
    facts: tuple[Fact, ...]
    #: Whether Anthropic publishes the window sizes. False for every plan: the preset numbers
    #: are estimates, and the output says so.
    limits_published: bool = False

    def about(self, topic: str) -> tuple[Fact, ...]:
        return tuple(f for f in self.facts if f.topic == topic)


#: The topics every preset must have a cited fact for (tests/billing/test_plan_facts.py).
REQUIRED_TOPICS = ("name", "fee", "limited", "windows", "limits")

_MAX_ARTICLE = Source(
    "Using Claude Code with your Pro or Max plan",
    "https://support.claude.com/en/articles/11145838-using-claude-code-with-your-pro-or-max-plan",
)
_MAX_COST = Source(
    "How much does the Max plan cost? (Indonesian edition)",
    "https://support.anthropic.com/id/articles/11049744-berapa-biaya-paket-max",
)
_COSTS = Source("Claude Code docs: Manage costs effectively", "https://code.claude.com/docs/en/costs")
_API_CREDITS = Source(
    "API credits for Max, Ultra, and Team plans",
    "https://platform.claude.com/docs/en/about-claude/api-credits-for-subscribers",
)
_SDK_CREDIT = Source(
    "Use the Claude Agent SDK with your Claude plan",
    "https://support.claude.com/en/articles/15036540-use-the-claude-agent-sdk-with-your-claude-plan",
)
_TEAM_BILL = Source(
    "How is my Team plan bill calculated? (Italian edition)",
    "https://support.claude.com/it/articles/9267289-come-viene-calcolato-il-mio-conto-del-piano-team",
)
_WEEKLY_2025 = Source(
    "Anthropic's July 28, 2025 announcement of weekly limits, quoted in anthropics/claude-code#9094",
    "https://github.com/anthropics/claude-code/issues/9094",
)
_RENAME = Source(
    "Limitbar 2.2.0 release notes (Anthropic renamed Max 20x to Ultra and Max 5x to Max on 2026-10-30)",
    "https://github.com/vsolano9/limitbar/releases/tag/v2.2.0",
    anthropic=False,
)
_ULTRA_GUIDE = Source(
    "Claude Code Ultimate Guide 3.45.0 release notes",
    "https://github.com/FlorianBruniaux/claude-code-ultimate-guide/releases/tag/v3.45.0",
    anthropic=False,
)
_ULTRA_HEADERS = Source(
    "dario 6.23.13 release notes (Ultra responses carry no 5h-* rate-limit headers)",
    "https://github.com/askalf/dario/releases/tag/v6.23.13",
    anthropic=False,
)

_SHARED = Fact(
    "limited",
    "usage across Claude and Claude Code counts against the same limits; how much a message or "
    "a Claude Code session uses varies with length, attachments, codebase size and model",
    _MAX_ARTICLE,
)
_WINDOWS = Fact(
    "windows",
    "a 5-hour session window (opens with the first message) and, since August 28, 2025, an "
    "overall weekly limit that resets every 7 days (plus model-specific weekly limits)",
    _WEEKLY_2025,
)
_NOT_PUBLISHED = Fact(
    "limits",
    "not published: Anthropic gives no token (or message) size for either window; it describes "
    "limits only relative to other plans and may change them",
    _MAX_ARTICLE,
)

PLAN_FACTS: MappingProxyType[str, PlanFacts] = MappingProxyType(
    {
        f.name: f
        for f in (
            PlanFacts(
                "pro",
                "Pro",
                (
                    Fact("name", "Pro", _COSTS),
                    Fact("fee", "$20 per month (the Agent SDK credit equals it)", _SDK_CREDIT),
                    _SHARED,
                    _WINDOWS,
                    _NOT_PUBLISHED,
                    Fact("credit", "$20 Agent SDK credit per month from 2026-06-15", _SDK_CREDIT),
                ),
            ),
            PlanFacts(
                "max-5x",
                "Max",
                (
                    Fact("name", "Max (sold as Max 5x until 2026-10-30)", _COSTS),
                    Fact("name", "Max 5x renamed Max on 2026-10-30", _RENAME),
                    Fact("fee", "$100 per month, 5x Pro usage; monthly billing only", _MAX_COST),
                    _SHARED,
                    _WINDOWS,
                    Fact("limits", "not published in tokens; described as 5x Pro's usage", _MAX_ARTICLE),
                    Fact("credit", "$100 Agent SDK credit per month from 2026-06-15", _SDK_CREDIT),
                    Fact("credit", "$100 of Claude API credits per month", _API_CREDITS),
                ),
            ),
            PlanFacts(
                "max-20x",
                "Ultra",
                (
                    Fact("name", "Ultra (sold as Max 20x until 2026-10-30)", _COSTS),
                    Fact("name", "Max 20x renamed Ultra on 2026-10-30", _RENAME),
                    Fact("fee", "$200 per month, 20x Pro usage (as Max 20x)", _MAX_COST),
                    Fact("fee", "$200 per month as Ultra", _ULTRA_GUIDE),
                    _SHARED,
                    _WINDOWS,
                    Fact(
                        "windows",
                        "Ultra: a weekly limit only once the account is verified (no 5-hour limit), "
                        "account by account",
                        _ULTRA_GUIDE,
                    ),
                    Fact(
                        "windows",
                        "verified Ultra accounts' responses carry weekly headers and no 5h-* headers",
                        _ULTRA_HEADERS,
                    ),
                    Fact(
                        "limits",
                        "not published in tokens; described as 20x Pro's usage (Max 20x), "
                        "10x Pro's usage every week (Ultra)",
                        _ULTRA_GUIDE,
                    ),
                    Fact("credit", "$200 Agent SDK credit per month from 2026-06-15", _SDK_CREDIT),
                    Fact("credit", "$200 of Claude API credits per month", _API_CREDITS),
                ),
            ),
            PlanFacts(
                "team",
                "Team (standard seat)",
                (
                    Fact("name", "Team, standard seat", _TEAM_BILL),
                    Fact(
                        "fee",
                        "$30 per member per month billed monthly ($25 billed annually); at least 5 members",
                        _TEAM_BILL,
                    ),
                    Fact("limited", "standard seats: base features and usage limits", _TEAM_BILL),
                    _WINDOWS,
                    _NOT_PUBLISHED,
                    Fact("credit", "$20 Agent SDK credit per seat per month", _SDK_CREDIT),
                ),
            ),
            PlanFacts(
                "team-premium",
                "Team (premium seat)",
                (
                    Fact("name", "Team, premium seat", _TEAM_BILL),
                    Fact("fee", "$150 per member per month (monthly or annual billing)", _TEAM_BILL),
                    Fact("limited", "premium seats: higher usage limits and Claude Code", _TEAM_BILL),
                    _WINDOWS,
                    _NOT_PUBLISHED,
                    Fact("credit", "$100 Agent SDK credit per seat per month", _SDK_CREDIT),
                ),
            ),
            PlanFacts(
                "enterprise",
                "Enterprise",
                (
                    Fact("name", "Enterprise (usage-based)", _SDK_CREDIT),
                    Fact(
                        "fee",
                        "not published: negotiated, usage billed per use (thrifty shows $0)",
                        _COSTS,
                    ),
                    Fact("limited", "usage-based billing rather than plan windows", _COSTS),
                    Fact("windows", "none published for usage-based Enterprise", _COSTS),
                    _NOT_PUBLISHED,
                    Fact("credit", "$20 Agent SDK credit per user per month (usage-based)", _SDK_CREDIT),
                ),
            ),
        )
    }
)


def facts_for(plan: PlanDefinition) -> PlanFacts | None:
    """The published facts for a preset; ``None`` for a custom plan (its numbers are the user's)."""
    return PLAN_FACTS.get(plan.name)
