"""The journal of the batches a ``BatchPool`` sent: what a rerun must poll instead of resubmit.

One JSON file per batch under the pool's folder (a fleet's is ``<fleet dir>/batches/``), written
atomically (``journal._write``: a temp file, fsync, rename):

- ``submitting`` with the requests' owners (session id, account, project, tags per custom id)
  *before* the create call, so a coordinator killed during it leaves a trace to recover from;
- ``submitted`` with the batch id right after the call answers;
- ``collected`` once every succeeded result of the batch is a ledger row.

A file not ``collected`` is a batch the API may bill that the ledger may not hold yet: a rerun
polls it to its end and records its rows (``BatchPool.stale``, ``settle``); the ledger keys rows by request
id (``batch:<batch id>:<custom id>``), so rows a killed run wrote already are not written twice.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from thrifty.batch.journal import _read, _write

SUBMITTING = "submitting"
SUBMITTED = "submitted"
COLLECTED = "collected"


@dataclass(frozen=True)
class Owner:
    """Who pays for one request: what the row needs when the pool writes it, not the session."""

    session_id: str
    account: str
    project: str
    tags: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Owner:
        tags = data.get("tags")
        return cls(
            str(data.get("session_id", "")),
            str(data.get("account", "")),
            str(data.get("project", "")),
            {str(k): str(v) for k, v in tags.items()} if isinstance(tags, dict) else {},
        )


@dataclass
class PoolRecord:
    key: str
    state: str
    started_at: float
    #: custom id -> its owner.
    owners: dict[str, Owner]
    batch_id: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "state": self.state,
            "started_at": self.started_at,
            "batch_id": self.batch_id,
            "owners": {cid: asdict(owner) for cid, owner in self.owners.items()},
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> PoolRecord | None:
        owners = data.get("owners")
        if not isinstance(owners, dict) or not isinstance(data.get("key"), str):
            return None
        batch_id = data.get("batch_id")
        return cls(
            data["key"],
            str(data.get("state", SUBMITTING)),
            float(data.get("started_at", 0.0)),
            {str(cid): Owner.from_json(o) for cid, o in owners.items() if isinstance(o, dict)},
            batch_id if isinstance(batch_id, str) else None,
        )


class PoolJournal:
    def __init__(self, root: Path) -> None:
        self.root = root

    def _path(self, key: str) -> Path:
        return self.root / f"{key}.json"

    def put(self, record: PoolRecord) -> None:
        _write(self._path(record.key), record.to_json())

    def forget(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def records(self) -> list[PoolRecord]:
        """Every batch the pool journaled, oldest first."""
        if not self.root.is_dir():
            return []
        found = [PoolRecord.from_json(_read(p) or {}) for p in self.root.glob("*.json")]
        return sorted((r for r in found if r is not None), key=lambda r: r.started_at)

    def open_records(self) -> list[PoolRecord]:
        """The batches whose rows may not all be in the ledger: a rerun settles them."""
        return [r for r in self.records() if r.state != COLLECTED]
