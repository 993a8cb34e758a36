"""``BatchPool``: many sessions' pending model calls go out together as one Message Batch.

Each session's ``BatchCaller`` hands the pool the exact body it would have streamed (cache
breakpoints included, so the batch reads the prefix the session's previous turn cached) and waits.
The pool sends what is pending as one batch as soon as every member session is waiting (or when
the gather window passes, or at ``max_requests``), so a fleet of N sessions makes one batch of N
per turn rather than N live calls: half the price, for minutes of latency.

The batch is journaled before the create call and its id right after (``pool_journal``), then
polled with a doubling interval; each waiting call gets its own result. Succeeded results are
metered by the sessions' loops like any call (mode ``batch``, request id
``batch:<batch id>:<custom id>``); the pool marks the batch ``collected`` once each of them was,
and writes itself the rows of results no session took (a session cancelled meanwhile) when it
closes. ``stale`` and ``settle`` are the rerun's half: a journaled batch not collected is polled
to its end and its rows recorded, never submitted again; the ledger's request-id key keeps each
row once.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from thrifty.batch.costs import batch_row, request_id
from thrifty.batch.pool_journal import COLLECTED, SUBMITTED, SUBMITTING, Owner, PoolJournal, PoolRecord

if TYPE_CHECKING:
    import anthropic

    from thrifty.billing.ledger import Ledger, LedgerRow
    from thrifty.billing.prices import PriceTable

#: A batch found among the account's when recovering may have been created this long before the
#: journal's clock said (clock skew between this host and the API).
SKEW_S = 300.0


@dataclass(frozen=True)
class PoolPolicy:
    """When a batch goes out and how often it is polled. The first poll comes ``poll_s`` after
    the create call, then the interval doubles up to ``max_poll_s``: a batch usually ends within
    minutes, sometimes hours, and every poll is a request."""

    gather_s: float = 5.0
    max_requests: int = 10_000
    poll_s: float = 5.0
    max_poll_s: float = 60.0
    #: Polls that fail in a row before the waiting calls fail (the batch stays journaled).
    poll_failures: int = 10


@dataclass(frozen=True)
class Outcome:
    """One request's answer from its batch: the API's ``result`` object, as a dict."""

    batch_id: str
    custom_id: str
    result: dict[str, Any]

    @property
    def request_id(self) -> str:
        return request_id(self.batch_id, self.custom_id)


class PoolFailure(Exception):
    """The batch could not be created or read; ``status`` is the HTTP status when there was one."""

    def __init__(self, message: str, status: int | None, retryable: bool) -> None:
        super().__init__(message)
        self.status = status
        self.retryable = retryable


@dataclass
class _Entry:
    custom_id: str
    params: dict[str, Any]
    owner: Owner
    future: asyncio.Future[Outcome]


@dataclass
class _Sent:
    record: PoolRecord
    ended_at: datetime
    #: Succeeded results no session has metered yet: custom id -> message.
    undelivered: dict[str, dict[str, Any]] = field(default_factory=dict)


class BatchPool:
    """Shared by every session of a run (a fleet): ``join`` when a session opens, ``leave`` when
    it ends, so the pool knows when everyone is waiting. One event loop; not thread-safe."""

    def __init__(
        self,
        client: anthropic.AsyncAnthropic,
        journal: PoolJournal,
        *,
        ledger: Ledger | None,
        prices: PriceTable,
        policy: PoolPolicy | None = None,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.client = client
        self.journal = journal
        self.ledger = ledger
        self.prices = prices
        self.policy = policy or PoolPolicy()
        self.sleep = sleep
        self.active = 0
        #: Every batch this pool created, in order, with its number of requests.
        self.sent: list[tuple[str, int]] = []
        #: Rows written by ``settle`` and ``close`` (not by the sessions).
        self.rows_recorded = 0
        #: What ``stale`` and ``settle`` could not place or read, one line each.
        self.notes: list[str] = []
        self._pending: list[_Entry] = []
        self._in_flight = 0
        self._timer: asyncio.TimerHandle | None = None
        self._check: asyncio.Handle | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._open: dict[str, _Sent] = {}

    # -- members and requests ----------------------------------------------------------------

    def join(self) -> None:
        self.active += 1

    def leave(self) -> None:
        self.active = max(0, self.active - 1)
        self._soon()

    async def request(self, custom_id: str, params: dict[str, Any], owner: Owner) -> Outcome:
        """Wait for this request's result in the next batch; ``PoolFailure`` if there is none."""
        future: asyncio.Future[Outcome] = asyncio.get_running_loop().create_future()
        entry = _Entry(custom_id, params, owner, future)
        self._pending.append(entry)
        self._soon()
        try:
            return await future
        except asyncio.CancelledError:
            if entry in self._pending:
                self._pending.remove(entry)
            raise

    def delivered(self, outcome: Outcome) -> None:
        """The session's loop has recorded this result's row: once all are, the batch is done."""
        sent = self._open.get(outcome.batch_id)
        if sent is None:
            return
        sent.undelivered.pop(outcome.custom_id, None)
        if not sent.undelivered:
            self._collected(sent.record)

    def _soon(self) -> None:
        """Decide after the ready sessions have run a step: those started in the same instant
        join and queue their first request before a lone one would go out as a batch of one."""
        if self._check is None:
            self._check = asyncio.get_running_loop().call_soon(self._consider)

    def _consider(self) -> None:
        self._check = None
        if not self._pending:
            self._cancel_timer()
            return
        everyone = max(1, self.active - self._in_flight)
        if len(self._pending) >= everyone or len(self._pending) >= self.policy.max_requests:
            self._flush()
        elif self._timer is None:
            self._timer = asyncio.get_running_loop().call_later(self.policy.gather_s, self._flush)

    def _cancel_timer(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _flush(self) -> None:
        self._cancel_timer()
        entries = self._pending[: self.policy.max_requests]
        del self._pending[: len(entries)]
        if not entries:
            return
        self._in_flight += len(entries)
        task = asyncio.get_running_loop().create_task(self._run(entries))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        if self._pending:
            self._soon()

    # -- one batch ---------------------------------------------------------------------------

    async def _run(self, entries: list[_Entry]) -> None:
        """Every waiting call gets an answer, whatever happens here: a session must never hang."""
        try:
            await self._send(entries)
        except Exception as exc:
            failure = (
                exc if isinstance(exc, PoolFailure) else PoolFailure(f"batch failed: {exc!r}", None, False)
            )
            for entry in entries:
                if not entry.future.done():
                    entry.future.set_exception(failure)
        except BaseException:
            for entry in entries:
                entry.future.cancel()
            raise
        finally:
            self._in_flight -= len(entries)

    async def _send(self, entries: list[_Entry]) -> None:
        import anthropic

        owners = {e.custom_id: e.owner for e in entries}
        record = PoolRecord(uuid.uuid4().hex, SUBMITTING, time.time(), owners)
        self.journal.put(record)
        requests = [{"custom_id": e.custom_id, "params": e.params} for e in entries]
        try:
            # Never retried by the client: a retried create could make two batches.
            batch = await self.client.with_options(max_retries=0).messages.batches.create(
                requests=requests  # type: ignore[arg-type]
            )
        except anthropic.APIStatusError as exc:
            self.journal.forget(record.key)  # answered with an error: no batch was made
            raise PoolFailure(
                _error_text(exc),
                exc.status_code,
                exc.status_code in (408, 409, 429) or exc.status_code >= 500,
            ) from None
        except anthropic.APIError as exc:  # no answer: the batch may exist; a rerun looks for it
            raise PoolFailure(f"could not create the batch ({type(exc).__name__})", None, False) from None
        record.batch_id, record.state = batch.id, SUBMITTED
        self.journal.put(record)
        self.sent.append((batch.id, len(entries)))
        ended_at = await self._wait(batch.id)
        results = await self._results(batch.id)
        sent = _Sent(record, ended_at)
        for custom_id, result in results.items():
            message = result.get("message")
            if result.get("type") == "succeeded" and isinstance(message, dict) and custom_id in owners:
                sent.undelivered[custom_id] = message
        self._open[batch.id] = sent
        if not sent.undelivered:
            self._collected(record)
        for entry in entries:
            result = results.get(entry.custom_id) or {"type": "errored", "error": _missing(entry.custom_id)}
            if not entry.future.done():
                entry.future.set_result(Outcome(batch.id, entry.custom_id, result))

    async def _wait(self, batch_id: str) -> datetime:
        """Poll until the batch ends; its ``ended_at`` (when the API bills it)."""
        interval, failures = self.policy.poll_s, 0
        while True:
            await self.sleep(interval)
            interval = min(interval * 2, self.policy.max_poll_s)
            try:
                batch = await self.client.messages.batches.retrieve(batch_id)
            except Exception as exc:  # a transient failure must not lose the batch: poll again
                failures += 1
                if failures >= self.policy.poll_failures:
                    raise PoolFailure(
                        f"could not read batch {batch_id} ({type(exc).__name__})", None, False
                    ) from None
                continue
            failures = 0
            if batch.processing_status == "ended":
                ended = batch.ended_at
                return ended.astimezone(UTC) if isinstance(ended, datetime) else datetime.now(UTC)

    async def _results(self, batch_id: str) -> dict[str, dict[str, Any]]:
        try:
            stream = await self.client.messages.batches.results(batch_id)
            return {entry.custom_id: entry.result.to_dict() async for entry in stream}
        except Exception as exc:
            raise PoolFailure(
                f"could not read the results of batch {batch_id} ({type(exc).__name__})", None, False
            ) from None

    def _collected(self, record: PoolRecord) -> None:
        record.state = COLLECTED
        self.journal.put(record)
        if record.batch_id is not None:
            self._open.pop(record.batch_id, None)

    # -- the end, and a rerun ----------------------------------------------------------------

    async def close(self) -> None:
        """Wait for batches still out, then record the results no session took."""
        self._cancel_timer()
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
        for sent in list(self._open.values()):
            batch_id = sent.record.batch_id
            assert batch_id is not None
            rows = [
                batch_row(batch_id, cid, sent.record.owners[cid], message, self.prices, sent.ended_at)
                for cid, message in sent.undelivered.items()
            ]
            self._record(rows)
            self._collected(sent.record)

    def abandon(self) -> None:
        """Stop without waiting (the run is being cancelled): batches still out stay journaled
        and not collected, so the next run of the fleet polls and records them (``settle``)."""
        self._cancel_timer()
        for task in self._tasks:
            task.cancel()

    async def stale(self) -> tuple[list[PoolRecord], list[str]]:
        """The batches a killed run left journaled and not collected, each with its batch id
        (looked for, for one killed during its create call), and notes on those it could not
        place. Called before this run sends a batch, so none of its own can be mistaken for one."""
        found: list[PoolRecord] = []
        notes: list[str] = []
        for record in self.journal.open_records():
            if record.batch_id is None:
                try:
                    notes.extend(await self._adopt(record) or [])
                except Exception as exc:  # the account's list could not be read: try next run
                    notes.append(f"batch journal {record.key}: could not look for its batch ({exc!r})")
            if record.batch_id is not None:
                found.append(record)
        return found, notes

    async def settle(self, records: list[PoolRecord]) -> list[str]:
        """Poll each of ``stale``'s batches to its end and record its rows; nothing is submitted
        again. Notes on the batches it could not read (they stay for the next run)."""
        notes: list[str] = []
        for record in records:
            assert record.batch_id is not None
            try:
                ended_at = await self._wait(record.batch_id)
                results = await self._results(record.batch_id)
            except PoolFailure as failure:
                notes.append(str(failure))
                continue
            rows = [
                batch_row(record.batch_id, cid, owner, message, self.prices, ended_at)
                for cid, owner in record.owners.items()
                if (result := results.get(cid, {})).get("type") == "succeeded"
                and isinstance(message := result.get("message"), dict)
            ]
            self._record(rows)
            self._collected(record)
        return notes

    async def _adopt(self, record: PoolRecord) -> list[str] | None:
        """A record killed during its create call: the batch made then, if the account has exactly
        one that fits (created since, as many requests, not journaled); None when none does
        (the call never reached the API, so there is nothing to bill)."""
        known = {r.batch_id for r in self.journal.records() if r.batch_id}
        fits: list[str] = []
        async for batch in self.client.messages.batches.list(limit=100):
            created = batch.created_at.timestamp()
            if created < record.started_at - SKEW_S:
                break
            counts = batch.request_counts
            total = counts.processing + counts.succeeded + counts.errored + counts.canceled + counts.expired
            if batch.id not in known and total == len(record.owners):
                fits.append(batch.id)
        if not fits:
            self.journal.forget(record.key)
            return None
        if len(fits) > 1:
            return [
                f"batch journal {record.key}: {len(fits)} batches could be it "
                f"({', '.join(fits)}); not recorded"
            ]
        record.batch_id, record.state = fits[0], SUBMITTED
        self.journal.put(record)
        return []

    def _record(self, rows: list[LedgerRow]) -> None:
        if rows and self.ledger is not None:
            done = self.ledger.record_many(rows)
            self.rows_recorded += len(done.new) + len(done.upgraded)


def _missing(custom_id: str) -> dict[str, Any]:
    return {
        "type": "error",
        "error": {"type": "api_error", "message": f"the batch has no result for {custom_id}"},
    }


def _error_text(exc: Any) -> str:
    body = exc.body if isinstance(exc.body, dict) else {}
    error = body.get("error")
    text = error.get("message") if isinstance(error, dict) else None
    return str(text or exc.message)


__all__ = ["BatchPool", "Outcome", "PoolFailure", "PoolPolicy"]
