"""The calls ``claude`` made but never showed, recorded from its own totals.

A plan run meters each call from the frames ``claude`` prints. Claude Code 2.1.33x prints no
stream events for a subagent's calls and never prints a subagent's last message at all, so the
ledger would miss them. Its ``result`` frame, though, carries ``modelUsage``: per model, every
token the process has used so far, subagents included (measured: cumulative across the prompts
one process answers, and reset by a new process). After each result the difference between
those totals and what was metered from this process is recorded as one row per model, so the
ledger's tokens for a plan run equal ``claude``'s own. A bucket the meter already exceeds (a
partial count it could not see settled) is left at zero, never negative.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from thrifty.core.events import ApiUsage
from thrifty.core.usage import Usage

#: ``modelUsage`` key -> ``Usage`` field.
_FIELDS = {
    "inputTokens": "input_tokens",
    "outputTokens": "output_tokens",
    "cacheReadInputTokens": "cache_read_tokens",
    "cacheCreationEphemeral5mInputTokens": "cache_write_5m_tokens",
    "cacheCreationEphemeral1hInputTokens": "cache_write_1h_tokens",
    "webSearchRequests": "web_search_requests",
}
#: Request ids of these rows start so: a reader can tell them from calls with an id of their own.
PREFIX = "claude-unreported"


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else 0


def _claimed(entry: Mapping[str, Any]) -> dict[str, int]:
    counts = {field: _count(entry.get(key)) for key, field in _FIELDS.items()}
    split = ("cacheCreationEphemeral5mInputTokens", "cacheCreationEphemeral1hInputTokens")
    if not any(key in entry for key in split):
        counts["cache_write_5m_tokens"] = _count(entry.get("cacheCreationInputTokens"))
    return counts


class Unreported:
    """What one ``claude`` process has been metered for, per model; ``gaps`` after each result."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[str, int]] = {}
        self._process = uuid.uuid4().hex[:12]
        self._results = 0

    def restart(self) -> None:
        """A new process: its totals start again from zero."""
        self._seen.clear()
        self._process = uuid.uuid4().hex[:12]
        self._results = 0

    def add(self, event: ApiUsage) -> None:
        seen = self._seen.setdefault(event.model, dict.fromkeys(_FIELDS.values(), 0))
        usage = event.usage
        for field in seen:
            seen[field] += getattr(usage, field)

    def gaps(self, frame: Mapping[str, Any], session_id: str) -> list[ApiUsage]:
        """One event per model whose ``modelUsage`` totals pass what was metered. The caller meters
        them and ``add``s them like any other, so the next result counts from there."""
        model_usage = frame.get("modelUsage")
        if not isinstance(model_usage, Mapping):
            return []
        self._results += 1
        out: list[ApiUsage] = []
        for model, entry in model_usage.items():
            if not isinstance(model, str) or not isinstance(entry, Mapping):
                continue
            seen = self._seen.get(model, {})
            claimed = _claimed(entry)
            missing = {field: max(0, count - seen.get(field, 0)) for field, count in claimed.items()}
            if not any(missing.values()):
                continue
            event = ApiUsage(
                session_id=session_id,
                request_id=f"{PREFIX}:{self._process}:{self._results}:{model}",
                message_id=None,
                model=model,
                usage=Usage(
                    input_tokens=missing["input_tokens"],
                    output_tokens=missing["output_tokens"],
                    cache_read_tokens=missing["cache_read_tokens"],
                    cache_write_5m_tokens=missing["cache_write_5m_tokens"],
                    cache_write_1h_tokens=missing["cache_write_1h_tokens"],
                    web_search_requests=missing["web_search_requests"],
                ),
                duration_ms=0,
                complete=True,
                attempt=1,
            )
            out.append(event)
        return out
