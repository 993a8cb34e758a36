"""``BatchCaller``: the ``agent.caller.Caller`` whose requests wait in a shared Message Batch.

The loop cannot tell it from the live caller: it gets the same items (``ApiUsage`` then
``Completed`` with the whole message, ``ApiRetry`` before a retry) and the same endings
(``ApiFailure`` with the live path's words for the same error), so tools, permissions, hooks,
transcripts and budgets work unchanged. Only the price differs: ``open_batch_session`` sets the
session's meter to mode ``batch``, so each result is priced at the batch discount, and the
``ApiUsage`` carries the batch request id ``batch:<batch id>:<custom id>`` (the ledger's key, the
one ``thrifty batch results`` uses), so a rerun recording the same result adds nothing.

Retries: an ``errored`` result the live path would retry (overloaded, api_error, rate limit,
timeout) and an ``expired`` one go into the next batch, up to ``max_retries``; the rest end the
run as the live answer would. No stream, so ``include_partial_messages`` yields no partials.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import AsyncIterator
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from thrifty.agent import api_errors
from thrifty.agent.caller import Completed
from thrifty.batch.pool import BatchPool, Outcome, PoolFailure
from thrifty.batch.pool_journal import Owner
from thrifty.core.endings import ApiFailure
from thrifty.core.events import ApiRetry, ApiUsage, Event
from thrifty.core.usage import Usage

if TYPE_CHECKING:
    from thrifty.agent.session import Session
    from thrifty.billing.meter import MeterContext
    from thrifty.sdk.options import Options

#: The HTTP status the same error has as a live answer (for the result's ``api_error_status``).
STATUS_OF = {
    "invalid_request_error": 400,
    "authentication_error": 401,
    "billing_error": 402,
    "permission_error": 403,
    "not_found_error": 404,
    "request_too_large": 413,
    "rate_limit_error": 429,
    "api_error": 500,
    "timeout_error": 504,
    "overloaded_error": 529,
}
RETRYABLE = {"overloaded_error", "api_error", "rate_limit_error", "timeout_error"}
#: How long a batched call's budget reservation holds: a batch may take up to 24 hours, and a
#: reservation that lapsed while its call waited would let other calls spend the same headroom.
RESERVATION_TTL = timedelta(hours=25)


class BatchCaller:
    """One session's calls through the shared ``BatchPool``; ``bind`` names who pays."""

    def __init__(self, pool: BatchPool | None, *, endpoint: str = "") -> None:
        #: None until ``attach``: a lone run's pool needs the client its session resolved.
        self.pool = pool
        self.endpoint = endpoint
        self.owner: Owner | None = None
        self.max_retries = 4
        self._calls = 0

    def attach(self, pool: BatchPool) -> None:
        self.pool = pool
        self.endpoint = str(pool.client.base_url)

    def bind(self, context: MeterContext, max_retries: int) -> None:
        self.owner = Owner(context.session_id, context.account, context.project, dict(context.tags))
        self.max_retries = max_retries

    def _custom_id(self) -> str:
        """The session and its call number: unique in a batch, readable in the API's console."""
        assert self.owner is not None
        self._calls += 1
        safe = "".join(c for c in self.owner.session_id if c.isalnum() or c in "_-")[:48]
        return f"{safe}-{self._calls}"

    async def call(self, params: dict[str, Any]) -> AsyncIterator[Event | Completed]:
        if self.owner is None or self.pool is None:
            raise RuntimeError("BatchCaller.bind or attach was not called")
        retries = 0
        overloaded = 0
        while True:
            started = time.monotonic()
            try:
                outcome = await self.pool.request(self._custom_id(), params, self.owner)
            except PoolFailure as failure:
                text, status, kind, retry = str(failure), failure.status, "api_error", failure.retryable
            else:
                message = outcome.result.get("message")
                if outcome.result.get("type") == "succeeded" and isinstance(message, dict):
                    waited = int((time.monotonic() - started) * 1000)
                    yield self._usage(outcome, message, waited, retries)
                    # The loop has recorded the row by now (it does before taking the next item).
                    self.pool.delivered(outcome)
                    yield Completed(message, outcome.request_id, waited)
                    return
                text, status, kind, retry = self._failure(outcome, params, overloaded)
            overloaded = overloaded + 1 if kind == "overloaded_error" else 0
            if not retry or retries >= self.max_retries:
                raise ApiFailure(text, status, kind)
            retries += 1
            delay = min(0.5 * 2 ** (retries - 1), 8.0)
            yield ApiRetry(self.owner.session_id, retries, self.max_retries, int(delay * 1000), status, text)
            await self.pool.sleep(delay)

    def _failure(
        self, outcome: Outcome, params: dict[str, Any], overloaded: int
    ) -> tuple[str, int | None, str, bool]:
        """Readable text, status, error type and whether to retry: the live path's words."""
        kind = str(outcome.result.get("type"))
        if kind == "expired":  # not processed within 24 hours: the next batch may be luckier
            return "API Error: the batch expired before this request was processed", None, "expired", True
        if kind == "canceled":
            return "API Error: the batch was canceled", None, "canceled", False
        body = outcome.result.get("error")
        error = body.get("error") if isinstance(body, dict) else None
        error = error if isinstance(error, dict) else {}
        error_type = str(error.get("type") or "api_error")
        status = STATUS_OF.get(error_type, 500)
        text = api_errors.status_text(
            status,
            str(error.get("message") or ""),
            model=str(params.get("model") or ""),
            endpoint=self.endpoint,
            overloaded_in_a_row=overloaded + (error_type == "overloaded_error"),
        )
        return text, status, error_type, error_type in RETRYABLE

    def _usage(self, outcome: Outcome, message: dict[str, Any], waited: int, attempt: int) -> ApiUsage:
        assert self.owner is not None
        raw = message.get("usage")
        block: dict[str, Any] = dict(raw) if isinstance(raw, dict) else {}
        return ApiUsage(
            session_id=self.owner.session_id,
            request_id=outcome.request_id,
            message_id=message.get("id"),
            model=str(message.get("model") or ""),
            usage=Usage.from_api(block),
            raw_usage=block,
            duration_ms=waited,
            complete=True,
            attempt=attempt,
        )


def open_batch_session(options: Options, pool: BatchPool) -> Session:
    """``sdk.runner.open_session`` with its calls through ``pool``, metered at the batch price.

    ``SetupError`` for a plan run: ``claude`` makes a plan run's calls, and the Batches API
    takes API credentials only."""
    from thrifty.agent.session import Session
    from thrifty.agent.validate import SetupError
    from thrifty.batch.context import PLAN_REFUSED
    from thrifty.sdk.options import build

    built = build(options)
    caller = BatchCaller(pool, endpoint=str(pool.client.base_url))
    session = Session(built.agent, client=built.client, ask=built.ask, caller=caller)
    if session.claude is not None:
        session.prepared.billing.close()
        raise SetupError(PLAN_REFUSED)
    if built.ask is not None:
        built.ask.session = session
    batched(session, caller)
    return session


def batched(session: Session, caller: BatchCaller) -> None:
    """Price the session's calls as batched (mode ``batch``) and hold their budget reservations
    as long as a batch may take; ``caller`` learns who pays."""
    session.meter.context = dataclasses.replace(session.meter.context, mode="batch")
    session.guard.reservation_ttl = RESERVATION_TTL
    caller.bind(session.meter.context, session.options.max_retries)
