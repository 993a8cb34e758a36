"""Plan usage windows: how much of the rolling 5-hour and weekly allowance is left, and until when.

The server's word wins: plan responses carry ``anthropic-ratelimit-unified-{5h,7d}-*`` headers
and the newest ones seen are kept in the ledger. Without them (an endpoint that does not send
them, or a window that has since reset) the state is rebuilt from the ledger the way the service
counts: a window opens with the first request after the previous one ended and lasts its
length; usage is weighted tokens (input + cache writes + output; cache reads are free). Limits
then come from ``thrifty.billing.calibrate.PlanLimits`` when given (the user's, calibrated from
the server's utilisation headers, or the preset's estimate, each marked), else from the plan
definition, which for presets is an estimate and says so.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from typing import TYPE_CHECKING

from thrifty.billing.ledger import Ledger, LedgerRow, RowQuery

if TYPE_CHECKING:
    from thrifty.billing.calibrate import PlanLimits
    from thrifty.billing.plan_presets import PlanDefinition

FIVE_HOURS = timedelta(hours=5)
ONE_WEEK = timedelta(days=7)
WINDOWS = (("five_hour", "5h", "5-hour window", FIVE_HOURS), ("seven_day", "7d", "weekly usage", ONE_WEEK))
WARN_AT = 0.8


@dataclass(frozen=True)
class WindowState:
    name: str  # "five_hour" | "seven_day", as in rate_limit_event's rateLimitType
    label: str
    #: Fraction of the allowance used, 0.0 upwards (may pass 1.0 on ledger estimates).
    used: float
    #: When the window resets; None when no window is open (it opens with the next request).
    resets_at: datetime | None
    source: str  # "server" | "ledger"
    estimate: bool = False
    #: For a ledger rebuild, whose limit it was measured against: ``user`` | ``calibrated`` |
    #: ``estimate`` (``thrifty.billing.calibrate``); ``None`` for the server's own reading.
    limit_source: str | None = None

    @property
    def remaining_percent(self) -> int:
        return max(0, round((1 - self.used) * 100))

    def describe(self, tz: tzinfo | None = None) -> str:
        text = f"{self.remaining_percent}% of your {self.label} remaining"
        if self.resets_at is not None:
            local = self.resets_at.astimezone(tz)
            text += f" (resets {local:%a %H:%M})"
        if self.limit_source == "calibrated":
            text += " [calibrated limit]"
        elif self.estimate:
            text += " [estimated limits]"
        return text


def weighted_tokens(row: LedgerRow) -> int:
    return row.input_tokens + row.cache_write_5m_tokens + row.cache_write_1h_tokens + row.output_tokens


def from_headers(headers: dict[str, str], *, now: datetime) -> list[WindowState]:
    """Windows the server reported; one whose reset time has passed is left out (it is fresh now)."""
    states = []
    for name, short, label, _ in WINDOWS:
        util = headers.get(f"anthropic-ratelimit-unified-{short}-utilization")
        reset = headers.get(f"anthropic-ratelimit-unified-{short}-reset")
        if util is None:
            continue
        try:
            used = float(util)
            resets_at = datetime.fromtimestamp(float(reset), UTC) if reset else None
        except ValueError:
            continue
        if resets_at is not None and resets_at <= now:
            continue
        states.append(WindowState(name, label, used, resets_at, "server"))
    return states


def from_rows(
    rows: Sequence[LedgerRow], plan: PlanDefinition, *, now: datetime, limits: PlanLimits | None = None
) -> list[WindowState]:
    states = []
    for name, _, label, length in WINDOWS:
        limit = plan.five_hour_tokens if name == "five_hour" else plan.weekly_tokens
        estimate, source = plan.estimate, ("estimate" if plan.estimate else "user")
        if limits is not None:
            chosen = limits.five_hour if name == "five_hour" else limits.weekly
            limit, source = chosen.tokens, chosen.source
            estimate = source == "estimate"
        start: datetime | None = None
        used = 0
        for row in sorted(rows, key=lambda r: r.recorded_at):
            if start is None or row.recorded_at >= start + length:
                start, used = row.recorded_at, 0
            used += weighted_tokens(row)
        if start is None or start + length <= now:
            states.append(WindowState(name, label, 0.0, None, "ledger", estimate, source))
        else:
            fraction = used / limit if limit else 0.0
            states.append(WindowState(name, label, fraction, start + length, "ledger", estimate, source))
    return states


def current_windows(
    ledger: Ledger | None,
    account: str,
    plan: PlanDefinition | None,
    *,
    now: datetime | None = None,
    limits: PlanLimits | None = None,
) -> list[WindowState]:
    """Server-reported windows where still current, ledger estimates for the rest (measured
    against ``limits`` when given, else the plan's own numbers)."""
    now = now or datetime.now(UTC)
    states: dict[str, WindowState] = {}
    if ledger is not None:
        seen = ledger.latest_rate_limits(account)
        if seen is not None:
            states.update((s.name, s) for s in from_headers(seen[1], now=now))
    if plan is not None and ledger is not None and len(states) < len(WINDOWS):
        rows = ledger.query(RowQuery(since=now - 2 * ONE_WEEK, mode="plan", account=account))
        for state in from_rows(rows, plan, now=now, limits=limits):
            states.setdefault(state.name, state)
    return [states[name] for name, *_ in WINDOWS if name in states]


def rate_limit_info(headers: dict[str, str]) -> dict[str, object]:
    """Claude Code's ``rate_limit_info`` from the unified headers of a plan response."""
    claim = headers.get("anthropic-ratelimit-unified-representative-claim", "five_hour")
    short = "7d" if claim == "seven_day" else "5h"
    info: dict[str, object] = {
        "status": headers.get("anthropic-ratelimit-unified-status", "allowed"),
        "rateLimitType": claim,
        "isUsingOverage": False,
    }
    reset = headers.get(f"anthropic-ratelimit-unified-{short}-reset")
    util = headers.get(f"anthropic-ratelimit-unified-{short}-utilization")
    if reset and reset.isdigit():
        info["resetsAt"] = int(reset)
    if util:
        with contextlib.suppress(ValueError):
            info["utilization"] = float(util)
    return info
