"""Compaction: when the conversation nears the model's context window, summarise it and go on.

As Claude Code does it: one more call to the session's model, with the history and a request for
a summary, replaces the history with a single user message holding that summary. The call is an
ordinary metered call (a ledger row, in ``modelUsage`` and ``total_cost_usd``); the stream gets a
``system/compact_boundary`` frame; the transcript gets a ``compact_boundary`` entry and the summary
(``isCompactSummary``), so ``--resume`` goes on from the summary, not from the full history.

It happens three ways:

- **auto**: before a request whose estimated input (the session's ``RequestSizer``, the budget
  check's own figure) passes the threshold: Claude Code's, ``window - min(max_tokens, 20000) -
  13000``, or ``CLAUDE_AUTOCOMPACT_PCT_OVERRIDE`` percent of ``window - min(max_tokens, 20000)``
  when lower. ``window`` is 1,000,000 (today's models) or ``CLAUDE_CODE_AUTO_COMPACT_WINDOW``.
- **after a "prompt is too long" 400**: the same, then the request is sent again, once.
- **manual**: a ``/compact [instructions]`` prompt; the instructions go to the summariser.

Off: ``DISABLE_AUTO_COMPACT`` (auto only), ``DISABLE_COMPACT`` (manual too), the settings key
``autoCompactEnabled: false``, or ``AgentOptions.auto_compact=False``. ``PreCompact`` hooks run
first (``trigger``, ``custom_instructions``); one that blocks skips the compaction.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from thrifty.agent.caller import Completed
from thrifty.agent.request import request_params
from thrifty.agent.transcripts import as_blocks
from thrifty.billing.tally import CONTEXT_WINDOW
from thrifty.core.endings import ApiFailure, RunEnded
from thrifty.core.events import ApiUsage, BillingNotice, CompactBoundary, Event, StreamEvent

if TYPE_CHECKING:
    from thrifty.agent.loop import AgentRun
    from thrifty.agent.options import AgentOptions
    from thrifty.agent.setup import Prepared

__all__ = [
    "CompactSettings",
    "Compacted",
    "compact",
    "is_prompt_too_long",
    "manual_request",
    "settings_for",
    "summary_message",
]

Trigger = Literal["auto", "manual"]

#: Claude Code's numbers: output reserved out of the window, and the margin left below it.
OUTPUT_RESERVE_MAX = 20_000
AUTOCOMPACT_BUFFER = 13_000
PCT_ENV = "CLAUDE_AUTOCOMPACT_PCT_OVERRIDE"
WINDOW_ENV = "CLAUDE_CODE_AUTO_COMPACT_WINDOW"
DISABLE_AUTO_ENV = "DISABLE_AUTO_COMPACT"
DISABLE_ENV = "DISABLE_COMPACT"
SETTINGS_KEY = "autoCompactEnabled"
#: A summarisation request that is itself too long drops its oldest half, at most this often.
TRIM_TRIES = 3
COMMAND = re.compile(r"^/compact(?:\s+(?P<args>.*))?$", re.DOTALL)
NOTHING_TO_COMPACT = "Not enough messages to compact."
DISABLED = "Compaction is disabled (DISABLE_COMPACT)."
TRIMMED = "[Earlier messages were left out: the conversation was too long to summarise whole.]"

SUMMARY_PROMPT = """\
CRITICAL: Respond with TEXT ONLY. Do NOT call any tools. You already have all the context you \
need in the conversation above; a tool call will be rejected.

Your task is to write a detailed summary of the conversation so far, paying close attention to \
the user's explicit requests and your previous actions. It replaces the conversation: whoever \
reads it must be able to continue the work without losing context.

First wrap your analysis in <analysis> tags: go through the conversation in order and note the \
user's requests and intent, your approach, key decisions, file names, code, function \
signatures and edits, errors and how they were fixed, and any feedback or constraints the user \
gave (keep security-relevant instructions verbatim).

Then write the summary in <summary> tags, with these sections:

1. Primary Request and Intent
2. Key Technical Concepts
3. Files and Code Sections (with the important snippets, and why each file matters)
4. Errors and fixes
5. Problem Solving
6. All user messages (every user message that is not a tool result)
7. Pending Tasks
8. Current Work (precisely what was being done just before this request)
9. Optional Next Step (only if it follows directly from the user's latest request; quote it)
"""
SUMMARY_REMINDER = (
    "REMINDER: Do NOT call any tools. Reply with plain text only: an <analysis> block, then a "
    "<summary> block."
)

CONTINUATION = (
    "This session is being continued from a previous conversation that ran out of context. "
    "The summary below covers the earlier portion of the conversation.\n\nSummary:\n{summary}\n\n{hint}"
    "Continue the conversation from where it left off without asking the user any further questions. "
    "Resume directly — do not acknowledge the summary, do not recap what was happening, do not "
    'preface with "I\'ll continue" or similar. Pick up the last task as if the break never happened.'
)
TRANSCRIPT_HINT = (
    "If you need specific details from before compaction (like exact code snippets, error messages, "
    "or content you generated), read the full transcript at: {path}\n"
)


def _flag(environ: Mapping[str, str], name: str) -> bool:
    return environ.get(name, "").strip().lower() in ("1", "true", "yes", "on")


def _positive(environ: Mapping[str, str], name: str) -> float | None:
    try:
        value = float(environ.get(name, "").strip())
    except ValueError:
        return None
    return value if math.isfinite(value) and value > 0 else None


@dataclass
class CompactSettings:
    """One session's compaction settings, read once at its start."""

    #: Compact before a request that passes the threshold (and after a "prompt is too long").
    auto: bool = True
    #: ``/compact`` works (``DISABLE_COMPACT`` turns off both).
    manual: bool = True
    window: int = CONTEXT_WINDOW
    #: ``CLAUDE_AUTOCOMPACT_PCT_OVERRIDE``: compact at this percent of the usable window, if lower.
    pct: float | None = None

    def threshold(self, max_tokens: int) -> int:
        """Estimated input tokens past which the next request compacts first."""
        usable = self.window - min(max_tokens, OUTPUT_RESERVE_MAX)
        at = usable - AUTOCOMPACT_BUFFER
        if self.pct is not None and self.pct <= 100:
            at = min(math.floor(usable * self.pct / 100), at)
        return max(at, 1)


def settings_for(options: AgentOptions, prepared: Prepared) -> CompactSettings:
    """``auto_compact`` when set; else the environment (settings ``env`` included), then settings."""
    environ: Mapping[str, str] = prepared.ctx.env or options.environ
    manual = not _flag(environ, DISABLE_ENV)
    auto = manual and not _flag(environ, DISABLE_AUTO_ENV)
    if prepared.settings.merged.get(SETTINGS_KEY) is False:
        auto = False
    if options.auto_compact is not None:
        auto = options.auto_compact
    window = _positive(environ, WINDOW_ENV)
    return CompactSettings(
        auto=auto,
        manual=manual,
        window=min(int(window), CONTEXT_WINDOW) if window is not None else CONTEXT_WINDOW,
        pct=_positive(environ, PCT_ENV),
    )


def manual_request(prompt: str | list[dict[str, Any]]) -> str | None:
    """The instructions of a ``/compact [instructions]`` prompt ("" for none); None otherwise."""
    if not isinstance(prompt, str):
        return None
    found = COMMAND.match(prompt.strip())
    return None if found is None else (found.group("args") or "").strip()


def is_prompt_too_long(exc: RunEnded) -> bool:
    """The API's 400 for a request over the context window (``api_errors`` words it so)."""
    return isinstance(exc, ApiFailure) and exc.status == 400 and "prompt is too long" in str(exc).lower()


def summary_text(reply: str) -> str:
    """The summary out of the model's reply: the ``<summary>`` block, without the analysis."""
    text = re.sub(r"<analysis>.*?</analysis>", "", reply, flags=re.DOTALL)
    found = re.search(r"<summary>(.*?)(?:</summary>|$)", text, flags=re.DOTALL)
    return (found.group(1) if found else text).strip()


def summary_message(summary: str, transcript_path: str | None) -> dict[str, Any]:
    """The user message the history becomes, in Claude Code's words."""
    hint = TRANSCRIPT_HINT.format(path=transcript_path) if transcript_path else ""
    return {"role": "user", "content": CONTINUATION.format(summary=summary, hint=hint)}


def _request(history: list[dict[str, Any]], instructions: str) -> list[dict[str, Any]]:
    """The history with the summary request as its last user turn (merged into a trailing one)."""
    text = SUMMARY_PROMPT
    if instructions:
        text += f"\nAdditional Instructions:\n{instructions}\n"
    text += f"\n{SUMMARY_REMINDER}"
    block = {"type": "text", "text": text}
    if history and history[-1]["role"] == "user":
        last = history[-1]
        return [*history[:-1], {"role": "user", "content": [*as_blocks(last["content"]), block]}]
    return [*history, {"role": "user", "content": [block]}]


def _is_prompt(message: dict[str, Any]) -> bool:
    """A user message that answers no tool call: a prompt, a reminder, a hook's reason."""
    blocks = as_blocks(message["content"])
    return message["role"] == "user" and not any(b.get("type") == "tool_result" for b in blocks)


def _trimmed(history: list[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """The newer half of the history behind a note (it starts at an assistant turn, so no tool
    result loses its call); None when there is nothing left to drop."""
    starts = [i for i, m in enumerate(history) if m["role"] == "assistant" and i >= len(history) // 2]
    if not starts or starts[0] <= 1:
        return None
    return [{"role": "user", "content": TRIMMED}, *history[starts[0] :]]


@dataclass
class Compacted:
    """What a compaction did; ``done`` is False when a hook blocked it or nothing was there."""

    done: bool = False
    why_not: str | None = None


async def compact(
    run: AgentRun, trigger: Trigger, instructions: str = "", *, pre_tokens: int | None = None
) -> AsyncIterator[Event | Compacted]:
    """Summarise ``run``'s history and put the summary in its place; the events, then a
    ``Compacted``. A failed summary call raises (``ApiFailure``) as any call would."""
    session = run.session
    history = list(run.messages)
    # A prompt not answered yet stays as it is, after the summary (the model has yet to see it).
    kept = history[-1:] if trigger == "auto" and history and _is_prompt(history[-1]) else []
    history = history[: len(history) - len(kept)]
    if not history:
        yield Compacted(why_not=NOTHING_TO_COMPACT)
        return
    if run.hooks.has_hooks("PreCompact"):
        verdict = await run.hooks.run(
            "PreCompact", {"trigger": trigger, "custom_instructions": instructions or None}
        )
        if verdict.blocked or verdict.stop:
            why = verdict.block_reason or verdict.stop_reason or "Compaction blocked by a hook"
            yield Compacted(why_not=why)
            return
    if pre_tokens is None:
        pre_tokens = run.sizer.input_tokens(request_params(run.prepared, run.options, history))
    started = time.monotonic()
    reply: str | None = None
    for _ in range(TRIM_TRIES + 1):
        params = request_params(run.prepared, run.options, _request(history, instructions))
        for warning in run._check_budget(params):
            yield BillingNotice(run.session_id, warning)
        try:
            completed: Completed | None = None
            async for item in run.caller.call(params):
                if isinstance(item, Completed):
                    completed = item
                elif isinstance(item, ApiUsage):
                    for event in await run._metered(item):
                        yield event
                elif not isinstance(item, StreamEvent):  # the summary is not the conversation's
                    yield item
        except RunEnded as exc:
            shorter = _trimmed(history) if is_prompt_too_long(exc) else None
            if shorter is None:
                raise
            history = shorter
            continue
        if completed is None:
            raise RuntimeError(f"{type(run.caller).__name__}.call ended without a Completed message")
        run.tally.api_ms += completed.api_ms
        blocks = completed.message.get("content") or []
        reply = "".join(str(b.get("text", "")) for b in blocks if b.get("type") == "text")
        break
    if not reply or not summary_text(reply):
        raise ApiFailure("Error during compaction: the model returned no summary", None, None)
    path = str(session.transcript.path) if session.transcript is not None else None
    message = summary_message(summary_text(reply), path)
    post = run.sizer.input_tokens(request_params(run.prepared, run.options, [message]))
    duration_ms = int((time.monotonic() - started) * 1000)
    boundary = CompactBoundary(run.session_id, trigger, pre_tokens, post, duration_ms)
    metadata = {"trigger": trigger, "preTokens": pre_tokens, "postTokens": post, "durationMs": duration_ms}
    # The run's own history and transcript: a subagent's ``ChildSession`` has its own of both.
    run.messages[:] = [message]
    if session.transcript is not None:
        session.transcript.record_boundary(metadata)
        session.transcript.record(message, isCompactSummary=True, isVisibleInTranscriptOnly=True)
    for kept_message in kept:
        session.append(kept_message)
    yield boundary
    yield Compacted(done=True)
