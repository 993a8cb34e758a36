"""Plan window limits: whose number each one is (the user's, calibrated from the server, or
thrifty's estimate), and the calibration from what the server reported.

Anthropic does not publish how large a plan's 5-hour and weekly windows are
(``thrifty.billing.plan_presets.PLAN_FACTS``), but every plan response carries
``anthropic-ratelimit-unified-{5h,7d}-utilization`` (the fraction of the window used) and
``-reset`` (when the window ends), and the ledger keeps them with the call (``rate_limits``).
A reading says the window that started at ``reset - length`` is ``utilization`` full, and the
ledger holds the calls made in it, so::

    implied limit = weighted tokens the ledger holds from the window's start to the reading
                    / utilization

Weighted tokens are input + cache writes + output (cache reads are free), the plan windows'
measure. Only calls that count toward the windows are summed: plan calls, all of them before
2026-06-15 and from then on the interactive ones (headless use draws the Agent SDK credit
instead; ``thrifty.billing.credit``). A window holds several readings; its last one (the
fullest, so the least rounded) stands for it, and the calibrated limit is the median over
windows. Readings below ``MIN_UTILIZATION`` (a 4-decimal fraction that small is mostly rounding)
and at or above 1 (the server caps the fraction) are skipped.

What the ledger cannot see makes the number low, never high: usage on claude.ai or another
machine fills the same window, so a calibrated limit is at most the real one (a lower bound).

Precedence, per window: a limit the user set (``"plan": {"limits": {...}}``, or a custom plan)
wins, then a calibrated one, then the preset's estimate.
"""

from __future__ import annotations

import statistics
from bisect import bisect_left, bisect_right
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from thrifty.billing.credit import credit_start
from thrifty.billing.ledger.rows import LedgerRow
from thrifty.billing.plan_presets import PlanDefinition, facts_for

__all__ = [
    "CALIBRATED",
    "ESTIMATE",
    "LOOKBACK",
    "MIN_UTILIZATION",
    "USER",
    "Calibration",
    "Limit",
    "PlanLimits",
    "Reading",
    "calibrate",
    "counts_toward_windows",
    "readings",
    "resolve_limits",
]

USER = "user"
CALIBRATED = "calibrated"
ESTIMATE = "estimate"
#: Readings this far back are used by ``thrifty advise`` and ``thrifty status``.
LOOKBACK = timedelta(days=28)
MIN_UTILIZATION = 0.02
#: (window name as in rate_limit_event, header short name, length, config key)
WINDOWS = (
    ("five_hour", "5h", timedelta(hours=5), "fiveHourTokens"),
    ("seven_day", "7d", timedelta(days=7), "weeklyTokens"),
)
_WORDS = {"five_hour": "5-hour", "seven_day": "weekly"}


def _weighted(row: LedgerRow) -> int:
    return row.input_tokens + row.cache_write_5m_tokens + row.cache_write_1h_tokens + row.output_tokens


def counts_toward_windows(row: LedgerRow) -> bool:
    """A plan call the windows count: any before 2026-06-15, an interactive one from then on."""
    return row.mode == "plan" and (row.recorded_at < credit_start(UTC) or not row.automated)


@dataclass(frozen=True)
class Reading:
    """One utilisation header the ledger kept, with the ledger's own use of that window."""

    window: str
    at: datetime
    utilization: float
    window_start: datetime
    #: Weighted tokens of the counted calls from ``window_start`` to ``at``, both included.
    used: int

    @property
    def implied_limit(self) -> float:
        return self.used / self.utilization


@dataclass(frozen=True)
class Calibration:
    window: str
    #: The median over windows of each window's implied limit, in weighted tokens.
    limit: int
    #: How many readings and distinct windows back it; the lowest and highest window's figure.
    readings: int
    windows: int
    low: int
    high: int


def readings(
    rows: Iterable[LedgerRow],
    *,
    counts: Callable[[LedgerRow], bool] = counts_toward_windows,
    min_utilization: float = MIN_UTILIZATION,
) -> list[Reading]:
    """Every usable ``anthropic-ratelimit-unified-*`` reading in ``rows``, oldest first."""
    ordered = sorted(rows, key=lambda r: (r.recorded_at, r.request_id))
    counted = [r for r in ordered if counts(r)]
    times = [r.recorded_at for r in counted]
    prefix = [0]
    for row in counted:
        prefix.append(prefix[-1] + _weighted(row))
    out: list[Reading] = []
    for row in ordered:
        headers = row.rate_limits or {}
        for name, short, length, _ in WINDOWS:
            util_text = headers.get(f"anthropic-ratelimit-unified-{short}-utilization")
            reset_text = headers.get(f"anthropic-ratelimit-unified-{short}-reset")
            if util_text is None or reset_text is None:
                continue
            try:
                util = float(util_text)
                start = datetime.fromtimestamp(float(reset_text), UTC) - length
            except (ValueError, OverflowError, OSError):
                continue
            if not min_utilization <= util < 1.0 or start > row.recorded_at:
                continue
            # The reset is whole seconds: the window opened within the second before ``start``.
            lo = bisect_left(times, start - timedelta(seconds=1))
            hi = bisect_right(times, row.recorded_at)
            used = prefix[hi] - prefix[lo]
            if used > 0:
                out.append(Reading(name, row.recorded_at, util, start, used))
    return out


def calibrate(
    rows: Iterable[LedgerRow],
    *,
    counts: Callable[[LedgerRow], bool] = counts_toward_windows,
    min_utilization: float = MIN_UTILIZATION,
) -> dict[str, Calibration]:
    """The implied limit per window name (``five_hour``, ``seven_day``) where readings allow one."""
    by_window: dict[str, dict[datetime, list[Reading]]] = {}
    for reading in readings(rows, counts=counts, min_utilization=min_utilization):
        # Readings of one window agree on its start to the second; a minute absorbs clock skew.
        key = reading.window_start.replace(second=0, microsecond=0)
        by_window.setdefault(reading.window, {}).setdefault(key, []).append(reading)
    out = {}
    for name, groups in by_window.items():
        figures = [max(g, key=lambda r: (r.utilization, r.at)).implied_limit for g in groups.values()]
        out[name] = Calibration(
            window=name,
            limit=round(statistics.median(figures)),
            readings=sum(len(g) for g in groups.values()),
            windows=len(groups),
            low=round(min(figures)),
            high=round(max(figures)),
        )
    return out


@dataclass(frozen=True)
class Limit:
    window: str
    tokens: int
    #: ``user`` | ``calibrated`` | ``estimate``
    source: str
    calibration: Calibration | None = None

    @property
    def word(self) -> str:
        return _WORDS[self.window]

    def describe(self) -> str:
        """``1,000,000 estimated by thrifty`` and the like: the number and whose it is."""
        if self.source == USER:
            return f"{self.tokens:,} set by you"
        if self.source == CALIBRATED and self.calibration is not None:
            c = self.calibration
            readings_ = f"{c.readings} server reading{'s' if c.readings != 1 else ''}"
            windows_ = f"{c.windows} window{'s' if c.windows != 1 else ''}"
            return f"{self.tokens:,} calibrated from {readings_} in {windows_}"
        return f"{self.tokens:,} estimated by thrifty"

    def to_json(self) -> dict[str, object]:
        c = self.calibration
        return {
            "tokens": self.tokens,
            "source": self.source,
            "readings": c.readings if c else 0,
            "windows": c.windows if c else 0,
            "calibrated_range": [c.low, c.high] if c else None,
        }


@dataclass(frozen=True)
class PlanLimits:
    """A plan's two window limits, each with where it came from."""

    plan: PlanDefinition
    five_hour: Limit
    weekly: Limit
    #: Whether Anthropic publishes the sizes (never, today); a custom plan counts as not.
    published: bool = False

    @property
    def limits(self) -> tuple[Limit, Limit]:
        return (self.five_hour, self.weekly)

    @property
    def estimated(self) -> bool:
        return any(limit.source == ESTIMATE for limit in self.limits)

    @property
    def calibrated(self) -> bool:
        return any(limit.source == CALIBRATED for limit in self.limits)

    @property
    def all_user(self) -> bool:
        return all(limit.source == USER for limit in self.limits)

    def sources(self) -> str:
        """``estimate`` / ``calibrated`` / ``user``, or two of them joined with ``+``."""
        return "+".join(dict.fromkeys(limit.source for limit in self.limits))

    def line(self) -> str:
        """The one line every output shows for the plan's limits: whose numbers they are."""
        parts = f"5-hour {self.five_hour.describe()}, weekly {self.weekly.describe()} (weighted tokens)"
        if self.all_user:
            return f"{self.plan.label} limits: {parts}."
        head = "published by Anthropic" if self.published else "not published by Anthropic"
        return f"{self.plan.label} limits {head}: {parts}; set your own with plan.limits in the config."


def resolve_limits(
    plan: PlanDefinition,
    *,
    user: Mapping[str, int] | None = None,
    calibration: Mapping[str, Calibration] | None = None,
) -> PlanLimits:
    """Each window's limit: the user's, else the calibrated one, else the plan's estimate.

    ``user`` and ``calibration`` are keyed by window name (``five_hour``, ``seven_day``). A plan
    whose numbers are not estimates (a custom plan) is the user's in every window.
    """
    user = user or {}
    calibration = calibration or {}
    limits = []
    for name, _, _, _ in WINDOWS:
        own = plan.five_hour_tokens if name == "five_hour" else plan.weekly_tokens
        if name in user:
            limits.append(Limit(name, user[name], USER))
        elif not plan.estimate:
            limits.append(Limit(name, own, USER))
        elif name in calibration:
            c = calibration[name]
            limits.append(Limit(name, c.limit, CALIBRATED, c))
        else:
            limits.append(Limit(name, own, ESTIMATE))
    facts = facts_for(plan)
    return PlanLimits(plan, limits[0], limits[1], facts.limits_published if facts else False)
