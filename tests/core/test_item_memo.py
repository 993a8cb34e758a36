"""``ItemMemo``: each item computed once while it stays the same, and again whenever it may not be."""

from __future__ import annotations

import json
from typing import Any

from thrifty.core.item_memo import ItemMemo


class Counting:
    def __init__(self) -> None:
        self.seen: list[Any] = []

    def __call__(self, item: Any) -> str:
        self.seen.append(item)
        return json.dumps(item)


def test_a_growing_history_computes_only_what_is_new() -> None:
    compute = Counting()
    memo = ItemMemo(compute, last_fresh=True)
    history: list[dict[str, Any]] = []
    for n in range(50):
        history.append(
            {"role": "user" if n % 2 == 0 else "assistant", "content": [{"type": "text", "text": str(n)}]}
        )
        assert memo.values(history) == [json.dumps(m) for m in history]
    assert len(compute.seen) == 50  # each message once, when it arrived
    history[-1]["content"][0] = {"type": "text", "text": "changed in place, same length"}
    assert memo.values(history)[-1] == json.dumps(history[-1])  # the last one is always redone
    assert len(compute.seen) == 51


def test_every_kind_of_change_is_computed_again() -> None:
    compute = Counting()
    memo = ItemMemo(compute)
    items: list[Any] = [
        {"content": [1]},
        {"content": "text"},
        {"content": [2]},
        {"name": "tool"},
        "plain",
        {"content": [3]},
    ]
    assert memo.values(items) == [json.dumps(i) for i in items]
    compute.seen.clear()
    items[0]["content"].append(9)  # same list, longer
    items[1] = {"content": "text"}  # an equal copy is still a new object
    items[2]["content"] = [2]  # a new content list
    assert memo.values(items) == [json.dumps(i) for i in items]
    assert compute.seen[:3] == items[:3]
    compute.seen.clear()
    assert memo.values(items) == [json.dumps(i) for i in items] and compute.seen == []
    assert memo.values(items[:2]) == [json.dumps(i) for i in items[:2]] and compute.seen == []
    assert memo.values([]) == []


def test_without_last_fresh_an_unchanged_last_item_is_kept() -> None:
    compute = Counting()
    memo = ItemMemo(compute)
    tools = [{"name": "A"}, {"name": "B"}]
    memo.values(tools)
    memo.values(tools)
    assert len(compute.seen) == 2
