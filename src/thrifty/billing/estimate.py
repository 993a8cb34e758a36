"""A deliberately high guess at what the next request will cost, for checks made before sending it.

The real tokenizer is private, so this errs on the expensive side: one token per 3 bytes of the
request's JSON (English prose runs nearer 4, and the JSON punctuation adds more), all of it
priced as an uncached 5-minute cache write (the dearest input bucket we use), plus an output
guess. The one allowance for caching: the part of the prompt the previous call already sent
(when it was under five minutes ago) is priced as a cache read, since the loop marks it for
caching. A budget check that uses it can overshoot by at most the one call it let through.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from thrifty.billing.prices import MILLION, PriceTable

BYTES_PER_TOKEN = 3
#: Output guessed when the run has not produced any yet.
DEFAULT_OUTPUT_GUESS = 512


def input_tokens(params: dict[str, Any]) -> int:
    """Bytes of everything the model reads (system, tools, messages), over ``BYTES_PER_TOKEN``."""
    parts = {k: params.get(k) for k in ("system", "tools", "messages") if params.get(k) is not None}
    raw = json.dumps(parts, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return math.ceil(len(raw) / BYTES_PER_TOKEN)


def next_call_cost(
    prices: PriceTable,
    model: str,
    params: dict[str, Any],
    *,
    output_guess: int | None = None,
    cached_prefix: int = 0,
) -> Decimal | None:
    """The most the next call is likely to cost; ``None`` if the model has no known price.

    ``cached_prefix``: input tokens of the previous call, if it was recent enough to be cached.
    """
    price = prices.price(model)
    if price is None:
        return None
    max_tokens = int(params.get("max_tokens") or DEFAULT_OUTPUT_GUESS)
    output = min(max_tokens, output_guess or DEFAULT_OUTPUT_GUESS)
    total = input_tokens(params)
    cached = min(cached_prefix, total)
    cost = (
        Decimal(cached) * price.cache_read
        + Decimal(total - cached) * price.cache_write_5m
        + Decimal(output) * price.output
    )
    return cost / MILLION
