"""claude's stream-json frames as thrifty's typed events, and each API call's exact usage.

The user's stream-json or json output should read like claude's own, so frames map one to one
onto the events thrifty renders itself (``SystemInit``, ``AssistantMessage``, ``UserMessage``,
``StreamEvent``, ``RateLimit``, ``ApiRetry``, ``CompactBoundary``). Other ``system`` frames
(``status``, ``task_*``, ...) pass on as they came (``SystemFrame``), so a plan run's stream-json
shows what ``claude -p`` shows; frames of other types thrifty has no event for are dropped with
a debug log.

Usage per call: the ``usage`` on claude's ``assistant`` frames is partial (``output_tokens: 1``
while the call used more), so the meter reads the raw Messages API events claude forwards with
``--include-partial-messages``: ``message_start`` opens a call with its initial usage,
``message_delta`` updates it with the final counts, and ``message_stop`` closes it. The
``request_id`` (the ledger's idempotency key) comes from the ``assistant`` frames of that
message. A closed call is handed out at the next frame, so that a ``rate_limit_event`` following
it (claude sends one when the window state changes) is stamped on its ledger row; a call still
open when the process ends is handed out as ``complete=False``: it was billed all the same.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from thrifty import __version__
from thrifty.core.events import (
    ApiRetry,
    ApiUsage,
    AssistantMessage,
    CompactBoundary,
    Event,
    RateLimit,
    StreamEvent,
    SystemFrame,
    SystemInit,
    UserMessage,
    new_uuid,
)
from thrifty.core.usage import Usage

log = logging.getLogger("thrifty.via_claude")

_WINDOW_SHORT = {"five_hour": "5h", "seven_day": "7d"}


def rate_limit_headers(info: Mapping[str, Any]) -> dict[str, str]:
    """claude's ``rate_limit_info`` as the unified headers the ledger keeps and windows read."""
    prefix = "anthropic-ratelimit-unified-"
    headers: dict[str, str] = {}
    claim = str(info.get("rateLimitType") or "five_hour")
    if info.get("status"):
        headers[prefix + "status"] = str(info["status"])
    headers[prefix + "representative-claim"] = claim
    if info.get("resetsAt") is not None:
        headers[prefix + "reset"] = str(info["resetsAt"])
    windows = info.get("unifiedWindows")
    if not isinstance(windows, Mapping):
        windows = {claim: {k: info.get(k) for k in ("utilization", "resetsAt", "status")}}
    for name, state in windows.items():
        short = _WINDOW_SHORT.get(str(name))
        if short is None or not isinstance(state, Mapping):
            continue
        for key, suffix in (("utilization", "utilization"), ("resetsAt", "reset"), ("status", "status")):
            if state.get(key) is not None:
                headers[f"{prefix}{short}-{suffix}"] = str(state[key])
    return headers


@dataclass(frozen=True)
class ClaudeInit(SystemInit):
    """claude's ``system/init``, with the MCP servers it started and their statuses (claude
    starts them in a plan run, so only its frame knows them)."""

    mcp_servers: tuple[dict[str, Any], ...] = ()

    def to_frame(self) -> dict[str, Any]:
        frame = super().to_frame()
        frame["mcp_servers"] = [dict(entry) for entry in self.mcp_servers]
        return frame


@dataclass
class OpenCall:
    """One API call claude is making: usage so far, and what identifies it."""

    message_id: str
    model: str
    usage: dict[str, Any]
    started: float = field(default_factory=time.monotonic)
    ended: float | None = None
    request_id: str | None = None
    stop_reason: str | None = None
    #: False for a call known only from an ``assistant`` frame: its usage may be partial.
    streamed: bool = True

    def event(self, session_id: str, rate_limits: dict[str, str], *, complete: bool) -> ApiUsage:
        duration = (self.ended or time.monotonic()) - self.started
        return ApiUsage(
            session_id=session_id,
            request_id=self.request_id,
            message_id=self.message_id,
            model=self.model,
            usage=Usage.from_api(self.usage),
            duration_ms=int(duration * 1000),
            complete=complete,
            attempt=1,
            rate_limits=dict(rate_limits),
            raw_usage=dict(self.usage),
        )


@dataclass
class FrameReader:
    """Turns one claude process's frames into events; keeps the per-call usage in between."""

    session_id: str
    include_partial: bool
    billing: dict[str, Any] = field(default_factory=dict)
    calls: dict[str, OpenCall] = field(default_factory=dict)
    #: Closed calls not yet handed out (waiting one frame for a ``rate_limit_event``).
    closed: list[OpenCall] = field(default_factory=list)
    #: The newest plan-window state, as unified headers.
    rate_limits: dict[str, str] = field(default_factory=dict)
    #: Calls already handed out: a late ``assistant`` frame of one must not open it again.
    done: set[str] = field(default_factory=set)
    #: The newest ``system/init`` frame, to open later turns that claude does not re-announce.
    init: dict[str, Any] | None = None

    def read(self, frame: Mapping[str, Any]) -> list[Event]:
        """The events for one frame (``result`` and control frames are the caller's)."""
        kind = frame.get("type")
        out: list[Event] = []
        if kind == "rate_limit_event":
            info = frame.get("rate_limit_info")
            if isinstance(info, Mapping):
                self.rate_limits = rate_limit_headers(info)
                out.extend(self.flush())
                out.append(RateLimit(self.session_id, dict(info), uuid=_uuid(frame)))
            return out
        out.extend(self.flush())
        if kind == "stream_event":
            out.extend(self._stream_event(frame))
        elif kind == "assistant":
            out.extend(self._assistant(frame))
        elif kind == "user":
            out.extend(self._user(frame))
        elif kind == "system":
            out.extend(self._system(frame))
        else:
            log.debug("claude frame %r has no thrifty event; dropped", kind)
        return out

    def flush(self) -> list[ApiUsage]:
        """Closed calls, handed out with the plan-window state known now."""
        events = [c.event(self.session_id, self.rate_limits, complete=c.streamed) for c in self.closed]
        self.done.update(c.message_id for c in self.closed)
        self.closed.clear()
        return events

    def abandon(self) -> list[ApiUsage]:
        """At the end of the process: closed calls, then the still-open ones as incomplete."""
        events = self.flush()
        events.extend(c.event(self.session_id, self.rate_limits, complete=False) for c in self.calls.values())
        self.calls.clear()
        return events

    def system_init(self, frame: Mapping[str, Any]) -> SystemInit:
        def names(key: str) -> list[str]:
            values = frame.get(key)
            return [str(v) for v in values] if isinstance(values, list) else []

        servers = frame.get("mcp_servers")
        return ClaudeInit(
            session_id=str(frame.get("session_id") or self.session_id),
            cwd=str(frame.get("cwd") or ""),
            model=str(frame.get("model") or ""),
            tools=names("tools"),
            permission_mode=str(frame.get("permissionMode") or "default"),
            api_key_source=str(frame.get("apiKeySource") or "none"),
            version=__version__,
            billing=self.billing,
            uuid=_uuid(frame),
            agents=names("agents"),
            slash_commands=names("slash_commands"),
            skills=names("skills"),
            mcp_servers=tuple(dict(s) for s in servers if isinstance(s, Mapping))
            if isinstance(servers, list)
            else (),
        )

    # -- frame kinds --------------------------------------------------------------------------

    def _system(self, frame: Mapping[str, Any]) -> list[Event]:
        subtype = frame.get("subtype")
        if subtype == "init":
            self.init = dict(frame)
            if frame.get("session_id"):
                self.session_id = str(frame["session_id"])
            return [self.system_init(frame)]
        if subtype == "api_retry":
            status = frame.get("error_status")
            return [
                ApiRetry(
                    self.session_id,
                    attempt=_int(frame.get("attempt")),
                    max_retries=_int(frame.get("max_retries")),
                    retry_delay_ms=_int(frame.get("retry_delay_ms")),
                    error_status=status if isinstance(status, int) else None,
                    error=str(frame.get("error") or ""),
                    uuid=_uuid(frame),
                )
            ]
        if subtype == "compact_boundary":
            return [self._compact_boundary(frame)]
        data = {k: v for k, v in frame.items() if k not in ("type", "subtype", "session_id", "uuid")}
        return [SystemFrame(self.session_id, str(subtype or ""), data, uuid=_uuid(frame))]

    def _compact_boundary(self, frame: Mapping[str, Any]) -> CompactBoundary:
        """claude compacted its conversation: thrifty's own event, so the SDK and the output
        formats treat it as they treat thrifty's (claude's extra metadata is left out)."""
        metadata = frame.get("compact_metadata")
        metadata = metadata if isinstance(metadata, Mapping) else {}
        post, duration = metadata.get("post_tokens"), metadata.get("duration_ms")
        return CompactBoundary(
            self.session_id,
            "manual" if metadata.get("trigger") == "manual" else "auto",
            _int(metadata.get("pre_tokens")),
            post_tokens=post if isinstance(post, int) and not isinstance(post, bool) else None,
            duration_ms=duration if isinstance(duration, int) and not isinstance(duration, bool) else None,
            uuid=_uuid(frame),
        )

    def _stream_event(self, frame: Mapping[str, Any]) -> list[Event]:
        event = frame.get("event")
        if not isinstance(event, Mapping):
            return []
        self._track(event, frame)
        if not self.include_partial:
            return []
        return [StreamEvent(self.session_id, dict(event), uuid=_uuid(frame))]

    def _track(self, event: Mapping[str, Any], frame: Mapping[str, Any]) -> None:
        kind = event.get("type")
        message_id = str(frame.get("api_message_id") or "")
        if kind == "message_start":
            message = event.get("message")
            message = message if isinstance(message, Mapping) else {}
            message_id = str(message.get("id") or message_id)
            usage = message.get("usage")
            self.calls[message_id] = OpenCall(
                message_id, str(message.get("model") or ""), dict(usage) if isinstance(usage, Mapping) else {}
            )
            return
        call = self.calls.get(message_id)
        if call is None:
            return
        if kind == "message_delta":
            usage = event.get("usage")
            if isinstance(usage, Mapping):
                call.usage.update({k: v for k, v in usage.items() if v is not None})
            delta = event.get("delta")
            if isinstance(delta, Mapping) and delta.get("stop_reason"):
                call.stop_reason = str(delta["stop_reason"])
        elif kind == "message_stop":
            call.ended = time.monotonic()
            self.closed.append(self.calls.pop(message_id))

    def _assistant(self, frame: Mapping[str, Any]) -> list[Event]:
        message = frame.get("message")
        if not isinstance(message, Mapping):
            return []
        request_id = frame.get("request_id")
        request_id = str(request_id) if request_id else None
        message_id = str(message.get("id") or "")
        closed = (c for c in self.closed if c.message_id == message_id)
        call = self.calls.get(message_id) or next(closed, None)
        if call is not None:
            call.request_id = call.request_id or request_id
        elif message_id and message_id not in self.done:
            # No message_start seen (a frame claude forwards without its stream events, such as a
            # subagent's): meter what the frame says, as incomplete, rather than nothing. No
            # message_stop will close it either, so it is closed now: left open, it would wait
            # for the end of the process and be lost when claude exits normally.
            usage = message.get("usage")
            usage = dict(usage) if isinstance(usage, Mapping) else {}
            opened = OpenCall(message_id, str(message.get("model") or ""), usage, streamed=False)
            opened.request_id = request_id
            opened.ended = time.monotonic()
            self.closed.append(opened)
        return [AssistantMessage(self.session_id, dict(message), request_id, uuid=_uuid(frame))]

    def _user(self, frame: Mapping[str, Any]) -> list[Event]:
        message = frame.get("message")
        if not isinstance(message, Mapping):
            return []
        content = message.get("content")
        if not isinstance(content, str | list):
            return []
        results = isinstance(content, list) and any(
            isinstance(b, Mapping) and b.get("type") == "tool_result" for b in content
        )
        return [
            UserMessage(
                self.session_id,
                content,
                origin="tool_results" if results else "hook",
                tool_use_result=frame.get("tool_use_result"),
                uuid=_uuid(frame),
            )
        ]


def _uuid(frame: Mapping[str, Any]) -> str:
    value = frame.get("uuid")
    return str(value) if value else new_uuid()


def _int(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0
