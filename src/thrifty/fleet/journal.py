"""A fleet's journal: what started and what finished, so a rerun skips finished jobs.

One directory per fleet, ``<data dir>/fleets/<fleet id>/``:

- ``meta.json``: the fleet id, the jobs' hash and when the fleet was first run;
- ``starts.jsonl``: one line per job attempt, ``{"id", "attempt", "session_id", "at"}``, appended
  and fsynced *before* the attempt's session makes its first call, so every ledger row the
  fleet writes belongs to a session the journal names (the per-job cost in the summary);
- ``results.jsonl``: one result line per finished attempt, appended and fsynced as it ends; the
  latest line of a job is its result;
- ``work/<job>``: the checkouts of jobs with a ``repo``;
- ``lock``: held (``flock``) while a coordinator runs the fleet, so two cannot run it at once.

A line cut short by a crash is skipped when read back.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

FLEET_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class FleetBusy(RuntimeError):
    """Another coordinator holds this fleet's lock."""


def check_fleet_id(value: str) -> str:
    if not FLEET_ID.match(value):
        raise ValueError(
            f"fleet id {value!r} must be 1-64 letters, digits, '_', '.' or '-', "
            "starting with a letter or digit"
        )
    return value


def _read_lines(path: Path) -> list[dict[str, Any]]:
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        return []
    out = []
    for line in text.splitlines():
        try:
            data = json.loads(line)
        except json.JSONDecodeError:  # a line cut short by a crash
            continue
        if isinstance(data, dict) and isinstance(data.get("id"), str | int):
            out.append(data)
    return out


def _append(handle: IO[str], data: dict[str, Any]) -> None:
    handle.write(json.dumps(data, ensure_ascii=False) + "\n")
    handle.flush()
    os.fsync(handle.fileno())


@dataclass
class FleetJournal:
    root: Path
    fleet_id: str
    created_at: float = 0.0
    #: The hash of the jobs the fleet was first run with.
    jobs_hash: str = ""
    #: job id -> the session ids of its attempts, oldest first.
    sessions: dict[str, list[str]] = field(default_factory=dict)
    #: job id -> its latest result line.
    results: dict[str, dict[str, Any]] = field(default_factory=dict)
    _starts: IO[str] | None = field(default=None, repr=False)
    _results: IO[str] | None = field(default=None, repr=False)
    _lock: IO[str] | None = field(default=None, repr=False)

    @classmethod
    def open(cls, fleets_dir: Path, fleet_id: str, jobs_hash: str) -> FleetJournal:
        root = fleets_dir / check_fleet_id(fleet_id)
        root.mkdir(parents=True, exist_ok=True)
        journal = cls(root, fleet_id)
        journal._take_lock()
        try:
            journal._load(jobs_hash)
            journal._starts = (root / "starts.jsonl").open("a", encoding="utf-8")
            journal._results = (root / "results.jsonl").open("a", encoding="utf-8")
        except BaseException:
            journal.close()
            raise
        return journal

    def _take_lock(self) -> None:
        handle = (self.root / "lock").open("a+", encoding="utf-8")
        try:
            import fcntl
        except ImportError:  # no flock on this OS: the journal alone still skips finished jobs
            self._lock = handle
            return
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.close()
            raise FleetBusy(f"fleet {self.fleet_id} is being run by another thrifty process") from None
        self._lock = handle

    def _load(self, jobs_hash: str) -> None:
        meta_path = self.root / "meta.json"
        meta: dict[str, Any] = {}
        with contextlib.suppress(OSError, ValueError):
            loaded = json.loads(meta_path.read_text("utf-8"))
            meta = loaded if isinstance(loaded, dict) else {}
        if not isinstance(meta.get("created_at"), int | float):
            meta = {"fleet_id": self.fleet_id, "jobs_hash": jobs_hash, "created_at": time.time()}
            _write_atomic(meta_path, meta)
        self.created_at = float(meta["created_at"])
        self.jobs_hash = str(meta.get("jobs_hash", ""))
        for line in _read_lines(self.root / "starts.jsonl"):
            if isinstance(line.get("session_id"), str):
                self.sessions.setdefault(str(line["id"]), []).append(line["session_id"])
        for line in _read_lines(self.root / "results.jsonl"):
            self.results[str(line["id"])] = line

    def attempts(self, job_id: str) -> int:
        return len(self.sessions.get(job_id, []))

    def started(self, job_id: str, session_id: str) -> int:
        """Record an attempt (durably) before it runs; its number, from 1."""
        attempt = self.attempts(job_id) + 1
        self.sessions.setdefault(job_id, []).append(session_id)
        assert self._starts is not None
        _append(self._starts, {"id": job_id, "attempt": attempt, "session_id": session_id, "at": time.time()})
        return attempt

    def finished(self, line: dict[str, Any]) -> None:
        self.results[str(line["id"])] = line
        assert self._results is not None
        _append(self._results, line)

    def close(self) -> None:
        for handle in (self._starts, self._results, self._lock):
            if handle is not None:
                with contextlib.suppress(OSError):
                    handle.close()
        self._starts = self._results = self._lock = None

    def __enter__(self) -> FleetJournal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def work_dir(self, job_id: str) -> Path:
        safe = re.sub(r"[^A-Za-z0-9_.-]", "_", job_id)[:80]
        if safe != job_id:
            import hashlib

            safe = f"{safe}-{hashlib.sha256(job_id.encode('utf-8')).hexdigest()[:8]}"
        return self.root / "work" / safe


def _write_atomic(path: Path, data: dict[str, Any]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def opened(fleets_dir: Path, fleet_id: str, jobs_hash: str) -> Iterator[FleetJournal]:
    journal = FleetJournal.open(fleets_dir, fleet_id, jobs_hash)
    try:
        yield journal
    finally:
        journal.close()
