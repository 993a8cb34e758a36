"""Message Batches: each request is answered by the same engine as ``/v1/messages``.

Results are computed at creation; the batch reports ``in_progress`` until ``processing_seconds``
have passed on the simulator's clock (0 by default, so the first retrieve sees it ended).
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from thrifty.testing.accounts import Account
from thrifty.testing.clock import Clock
from thrifty.testing.engine import Engine
from thrifty.testing.errors import ApiError, invalid

MAX_BATCH_REQUESTS = 100_000
CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def _iso(ts: float | None) -> str | None:
    if ts is None:
        return None
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


@dataclass
class Batch:
    id: str
    account: str
    created: float
    results: list[dict[str, Any]]
    ready_at: float
    canceled_at: float | None = None
    ended_at: float | None = None
    archived: bool = False
    usage: list[dict[str, Any]] = field(default_factory=list)

    def ended(self, now: float) -> bool:
        return self.canceled_at is not None or now >= self.ready_at

    def view(self, now: float, base_url: str, *, just_created: bool = False) -> dict[str, Any]:
        """``just_created``: the create call answers ``in_progress`` even for an instant batch."""
        ended = self.ended(now) and not just_created
        if ended and self.ended_at is None:
            self.ended_at = max(self.ready_at, self.created) if self.canceled_at is None else self.canceled_at
        counts = {"processing": 0, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0}
        if ended:
            for item in self.results:
                counts[item["result"]["type"]] += 1
        else:
            counts["processing"] = len(self.results)
        return {
            "id": self.id,
            "type": "message_batch",
            "processing_status": "ended" if ended else ("canceling" if self.canceled_at else "in_progress"),
            "request_counts": counts,
            "created_at": _iso(self.created),
            "expires_at": _iso(self.created + 24 * 3600),
            "ended_at": _iso(self.ended_at) if ended else None,
            "cancel_initiated_at": _iso(self.canceled_at),
            "archived_at": None,
            "results_url": f"{base_url}/v1/messages/batches/{self.id}/results" if ended else None,
        }


class Batches:
    def __init__(self, engine: Engine, clock: Clock, processing_seconds: float = 0.0) -> None:
        self.engine = engine
        self.clock = clock
        self.processing_seconds = processing_seconds
        self._batches: dict[str, Batch] = {}
        self._lock = threading.Lock()

    def create(self, body: dict[str, Any], account: Account, version: str) -> Batch:
        requests = body.get("requests")
        if not isinstance(requests, list) or not requests:
            raise invalid("requests: at least one request is required")
        if len(requests) > MAX_BATCH_REQUESTS:
            raise invalid(f"requests: a batch may hold at most {MAX_BATCH_REQUESTS} requests")
        ids = [r.get("custom_id") if isinstance(r, dict) else None for r in requests]
        if len(set(ids)) != len(ids) or not all(isinstance(i, str) and i for i in ids):
            raise invalid("requests: each request needs a custom_id, unique within the batch")
        for index, custom_id in enumerate(ids):  # the API's limits on custom_id
            if len(str(custom_id)) > 64:
                raise invalid(f"requests.{index}.custom_id: String should have at most 64 characters")
            if not CUSTOM_ID.match(str(custom_id)):
                pattern = CUSTOM_ID.pattern
                raise invalid(f"requests.{index}.custom_id: String should match pattern '{pattern}'")
        results = []
        for item in requests:
            params = item.get("params")
            if not isinstance(params, dict):
                raise invalid(f"requests.{item['custom_id']}.params: Field required")
            if params.get("stream"):
                raise invalid("requests: streaming is not supported in batches")
            try:
                outcome = self.engine.create(params, account, version, in_batch=True)
                result: dict[str, Any] = {"type": "succeeded", "message": outcome.message}
            except ApiError as exc:
                body = exc.body("")
                body.pop("request_id", None)
                result = {"type": "errored", "error": body}
            results.append({"custom_id": item["custom_id"], "result": result})
        now = self.clock.now()
        batch = Batch(
            "msgbatch_sim_" + uuid.uuid4().hex[:24],
            account.spec.key,
            now,
            results,
            now + self.processing_seconds,
        )
        with self._lock:
            self._batches[batch.id] = batch
        return batch

    def get(self, batch_id: str, account: Account) -> Batch:
        with self._lock:
            batch = self._batches.get(batch_id)
        if batch is None or batch.account != account.spec.key:
            raise ApiError(404, f"message_batch: {batch_id} not found")
        return batch

    def list(self, account: Account) -> list[Batch]:
        with self._lock:
            mine = [b for b in self._batches.values() if b.account == account.spec.key]
        return sorted(mine, key=lambda b: b.created, reverse=True)

    def cancel(self, batch_id: str, account: Account) -> Batch:
        batch = self.get(batch_id, account)
        now = self.clock.now()
        if not batch.ended(now):
            batch.canceled_at = now
            for item in batch.results:
                item["result"] = {"type": "canceled"}
        return batch

    def delete(self, batch_id: str, account: Account) -> dict[str, Any]:
        batch = self.get(batch_id, account)
        if not batch.ended(self.clock.now()):
            raise invalid(f"message_batch {batch_id} is still in progress; cancel it before deleting")
        with self._lock:
            del self._batches[batch_id]
        return {"id": batch_id, "type": "message_batch_deleted"}

    def results(self, batch_id: str, account: Account) -> bytes:
        batch = self.get(batch_id, account)
        if not batch.ended(self.clock.now()):
            raise invalid(f"message_batch {batch_id} has not ended; results are not available yet")
        return b"".join(json.dumps(r).encode() + b"\n" for r in batch.results)
