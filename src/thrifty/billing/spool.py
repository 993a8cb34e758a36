"""Rows the ledger could not take right now, kept on local disk until it can.

A shared PostgreSQL ledger can be down while the model call it should record has already been
billed. Losing that row would break the one promise of the ledger, so it goes to an
append-only JSON-lines file (fsynced) and is replayed the next time a meter opens; the
ledger's request-id key makes the replay idempotent.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Callable, Iterator
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from thrifty.billing.ledger.rows import LedgerRow


def row_to_dict(row: LedgerRow) -> dict[str, Any]:
    data = dict(row.__dict__)
    data["cost_usd"] = None if row.cost_usd is None else str(row.cost_usd)
    data["recorded_at"] = row.recorded_at.isoformat()
    return data


def row_from_dict(data: dict[str, Any]) -> LedgerRow:
    values = dict(data)
    values["cost_usd"] = None if values.get("cost_usd") is None else Decimal(values["cost_usd"])
    values["recorded_at"] = datetime.fromisoformat(values["recorded_at"])
    return LedgerRow(**values)


class Spool:
    def __init__(self, path: Path) -> None:
        self.path = path

    @contextlib.contextmanager
    def _locked(self) -> Iterator[None]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path.with_suffix(".lock"), os.O_CREAT | os.O_RDWR, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            os.close(fd)

    def put(self, row: LedgerRow) -> None:
        line = (json.dumps(row_to_dict(row), ensure_ascii=False) + "\n").encode("utf-8")
        with self._locked():
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY | os.O_APPEND, 0o600)
            try:
                os.write(fd, line)
                os.fsync(fd)
            finally:
                os.close(fd)

    def pending(self) -> list[LedgerRow]:
        if not self.path.exists():
            return []
        rows = []
        for line in self.path.read_text("utf-8").splitlines():
            with contextlib.suppress(ValueError, TypeError, KeyError):
                rows.append(row_from_dict(json.loads(line)))  # a torn last line is skipped
        return rows

    def drain(self, append_many: Callable[[list[LedgerRow]], int]) -> int:
        """Hand every spooled row to ``append_many``; the file is removed only once it succeeded."""
        if not self.path.exists():
            return 0
        with self._locked():
            rows = self.pending()
            added = append_many(rows) if rows else 0
            self.path.unlink(missing_ok=True)
            return added
