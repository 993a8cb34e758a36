"""What ccusage should report for a generated history, and why it differs from the truth.

The bench (``bench/usage_bench.py``) runs ccusage on a ``cc_history`` history and has to say why
each of its totals differs from the generator's truth. This replays ccusage's deduplication over
the very lines the history holds, with the rules each version was seen to follow (its source,
then tiny histories run through the installed 19.0.3 and 20.0.24):

- every line with a ``message.usage`` counts, and so does a parent's ``progress`` mirror of a
  subagent call (``data.message.message.usage``); lines that do not parse are skipped;
- **19.x** (``apps/ccusage/src/adapter/claude/data-loader.ts``: ``createUniqueHash``,
  ``shouldReplaceEntryMetadata``, the merge in ``loadDailyUsageData``): a line's key is its
  message id + request id, or the message id alone where the line has no request id; of the
  lines with one key, the one with the most tokens (input + output + cache write + cache read)
  counts, in whatever order the files are read. Partial copies, content-block repeats, lines
  without a request id and fork copies therefore all count once, at their full figures;
- **20.x** (the Rust rewrite; ``rust/crates/ccusage/src/adapter/claude/daily.rs``:
  ``push_deduped_daily_entry``, ``should_replace_deduped_daily_entry``, as of 20.0.11; 20.0.24
  differs where noted, which only experiment shows): the key is message id + request id, but a
  line without a request id is keyed by message id + session id (20.0.24); within one session
  (20.0.24; 20.0.11: anywhere) a sidechain line also matches a line with its message id under
  another request id (ccusage's rule for ``/btw`` sidechain replays). Of matching lines, one
  outside a sidechain beats a sidechain one whatever its tokens, and otherwise the one with the
  most tokens counts. A ``progress`` mirror has no ``isSidechain`` of its own, so it beats the
  subagent's own (sidechain) lines.

Each counted line is then set against the truth and its effect booked to one cause
(``CAUSES``). The truth plus every cause is what the model expects ccusage to print; whatever
the real ccusage prints beyond that is shown as unexplained, never folded in.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.usage.cc_history import History

#: cause -> why ccusage's figure differs from the truth there.
CAUSES = {
    "btw_replay": "/btw replays counted as calls: ccusage keys a call by message id + request id, "
    "and a replayed answer carries the side question's new request id (20.x matches a replay by "
    "message id alone only when it, or the line it replays, is marked isSidechain in the same "
    "session: these are not)",
    "partial_mirror": "partial progress mirrors kept: ccusage 20.x prefers a line outside a "
    "sidechain to a subagent's own (sidechain) line whatever their tokens, so it counts the "
    "parent's progress mirror of a subagent call, here one that stops at the response's early "
    "lines with a partial output count",
    "fork_copy": "forked copies of lines without requestId (Claude Code 1.0.x) counted again: "
    "ccusage 20.x keys such a line by message id + session id, and a fork's copy carries the new "
    "session id",
}
#: [calls, input, output, cache write, cache read]
Figures = list[int]


@dataclass
class _Usage:
    """One line carrying usage, as ccusage reads it."""

    message_id: str
    request_id: str | None
    session_id: str | None
    sidechain: bool
    mirror: bool
    figures: Figures

    @property
    def tokens(self) -> int:
        return sum(self.figures[1:])


def _figures(usage: dict[str, Any]) -> Figures:
    return [
        1,
        int(usage.get("input_tokens") or 0),
        int(usage.get("output_tokens") or 0),
        int(usage.get("cache_creation_input_tokens") or 0),
        int(usage.get("cache_read_input_tokens") or 0),
    ]


def _read(path: Path) -> tuple[str, list[_Usage]]:
    """(earliest timestamp, the usage lines) of one file."""
    out = []
    first = ""
    for raw in path.read_bytes().split(b"\n"):
        if b'"usage"' not in raw:
            continue
        try:
            entry = json.loads(raw)
        except ValueError:
            continue
        if not isinstance(entry, dict):
            continue
        mirror = False
        line: Any = entry
        if not isinstance(entry.get("message"), dict) and entry.get("type") == "progress":
            # A parent's mirror of a subagent call: ccusage reads the nested line (its request
            # id and isSidechain, but no session id: 20.x's DailyAgentProgressMessage).
            line = (entry.get("data") or {}).get("message")
            mirror = True
        message = line.get("message") if isinstance(line, dict) else None
        if not isinstance(message, dict) or not isinstance(message.get("usage"), dict):
            continue
        stamp = str(line.get("timestamp", ""))
        first = stamp if not first or stamp < first else first
        if not isinstance(message.get("id"), str) or line.get("isApiErrorMessage"):
            continue
        out.append(
            _Usage(
                message["id"],
                line.get("requestId"),
                None if mirror else entry.get("sessionId"),
                line.get("isSidechain") is True,
                mirror,
                _figures(message["usage"]),
            )
        )
    return first, out


def _counted_19(lines: list[_Usage]) -> list[_Usage]:
    """ccusage 19.x: ``createUniqueHash`` (message id + request id, else message id alone);
    ``shouldReplaceEntryMetadata`` keeps the line with more tokens."""
    kept: dict[tuple[str, str | None], _Usage] = {}
    for line in lines:
        key = (line.message_id, line.request_id)
        if key not in kept or line.tokens > kept[key].tokens:
            kept[key] = line
    return list(kept.values())


def _replaces_20(candidate: _Usage, existing: _Usage) -> bool:
    """``should_replace_deduped_daily_entry``: outside a sidechain first, then more tokens."""
    if candidate.sidechain != existing.sidechain:
        return existing.sidechain
    return candidate.tokens > existing.tokens


def _counted_20(lines: list[_Usage]) -> list[_Usage]:
    """ccusage 20.0.24 (``push_deduped_daily_entry``, with the session scoping 20.0.24 shows)."""
    kept: list[_Usage] = []
    exact: dict[tuple[str, str | None, str | None], int] = {}
    by_message: dict[tuple[str, str | None], list[int]] = {}
    for line in lines:
        session = line.session_id if line.request_id is None else None
        key = (line.message_id, line.request_id, session)
        index = exact.get(key)
        if index is None:  # a /btw sidechain replay: the message id within the session
            index = next(
                (
                    i
                    for i in by_message.get((line.message_id, line.session_id), [])
                    if line.sidechain or kept[i].sidechain
                ),
                None,
            )
        if index is not None:
            if _replaces_20(line, kept[index]):
                kept[index] = line
            continue
        exact[key] = len(kept)
        by_message.setdefault((line.message_id, line.session_id), []).append(len(kept))
        kept.append(line)
    return kept


def expected_differences(history: History, *, session_in_key: bool) -> dict[str, Figures]:
    """cause -> what ccusage adds to (or, negative, takes from) the truth's figures.

    ``session_in_key``: ccusage 20.x's rules (a line without a request id keyed by session too,
    sidechain lines losing to the rest); otherwise 19.x's."""
    replays = {replay for replay, _ in history.replays}
    files = [(*_read(path), str(path)) for path in history.files]
    files.sort(key=lambda f: (f[0], f[2]))  # earliest timestamp, then path: the order ccusage reads
    lines = [line for _, entries, _ in files for line in entries]
    counted = (_counted_20 if session_in_key else _counted_19)(lines)
    causes: dict[str, Figures] = {cause: [0] * 5 for cause in CAUSES}

    def book(cause: str, figures: Figures) -> None:
        causes[cause] = [a + b for a, b in zip(causes[cause], figures, strict=True)]

    first: dict[tuple[str, str | None], _Usage] = {}
    for line in counted:
        key = (line.message_id, line.request_id)
        if key in replays:
            book("btw_replay", line.figures)
            continue
        call = history.calls.get(key)
        if call is None:
            continue  # not a call (a <synthetic> line): no tokens
        if key not in first:
            first[key] = line
            if line.mirror and line.figures[2] < call.output_tokens:
                book("partial_mirror", [0, 0, line.figures[2] - call.output_tokens, 0, 0])
        elif line.request_id is None and line.session_id != first[key].session_id:
            book("fork_copy", line.figures)
        # Anything else ccusage counts differently is left to show as unexplained.
    return {cause: figures for cause, figures in causes.items() if any(figures)}
