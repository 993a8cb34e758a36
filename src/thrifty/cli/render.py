"""Renderers of the one event stream: ``text``, ``json`` and ``stream-json``, as Claude Code prints them."""

from __future__ import annotations

import json
from typing import Any, TextIO

from thrifty.agent.options import SHORT_RATE_LIMIT_WAIT_S
from thrifty.core.events import (
    ApiRetry,
    AssistantMessage,
    BillingNotice,
    Event,
    Result,
    StreamEvent,
    TaskEvent,
    UserMessage,
)

#: Retry waits longer than this are announced on stderr in text and json modes.
LONG_WAIT_MS = SHORT_RATE_LIMIT_WAIT_S * 1000


def _dump(frame: dict[str, Any] | list[dict[str, Any]]) -> str:
    return json.dumps(frame, ensure_ascii=False, separators=(",", ":"))


def frames(event: Event, *, include_partial: bool) -> list[dict[str, Any]]:
    """The stream-json frames for one event (none for events that are not on the wire)."""
    if isinstance(event, StreamEvent):
        return [event.to_frame()] if include_partial else []
    if isinstance(event, AssistantMessage):
        # One frame per content block; blocks of one response share message.id.
        base = event.to_frame()
        out = []
        for block in event.message.get("content") or []:
            frame = dict(base)
            frame["message"] = {**event.message, "content": [block]}
            out.append(frame)
        return out
    if isinstance(event, UserMessage):
        return [event.to_frame()] if event.origin != "prompt" else []
    single: dict[str, Any] | None = event.to_frame()
    return [single] if single is not None else []


class Renderer:
    def __init__(
        self, fmt: str, out: TextIO, *, verbose: bool, include_partial: bool, err: TextIO | None = None
    ) -> None:
        self.fmt = fmt
        self.out = out
        self.err = err
        self.verbose = verbose
        self.include_partial = include_partial
        self._all: list[dict[str, Any]] = []

    def __call__(self, event: Event) -> None:
        if self.fmt == "stream-json":
            for frame in frames(event, include_partial=self.include_partial):
                self.out.write(_dump(frame) + "\n")
                self.out.flush()
            return
        if isinstance(event, BillingNotice) and self.err is not None:
            # Who-pays warnings must be seen, but never break the JSON on stdout.
            self.err.write(f"thrifty: {event.message}\n")
            self.err.flush()
        if isinstance(event, ApiRetry) and self.err is not None and event.retry_delay_ms > LONG_WAIT_MS:
            # A rate-limit wait the user allowed (--on-rate-limit wait): say why nothing happens.
            self.err.write(f"thrifty: {event.error}\n")
            self.err.flush()
        # claude's verbose json array leaves the task_* frames out, as stream-json alone has them.
        if self.fmt == "json" and self.verbose and not isinstance(event, TaskEvent):
            self._all.extend(frames(event, include_partial=False))
        if isinstance(event, Result):
            self._finish(event)

    def _finish(self, result: Result) -> None:
        if self.fmt == "json":
            self.out.write(_dump(self._all if self.verbose else result.to_frame()) + "\n")
        else:
            text = result.result if result.result is not None else f"Error: {'; '.join(result.errors)}"
            self.out.write(text + "\n")
        self.out.flush()
