"""The submission journal: what was submitted, so a rerun never submits it again.

One directory under the data dir (``<data dir>/batches``):

- ``submissions/<key>.json``: one per input (``input.request_key``: a hash of exactly the requests
  that would be sent, so the same file with the same options is the same key). Written with
  ``state: "submitting"`` and the time *before* the create call, and with the batch id right
  after it; both writes are atomic (a temp file, fsync, rename).
- ``ids/<batch id>.json``: the batch's custom ids mapped to the caller's ids, for ``results``.

A rerun that finds ``submitting`` without a batch id was killed between the create call and the
second write (or the call failed): ``api.submit_batch`` then looks for the batch among those
created since (``recover``) before creating one.
"""

from __future__ import annotations

import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from thrifty.billing.paths import data_dir


@dataclass
class Submission:
    key: str
    state: str  # "submitting" | "submitted"
    started_at: float
    requests: int
    source: str
    batch_id: str | None = None


def _write(path: Path, data: Mapping[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, ensure_ascii=False)
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _read(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text("utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


class Journal:
    def __init__(self, root: Path | None = None, environ: Mapping[str, str] | None = None) -> None:
        self.root = root if root is not None else data_dir(environ) / "batches"

    def _submission_path(self, key: str) -> Path:
        return self.root / "submissions" / f"{key}.json"

    def _ids_path(self, batch_id: str) -> Path:
        safe = "".join(c for c in batch_id if c.isalnum() or c in "_-")
        return self.root / "ids" / f"{safe}.json"

    @contextlib.contextmanager
    def locked(self, key: str) -> Iterator[None]:
        """Hold the input's lock: two submits of one input at once must not both create a batch.
        An OS lock (``flock``), so a killed holder releases it; none where the OS has no flock."""
        path = self.root / "submissions" / f"{key}.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            import fcntl
        except ImportError:  # Windows: no lock; the journal alone still stops reruns
            yield
            return
        with path.open("a") as handle:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)

    def get(self, key: str) -> Submission | None:
        data = _read(self._submission_path(key))
        if data is None:
            return None
        try:
            return Submission(**{k: data[k] for k in Submission.__dataclass_fields__ if k in data})
        except TypeError:
            return None

    def put(self, submission: Submission) -> None:
        _write(self._submission_path(submission.key), asdict(submission))

    def forget(self, key: str) -> None:
        self._submission_path(key).unlink(missing_ok=True)

    def put_ids(self, batch_id: str, ids: Mapping[str, str | int], source: str) -> None:
        _write(self._ids_path(batch_id), {"batch_id": batch_id, "source": source, "ids": dict(ids)})

    def ids(self, batch_id: str) -> dict[str, str | int]:
        """custom id -> the caller's id; empty for a batch this journal did not submit."""
        data = _read(self._ids_path(batch_id)) or {}
        ids = data.get("ids")
        return dict(ids) if isinstance(ids, dict) else {}

    def known_batches(self) -> set[str]:
        """Every batch id the journal has recorded (to rule them out when recovering)."""
        folder = self.root / "ids"
        if not folder.is_dir():
            return set()
        out = set()
        for path in folder.glob("*.json"):
            data = _read(path)
            if data and isinstance(data.get("batch_id"), str):
                out.add(data["batch_id"])
        return out
