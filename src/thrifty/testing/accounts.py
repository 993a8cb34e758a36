"""Who is calling: simulator credentials, their billing mode, and plan usage windows.

Plan accounts behave like a subscription: a 5-hour window that opens with the first request,
and a weekly one, each with a limit in weighted tokens (input + cache writes + output; cache
reads are free, as they are for rate limits). Their state is sent in the unified rate-limit
headers Claude Code reads, and a full window answers 429 until it resets.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from thrifty.core.usage import Usage
from thrifty.testing.clock import Clock
from thrifty.testing.errors import ApiError
from thrifty.testing.script import AccountSpec

DEFAULT_API_KEY = "sk-ant-sim-api-key"
DEFAULT_PLAN_TOKEN = "sk-ant-oat-sim-plan-token"  # noqa: S105 - a public test value
FIVE_HOURS = 5 * 3600.0
ONE_WEEK = 7 * 24 * 3600.0
WARNING_AT = 0.8
API_REQUESTS_PER_MINUTE = 4000
API_TOKENS_PER_MINUTE = 2_000_000


def default_accounts() -> list[AccountSpec]:
    return [
        AccountSpec(key=DEFAULT_API_KEY, mode="api", name="sim-api"),
        AccountSpec(key=DEFAULT_PLAN_TOKEN, mode="plan", name="sim-plan"),
    ]


def mask(secret: str) -> str:
    return secret[:7] + "…" + secret[-2:] if len(secret) > 12 else "…"


@dataclass
class Window:
    length: float
    limit: int
    started: float | None = None
    used: int = 0

    def roll(self, now: float) -> None:
        if self.started is not None and now >= self.started + self.length:
            self.started, self.used = None, 0

    def resets_at(self, now: float) -> float:
        return (self.started if self.started is not None else now) + self.length

    def utilization(self) -> float:
        return self.used / self.limit if self.limit else 0.0


@dataclass
class Account:
    spec: AccountSpec
    five_hour: Window = field(init=False)
    weekly: Window = field(init=False)

    def __post_init__(self) -> None:
        self.five_hour = Window(FIVE_HOURS, self.spec.five_hour_limit)
        self.weekly = Window(ONE_WEEK, self.spec.weekly_limit)

    @property
    def name(self) -> str:
        return self.spec.name or f"{self.spec.mode}:{mask(self.spec.key)}"

    @property
    def mode(self) -> str:
        return self.spec.mode


def _rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class Accounts:
    def __init__(self, specs: list[AccountSpec], clock: Clock) -> None:
        self._by_key = {s.key: Account(s) for s in specs}
        self._clock = clock
        self._lock = threading.Lock()

    def authenticate(self, headers: dict[str, str]) -> tuple[Account, str]:
        """Return the account and the auth scheme used (``x-api-key`` or ``bearer``)."""
        api_key = headers.get("x-api-key")
        authorization = headers.get("authorization")
        if api_key and authorization:
            raise ApiError(401, "Send either x-api-key or Authorization, not both")
        if api_key:
            secret, scheme = api_key, "x-api-key"
        elif authorization and authorization.lower().startswith("bearer "):
            secret, scheme = authorization[7:].strip(), "bearer"
        else:
            raise ApiError(401, "x-api-key header is required")
        account = self._by_key.get(secret)
        if account is None:
            raise ApiError(401, "invalid x-api-key" if scheme == "x-api-key" else "Invalid bearer token")
        return account, scheme

    def check_windows(self, account: Account) -> None:
        """Refuse a plan request whose window is already spent, like the real service does."""
        if account.mode != "plan":
            return
        now = self._clock.now()
        with self._lock:
            for window in (account.five_hour, account.weekly):
                window.roll(now)
            full = [w for w in (account.five_hour, account.weekly) if w.used >= w.limit]
            if full:
                window = max(full, key=lambda w: w.resets_at(now))
                headers = self._plan_headers(account, now)
                headers["retry-after"] = str(max(1, int(window.resets_at(now) - now)))
                raise ApiError(
                    429,
                    "This request would exceed your account's rate limit. Please try again later.",
                    headers=headers,
                )

    def record(self, account: Account, usage: dict[str, Any]) -> None:
        if account.mode != "plan":
            return
        weighted = Usage.from_api(usage).weighted_tokens
        now = self._clock.now()
        with self._lock:
            for window in (account.five_hour, account.weekly):
                window.roll(now)
                if window.started is None:
                    window.started = now
                window.used += weighted

    def headers(self, account: Account) -> dict[str, str]:
        now = self._clock.now()
        with self._lock:
            if account.mode == "plan":
                return self._plan_headers(account, now)
        reset = _rfc3339(now + 60)
        headers = {}
        for kind, limit in (
            ("requests", API_REQUESTS_PER_MINUTE),
            ("tokens", API_TOKENS_PER_MINUTE),
            ("input-tokens", API_TOKENS_PER_MINUTE),
            ("output-tokens", API_TOKENS_PER_MINUTE // 5),
        ):
            headers[f"anthropic-ratelimit-{kind}-limit"] = str(limit)
            headers[f"anthropic-ratelimit-{kind}-remaining"] = str(limit - 1)
            headers[f"anthropic-ratelimit-{kind}-reset"] = reset
        return headers

    def _plan_headers(self, account: Account, now: float) -> dict[str, str]:
        five, week = account.five_hour, account.weekly

        def status(window: Window) -> str:
            u = window.utilization()
            return "rejected" if u >= 1 else "allowed_warning" if u >= WARNING_AT else "allowed"

        claim = max((five, "five_hour"), (week, "seven_day"), key=lambda p: p[0].utilization())
        return {
            "anthropic-ratelimit-unified-status": status(claim[0]),
            "anthropic-ratelimit-unified-representative-claim": claim[1],
            "anthropic-ratelimit-unified-reset": str(int(claim[0].resets_at(now))),
            "anthropic-ratelimit-unified-5h-status": status(five),
            "anthropic-ratelimit-unified-5h-utilization": f"{min(five.utilization(), 1.0):.4f}",
            "anthropic-ratelimit-unified-5h-reset": str(int(five.resets_at(now))),
            "anthropic-ratelimit-unified-7d-status": status(week),
            "anthropic-ratelimit-unified-7d-utilization": f"{min(week.utilization(), 1.0):.4f}",
            "anthropic-ratelimit-unified-7d-reset": str(int(week.resets_at(now))),
        }
