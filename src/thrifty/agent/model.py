"""One model call: stream it and survive what the SDK does not.

The SDK retries only failures before a stream starts. A mid-stream ``error`` event (status 200),
a stream that just stops (``stop_reason`` None) and a dropped connection all need the turn
re-issued, which is safe here because no tool has run yet. So the official client is built with
``max_retries=0`` and this module owns the whole retry policy, reporting every retry and every
attempt's usage as events.

Two transports carry the requests, behind one retry and metering loop (``ModelCaller.call``):
the official client (``anthropic.AsyncAnthropic``, for a caller's own client and with
``THRIFTY_HTTP_CLIENT=anthropic``) and ``wire.WireClient``, the fast path that never loads the
SDK (``FastCaller``). Each is a ``_Source``: it opens one attempt, names the raw events as they
come, dumps them and the message snapshot as the SDK's ``model_dump(mode="json",
exclude_none=True)`` does, and translates its own exceptions into ``HttpStatusFailure`` /
``TransportFailure``, which are all the loop classifies. So both yield the same items.

Rate limits: a 429 asking for a wait up to the run's ``RateLimitPolicy`` allowance is retried
after that wait; a longer one ends the run at once (``RateLimited``, exit 75) with the limit and
when it resets, instead of sleeping for hours. Failures end with readable text (``api_errors``);
the raw response body goes to the debug log only.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import logging
import random
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, Protocol, TypeAlias

from thrifty.agent import api_errors
from thrifty.agent.caller import Completed
from thrifty.agent.options import SHORT_RATE_LIMIT_WAIT_S, AgentOptions, RateLimitPolicy
from thrifty.agent.wire.accumulate import MessageAccumulator
from thrifty.agent.wire.client import WireClient, WireStream
from thrifty.agent.wire.errors import HttpStatusFailure, TransportFailure
from thrifty.agent.wire.http11 import HttpError
from thrifty.billing.secret import redact
from thrifty.billing.windows import rate_limit_info
from thrifty.core.endings import ApiFailure, RateLimited
from thrifty.core.events import ApiRetry, ApiUsage, Event, RateLimit, StreamEvent
from thrifty.core.usage import Usage

if TYPE_CHECKING:
    import anthropic

#: Claude Code's "api" debug category (``--debug api``): raw error bodies and transport failures.
log = logging.getLogger("thrifty.api")

RAW_EVENTS = {
    "message_start",
    "content_block_start",
    "content_block_delta",
    "content_block_stop",
    "message_delta",
    "message_stop",
}
UNIFIED_PREFIX = api_errors.UNIFIED
RETRYABLE_STREAM_ERRORS = {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}
#: A mid-stream error has no HTTP status of its own; Claude Code reports these two by the status
#: the same error has as an HTTP answer.
STREAM_ERROR_STATUS = {"overloaded_error": 529, "rate_limit_error": 429}


@dataclass(eq=False)
class _Retryable(Exception):
    """A failed attempt that may be re-issued; ``message`` is the readable text if it is the last."""

    message: str
    status: int | None
    error_type: str | None = None
    #: The server's requested wait (``retry-after``), if it asked for one.
    delay: float | None = None
    headers: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.message


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


def requested_wait(headers: Any, *, now: float) -> float | None:
    """How long a 429 asks to wait: ``retry-after``, else a rejected plan window's reset."""
    delay = retry_after(headers)
    if delay is not None or headers is None:
        return delay
    unified = api_errors.unified_headers(headers)
    reset = unified.get(f"{UNIFIED_PREFIX}reset")
    if unified.get(f"{UNIFIED_PREFIX}status") == "rejected" and reset:
        try:
            return max(0.0, float(reset) - now)
        except ValueError:
            return None
    return None


def backoff(retries_taken: int) -> float:
    """The anthropic SDK's own curve: 0.5 s doubling to 8 s, times a jitter in (0.75, 1]."""
    jitter: float = 1 - 0.25 * random.random()
    return float(min(0.5 * 2**retries_taken, 8.0) * jitter)


def _error_fields(exc: HttpStatusFailure) -> tuple[str | None, str]:
    """The body's ``error.type`` (when it is an identifier) and ``error.message``."""
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    if not isinstance(error, dict):  # not the API's shape (a proxy's page): no type to report
        return None, ""
    kind, text = error.get("type"), error.get("message")
    error_type = kind if isinstance(kind, str) and kind.replace("_", "").isalnum() else None
    return error_type, text if isinstance(text, str) else ""


class _Attempt(Protocol):
    """One streaming request in flight, as the loop sees it whatever carries it."""

    request_id: str | None
    headers: Mapping[str, str]

    def types(self) -> AsyncIterator[str]:
        """The ``type`` of each event the SDK's ``MessageStream`` would yield, in order."""
        ...

    def event(self) -> dict[str, Any]:
        """The latest event, dumped as ``model_dump(mode="json", exclude_none=True)``."""
        ...

    def snapshot(self) -> dict[str, Any]:
        """``current_message_snapshot``, dumped likewise."""
        ...


class _Source(Protocol):
    """A transport: opens attempts, and says what its exceptions mean (None: not its own)."""

    endpoint: str

    def open(self, params: dict[str, Any]) -> AbstractAsyncContextManager[_Attempt]: ...

    def translate(self, exc: Exception) -> HttpStatusFailure | TransportFailure | None: ...

    def timeout(self) -> float | None: ...

    def credentials(self) -> list[str]: ...


class _SdkAttempt:
    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self.request_id: str | None = stream.request_id
        self.headers: Mapping[str, str] = stream.response.headers
        self._event: Any = None

    async def types(self) -> AsyncIterator[str]:
        async for event in self._stream:
            self._event = event
            yield str(event.type)

    def event(self) -> dict[str, Any]:
        return dict(self._event.model_dump(mode="json", exclude_none=True))

    def snapshot(self) -> dict[str, Any]:
        return dict(self._stream.current_message_snapshot.model_dump(mode="json", exclude_none=True))


class _SdkSource:
    """The official client's ``messages.stream``; built with ``max_retries=0`` (this module retries).

    A dropped stream surfaces as ``anthropic.APIConnectionError`` (2.17) or the raw transport
    error (``httpx2.HTTPError``, 2.13); a stalled one as ``anthropic.APITimeoutError`` or a raw
    ``httpx2.TimeoutException``: both spellings are translated alike.
    """

    def __init__(self, client: anthropic.AsyncAnthropic) -> None:
        self.client = client
        self.endpoint = str(client.base_url)

    @asynccontextmanager
    async def open(self, params: dict[str, Any]) -> AsyncIterator[_Attempt]:
        async with self.client.messages.stream(**params) as stream:
            yield _SdkAttempt(stream)

    def translate(self, exc: Exception) -> HttpStatusFailure | TransportFailure | None:
        import anthropic  # already loaded: this source holds an anthropic client
        import httpx2  # loaded with it

        if isinstance(exc, anthropic.APIStatusError):
            request_id = exc.request_id if exc.status_code != 200 else None
            return HttpStatusFailure(exc.status_code, exc.response.headers, exc.body, request_id)
        if isinstance(exc, anthropic.APITimeoutError | httpx2.TimeoutException):
            return TransportFailure("timeout", exc)
        if isinstance(exc, anthropic.APIConnectionError | httpx2.HTTPError):
            return TransportFailure("connection", exc)
        if isinstance(exc, anthropic.APIError):
            return TransportFailure("other", exc)
        return None

    def timeout(self) -> float | None:
        timeout = getattr(self.client, "timeout", None)
        if isinstance(timeout, int | float):
            return float(timeout)
        read = getattr(timeout, "read", None)
        return float(read) if isinstance(read, int | float) else None

    def credentials(self) -> list[str]:
        return [v for v in (self.client.api_key, self.client.auth_token) if v]


class _WireAttempt:
    def __init__(self, stream: WireStream) -> None:
        self._stream = stream
        self.request_id = stream.request_id
        self.headers = stream.headers
        self._accumulator = MessageAccumulator()
        self._event: dict[str, Any] = {}

    async def types(self) -> AsyncIterator[str]:
        async for data in self._stream.events():
            self._accumulator.feed(data)
            self._event = data
            yield str(data.get("type"))

    def event(self) -> dict[str, Any]:
        return self._accumulator.report(self._event)

    def snapshot(self) -> dict[str, Any]:
        return self._accumulator.snapshot()


class _WireSource:
    """``wire.WireClient``: raises ``HttpStatusFailure`` itself, and ``http11.HttpError`` for no answer."""

    def __init__(self, client: WireClient) -> None:
        self.client = client
        self.endpoint = client.base_url

    @asynccontextmanager
    async def open(self, params: dict[str, Any]) -> AsyncIterator[_Attempt]:
        async with self.client.stream(params) as stream:
            yield _WireAttempt(stream)

    def translate(self, exc: Exception) -> HttpStatusFailure | TransportFailure | None:
        if isinstance(exc, HttpStatusFailure):
            return exc
        if isinstance(exc, HttpError):
            return TransportFailure(exc.kind, exc)
        return None

    def timeout(self) -> float | None:
        return self.client.timeout_s

    def credentials(self) -> list[str]:
        return self.client.credentials


#: What carries a ``ModelCaller``'s requests.
Transport: TypeAlias = "anthropic.AsyncAnthropic | WireClient"


class ModelCaller:
    """The live ``caller.Caller``: one streaming request per attempt, retried and metered here.

    ``client`` is the official ``anthropic.AsyncAnthropic`` or the fast path's ``WireClient``;
    the protocol's retry and metering contract is the same code over either.
    """

    @classmethod
    def from_options(cls, client: Transport, session_id: str, options: AgentOptions) -> ModelCaller:
        """The caller a session gets when it is given none, configured from the run's options."""
        return cls(
            client,
            session_id=session_id,
            max_retries=options.max_retries,
            include_partial=options.include_partial_messages,
            on_rate_limit=options.on_rate_limit,
        )

    def __init__(
        self,
        client: Transport,
        *,
        session_id: str,
        max_retries: int = 4,
        include_partial: bool = False,
        on_rate_limit: RateLimitPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self._source: _Source = _WireSource(client) if isinstance(client, WireClient) else _SdkSource(client)
        self.session_id = session_id
        self.max_retries = max_retries
        self.include_partial = include_partial
        self.on_rate_limit = on_rate_limit or RateLimitPolicy()
        self._sleep = sleep
        self._rate_limits: dict[str, str] = {}

    @property
    def endpoint(self) -> str:
        return self._source.endpoint

    async def call(self, params: dict[str, Any]) -> AsyncIterator[Event | Completed]:
        retries = 0
        overloaded = 0  # overloaded answers in a row, for the 'Repeated 529' text
        while True:
            started = time.monotonic()
            snapshot: dict[str, Any] | None = None
            request_id: str | None = None
            self._rate_limits = {}
            try:
                async with self._source.open(params) as attempt:
                    request_id = attempt.request_id
                    self._rate_limits = api_errors.unified_headers(attempt.headers)
                    async for kind in attempt.types():
                        if kind == "message_start":
                            snapshot = attempt.snapshot()
                        if self.include_partial and kind in RAW_EVENTS:
                            yield StreamEvent(self.session_id, attempt.event())
                    snapshot = attempt.snapshot()
                api_ms = int((time.monotonic() - started) * 1000)
                if snapshot.get("stop_reason") is None:
                    yield self._usage(snapshot, request_id, started, complete=False, attempt=retries)
                    raise _Retryable(api_errors.truncated_stream_text(), None, api_errors.CONNECTION_ERROR)
                yield self._usage(snapshot, request_id, started, complete=True, attempt=retries)
                yield Completed(snapshot, request_id, api_ms)
                return
            except Exception as exc:
                failure = exc if isinstance(exc, _Retryable) else self._source.translate(exc)
                if failure is None:
                    raise
                if snapshot is not None and not isinstance(failure, _Retryable):
                    # Billed: the input was processed once message_start arrived.
                    yield self._usage(snapshot, request_id, started, complete=False, attempt=retries)
                overloaded = overloaded + 1 if _overloaded(failure) else 0
                if isinstance(failure, TransportFailure) and failure.kind == "other":
                    raise
                verdict = (
                    failure
                    if isinstance(failure, _Retryable)
                    else self._classify(failure, params, overloaded)
                )
                if isinstance(verdict, ApiFailure):
                    raise verdict from exc
                if verdict.status == 429 and verdict.headers:
                    # As Claude Code: the plan window's state, rejected, before the result.
                    info = {**rate_limit_info(verdict.headers), "status": "rejected"}
                    yield RateLimit(self.session_id, info)
                try:
                    verdict, delay = self._next_attempt(verdict, retries)
                except ApiFailure as failure_:
                    raise failure_ from exc
                retries += 1
                yield ApiRetry(
                    self.session_id,
                    retries,
                    self.max_retries,
                    int(delay * 1000),
                    verdict.status,
                    verdict.message,
                )
                await self._sleep(delay)

    def _next_attempt(self, verdict: _Retryable, retries: int) -> tuple[_Retryable, float]:
        """How long to wait before the next attempt; raises the ending when there is none.

        A 429 asking for more than the policy's wait ends the run at once (``RateLimited``); one
        asking for a long wait the policy allows is waited for; other waits are the server's
        ``retry-after`` (a 5xx asking for hours gets the usual backoff instead) or the backoff.
        """
        delay = verdict.delay
        if verdict.status == 429 and delay is not None:
            long_wait = delay > SHORT_RATE_LIMIT_WAIT_S
            if delay > self.on_rate_limit.max_wait_s:
                raise self._rate_limited(verdict, delay, "refused")
            if long_wait and retries >= self.max_retries:
                raise self._rate_limited(verdict, delay, "exhausted")
            if long_wait:
                verdict = replace(verdict, message=self._long_wait_text(verdict, delay, "waiting"))
        elif delay is not None and delay > SHORT_RATE_LIMIT_WAIT_S:
            delay = None  # --on-rate-limit is about rate limits: other long asks get the backoff
        if retries >= self.max_retries:
            raise ApiFailure(verdict.message, verdict.status, verdict.error_type)
        return verdict, delay if delay is not None else backoff(retries)

    def _classify(
        self, exc: HttpStatusFailure | TransportFailure, params: dict[str, Any], overloaded_in_a_row: int
    ) -> _Retryable | ApiFailure:
        if isinstance(exc, HttpStatusFailure):
            error_type, text = _error_fields(exc)
            self._log_body(exc)
            text = redact(text, *self._credentials())
            if exc.status == 200:  # an `error` event in the middle of a stream
                kind = error_type or "api_error"
                message = api_errors.stream_error_text(kind, text, endpoint=self.endpoint)
                status = STREAM_ERROR_STATUS.get(kind)
                if kind in RETRYABLE_STREAM_ERRORS:
                    return _Retryable(message, status, kind)
                return ApiFailure(message, status, kind)
            status = exc.status
            headers = exc.headers
            message = api_errors.status_text(
                status,
                text,
                model=str(params.get("model") or ""),
                endpoint=self.endpoint,
                overloaded_in_a_row=overloaded_in_a_row,
            )
            should = headers.get("x-should-retry")
            if status == 429:
                now = time.time()
                plan = api_errors.plan_limit_text(
                    headers, api_errors.resets_at(headers, retry_after(headers), now=now), now=now
                )
                wait = requested_wait(headers, now=now)
                unified = api_errors.unified_headers(headers)
                if should != "false" or (wait is not None and wait > SHORT_RATE_LIMIT_WAIT_S):
                    return _Retryable(plan or message, status, error_type, wait, unified)
                return ApiFailure(plan or message, status, error_type)
            if should == "false":
                return ApiFailure(message, status, error_type)
            if should == "true" or status in (408, 409) or status >= 500:
                return _Retryable(message, status, error_type, retry_after(headers))
            return ApiFailure(message, status, error_type)
        self._log_transport(exc.cause)
        if exc.kind == "timeout":
            timeout = self._source.timeout()
            return _Retryable(api_errors.timeout_text(timeout), None, api_errors.REQUEST_TIMEOUT)
        text = redact(api_errors.connection_text(exc.cause, self.endpoint), *self._credentials())
        return _Retryable(text, None, api_errors.CONNECTION_ERROR)

    def _rate_limited(self, verdict: _Retryable, delay: float | None, state: str) -> RateLimited:
        now = time.time()
        reset = api_errors.resets_at(verdict.headers, delay, now=now)
        return RateLimited(
            self._long_wait_text(verdict, delay, state),
            verdict.status,
            verdict.error_type,
            resets_at=reset,
        )

    def _long_wait_text(self, verdict: _Retryable, delay: float | None, state: str) -> str:
        now = time.time()
        reset = api_errors.resets_at(verdict.headers, delay, now=now)
        return api_errors.long_wait_text(
            verdict.message, reset, now=now, policy=self.on_rate_limit.describe(), state=state
        )

    def _credentials(self) -> list[str]:
        return self._source.credentials()

    def _log_body(self, exc: HttpStatusFailure) -> None:
        """The raw error body, for ``--debug-file``: never in the result, secrets redacted."""
        if not log.isEnabledFor(logging.DEBUG):
            return
        body = json.dumps(exc.body) if exc.body is not None else "(none)"
        log.debug(
            "API error response: status=%s request_id=%s body=%s",
            exc.status,
            exc.request_id if exc.status != 200 else None,
            redact(body, *self._credentials()),
        )

    def _log_transport(self, exc: Exception) -> None:
        if log.isEnabledFor(logging.DEBUG):
            chain, current, seen = [], exc.__cause__ or exc.__context__, 0
            while current is not None and seen < 8:
                chain.append(f"{type(current).__name__}: {current}")
                current, seen = current.__cause__ or current.__context__, seen + 1
            text = f"{type(exc).__name__}: {exc}" + "".join(f" <- {c}" for c in chain)
            log.debug("API request failed without a response: %s", redact(text, *self._credentials()))

    def _usage(
        self,
        snapshot: dict[str, Any],
        request_id: str | None,
        started: float,
        *,
        complete: bool,
        attempt: int,
    ) -> ApiUsage:
        block = snapshot.get("usage")
        raw: dict[str, Any] = dict(block) if isinstance(block, dict) else {}
        return ApiUsage(
            session_id=self.session_id,
            request_id=request_id,
            message_id=snapshot.get("id"),
            model=str(snapshot.get("model") or ""),
            usage=Usage.from_api(raw),
            raw_usage=raw,
            duration_ms=int((time.monotonic() - started) * 1000),
            complete=complete,
            attempt=attempt,
            rate_limits=dict(self._rate_limits),
        )


def _overloaded(exc: Exception) -> bool:
    if isinstance(exc, HttpStatusFailure):
        return exc.status == 529 or _error_fields(exc)[0] == "overloaded_error"
    return False


class FastCaller(ModelCaller):
    """``ModelCaller`` over ``wire.WireClient``: the same loop, without loading the SDK."""

    def __init__(self, client: WireClient, **kwargs: Any) -> None:
        super().__init__(client, **kwargs)
