"""What an import has already read, so the next one reads only new bytes.

Claude Code only ever appends to a transcript, so per file we remember its identity (device and
inode), its size and mtime when last read, and the offset just past its last complete line.
Next time a file is:

- unchanged (same inode, size and mtime): not opened at all;
- grown (same inode, size at least the offset): read from the offset, after checking that the
  bytes just before it are still the ones we read (a file rewritten in place reads from 0);
- replaced or shrunk (another inode, or smaller than the offset): read again from 0.

Re-reading is always safe: the ledger keys rows by request id and keeps the most complete copy
of a call, so a call offered twice is recorded once, and a call offered again with more of its
response (a line still being written when the last import ran, whose end is read now) replaces
its partial row. That is why the offset is that of the last *complete* line and a whole last
line without its newline is read again next time: its call is offered again, never lost. The
state is one small JSON file per ledger under the data dir, and it names one row the ledger
must still hold (the witness, by request id: an upgrade may change the row's time): a ledger
that was deleted or replaced since has lost the rows the state vouches for, so the state is
dropped and everything is read again.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from dataclasses import astuple, dataclass
from pathlib import Path
from typing import IO, Any

from thrifty.billing import paths
from thrifty.billing.ledger import Ledger, RowQuery

VERSION = 2
#: Bytes before the offset whose hash must still match for a grown file to be read from there.
TAIL = 256


@dataclass(frozen=True)
class FileState:
    dev: int
    ino: int
    size: int
    mtime_ns: int
    #: Just past the last complete line read.
    offset: int
    #: sha1 of the ``TAIL`` bytes before ``offset`` (hex; empty at offset 0).
    tail: str


@dataclass(frozen=True)
class Plan:
    """How to read one file this time: from ``start`` (``None``: nothing new), and why."""

    start: int | None
    #: new | grown | unchanged | reset
    why: str
    size: int
    stat: os.stat_result


def tail_hash(f: IO[bytes], offset: int) -> str:
    if offset <= 0:
        return ""
    begin = max(0, offset - TAIL)
    f.seek(begin)
    return hashlib.sha1(f.read(offset - begin)).hexdigest()


def state_path(ledger_location: str, source: str) -> Path:
    digest = hashlib.sha256(ledger_location.encode("utf-8")).hexdigest()[:16]
    return paths.data_dir() / "imports" / f"{source}-{digest}.json"


class ImportState:
    def __init__(self, path: Path, ledger_location: str) -> None:
        self.path = path
        self.ledger_location = ledger_location
        self.files: dict[str, FileState] = {}
        #: (request_id, recorded_at ISO when written) of a row the ledger held after the last
        #: import; only the request id is checked.
        self.witness: tuple[str, str] | None = None
        #: Whether anything changed since loading (an import that read nothing writes nothing).
        self.dirty = True

    @classmethod
    def load(cls, path: Path, ledger_location: str) -> ImportState:
        """The saved state, or an empty one when there is none or it cannot be read (which only
        costs a full re-read, never a wrong total)."""
        state = cls(path, ledger_location)
        try:
            doc = json.loads(path.read_bytes())
            if doc.get("version") != VERSION or doc.get("ledger") != ledger_location:
                return state
            state.files = {name: FileState(*fields) for name, fields in doc["files"].items()}
            witness = doc.get("witness")
            state.witness = (str(witness[0]), str(witness[1])) if witness else None
        except (OSError, ValueError, TypeError, KeyError, IndexError):
            return cls(path, ledger_location)
        state.dirty = False
        return state

    def update(self, name: str, fs: FileState) -> None:
        self.files[name] = fs
        self.dirty = True

    def forget(self, name: str) -> None:
        del self.files[name]
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        doc: dict[str, Any] = {
            "version": VERSION,
            "ledger": self.ledger_location,
            "witness": list(self.witness) if self.witness else None,
            # name: [dev, ino, size, mtime_ns, offset, tail]
            "files": {name: list(astuple(fs)) for name, fs in sorted(self.files.items())},
        }
        self.path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.{os.getpid()}.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(json.dumps(doc, separators=(",", ":")))
        tmp.replace(self.path)
        self.dirty = False

    def witness_holds(self, ledger: Ledger, source: str) -> bool:
        """False when the ledger no longer has the row the last import left it with."""
        if self.witness is None:
            return True
        return bool(ledger.query(RowQuery(request_id=self.witness[0], source=source)))

    def plan(self, name: str, st: os.stat_result, *, full: bool) -> Plan:
        prev = None if full else self.files.get(name)
        if prev is None:
            return Plan(0, "new", st.st_size, st)
        if (st.st_dev, st.st_ino) != (prev.dev, prev.ino) or st.st_size < prev.offset:
            return Plan(0, "reset", st.st_size, st)
        if st.st_size == prev.size and st.st_mtime_ns == prev.mtime_ns:
            return Plan(None, "unchanged", st.st_size, st)
        if prev.offset and prev.tail:
            with open(name, "rb") as f:
                if tail_hash(f, prev.offset) != prev.tail:
                    return Plan(0, "reset", st.st_size, st)
        return Plan(prev.offset, "grown", st.st_size, st)


@contextlib.contextmanager
def exclusive(path: Path) -> Iterator[None]:
    """One import per state file at a time (a second waits): they would read the same bytes."""
    try:
        import fcntl
    except ImportError:  # not POSIX: concurrent imports only cost duplicate reads
        yield
        return
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path.with_name(path.name + ".lock"), os.O_RDWR | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)
