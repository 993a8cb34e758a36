"""Per-item results for a list that mostly grows at its end: a session's messages, tools, system blocks.

Every request of a session carries its whole history, and two things are computed over it each
turn: the budget estimate's byte count (``billing.estimate``) and the body's JSON
(``agent.wire.body``). Both are sums of per-item parts, so each item's part is kept and only new
or changed items are computed again, which keeps a turn's cost flat as the history grows.

An item's kept result is reused only when the list holds the very object seen at that index
last time; for the last ``TAIL`` of those, also with the very same ``content`` object, of the
same length. That is the session's contract: it only appends messages, merges into the last one
by giving it a new content list (or, with ``last_fresh``, may change the last one in place),
marks cache breakpoints on new copies of the last user turns, and starts a new list to compact
or rewind; it never changes an older message's content in place. The identity check runs over
the whole list every turn, as one C-level ``map`` pass; the content checks, which need a lookup
per item, only over the tail, so a turn's check stays flat as the history grows (checking every
item's content cost 0.3 ms a call at 400 messages).
"""

from __future__ import annotations

import operator
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")

#: How many of the last kept items also have their ``content`` checked.
TAIL = 8


def _signature(item: Any) -> tuple[Any, int]:
    """The ``content`` object and its length (-1 when it has none): what must match to reuse."""
    content: Any = item.get("content") if type(item) is dict else None
    try:
        return content, len(content)
    except TypeError:  # None, or a value without a length
        return content, -1


class ItemMemo(Generic[T]):
    """``compute(item)`` for each item of a list, remembered by index between calls."""

    def __init__(self, compute: Callable[[Any], T], *, last_fresh: bool = False) -> None:
        """``last_fresh``: the last item is always computed again (it may change in place)."""
        self._compute = compute
        self._last_fresh = last_fresh
        self._items: list[Any] = []
        self._contents: list[Any] = []
        self._lengths: list[int] = []
        self._values: list[T] = []

    def values(self, items: list[Any]) -> list[T]:
        """Each item's result, in order; the list returned is this memo's own (do not change it)."""
        keep = self._unchanged_prefix(items)
        if self._last_fresh:
            keep = max(0, min(keep, len(items) - 1))
        if keep < len(self._values):
            del self._items[keep:], self._contents[keep:], self._lengths[keep:], self._values[keep:]
        compute = self._compute
        for item in items[keep:]:
            content, length = _signature(item)
            self._items.append(item)
            self._contents.append(content)
            self._lengths.append(length)
            self._values.append(compute(item))
        return self._values

    def _unchanged_prefix(self, items: list[Any]) -> int:
        """How many leading items can keep their results (see the module's contract)."""
        known = min(len(self._items), len(items))
        if known == 0:
            return 0
        if all(map(operator.is_, items, self._items)):  # stops at the shorter list
            keep = known
        else:
            same = list(map(operator.is_, items, self._items))
            keep = same.index(False)
        contents, lengths = self._contents, self._lengths
        for i in range(max(0, keep - TAIL), keep):
            content, length = _signature(items[i])
            if content is not contents[i] or length != lengths[i]:
                return i
        return keep
