"""Published prices as versioned data, and the cost of one call in exact decimals.

An unknown model has no price: its cost is ``None``, never 0, so nothing downstream can mistake
"we don't know" for "free". A user can price a model in their config (``"prices"``, read by
``billing.config``); such a price wins over the bundled one and every row priced with it is
stamped ``override:<file>`` instead of the table's version.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from functools import cache
from importlib import resources
from typing import Any

from thrifty.core.usage import Usage

MILLION = Decimal(1_000_000)
#: The fields of one model's price, USD per million tokens (``prices.json`` and config overrides).
PRICE_FIELDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")
OVERRIDE_STAMP = "override:"


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

    def for_prompt(self, prompt_tokens: int) -> ModelPrice:
        chosen = self
        for above, price in self.tiers:
            if prompt_tokens > above:
                chosen = price
        return chosen


@dataclass(frozen=True)
class PriceTable:
    version: str
    batch_discount: Decimal
    models: dict[str, ModelPrice]
    #: Models priced by the user rather than this table: model id -> the stamp its rows carry.
    stamps: Mapping[str, str] = field(default_factory=dict)

    def price(self, model: str) -> ModelPrice | None:
        return self.models.get(model.removesuffix("[1m]"))

    def version_for(self, model: str) -> str:
        """What a row priced for ``model`` is stamped with: the table version, or the override's file."""
        return self.stamps.get(model.removesuffix("[1m]"), self.version)

    def with_overrides(self, overrides: Mapping[str, tuple[ModelPrice, str]]) -> PriceTable:
        """This table with the user's prices (model -> (price, file it came from)) on top."""
        if not overrides:
            return self
        models = {**self.models, **{name: price for name, (price, _) in overrides.items()}}
        stamps = {**self.stamps, **{name: OVERRIDE_STAMP + where for name, (_, where) in overrides.items()}}
        return replace(self, models=models, stamps=stamps)

    def cost(self, model: str, usage: Usage, *, batch: bool = False) -> Decimal | None:
        """Exact USD for ``usage`` on ``model`` (the tier its prompt size falls in); ``None``
        when the model has no known price."""
        base = self.price(model)
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
        return total * self.batch_discount if batch else total


def model_price(raw: Mapping[str, Any]) -> ModelPrice:
    """One model's price from its ``prices.json`` shape (amounts as strings, USD per million)."""
    base = Decimal(raw["input"])
    tiers = tuple((int(t["above"]), model_price(t)) for t in raw.get("tiers", []))
    return ModelPrice(
        input=base,
        output=Decimal(raw["output"]),
        cache_write_5m=Decimal(raw.get("cache_write_5m", base * Decimal("1.25"))),
        cache_write_1h=Decimal(raw.get("cache_write_1h", base * 2)),
        cache_read=Decimal(raw.get("cache_read", base * Decimal("0.1"))),
        tiers=tuple(sorted(tiers, key=lambda t: t[0])),
    )


@cache
def bundled_prices() -> PriceTable:
    data = json.loads(resources.files("thrifty.billing").joinpath("data/prices.json").read_text("utf-8"))
    models: dict[str, ModelPrice] = {}
    for name, raw in data["models"].items():
        price = model_price(raw)
        models[name] = price
        for alias in raw.get("aliases", []):
            models[alias] = price
    return PriceTable(data["version"], Decimal(data["batch_discount"]), models)
