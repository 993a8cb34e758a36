"""Reading the organisation's bill: the Admin API's usage and cost reports, every page of them.

``GET /v1/organizations/usage_report/messages`` (tokens, grouped by model and service tier) and
``GET /v1/organizations/cost_report`` (cents as decimal strings, grouped by description, which
carries the model, service tier and token type), both in 1-day buckets, following ``next_page``
until ``has_more`` is false. docs/reconcile.md has the shapes and their sources.

The Admin API key is only ever sent in the ``x-api-key`` header: it is never part of a message
this module raises (any text that came back with it is masked), so an error can be printed as is.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

DEFAULT_BASE_URL = "https://api.anthropic.com"
API_VERSION = "2023-06-01"
USAGE_PATH = "/v1/organizations/usage_report/messages"
COST_PATH = "/v1/organizations/cost_report"
#: The most 1-day buckets either report returns per page.
PAGE_LIMIT = 31
#: A cursor that does not advance must not loop forever.
MAX_PAGES = 1000
RETRIES = 2
MAX_RETRY_WAIT = 10.0


class AdminApiError(Exception):
    """The reports could not be read; the message is one line and never holds the key."""


class AdminAuthError(AdminApiError):
    """The Admin API refused the key (401 or 403)."""


@dataclass(frozen=True)
class UsageLine:
    """One day's tokens for one model and service tier, as the organisation's report has them."""

    day: date
    model: str
    service_tier: str
    input_tokens: int
    output_tokens: int
    cache_write_tokens: int
    cache_read_tokens: int
    web_search_requests: int = 0


@dataclass(frozen=True)
class CostLine:
    """One day's cost item: ``model`` and ``service_tier`` are None for non-token costs."""

    day: date
    model: str | None
    service_tier: str | None
    cost_type: str | None
    token_type: str | None
    usd: Decimal


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _day(bucket: Mapping[str, Any]) -> date:
    text = str(bucket.get("starting_at", ""))
    try:
        return datetime.fromisoformat(text).astimezone(UTC).date()
    except ValueError:
        raise AdminApiError(f"the report has a bucket with an unreadable starting_at: {text!r}") from None


def usage_lines(pages: list[dict[str, Any]]) -> list[UsageLine]:
    out = []
    for page in pages:
        for bucket in page.get("data") or []:
            day = _day(bucket)
            for row in bucket.get("results") or []:
                creation = row.get("cache_creation") or {}
                tools = row.get("server_tool_use") or {}
                out.append(
                    UsageLine(
                        day=day,
                        model=str(row.get("model") or "(unknown)"),
                        service_tier=str(row.get("service_tier") or "standard"),
                        input_tokens=_int(row.get("uncached_input_tokens")),
                        output_tokens=_int(row.get("output_tokens")),
                        cache_write_tokens=_int(creation.get("ephemeral_5m_input_tokens"))
                        + _int(creation.get("ephemeral_1h_input_tokens")),
                        cache_read_tokens=_int(row.get("cache_read_input_tokens")),
                        web_search_requests=_int(tools.get("web_search_requests")),
                    )
                )
    return out


def cost_lines(pages: list[dict[str, Any]]) -> list[CostLine]:
    out = []
    for page in pages:
        for bucket in page.get("data") or []:
            day = _day(bucket)
            for row in bucket.get("results") or []:
                currency = row.get("currency", "USD")
                if currency != "USD":
                    raise AdminApiError(f"the cost report is in {currency}, not USD")
                try:
                    cents = Decimal(str(row.get("amount")))
                except InvalidOperation:
                    raise AdminApiError(
                        f"the cost report has an unreadable amount: {row.get('amount')!r}"
                    ) from None
                out.append(
                    CostLine(
                        day=day,
                        model=row.get("model"),
                        service_tier=row.get("service_tier"),
                        cost_type=row.get("cost_type"),
                        token_type=row.get("token_type"),
                        usd=cents / 100,
                    )
                )
    return out


class AdminClient:
    """Reads both reports with ``httpx2`` (what thrifty's own wire client uses)."""

    def __init__(self, key: str, base_url: str = DEFAULT_BASE_URL, *, timeout: float = 60.0) -> None:
        self._key = key
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    def _mask(self, text: str) -> str:
        return text.replace(self._key, "***") if self._key else text

    def usage(self, starting_at: datetime, ending_at: datetime) -> list[UsageLine]:
        params = {"group_by[]": ["model", "service_tier"]}
        return usage_lines(list(self._pages(USAGE_PATH, starting_at, ending_at, params)))

    def costs(self, starting_at: datetime, ending_at: datetime) -> list[CostLine]:
        params = {"group_by[]": ["description"]}
        return cost_lines(list(self._pages(COST_PATH, starting_at, ending_at, params)))

    def _pages(
        self, path: str, starting_at: datetime, ending_at: datetime, extra: dict[str, list[str]]
    ) -> Iterator[dict[str, Any]]:
        import httpx2

        from thrifty.billing.auth import client_tls_context

        params: dict[str, Any] = {
            "starting_at": _stamp(starting_at),
            "ending_at": _stamp(ending_at),
            "bucket_width": "1d",
            "limit": PAGE_LIMIT,
            **extra,
        }
        headers = {"x-api-key": self._key, "anthropic-version": API_VERSION}
        verify = client_tls_context(self.base_url)
        with httpx2.Client(
            base_url=self.base_url, timeout=self.timeout, headers=headers, verify=verify
        ) as client:
            page: str | None = None
            for _ in range(MAX_PAGES):
                body = self._get(client, path, {**params, **({"page": page} if page else {})})
                yield body
                page = body.get("next_page")
                if not body.get("has_more") or not page:
                    return
            raise AdminApiError(f"{path}: more than {MAX_PAGES} pages; the cursor does not advance")

    def _get(self, client: Any, path: str, params: dict[str, Any]) -> dict[str, Any]:
        import httpx2

        where = f"{self.base_url}{path}"
        for attempt in range(RETRIES + 1):
            try:
                response = client.get(path, params=params)
            except httpx2.HTTPError as exc:
                if attempt < RETRIES:
                    time.sleep(0.5 * (attempt + 1))
                    continue
                detail = self._mask(str(exc)) or type(exc).__name__
                raise AdminApiError(f"cannot reach the Admin API at {where}: {detail}") from None
            status = response.status_code
            if status in (429, 500, 502, 503, 504, 529) and attempt < RETRIES:
                time.sleep(_retry_after(response.headers.get("retry-after"), attempt))
                continue
            if status == 200:
                try:
                    body = response.json()
                except ValueError:
                    raise AdminApiError(f"{where} answered 200 with a body that is not JSON") from None
                if not isinstance(body, dict) or not isinstance(body.get("data"), list):
                    raise AdminApiError(f"{where} answered 200 without a report (no 'data' list)")
                return body
            kind, message = self._error_of(response)
            text = f"{status} {kind}: {message}" if kind else f"HTTP {status}"
            if status in (401, 403):
                raise AdminAuthError(
                    f"the Admin API refused ANTHROPIC_ADMIN_KEY ({text}); it must be an Admin API key "
                    "(sk-ant-admin...), not a key for the Messages API"
                )
            raise AdminApiError(f"{where} answered {text}")
        raise AdminApiError(f"{where}: no answer after {RETRIES + 1} tries")  # pragma: no cover

    def _error_of(self, response: Any) -> tuple[str, str]:
        try:
            error = response.json().get("error") or {}
            kind, message = str(error.get("type") or ""), str(error.get("message") or "")
        except (ValueError, AttributeError):
            kind, message = "", response.text[:200]
        return self._mask(kind), self._mask(" ".join(message.split()))


def _retry_after(value: str | None, attempt: int) -> float:
    try:
        wait = float(value) if value else 1.0 + attempt
    except ValueError:
        wait = 1.0 + attempt
    return max(0.0, min(wait, MAX_RETRY_WAIT))


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
