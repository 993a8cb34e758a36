"""Published prices as versioned data, and the cost of one call in exact decimals.

An unknown model has no price: its cost is ``None``, never 0, so nothing downstream can mistake
"we don't know" for "free". A user can price a model in their config (``"prices"``, read by
``billing.config``); such a price wins over the bundled one and every row priced with it is
stamped ``override:<file>`` instead of the table's version.

Model ids resolve exactly, never by prefix: an id in the table (or one of its aliases), else the
same id without a ``-YYYYMMDD`` date when *that* id is in the table (``claude-opus-4-6-20260205``
prices as ``claude-opus-4-6``; ``claude-opus-4`` prices as nothing), else the Bedrock
(``[us.]anthropic.<id>-v2:0``, ARNs) or Vertex (``<id>@YYYYMMDD``) spelling of such an id, at the
first-party list price. A ``[1m]`` suffix is ignored. Each model's source is in ``prices.json``
and ``docs/prices.md``.

A call's cost is its tokens at the model's rates (the prompt-length tier it falls in; halved in a
batch) plus the server-tool fees its usage reports (web search: $10 per 1,000 searches), which the
batch discount does not touch: the Batches API discounts input and output tokens only.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, time
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from thrifty.core.usage import Usage

MILLION = Decimal(1_000_000)
#: The fields of one model's price, USD per million tokens (``prices.json`` and config overrides).
PRICE_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
OVERRIDE_STAMP = "override:"
#: ``Usage`` counters that carry a per-request server-tool fee (``prices.json`` ``server_tools``).
SERVER_TOOL_FIELDS = ("web_search_requests", "web_fetch_requests")

_DATED = re.compile(r"^(?P<base>claude-.+)-(?P<date>\d{8})$")
#: Bedrock: optional ARN path, optional inference-profile region, ``anthropic.``, ``-vN[:M]``.
_BEDROCK = re.compile(r"^(?:arn:.*/)?(?:[a-z-]+\.)?anthropic\.(?P<id>claude-.+?)(?:-v\d+(?::\d+)?)?$")
#: Vertex AI: ``claude-3-5-sonnet-v2@20241022``, ``claude-sonnet-4@20250514``.
_VERTEX = re.compile(r"^(?P<id>claude-.+?)(?:-v\d+)?@(?P<date>\d{8})$")


def _spellings(name: str) -> Iterator[str]:
    """``name``, then the Anthropic id a Bedrock or Vertex id names (at most one of them)."""
    yield name
    if bedrock := _BEDROCK.match(name):
        yield bedrock["id"]
    elif vertex := _VERTEX.match(name):
        yield f"{vertex['id']}-{vertex['date']}"


@dataclass(frozen=True)
class ModelPrice:
    input: Decimal
    output: Decimal
    cache_write_5m: Decimal
    cache_write_1h: Decimal
    cache_read: Decimal
    #: (prompt tokens above which it applies, the price for the whole call), lowest first:
    #: tiered models and the long-context premium.
    tiers: tuple[tuple[int, ModelPrice], ...] = ()
    #: (until, the price before then), earliest first: what the model cost before a price change.
    history: tuple[tuple[datetime, ModelPrice], ...] = ()

    def for_prompt(self, prompt_tokens: int) -> ModelPrice:
        chosen = self
        for above, price in self.tiers:
            if prompt_tokens > above:
                chosen = price
        return chosen

    def as_of(self, at: datetime | None) -> ModelPrice:
        """The price in force at ``at`` (naive means UTC); ``None``: the current one."""
        if at is None or not self.history:
            return self
        when = at if at.tzinfo is not None else at.replace(tzinfo=UTC)
        for until, price in self.history:
            if when < until:
                return price
        return self


@dataclass(frozen=True)
class PriceTable:
    version: str
    batch_discount: Decimal
    models: dict[str, ModelPrice]
    #: Models priced by the user rather than this table: model id -> the stamp its rows carry.
    stamps: Mapping[str, str] = field(default_factory=dict)
    #: USD per request for each server-tool counter of ``Usage`` (``SERVER_TOOL_FIELDS``).
    server_tool_fees: Mapping[str, Decimal] = field(default_factory=dict)

    def resolve(self, model: str) -> str | None:
        """The table key ``model`` is priced as, or ``None``; see the module docstring."""
        name = model.removesuffix("[1m]")
        for spelling in _spellings(name):
            if spelling in self.models:
                return spelling
            dated = _DATED.match(spelling)
            if dated is not None and dated["base"] in self.models:
                return dated["base"]
        return None

    def price(self, model: str, at: datetime | None = None) -> ModelPrice | None:
        """``model``'s price at ``at`` (``None``: the current price), or ``None`` if unknown."""
        key = self.resolve(model)
        return None if key is None else self.models[key].as_of(at)

    def version_for(self, model: str) -> str:
        """What a row priced for ``model`` is stamped with: the table version, or the override's file."""
        key = self.resolve(model)
        return self.version if key is None else self.stamps.get(key, self.version)

    def fees(self, usage: Usage) -> Decimal:
        """The server-tool fees ``usage`` reports (web searches); never batch-discounted."""
        total = Decimal(0)
        for name, fee in self.server_tool_fees.items():
            count = getattr(usage, name, 0)
            if count:
                total += Decimal(count) * fee
        return total

    def with_overrides(self, overrides: Mapping[str, tuple[ModelPrice, str]]) -> PriceTable:
        """This table with the user's prices (model -> (price, file it came from)) on top."""
        if not overrides:
            return self
        models = {**self.models, **{name: price for name, (price, _) in overrides.items()}}
        stamps = {**self.stamps, **{name: OVERRIDE_STAMP + where for name, (_, where) in overrides.items()}}
        return replace(self, models=models, stamps=stamps)

    def cost(
        self, model: str, usage: Usage, *, batch: bool = False, at: datetime | None = None
    ) -> Decimal | None:
        """Exact USD for ``usage`` on ``model``: its tokens at the prices in force at ``at``
        (``None``: now), in the tier its prompt size falls in, halved in a batch, plus the
        server-tool fees (never discounted); ``None`` when the model has no known price."""
        base = self.price(model, at)
        if base is None:
            return None
        price = base.for_prompt(usage.prompt_tokens)
        total = (
            Decimal(usage.input_tokens) * price.input
            + Decimal(usage.output_tokens) * price.output
            + Decimal(usage.cache_write_5m_tokens) * price.cache_write_5m
            + Decimal(usage.cache_write_1h_tokens) * price.cache_write_1h
            + Decimal(usage.cache_read_tokens) * price.cache_read
        ) / MILLION
        tokens = total * self.batch_discount if batch else total
        return tokens + self.fees(usage)


def _until(value: str) -> datetime:
    """A ``history`` entry's ``until``: a date (midnight UTC) or an ISO timestamp."""
    try:
        return datetime.combine(date.fromisoformat(value), time(), UTC)
    except ValueError:
        parsed = datetime.fromisoformat(value)
        return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def model_price(raw: Mapping[str, Any]) -> ModelPrice:
    """One model's price from its ``prices.json`` shape (amounts as strings, USD per million)."""
    base = Decimal(raw["input"])
    tiers = tuple((int(t["above"]), model_price(t)) for t in raw.get("tiers", []))
    history = tuple((_until(h["until"]), model_price(h)) for h in raw.get("history", []))
    return ModelPrice(
        input=base,
        output=Decimal(raw["output"]),
        cache_write_5m=Decimal(raw.get("cache_write_5m", base * Decimal("1.25"))),
        cache_write_1h=Decimal(raw.get("cache_write_1h", base * 2)),
        cache_read=Decimal(raw.get("cache_read", base * Decimal("0.1"))),
        tiers=tuple(sorted(tiers, key=lambda t: t[0])),
        history=tuple(sorted(history, key=lambda h: h[0])),
    )


def table_from_data(data: Mapping[str, Any]) -> PriceTable:
    """A ``PriceTable`` from the parsed ``prices.json`` shape."""
    models: dict[str, ModelPrice] = {}
    for name, raw in data["models"].items():
        price = model_price(raw)
        for key in (name, *raw.get("aliases", [])):
            if key in models:
                raise ValueError(f"prices.json: {key} is priced twice")
            models[key] = price
    fees = {
        name: Decimal(tool["usd_per_request"])
        for name, tool in data.get("server_tools", {}).items()
        if name in SERVER_TOOL_FIELDS
    }
    return PriceTable(data["version"], Decimal(data["batch_discount"]), models, server_tool_fees=fees)


def bundled_data() -> dict[str, Any]:
    """``prices.json`` as parsed JSON, sources and notes included."""
    text = resources.files("thrifty.billing").joinpath("data/prices.json").read_text("utf-8")
    data: dict[str, Any] = json.loads(text)
    return data


@cache
def bundled_prices() -> PriceTable:
    return table_from_data(bundled_data())
