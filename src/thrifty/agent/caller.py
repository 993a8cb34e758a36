"""The seam between the loop and the model: "send this request, yield events, give me the message".

The loop knows nothing of HTTP, streams or batches. Behind ``Caller`` sit the live streaming
callers (``model.FastCaller``, the default for API runs: HTTP spoken directly over ``httpx2``
without loading the anthropic SDK; ``model.ModelCaller`` over the official client, for a caller's
own client or ``THRIFTY_HTTP_CLIENT=anthropic``; both share one retry and metering loop and are
checked against each other item for item), and later a batch-backed caller (the request waits in
a shared Message Batch at the batch price); tests plug in a scripted one. Whatever the
transport, the loop's accounting and endings must come out the same, so retries and metering
are part of the contract below rather than of any one implementation.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol

from thrifty.core.events import Event


@dataclass(frozen=True)
class Completed:
    """The last item of ``Caller.call``: the full message and its request id."""

    message: dict[str, Any]
    request_id: str | None
    #: Time spent on the attempt that produced ``message`` (``duration_api_ms`` adds these up).
    api_ms: int


class Caller(Protocol):
    """One model request, whatever carries it. The contract every implementation keeps:

    **Request.** ``params`` are Messages API ``create`` arguments (``model``, ``max_tokens``,
    ``system``, ``messages``, optional ``tools`` and ``thinking``) with cache breakpoints already
    set. The caller sends them as given and does not mutate them.

    **Events, in order.** ``StreamEvent`` (raw SSE events, only when partial messages were asked
    for), ``ApiUsage``, ``RateLimit`` and ``ApiRetry``; then exactly one ``Completed`` as the
    last item, whose message has a ``stop_reason``. Nothing follows ``Completed``.

    **Metering.** Every attempt the API billed is reported as one ``ApiUsage`` as soon as its
    usage is known, before anything else can fail: a completed attempt with ``complete=True``
    (just before ``Completed``), a failed one that got past ``message_start`` with
    ``complete=False``; ``attempt`` counts retries from 0 and ``rate_limits`` carries the
    response's plan-window headers. The caller never writes the ledger, prices or checks a
    budget: the loop records each ``ApiUsage`` the moment it arrives (the meter prices it, at the
    batch rate in ``batch`` billing mode) and checks budgets before each call.

    **Retries.** The caller owns them all; the loop never re-issues a request (re-issuing is safe
    because no tool runs between attempts). Before each retry it yields one ``ApiRetry`` (attempt
    number, the limit, the wait, the status and readable text), then waits. A 429 yields a
    ``RateLimit`` with ``status: rejected`` first. It gives up after ``max_retries`` retries.

    **Failure.** The call ends by raising ``endings.ApiFailure`` (``RateLimited`` when the server
    asks for a longer wait than the run allows) with readable text, the HTTP status and error
    type; never after ``Completed``, and never a transport's own exception for a failure it
    recognises (anything else is a bug and crashes the run loudly). Cancellation
    (``asyncio.CancelledError``) is not caught: it is how ``Session.interrupt`` stops a turn.
    """

    def call(self, params: dict[str, Any]) -> AsyncIterator[Event | Completed]: ...
