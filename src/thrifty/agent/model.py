"""One model call: stream it through the official client and survive what the SDK does not.

The SDK retries only failures before a stream starts. A mid-stream ``error`` event (status 200),
a stream that just stops (``stop_reason`` None) and a dropped connection (a raw ``httpx2``
error) all need the turn re-issued, which is safe here because no tool has run yet. So the
client is built with ``max_retries=0`` and this module owns the whole retry policy, reporting
every retry and every attempt's usage as events.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx2

from thrifty.agent.endings import ApiFailure
from thrifty.agent.events import ApiRetry, ApiUsage, Event, StreamEvent

RAW_EVENTS = {
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
}
UNIFIED_PREFIX = "anthropic-ratelimit-unified-"
RETRYABLE_STREAM_ERRORS = {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}


@dataclass(frozen=True)
class Completed:
    """The last item of ``ModelCaller.call``: the full message and its request id."""

    message: dict[str, Any]
    request_id: str | None
    api_ms: int


class _Retryable(Exception):
    def __init__(self, message: str, status: int | None, delay: float | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.delay = delay


def retry_after(headers: Any) -> float | None:
    """The server's requested delay: ``retry-after-ms``, then ``retry-after`` (seconds or a date)."""
    if headers is None:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return max(0.0, float(ms) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def backoff(retries_taken: int) -> float:
    """The anthropic SDK's own curve: 0.5 s doubling to 8 s, times a jitter in (0.75, 1]."""
    jitter: float = 1 - 0.25 * random.random()
    return float(min(0.5 * 2**retries_taken, 8.0) * jitter)


def _classify(exc: Exception) -> _Retryable | ApiFailure:
    if isinstance(exc, anthropic.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        error = body.get("error") if isinstance(body.get("error"), dict) else {}
        kind = str((error or {}).get("type") or "")
        text = str((error or {}).get("message") or exc.message)
        if exc.status_code == 200:  # an `error` event in the middle of a stream
            if kind in RETRYABLE_STREAM_ERRORS:
                return _Retryable(f"API Error: stream error {kind}: {text}", None)
            return ApiFailure(f"API Error: {kind}: {text}", None)
        should = exc.response.headers.get("x-should-retry")
        status = exc.status_code
        message = f"API Error: {status} {json_error(kind, text)}"
        if should == "false":
            return ApiFailure(message, status)
        if should == "true" or status in (408, 409, 429) or status >= 500:
            return _Retryable(message, status, retry_after(exc.response.headers))
        return ApiFailure(message, status)
    if isinstance(exc, anthropic.APITimeoutError):
        return _Retryable("API Error: Request timed out.", None)
    if isinstance(exc, anthropic.APIConnectionError | httpx2.HTTPError):
        return _Retryable(f"API Error: Connection error ({type(exc).__name__}).", None)
    raise exc


def json_error(kind: str, text: str) -> str:
    return json.dumps({"type": "error", "error": {"type": kind, "message": text}})


class ModelCaller:
    def __init__(
        self,
        client: anthropic.AsyncAnthropic,
        *,
        session_id: str,
        max_retries: int = 4,
        include_partial: bool = False,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.session_id = session_id
        self.max_retries = max_retries
        self.include_partial = include_partial
        self._sleep = sleep
        self._rate_limits: dict[str, str] = {}

    async def call(self, params: dict[str, Any]) -> AsyncIterator[Event | Completed]:
        retries = 0
        while True:
            started = time.monotonic()
            snapshot: dict[str, Any] | None = None
            request_id: str | None = None
            self._rate_limits = {}
            try:
                async with self.client.messages.stream(**params) as stream:
                    request_id = stream.request_id
                    self._rate_limits = {
                        k.lower(): v
                        for k, v in stream.response.headers.items()
                        if k.lower().startswith(UNIFIED_PREFIX)
                    }
                    async for event in stream:
                        if event.type == "message_start":
                            snapshot = stream.current_message_snapshot.model_dump(
                                mode="json", exclude_none=True
                            )
                        if self.include_partial and event.type in RAW_EVENTS:
                            yield StreamEvent(
                                self.session_id, event.model_dump(mode="json", exclude_none=True)
                            )
                    snapshot = stream.current_message_snapshot.model_dump(mode="json", exclude_none=True)
                api_ms = int((time.monotonic() - started) * 1000)
                if snapshot.get("stop_reason") is None:
                    yield self._usage(snapshot, request_id, started, complete=False, attempt=retries)
                    raise _Retryable(
                        "API Error: the response stream ended before the message was complete", None
                    )
                yield self._usage(snapshot, request_id, started, complete=True, attempt=retries)
                yield Completed(snapshot, request_id, api_ms)
                return
            except (anthropic.APIError, httpx2.HTTPError, _Retryable) as exc:
                if snapshot is not None and not isinstance(exc, _Retryable):
                    # Billed: the input was processed once message_start arrived.
                    yield self._usage(snapshot, request_id, started, complete=False, attempt=retries)
                verdict = exc if isinstance(exc, _Retryable) else _classify(exc)
                if isinstance(verdict, ApiFailure) or retries >= self.max_retries:
                    if isinstance(verdict, ApiFailure):
                        raise verdict from exc
                    raise ApiFailure(str(verdict), verdict.status) from exc
                delay = verdict.delay if verdict.delay is not None else backoff(retries)
                retries += 1
                yield ApiRetry(
                    self.session_id,
                    retries,
                    self.max_retries,
                    int(delay * 1000),
                    verdict.status,
                    str(verdict),
                )
                await self._sleep(delay)

    def _usage(
        self,
        snapshot: dict[str, Any],
        request_id: str | None,
        started: float,
        *,
        complete: bool,
        attempt: int,
    ) -> ApiUsage:
        return ApiUsage(
            session_id=self.session_id,
            request_id=request_id,
            message_id=snapshot.get("id"),
            model=str(snapshot.get("model") or ""),
            usage=dict(snapshot.get("usage") or {}),
            duration_ms=int((time.monotonic() - started) * 1000),
            complete=complete,
            attempt=attempt,
            rate_limits=dict(self._rate_limits),
        )
