"""The default ledger: one SQLite file, shared safely by every thrifty process on the machine.

- WAL, so reports read while agents write, and ``synchronous=FULL``, so a committed row survives
  a power cut as well as a crash: the ledger is the record of money spent and never loses a row.
- A 30 s busy timeout: eight agents appending at once queue for the write lock instead of failing.
- Costs are TEXT (the exact ``Decimal`` string: SQLite's numbers are binary floats), times are
  fixed-width ISO-8601 UTC text (so ``ORDER BY``/``<`` on text is time order), JSON as TEXT.
- The file is created 0600 (it names every project worked on); SQLite gives its ``-wal`` and
  ``-shm`` files the same mode.
"""

from __future__ import annotations

import json
import os
import sqlite3
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from thrifty.billing.ledger import holds
from thrifty.billing.ledger.contract import LOGGED_COST_TAG, LedgerBusy, LedgerError, Recorded
from thrifty.billing.ledger.migrations import MIGRATIONS_TABLE, migrate
from thrifty.billing.ledger.sql import Dialect, SqlLedger

BUSY_TIMEOUT_S = 30.0
BUSY_TIMEOUT_MS = int(BUSY_TIMEOUT_S * 1000)
MEMORY = ":memory:"


def _encode_time(dt: datetime) -> str:
    # Not strftime: "%Y" does not zero-pad years below 1000 on every libc, and width is order here.
    return (
        f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}T"
        f"{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}.{dt.microsecond:06d}Z"
    )


def _decode_json(text: str | None) -> dict[str, str] | None:
    return None if text is None else dict(json.loads(text))


def _encode_json(value: dict[str, str] | None) -> str | None:
    return None if value is None else json.dumps(value, ensure_ascii=False, sort_keys=True)


DIALECT = Dialect(
    name="sqlite",
    ph="?",
    encode_cost=lambda c: None if c is None else str(c),
    decode_cost=lambda v: None if v is None else Decimal(v),
    encode_time=_encode_time,
    decode_time=lambda v: datetime.fromisoformat(v).astimezone(UTC),
    encode_json=_encode_json,
    decode_json=_decode_json,
    encode_bool=int,
    has_rate_limits="rate_limits IS NOT NULL AND rate_limits <> '{}'",
    sum_in_store=False,
    # Whole seconds only: SQLite's date functions round the fraction to milliseconds, which would
    # put 23:59:59.9999995 in the next second (and bucket). unixepoch() is 3.38's; strftime older.
    epoch_seconds="unixepoch(substr(recorded_at, 1, 19))"
    if sqlite3.sqlite_version_info >= (3, 38)
    else "CAST(strftime('%s', substr(recorded_at, 1, 19)) AS INTEGER)",
    logged_cost=f"json_extract(tags, '$.{LOGGED_COST_TAG}')",
    join_texts="group_concat({})",
    fence=" LIMIT -1",
    # Aggregate FILTER clauses came in 3.30.
    can_group=sqlite3.sqlite_version_info >= (3, 30),
    text_time=True,
    tag_value="""json_extract(tags, '$."' || {} || '"')""",
    tag_literal="""json_extract(tags, '$."{}"')""",
)
#: ``aggregate``: sorter threads per connection (SQLite sorts every row of a large GROUP BY).
SORTER_THREADS = max(1, min(4, os.cpu_count() or 1))


def _create_private(path: Path) -> None:
    """Create the file 0600 before SQLite does, since SQLite would honour only the umask."""
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.close(fd)


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


class _Migrations:
    dialect = "sqlite"

    def __init__(self, conn: sqlite3.Connection, location: str) -> None:
        self.conn = conn
        self.location = location

    def applied(self) -> set[str] | None:
        exists = self.conn.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (MIGRATIONS_TABLE,)
        ).fetchone()
        if exists is None:
            return None
        return {name for (name,) in self.conn.execute(f"SELECT name FROM {MIGRATIONS_TABLE}")}  # noqa: S608

    @contextmanager
    def exclusive(self) -> Iterator[None]:
        with _transaction(self.conn):
            yield

    def execute(self, sql: str) -> None:
        self.conn.execute(sql)

    def record(self, name: str) -> None:
        self.conn.execute(
            f"INSERT INTO {MIGRATIONS_TABLE} (name, applied_at) VALUES (?, ?)",  # noqa: S608
            (name, _encode_time(datetime.now(UTC))),
        )


@contextmanager
def _transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """IMMEDIATE: take the write lock up front (waiting up to the busy timeout), never mid-way."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise


def _is_lock_wait(exc: sqlite3.Error) -> bool:
    """SQLITE_BUSY or SQLITE_LOCKED: another connection holds what this statement needs."""
    code = getattr(exc, "sqlite_errorcode", None)  # absent on the driver's own errors
    return code is not None and code & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _until_unlocked(step: Callable[[], None]) -> None:
    """Run ``step``, retrying while another process holds the database lock, for up to the busy
    timeout. Switching a new file to WAL can answer "database is locked" at once, without the
    busy handler, when several processes create the same ledger at the same moment."""
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    while True:
        try:
            step()
            return
        except sqlite3.OperationalError as exc:
            text = str(exc).lower()
            if ("locked" not in text and "busy" not in text) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)


class SqliteLedger(SqlLedger):
    def __init__(self, path: Path | str) -> None:
        memory = str(path) == MEMORY
        location = MEMORY if memory else str(Path(path).expanduser().absolute())
        super().__init__(location, DIALECT)
        self._immediate = False
        #: The busy timeout is 0 (left so by ``immediate``) until the next statement outside it.
        self._waits_off = False
        try:
            if not memory:
                _create_private(Path(location))
            # isolation_level=None: the driver opens no transactions behind our back; we do, explicitly.
            self._conn = sqlite3.connect(
                location, timeout=BUSY_TIMEOUT_S, isolation_level=None, check_same_thread=False
            )
        except (OSError, sqlite3.Error) as exc:
            raise LedgerError(f"cannot open SQLite ledger at {location}: {_one_line(exc)}") from None
        try:
            with self._guard():
                self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                _until_unlocked(lambda: self._set_up(location, memory))
        except BaseException:
            self._conn.close()
            raise

    def _set_up(self, location: str, memory: bool) -> None:
        if not memory:
            mode = self._conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
            if str(mode).lower() != "wal":
                raise LedgerError(f"cannot put SQLite ledger at {location} in WAL mode (got {mode})")
        self._conn.execute("PRAGMA synchronous = FULL")
        self._conn.execute(f"PRAGMA threads = {SORTER_THREADS}")
        migrate(_Migrations(self._conn, location))

    @contextmanager
    def _guard(self) -> Iterator[None]:
        try:
            if self._waits_off and not self._immediate:  # every statement outside runs under this
                self._conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                self._waits_off = False
            yield
        except sqlite3.Error as exc:
            if self._immediate and _is_lock_wait(exc):
                raise LedgerBusy(
                    f"SQLite ledger at {self.location} is being written by another process"
                ) from exc
            raise LedgerError(f"SQLite ledger at {self.location}: {_one_line(exc)}") from exc

    @contextmanager
    def immediate(self) -> Iterator[None]:
        """A block whose statements never wait: where one would wait for another process's write
        lock, or for this connection in use on another thread, it raises ``LedgerBusy`` at once,
        having written nothing. For a writer on an event loop, which must not stall for up to
        the busy timeout; a write inside still waits for its own fsync.

        The busy timeout is put back by the next statement outside such a block (``_guard``),
        not on leaving it, so a session's run of writes costs no extra statement each."""
        if not self._lock.acquire(blocking=False):
            raise LedgerBusy(f"SQLite ledger at {self.location} is in use on another thread")
        try:
            if not self._waits_off:
                with self._guard():
                    self._conn.execute("PRAGMA busy_timeout = 0")
                self._waits_off = True
            self._immediate = True
            try:
                yield
            finally:
                self._immediate = False
        finally:
            self._lock.release()

    def _execute(self, sql: str, params: Sequence[Any]) -> int:
        # Autocommit: the statement is its own transaction, committed (and fsynced) when it returns.
        return self._conn.execute(sql, params).rowcount

    def _record_many(self, records: Sequence[tuple[str, Sequence[Any]]]) -> Recorded:
        # Row by row, to know what each did: in-process, that costs about a third more than
        # executemany on the inserts, a small part of any import. The write lock is held from
        # BEGIN IMMEDIATE, so what a row found is what it changed.
        new: list[str] = []
        upgraded: list[str] = []
        execute = self._conn.execute
        with _transaction(self._conn):
            for request_id, record in records:
                if execute(self._insert, record).rowcount == 1:
                    new.append(request_id)
                elif execute(self._upsert, record).rowcount == 1:
                    upgraded.append(request_id)
        return Recorded(tuple(new), tuple(upgraded))

    def _fetch(self, sql: str, params: Sequence[Any]) -> list[Sequence[Any]]:
        return list(self._conn.execute(sql, params).fetchall())

    def _execute_settling(self, sql: str, params: Sequence[Any], settle: str) -> int:
        # One transaction, so still one fsync per call: the row and the end of its hold.
        with _transaction(self._conn):
            count = self._conn.execute(sql, params).rowcount
            self._conn.execute(holds.delete_sql(DIALECT), (settle,))
        return count

    @contextmanager
    def _holding(self, scopes: Sequence[str]) -> Iterator[holds.Run]:
        # BEGIN IMMEDIATE is the store's one write lock: every check of every scope serialises on
        # it, and a settle (also a write) can never land between a check's reads. The hold is
        # committed with synchronous=NORMAL: in WAL that skips the fsync (the next durable commit,
        # the call's own row, syncs it along), so a reservation costs no extra fsync per call.
        conn = self._conn
        conn.execute("PRAGMA synchronous = NORMAL")
        try:
            with _transaction(conn):
                yield lambda sql, params: list(conn.execute(sql, params).fetchall())
        finally:
            conn.execute("PRAGMA synchronous = FULL")

    def _close(self) -> None:
        self._conn.close()
