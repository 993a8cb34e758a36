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


class _ItemSizes:
    """The JSON byte length of each item of one list (the messages, the tools, the system
    blocks) as last seen at each index.

    An item is measured again unless it is the very object seen there last time, with the very
    same ``content`` object of the same length: the session merges a user message into the last
    one by giving it a new content list, and a marked copy is a new object each request. With
    ``last_fresh`` the last item is always measured again, whatever it is. Items are held, so an
    id is never reused while its size is remembered.
    """

    def __init__(self, *, last_fresh: bool = False) -> None:
        self._last_fresh = last_fresh
        self._items: list[Any] = []
        self._contents: list[Any] = []
        self._lengths: list[int] = []
        self._sizes: list[int] = []
        self._total = 0

    def total(self, items: list[Any]) -> int:
        """Bytes of ``items`` as one JSON array: the brackets, the commas, each item."""
        n = len(items)
        if n < len(self._sizes):
            self._total -= sum(self._sizes[n:])
            del self._items[n:], self._contents[n:], self._lengths[n:], self._sizes[n:]
        seen_items, seen_contents, lengths, sizes = self._items, self._contents, self._lengths, self._sizes
        known = len(sizes)
        fresh_from = n - 1 if self._last_fresh else n
        for i, item in enumerate(items):
            content = item.get("content") if type(item) is dict else None
            length = len(content) if type(content) is list else -1  # a str cannot change
            if i < known:
                if (
                    i < fresh_from
                    and seen_items[i] is item
                    and seen_contents[i] is content
                    and lengths[i] == length
                ):
                    continue
                size = _json_bytes(item)
                self._total += size - sizes[i]
                seen_items[i], seen_contents[i], lengths[i], sizes[i] = item, content, length, size
            else:
                size = _json_bytes(item)
                self._total += size
                seen_items.append(item)
                seen_contents.append(content)
                lengths.append(length)
                sizes.append(size)
        return 2 + self._total + max(n - 1, 0)


class RequestSizer:
    """``input_tokens`` for a session's successive requests, remembering each item's size.

    The result equals ``input_tokens(params)`` whenever nothing deep inside an earlier item was
    changed in place since it was measured (the loop only ever appends messages, or gives the
    last one new content, and a request's marked messages are new copies); a part that is not a
    plain list is serialised whole, as ``input_tokens`` does.
    """

    def __init__(self) -> None:
        # The last message is always measured again: the session may merge into it in place.
        self._parts = {key: _ItemSizes(last_fresh=key == "messages") for key in PARTS}

    def input_tokens(self, params: dict[str, Any]) -> int:
        size = 0
        count = 0
        for key in PARTS:
            value = params.get(key)
            if value is None:
                continue
            count += 1
            body = self._parts[key].total(value) if type(value) is list else _json_bytes(value)
            size += len(key) + 3 + body  # "key":body
        size += 2 + max(count - 1, 0)  # the braces, the commas between parts
        return math.ceil(size / BYTES_PER_TOKEN)


def next_call_cost(
    prices: PriceTable,
    model: str,
    params: dict[str, Any],
    *,
    output_guess: int | None = None,
    cached_prefix: int = 0,
    sizer: RequestSizer | None = None,
) -> Decimal | None:
    """The most the next call is likely to cost; ``None`` if the model has no known price.

    ``cached_prefix``: input tokens of the previous call, if it was recent enough to be cached.
    ``sizer``: the session's ``RequestSizer``, so a long history is not serialised every time.
    """
    price = prices.price(model)
    if price is None:
        return None
    max_tokens = int(params.get("max_tokens") or DEFAULT_OUTPUT_GUESS)
    output = min(max_tokens, output_guess or DEFAULT_OUTPUT_GUESS)
    total = sizer.input_tokens(params) if sizer is not None else input_tokens(params)
    cached = min(cached_prefix, total)
    cost = (
        Decimal(cached) * price.cache_read
        + Decimal(total - cached) * price.cache_write_5m
        + Decimal(output) * price.output
    )
    return cost / MILLION
