"""The organisation's usage and cost reports (the Admin API), served from what the simulator billed.

``GET /v1/organizations/usage_report/messages`` and ``GET /v1/organizations/cost_report`` as the
reference describes them (docs/reconcile.md has the shapes and their sources): time buckets of
``1m`` / ``1h`` / ``1d`` snapped to UTC, ``group_by[]`` dimensions, filters, ``limit`` buckets per
page with ``has_more`` / ``next_page``, and 400s in the real error shape for bad parameters. Only
an Admin API key may read them; a model API key gets the 401 the real API answers.

What the reports hold is the simulator's own billing log: every ``/v1/messages`` answer it began
to send on an API-key account (plan accounts are not on the organisation's bill), at the
simulator's clock, and every succeeded request of a Message Batch, billed when the batch's
processing ends (a batch canceled before then bills nothing). The cost report prices each call
with thrifty's bundled price table (the simulator has no price data of its own), per token type,
in cents as decimal strings; priority-tier usage is left out of it, as the reference says.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import threading
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs

from thrifty.core.usage import Usage
from thrifty.testing.accounts import Account
from thrifty.testing.clock import Clock
from thrifty.testing.errors import ApiError, invalid
from thrifty.testing.models import ModelCatalog
from thrifty.testing.validation import API_VERSIONS

if TYPE_CHECKING:
    from thrifty.billing.prices import PriceTable

#: The simulator's default Admin API key (``sk-ant-admin01-...`` like the real ones).
DEFAULT_ADMIN_KEY = "sk-ant-admin01-sim-admin-key"
USAGE_PATH = "/v1/organizations/usage_report/messages"
COST_PATH = "/v1/organizations/cost_report"
#: Seconds per bucket width, and (default, maximum) buckets per page for each.
WIDTHS = {"1m": 60, "1h": 3600, "1d": 86400}
USAGE_LIMITS = {"1m": (60, 1440), "1h": (24, 168), "1d": (7, 31)}
COST_LIMITS = (7, 31)
USAGE_GROUPS = (
    "api_key_id",
    "workspace_id",
    "model",
    "service_tier",
    "context_window",
    "inference_geo",
    "speed",
    "account_id",
    "service_account_id",
)
COST_GROUPS = ("workspace_id", "description")
#: Usage-report filters (``name[]``) and the dimension each one restricts.
USAGE_FILTERS = {
    "api_key_ids": "api_key_id",
    "workspace_ids": "workspace_id",
    "models": "model",
    "service_tiers": "service_tier",
    "context_window": "context_window",
    "inference_geos": "inference_geo",
    "speeds": "speed",
    "account_ids": "account_id",
    "service_account_ids": "service_account_id",
}
#: Prompts above this many tokens are billed in the long-context window.
LONG_CONTEXT = 200_000
#: Web search when the price table has no fee for it: $10 per 1,000 searches, one cent each.
WEB_SEARCH_CENTS = Decimal(1)
TOKEN_TYPES = (
    ("uncached_input_tokens", "Input Tokens"),
    ("output_tokens", "Output Tokens"),
    ("cache_read_input_tokens", "Cache Read Input Tokens"),
    ("cache_creation.ephemeral_5m_input_tokens", "Cache Write (5m) Input Tokens"),
    ("cache_creation.ephemeral_1h_input_tokens", "Cache Write (1h) Input Tokens"),
)


def api_key_id(key: str) -> str:
    """The id the reports show for an API key: stable, and never the key itself."""
    return "apikey_sim" + hashlib.sha256(key.encode()).hexdigest()[:20]


def rfc3339(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _parse_time(name: str, text: str) -> float:
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise invalid(f"{name}: Input should be a valid datetime, got '{text}'") from None
    if moment.tzinfo is None:
        raise invalid(f"{name}: Input should have timezone info")
    return moment.timestamp()


@dataclass(frozen=True)
class BilledCall:
    """One call on the organisation's bill, as the reports see it."""

    time: float
    api_key_id: str
    model: str
    service_tier: str
    usage: Usage
    workspace_id: str | None = None
    inference_geo: str = "global"
    speed: str = "standard"
    batch_id: str | None = None

    @property
    def context_window(self) -> str:
        return "200k-1M" if self.usage.prompt_tokens > LONG_CONTEXT else "0-200k"

    def dimension(self, name: str) -> str | None:
        if name == "context_window":
            return self.context_window
        if name in ("account_id", "service_account_id"):
            return None  # API-key usage is not attributed to a user or service account
        value = getattr(self, name)
        return value if isinstance(value, str) else None


@dataclass(frozen=True)
class _Query:
    start: float
    end: float
    width: int
    limit: int
    group_by: tuple[str, ...]
    filters: dict[str, frozenset[str]]


class AdminReports:
    """The billing log and the two report endpoints; thread-safe (the server is threaded)."""

    def __init__(
        self,
        clock: Clock,
        catalog: ModelCatalog,
        admin_keys: Iterable[str] = (DEFAULT_ADMIN_KEY,),
        prices: PriceTable | None = None,
    ) -> None:
        self.clock = clock
        self.catalog = catalog
        self.admin_keys = frozenset(admin_keys)
        self._prices = prices
        self._calls: list[BilledCall] = []
        self._lock = threading.Lock()

    # -- the billing log ------------------------------------------------------------------------

    @property
    def calls(self) -> list[BilledCall]:
        with self._lock:
            return list(self._calls)

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def _add(self, call: BilledCall) -> None:
        with self._lock:
            self._calls.append(call)

    def record_message(self, account: Account, message: Mapping[str, Any]) -> None:
        """A ``/v1/messages`` answer the server is sending: billed now, unless a plan paid."""
        if account.mode != "api":
            return
        usage = Usage.from_api(message.get("usage"))
        tier = usage.service_tier or "standard"
        self._add(
            BilledCall(self.clock.now(), api_key_id(account.spec.key), str(message.get("model")), tier, usage)
        )

    def record_batch(self, batch_id: str, account: Account, results: list[dict[str, Any]], at: float) -> None:
        """A batch's succeeded requests, billed at ``at`` (when its processing ends)."""
        if account.mode != "api":
            return
        for item in results:
            result = item.get("result") or {}
            if result.get("type") != "succeeded":
                continue
            message = result.get("message") or {}
            usage = Usage.from_api(message.get("usage"))
            key_id = api_key_id(account.spec.key)
            model = str(message.get("model"))
            self._add(BilledCall(at, key_id, model, "batch", usage, batch_id=batch_id))

    def cancel_batch(self, batch_id: str) -> None:
        """A canceled batch bills only what was processed before the cancel: here, nothing yet
        due (the simulator processes a batch all at once, when it ends)."""
        now = self.clock.now()
        with self._lock:
            self._calls = [c for c in self._calls if c.batch_id != batch_id or c.time <= now]

    # -- HTTP -----------------------------------------------------------------------------------

    def handles(self, path: str) -> bool:
        return path.startswith("/v1/organizations/")

    def authenticate(self, headers: Mapping[str, str]) -> str:
        """The auth scheme of a valid Admin API key; a model API key or no key is a 401."""
        key = headers.get("x-api-key")
        authorization = headers.get("authorization") or ""
        scheme = "x-api-key"
        if not key and authorization.lower().startswith("bearer "):
            key, scheme = authorization[7:].strip(), "bearer"
        if not key:
            raise ApiError(401, "x-api-key header is required")
        if key not in self.admin_keys:
            raise ApiError(401, "invalid x-api-key")
        version = headers.get("anthropic-version")
        if not version:
            raise invalid("anthropic-version: header is required")
        if version not in API_VERSIONS:
            raise invalid(f"anthropic-version: unknown version '{version}'")
        return scheme

    def handle(self, method: str, path: str, query_string: str, headers: Mapping[str, str]) -> dict[str, Any]:
        """Answer an Admin API request (authentication included); raises ``ApiError``."""
        self.authenticate(headers)
        query = parse_qs(query_string, keep_blank_values=True)
        if method == "GET" and path == USAGE_PATH:
            return self.usage_report(query)
        if method == "GET" and path == COST_PATH:
            return self.cost_report(query)
        raise ApiError(404, f"Not Found: {method} {path}")

    # -- the reports ----------------------------------------------------------------------------

    def usage_report(self, query: Mapping[str, list[str]]) -> dict[str, Any]:
        width_name = _one(query, "bucket_width") or "1d"
        if width_name not in WIDTHS:
            raise invalid(f"bucket_width: Input should be '1d', '1h' or '1m', got '{width_name}'")
        q = _read_query(query, width_name, USAGE_LIMITS[width_name], USAGE_GROUPS, self.clock.now())
        for name, dimension in USAGE_FILTERS.items():
            values = _many(query, name)
            if values:
                q.filters[dimension] = frozenset(values)
        return self._buckets(q, self._usage_rows)

    def cost_report(self, query: Mapping[str, list[str]]) -> dict[str, Any]:
        width_name = _one(query, "bucket_width") or "1d"
        if width_name != "1d":
            raise invalid(f"bucket_width: Input should be '1d', got '{width_name}'")
        q = _read_query(query, width_name, COST_LIMITS, COST_GROUPS, self.clock.now())
        return self._buckets(q, self._cost_rows)

    def _buckets(
        self, q: _Query, rows: Callable[[_Query, list[BilledCall]], list[dict[str, Any]]]
    ) -> dict[str, Any]:
        now = self.clock.now()  # a batch billed when it ends is not on the bill before then
        calls = [
            c for c in self.calls if c.time <= now and all(c.dimension(d) in v for d, v in q.filters.items())
        ]
        data: list[dict[str, Any]] = []
        start = q.start
        while start + q.width <= q.end and len(data) < q.limit:
            end = start + q.width
            inside = [c for c in calls if start <= c.time < end]
            data.append(
                {"starting_at": rfc3339(start), "ending_at": rfc3339(end), "results": rows(q, inside)}
            )
            start = end
        has_more = start + q.width <= q.end
        token = "page_" + base64.b64encode(rfc3339(start).encode()).decode() if has_more else None
        return {"data": data, "has_more": has_more, "next_page": token}

    def _usage_rows(self, q: _Query, calls: list[BilledCall]) -> list[dict[str, Any]]:
        groups: dict[tuple[str | None, ...], Usage] = {}
        for call in calls:
            key = tuple(call.dimension(d) for d in q.group_by)
            groups[key] = groups.get(key, Usage()) + call.usage
        out = []
        for key in sorted(groups, key=lambda k: tuple(v or "" for v in k)):
            usage = groups[key]
            row: dict[str, Any] = {
                "uncached_input_tokens": usage.input_tokens,
                "cache_creation": {
                    "ephemeral_1h_input_tokens": usage.cache_write_1h_tokens,
                    "ephemeral_5m_input_tokens": usage.cache_write_5m_tokens,
                },
                "cache_read_input_tokens": usage.cache_read_tokens,
                "output_tokens": usage.output_tokens,
                "server_tool_use": {"web_search_requests": usage.web_search_requests},
            }
            named = dict(zip(q.group_by, key, strict=True))
            row.update({d: named.get(d) for d in USAGE_GROUPS})
            out.append(row)
        return out

    def _prices_table(self) -> PriceTable:
        if self._prices is None:
            from thrifty.billing.prices import bundled_prices

            self._prices = bundled_prices()
        return self._prices

    def _cost_lines(self, call: BilledCall) -> list[tuple[dict[str, Any], Decimal]]:
        """(what the line is, cents) for each billed part of one call; none for priority-tier
        usage (not in the cost report) or a model the price table does not know."""
        if call.service_tier == "priority":
            return []
        lines: list[tuple[dict[str, Any], Decimal]] = []
        table = self._prices_table()
        if call.usage.web_search_requests:
            fee = table.server_tool_fees.get("web_search_requests")
            per_search = WEB_SEARCH_CENTS if fee is None else fee * 100
            what = {"description": "Web Search", "cost_type": "web_search"}
            lines.append((what, call.usage.web_search_requests * per_search))
        base = table.price(call.model, datetime.fromtimestamp(call.time, UTC))
        if base is None:
            return lines
        price = base.for_prompt(call.usage.prompt_tokens)
        discount = table.batch_discount if call.service_tier == "batch" else Decimal(1)
        counts = (
            (call.usage.input_tokens, price.input),
            (call.usage.output_tokens, price.output),
            (call.usage.cache_read_tokens, price.cache_read),
            (call.usage.cache_write_5m_tokens, price.cache_write_5m),
            (call.usage.cache_write_1h_tokens, price.cache_write_1h),
        )
        spec = self.catalog.get(call.model)
        display = spec.display_name if spec is not None else call.model
        for (token_type, label), (count, per_million) in zip(TOKEN_TYPES, counts, strict=True):
            if not count:
                continue
            what = {
                "description": f"{display} Usage - {label}",
                "cost_type": "tokens",
                "context_window": call.context_window,
                "model": call.model,
                "service_tier": call.service_tier,
                "token_type": token_type,
            }
            lines.append((what, Decimal(count) * per_million * discount / Decimal(10_000)))
        return lines

    def _cost_rows(self, q: _Query, calls: list[BilledCall]) -> list[dict[str, Any]]:
        fields = ("description", "cost_type", "context_window", "model", "service_tier", "token_type")
        groups: dict[tuple[str | None, ...], Decimal] = {}
        for call in calls:
            for what, cents in self._cost_lines(call):
                key: tuple[str | None, ...] = (
                    call.workspace_id if "workspace_id" in q.group_by else None,
                    *(what.get(f) if "description" in q.group_by else None for f in fields),
                )
                groups[key] = groups.get(key, Decimal(0)) + cents
        out = []
        for key in sorted(groups, key=lambda k: tuple(v or "" for v in k)):
            row: dict[str, Any] = {"currency": "USD", "amount": _cents(groups[key]), "workspace_id": key[0]}
            row.update(dict(zip(fields, key[1:], strict=True)))
            row["inference_geo"] = None
            out.append(row)
        return out


def _cents(value: Decimal) -> str:
    text = f"{value:f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _one(query: Mapping[str, list[str]], name: str) -> str | None:
    values = query.get(name)
    return values[-1] if values else None


def _many(query: Mapping[str, list[str]], name: str) -> list[str]:
    """An array parameter: ``name[]=a&name[]=b`` (the reference's spelling) or ``name=a``."""
    return [v for v in (*query.get(f"{name}[]", []), *query.get(name, [])) if v != ""]


def _read_query(
    query: Mapping[str, list[str]],
    width_name: str,
    limits: tuple[int, int],
    groups: tuple[str, ...],
    now: float,
) -> _Query:
    width = WIDTHS[width_name]
    starting = _one(query, "starting_at")
    if not starting:
        raise invalid("starting_at: Field required")
    start = _parse_time("starting_at", starting) // width * width
    ending = _one(query, "ending_at")
    # Omitted: up to the end of the bucket that holds "now".
    end = _parse_time("ending_at", ending) if ending else (now // width + 1) * width
    if end <= start:
        raise invalid("ending_at: must be after starting_at")
    default, maximum = limits
    limit_text = _one(query, "limit")
    try:
        limit = int(limit_text) if limit_text else default
    except ValueError:
        raise invalid(f"limit: Input should be a valid integer, got '{limit_text}'") from None
    if not 1 <= limit <= maximum:
        raise invalid(f"limit: must be between 1 and {maximum} for bucket_width '{width_name}', got {limit}")
    group_by = tuple(dict.fromkeys(_many(query, "group_by")))
    for name in group_by:
        if name not in groups:
            choices = ", ".join(f"'{g}'" for g in groups)
            raise invalid(f"group_by[]: Input should be one of {choices}, got '{name}'")
    page = _one(query, "page")
    if page:
        start = _page_start(page, start, end, width)
    return _Query(start, end, width, limit, group_by, {})


def _page_start(page: str, start: float, end: float, width: int) -> float:
    """A ``next_page`` token: ``page_`` and the base64 of the next bucket's start."""
    try:
        text = base64.b64decode(page.removeprefix("page_"), validate=True).decode()
        moment = datetime.fromisoformat(text).timestamp()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise invalid(f"page: invalid page token '{page}'") from None
    if not start <= moment < end or (moment - start) % width:
        raise invalid("page: the page token does not belong to this query")
    return moment
