"""What ccusage should report for a generated history, and why it differs from the truth.

The bench (``bench/usage_bench.py``) runs ccusage on a ``cc_history`` history and has to say why
each of its totals differs from the generator's truth. This models ccusage's counting, as its
documentation and source describe it, over the very files the history holds:

- only lines whose ``message.usage`` is at the top level count (a parent's ``progress`` mirror
  of a subagent call does not);
- files are read in order of their earliest timestamp (then path), and a line is dropped when
  its ``message.id`` + ``requestId`` (20.x: + ``sessionId``) were seen before: the first copy
  read wins, however partial;
- a line without a request id (Claude Code 1.0.x) cannot be deduplicated and always counts.

Each kept line is then set against the truth and its effect booked to one cause (``CAUSES``).
The truth plus every cause is what the model expects ccusage to print; whatever the real
ccusage prints beyond that is shown as unexplained, never folded in.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from tests.usage.cc_history import History

#: cause -> why ccusage's figure differs from the truth there.
CAUSES = {
    "btw_replay": "/btw replays counted as calls: ccusage keys a call by message id + request id, "
    "and a replayed answer carries the side question's new request id",
    "partial_copy": "partial copies kept: ccusage keeps the first copy it reads, here one taken "
    "mid-response (a synced session) with a partial output count",
    "no_request_id": "lines without requestId (Claude Code 1.0.x) counted again: ccusage cannot "
    "deduplicate them, so each content-block line and copy counts",
    "fork_copy": "forked sessions counted again: ccusage 20.x keys a call by session too, and a "
    "fork's copy carries the new session id",
}
#: [calls, input, output, cache write, cache read]
Figures = list[int]


def _lines(path: Path) -> list[dict[str, Any]]:
    out = []
    for raw in path.read_bytes().split(b"\n"):
        if b'"usage"' not in raw:
            continue
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        message = entry.get("message") if isinstance(entry, dict) else None
        if isinstance(message, dict) and isinstance(message.get("usage"), dict):
            out.append(entry)
    return out


def _figures(usage: dict[str, Any]) -> Figures:
    return [
        1,
        int(usage.get("input_tokens") or 0),
        int(usage.get("output_tokens") or 0),
        int(usage.get("cache_creation_input_tokens") or 0),
        int(usage.get("cache_read_input_tokens") or 0),
    ]


def expected_differences(history: History, *, session_in_key: bool) -> dict[str, Figures]:
    """cause -> what ccusage adds to (or, negative, takes from) the truth's figures."""
    replays = {replay for replay, _ in history.replays}
    files = []
    for path in history.files:
        entries = _lines(path)
        first = min((str(e.get("timestamp", "")) for e in entries), default="")
        files.append((first, str(path), entries))
    files.sort(key=lambda f: (f[0], f[1]))
    seen: set[tuple[str, str, str | None]] = set()
    counted: set[tuple[str, str | None]] = set()
    causes: dict[str, Figures] = {cause: [0] * 5 for cause in CAUSES}

    def book(cause: str, figures: Figures, sign: int = 1) -> None:
        causes[cause] = [a + sign * b for a, b in zip(causes[cause], figures, strict=True)]

    for _, _, entries in files:
        for entry in entries:
            message = entry["message"]
            msg, req = message.get("id"), entry.get("requestId")
            if message.get("model") == "<synthetic>" or not isinstance(msg, str):
                continue
            if req is not None:
                dedup = (msg, str(req), entry.get("sessionId") if session_in_key else None)
                if dedup in seen:
                    continue
                seen.add(dedup)
            key = (msg, req)
            figures = _figures(message["usage"])
            if key in replays:
                book("btw_replay", figures)
                continue
            call = history.calls.get(key)
            if call is None:
                continue
            if key in counted:
                book("no_request_id" if req is None else "fork_copy", figures)
                continue
            counted.add(key)
            if figures[2] < call.output_tokens:
                book("partial_copy", [0, 0, call.output_tokens - figures[2], 0, 0], -1)
    return {cause: figures for cause, figures in causes.items() if any(figures)}
