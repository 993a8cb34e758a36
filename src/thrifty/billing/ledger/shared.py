"""One ledger connection per process and ledger, shared by every session, with a writer thread.

A thousand in-process sessions used to open a thousand connections to the same ledger (three
descriptors each for SQLite: the file, its ``-wal`` and its ``-shm``), so near the descriptor
limit their HTTP sockets failed; and every insert ran on the event loop, stalling all the other
sessions for the length of an fsync. Here:

- ``shared_ledger(url)`` returns a handle on the one open ledger of this process for ``url``
  (keyed by the resolved file path, or the URL for PostgreSQL); handles are reference-counted and
  the last ``close()`` closes the connection. ``:memory:`` is never shared (each is its own store).
- Every handle of one ledger shares one connection, so one lock (``SqlLedger``'s) serialises its
  statements; the connections are opened thread-safe (SQLite with ``check_same_thread=False``).
  PostgreSQL gets one connection too, not a pool: the appends are serial on it anyway (one
  durable transaction each, acknowledged in order), a process never holds more than one server
  slot however many sessions it runs (``max_connections`` is 100 by default), and the 8-process
  figure of ``bench/ledger_bench.py`` is per connection, unchanged.
- ``append_async`` / ``run_async`` run the durable write on the ledger's own writer thread and
  resolve an event-loop future when it is committed: the awaiting session does not move on before
  its row is durable, while the loop keeps running every other session. Not ``asyncio.to_thread``:
  a thousand writes queued behind one lock would occupy the default executor, which also resolves
  host names for the HTTP client. Nothing is batched: each row is still its own transaction.
- One exception: a SQLite ledger with a single handle (one session in this process) whose writer
  is idle writes on the loop, in the ledger's ``immediate()`` mode. No other session exists to
  be stalled, and the hand-off to the thread and back (two cross-thread wake-ups, about a third
  of a millisecond of CPU per call on a 2-core VM, a sixth of a turn) is saved. The write still
  waits for its fsync; a write that would wait for a lock (another process writing) is handed
  to the thread instead, so the loop never waits out the busy timeout.
"""

from __future__ import annotations

import atexit
import contextlib
import os
import queue
import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from thrifty.billing import paths
from thrifty.billing.ledger.contract import (
    Bucket,
    CapCheck,
    Ledger,
    LedgerBusy,
    LedgerError,
    Recorded,
    Refusal,
    Reservation,
    ScopeSpend,
)
from thrifty.billing.ledger.open import open_url, sqlite_path
from thrifty.billing.ledger.rows import LedgerRow, RowQuery
from thrifty.billing.ledger.sqlite import MEMORY
from thrifty.billing.ledger.urls import SCHEME

if TYPE_CHECKING:
    import asyncio

T = TypeVar("T")
Job = Callable[[Ledger], Any]


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    if future.done():  # the awaiting session was cancelled; the write itself has still happened
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)


class _Writer:
    """One thread that runs a ledger's queued jobs in order, each to the end (cancelled or not)."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._jobs: queue.SimpleQueue[tuple[Job, asyncio.AbstractEventLoop, asyncio.Future[Any]] | None]
        self._jobs = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._start_lock = threading.Lock()
        #: Jobs submitted and not yet finished (read without the lock: a hint for ``idle``).
        self._pending = 0

    @property
    def idle(self) -> bool:
        return self._pending == 0

    def submit(self, job: Job, loop: asyncio.AbstractEventLoop, future: asyncio.Future[Any]) -> None:
        with self._start_lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name=f"thrifty-ledger-writer {self._ledger.location}", daemon=True
                )
                self._thread.start()
            self._pending += 1
            self._jobs.put((job, loop, future))

    def _run(self) -> None:
        while (item := self._jobs.get()) is not None:
            job, loop, future = item
            result: Any = None
            error: BaseException | None = None
            try:
                result = job(self._ledger)
            except BaseException as exc:  # handed to the awaiting session, never lost here
                error = exc
            with self._start_lock:
                self._pending -= 1
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody is waiting
                loop.call_soon_threadsafe(_settle, future, result, error)

    def stop(self) -> None:
        """Finish every queued job, then end the thread."""
        with self._start_lock:
            thread, self._thread = self._thread, None
            if thread is None:
                return
            self._jobs.put(None)
        if thread is not threading.current_thread():
            thread.join()


@dataclass
class _Entry:
    key: tuple[int, str] | None
    ledger: Ledger
    writer: _Writer
    refs: int = 0

    def immediate(self) -> contextlib.AbstractContextManager[None] | None:
        """The ledger's no-wait mode, where a write may run on the loop (see the module's note)."""
        mode = getattr(self.ledger, "immediate", None)  # SQLite's; a server's commit stays off the loop
        if mode is None or self.refs != 1 or not self.writer.idle:
            return None
        opened: contextlib.AbstractContextManager[None] = mode()
        return opened

    def shut(self) -> None:
        try:
            self.writer.stop()
        finally:
            self.ledger.close()


_registry: dict[tuple[int, str], _Entry] = {}
_registry_lock = threading.Lock()


def ledger_key(url: str | None) -> str | None:
    """What makes two URLs the same ledger in this process: the real file path, or the URL.

    ``None`` for ``:memory:``, which is a new store every time it is opened."""
    if url is None:
        return os.path.realpath(paths.default_ledger_path())
    match = SCHEME.match(url)
    scheme = match.group(1).lower() if match else None
    if scheme in (None, "sqlite") and url.strip():
        path = sqlite_path(url)
        if path == MEMORY:
            return None
        return os.path.realpath(Path(path).expanduser())
    return url


class SharedLedger:
    """A reference-counted handle on a process-wide ledger connection; itself a ``Ledger``."""

    def __init__(self, entry: _Entry) -> None:
        self._entry = entry
        self.location = entry.ledger.location
        self._closed = False

    def _ledger(self) -> Ledger:
        if self._closed:
            raise LedgerError(f"ledger at {self.location} was closed")
        return self._entry.ledger

    # -- Ledger -----------------------------------------------------------------------------------
    def append(self, row: LedgerRow, *, settle: str | None = None) -> bool:
        return self._ledger().append(row, settle=settle)

    def append_many(self, rows: Iterable[LedgerRow]) -> int:
        return self._ledger().append_many(rows)

    def record_many(self, rows: Iterable[LedgerRow]) -> Recorded:
        return self._ledger().record_many(rows)

    def query(self, q: RowQuery) -> list[LedgerRow]:
        return self._ledger().query(q)

    def aggregate(
        self,
        q: RowQuery,
        *,
        by: Sequence[str] = (),
        bucket_seconds: int | None = None,
        bucket_offset: int = 0,
        times: bool = True,
        logged: bool = True,
    ) -> list[Bucket]:
        return self._ledger().aggregate(
            q, by=by, bucket_seconds=bucket_seconds, bucket_offset=bucket_offset, times=times, logged=logged
        )

    def spend(self, *, mode: str, since: datetime, until: datetime | None = None) -> Decimal:
        return self._ledger().spend(mode=mode, since=since, until=until)

    def latest_rate_limits(self, account: str) -> tuple[datetime, dict[str, str]] | None:
        return self._ledger().latest_rate_limits(account)

    def reserve(
        self,
        scopes: Sequence[str],
        amount: Decimal,
        checks: Sequence[CapCheck],
        *,
        ttl: timedelta,
        now: datetime,
        session_id: str = "",
        replaces: str | None = None,
    ) -> Reservation | Refusal:
        return self._ledger().reserve(
            scopes, amount, checks, ttl=ttl, now=now, session_id=session_id, replaces=replaces
        )

    def release(self, reservation_id: str) -> None:
        self._ledger().release(reservation_id)

    def scope_spend(self, scope: str, *, since: datetime, now: datetime) -> ScopeSpend:
        return self._ledger().scope_spend(scope, since=since, now=now)

    def close(self) -> None:
        """Release this handle (again is a no-op); the last one closes the connection."""
        if self._closed:
            return
        self._closed = True
        entry = self._entry
        with _registry_lock:
            entry.refs -= 1
            last = entry.refs == 0
            if last and entry.key is not None and _registry.get(entry.key) is entry:
                del _registry[entry.key]
        if last:
            entry.shut()

    def __enter__(self) -> SharedLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<SharedLedger {self.location} ({self._entry.refs} open)>"

    # -- off the event loop -----------------------------------------------------------------------
    async def run_async(self, job: Callable[[Ledger], T]) -> T:
        """Run ``job(ledger)`` on the ledger's writer thread; return (or raise) what it did.

        The job runs to its end even if the awaiting task is cancelled meanwhile, and the
        connection is not closed before every queued job has run. A lone handle may run it on
        the loop instead (see the module's note): a job that catches errors must let
        ``LedgerBusy`` through, and it is then run again on the thread."""
        ledger = self._ledger()  # a closed handle refuses here, not later on the writer thread
        immediate = self._entry.immediate()
        if immediate is not None:
            try:
                with immediate:
                    return job(ledger)
            except LedgerBusy:
                pass  # another process (or thread) is writing: wait for it on the writer thread
        import asyncio  # here: status and reports open this ledger and never need an event loop

        loop = asyncio.get_running_loop()
        future: asyncio.Future[T] = loop.create_future()
        self._entry.writer.submit(job, loop, future)
        return await future

    async def append_async(self, row: LedgerRow) -> bool:
        """``append`` (durable before it returns) without blocking the event loop meanwhile."""
        return await self.run_async(lambda ledger: ledger.append(row))


def shared_ledger(url: str | None = None) -> SharedLedger:
    """A handle on this process's one open ledger at ``url``, opening (and migrating) it if needed.

    The same URLs as ``open_ledger``; close the handle when done."""
    key = ledger_key(url)
    if key is None:
        ledger = open_url(url)
        entry = _Entry(None, ledger, _Writer(ledger), refs=1)
        return SharedLedger(entry)
    full = (os.getpid(), key)  # a forked child opens its own: a connection must not cross a fork
    with _registry_lock:
        entry_or_none = _registry.get(full)
        if entry_or_none is None:
            ledger = open_url(url)
            entry_or_none = _Entry(full, ledger, _Writer(ledger))
            _registry[full] = entry_or_none
        entry_or_none.refs += 1
        return SharedLedger(entry_or_none)


def open_count() -> int:
    """How many shared ledgers this process holds open (for tests and diagnostics)."""
    pid = os.getpid()
    with _registry_lock:
        return sum(1 for (owner, _), _entry in _registry.items() if owner == pid)


@atexit.register
def _finish_writes() -> None:
    """At exit, let every queued write finish (the connections close with the process)."""
    pid = os.getpid()
    with _registry_lock:
        entries = [entry for (owner, _), entry in _registry.items() if owner == pid]
    for entry in entries:
        entry.writer.stop()
