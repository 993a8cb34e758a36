"""A deliberately high guess at what the next request will cost, for checks made before sending it.

The real tokenizer is private, so this errs on the expensive side: one token per 3 bytes of the
request's JSON (English prose runs nearer 4, and the JSON punctuation adds more), all of it
priced as an uncached 5-minute cache write (the dearest input bucket we use), plus an output
guess. The one allowance for caching: the part of the prompt the previous call already sent
(when it was under five minutes ago) is priced as a cache read, since the loop marks it for
caching. A budget check that uses it can overshoot by at most the one call it let through.

A session checks before every request, and its requests grow by a message or two each time, so
``RequestSizer`` gives the same figure as ``input_tokens`` while serialising only what is new:
the JSON of a list is its items' JSON joined by commas, so the bytes add up exactly.
"""

from __future__ import annotations

import json
import math
from decimal import Decimal
from typing import Any

from thrifty.billing.prices import MILLION, PriceTable
from thrifty.core.item_memo import ItemMemo

BYTES_PER_TOKEN = 3
#: Output guessed when the run has not produced any yet.
DEFAULT_OUTPUT_GUESS = 512


#: What the model reads, in the order ``input_tokens`` serialises it.
PARTS = ("system", "tools", "messages")


def _json_bytes(value: Any) -> int:
    return len(json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode("utf-8"))


def input_tokens(params: dict[str, Any]) -> int:
    """Bytes of everything the model reads (system, tools, messages), over ``BYTES_PER_TOKEN``."""
    parts = {k: params.get(k) for k in PARTS if params.get(k) is not None}
    return math.ceil(_json_bytes(parts) / BYTES_PER_TOKEN)


class RequestSizer:
    """``input_tokens`` for a session's successive requests, remembering each item's size.

    The result equals ``input_tokens(params)`` whenever nothing deep inside an earlier item was
    changed in place since it was measured (the loop only ever appends messages, or gives the
    last one new content, and a request's marked messages are new copies); a part that is not a
    plain list is serialised whole, as ``input_tokens`` does.
    """

    def __init__(self) -> None:
        # The last message is always measured again: the session may merge into it in place.
        self._parts = {key: ItemMemo(_json_bytes, last_fresh=key == "messages") for key in PARTS}

    def input_tokens(self, params: dict[str, Any]) -> int:
        size = 0
        count = 0
        for key in PARTS:
            value = params.get(key)
            if value is None:
                continue
            count += 1
            if type(value) is list:
                # The items' JSON joined by commas, in brackets.
                body = 2 + sum(self._parts[key].values(value)) + max(len(value) - 1, 0)
            else:
                body = _json_bytes(value)
            size += len(key) + 3 + body  # "key":body
        size += 2 + max(count - 1, 0)  # the braces, the commas between parts
        return math.ceil(size / BYTES_PER_TOKEN)


_input_tokens = input_tokens  # the function, under a name the parameter below does not hide


def next_call_cost(
    prices: PriceTable,
    model: str,
    params: dict[str, Any],
    *,
    output_guess: int | None = None,
    cached_prefix: int = 0,
    sizer: RequestSizer | None = None,
    input_tokens: int | None = None,
) -> Decimal | None:
    """The most the next call is likely to cost; ``None`` if the model has no known price.

    ``cached_prefix``: input tokens of the previous call, if it was recent enough to be cached.
    ``sizer``: the session's ``RequestSizer``, so a long history is not serialised every time.
    ``input_tokens``: the request's size when the caller has measured it already.
    """
    price = prices.price(model)
    if price is None:
        return None
    max_tokens = int(params.get("max_tokens") or DEFAULT_OUTPUT_GUESS)
    output = min(max_tokens, output_guess or DEFAULT_OUTPUT_GUESS)
    if input_tokens is not None:
        total = input_tokens
    else:
        total = sizer.input_tokens(params) if sizer is not None else _input_tokens(params)
    cached = min(cached_prefix, total)
    cost = (
        Decimal(cached) * price.cache_read
        + Decimal(total - cached) * price.cache_write_5m
        + Decimal(output) * price.output
    )
    return cost / MILLION
