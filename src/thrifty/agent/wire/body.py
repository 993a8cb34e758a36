"""The request body's JSON, encoding only what is new since the session's last request.

A session's requests grow by a message or two per turn, and ``json.dumps`` of the whole history
every turn made a long session O(n^2): by turn 200 the body's encoding was the largest per-turn
cost. A JSON array is its items' JSON joined by commas, so each message's text can be kept and
the body assembled from the pieces, byte for byte what ``json.dumps`` of the whole would give.

The same goes for the tool definitions and system blocks, which are sent whole every turn. An
item's kept text is reused only when it is the very object seen at that index last time, with
the very same ``content`` object of the same length, and (for the messages) it is not the last
one: the rules ``billing.estimate.RequestSizer`` relies on. The loop only appends messages,
merges into the last one by giving it a new content list, and marks cache breakpoints on new
copies. Anything else is encoded again.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


class _ItemTexts:
    """Each item's JSON for one list of the body (the messages, the tools, the system blocks)."""

    def __init__(self, *, last_fresh: bool) -> None:
        self._last_fresh = last_fresh
        self._items: list[Any] = []
        self._contents: list[Any] = []
        self._lengths: list[int] = []
        self._texts: list[str] = []

    def encode(self, values: list[Any]) -> str:
        items, contents, lengths, texts = self._items, self._contents, self._lengths, self._texts
        n = len(values)
        if n < len(texts):
            del items[n:], contents[n:], lengths[n:], texts[n:]
        known = len(texts)
        fresh_from = n - 1 if self._last_fresh else n
        for i, value in enumerate(values):
            content = value.get("content") if type(value) is dict else None
            length = len(content) if type(content) is list else -1  # a str cannot change
            if i < known:
                if i < fresh_from and items[i] is value and contents[i] is content and lengths[i] == length:
                    continue
                items[i], contents[i], lengths[i], texts[i] = value, content, length, _encode(value)
            else:
                items.append(value)
                contents.append(content)
                lengths.append(length)
                texts.append(_encode(value))
        return "[" + ",".join(texts) + "]"


#: The lists kept item by item; only the history's last message may change in place.
_LISTS = {"messages": True, "tools": False, "system": False}


class BodyEncoder:
    """One per client (a session's requests); ``encode`` is ``json.dumps({**params, "stream": True})``."""

    def __init__(self) -> None:
        self._lists = {key: _ItemTexts(last_fresh=fresh) for key, fresh in _LISTS.items()}

    def encode(self, params: Mapping[str, Any]) -> bytes:
        parts: list[str] = []
        for key, value in params.items():
            if key == "stream":
                value = True
            memo = self._lists.get(key) if type(value) is list else None
            parts.append(f"{_encode(key)}:{memo.encode(value) if memo is not None else _encode(value)}")
        if "stream" not in params:
            parts.append('"stream":true')
        return ("{" + ",".join(parts) + "}").encode("utf-8")
