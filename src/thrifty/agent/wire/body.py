"""The request body's JSON, encoding only what is new since the session's last request.

A session's requests grow by a message or two per turn, and ``json.dumps`` of the whole history
every turn made a long session O(n^2): by turn 200 the body's encoding was the largest per-turn
cost. A JSON array is its items' JSON joined by commas, so each message's text can be kept and
the body assembled from the pieces, byte for byte what ``json.dumps`` of the whole would give.

The same goes for the tool definitions and system blocks, which are sent whole every turn. When
an item's kept text may be reused is ``core.item_memo``'s rule, the one the budget estimate's
``billing.estimate.RequestSizer`` shares.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from thrifty.core.item_memo import ItemMemo

_encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode


#: The lists kept item by item; only the history's last message may change in place.
_LISTS = {"messages": True, "tools": False, "system": False}


class BodyEncoder:
    """One per client (a session's requests); ``encode`` is ``json.dumps({**params, "stream": True})``."""

    def __init__(self) -> None:
        self._lists = {key: ItemMemo(_encode, last_fresh=fresh) for key, fresh in _LISTS.items()}

    def encode(self, params: Mapping[str, Any]) -> bytes:
        parts: list[str] = []
        for key, value in params.items():
            if key == "stream":
                value = True
            memo = self._lists.get(key) if type(value) is list else None
            text = "[" + ",".join(memo.values(value)) + "]" if memo is not None else _encode(value)
            parts.append(f"{_encode(key)}:{text}")
        if "stream" not in params:
            parts.append('"stream":true')
        return ("{" + ",".join(parts) + "}").encode("utf-8")
