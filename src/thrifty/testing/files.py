"""Files API basics: upload, list, metadata, download, delete (kept in memory)."""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from email.parser import BytesParser
from email.policy import HTTP
from typing import Any

from thrifty.testing.errors import ApiError, invalid


@dataclass
class StoredFile:
    id: str
    account: str
    filename: str
    mime_type: str
    data: bytes
    created: float
    downloadable: bool = False

    def meta(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "type": "file",
            "filename": self.filename,
            "mime_type": self.mime_type,
            "size_bytes": len(self.data),
            "created_at": datetime.fromtimestamp(self.created, UTC).isoformat().replace("+00:00", "Z"),
            "downloadable": self.downloadable,
        }


def parse_upload(content_type: str, body: bytes) -> tuple[str, str, bytes]:
    """Return (filename, mime type, bytes) of the ``file`` part of a multipart upload."""
    if not content_type.startswith("multipart/form-data"):
        raise invalid("Content-Type must be multipart/form-data with a `file` part")
    parsed = BytesParser(policy=HTTP).parsebytes(
        b"Content-Type: " + content_type.encode() + b"\r\n\r\n" + body
    )
    for part in parsed.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            payload = part.get_payload(decode=True)
            data = payload if isinstance(payload, bytes) else b""
            return part.get_filename() or "upload", part.get_content_type(), data
    raise invalid("file: Field required")


class Files:
    def __init__(self) -> None:
        self._files: dict[str, StoredFile] = {}
        self._lock = threading.Lock()

    def add(self, account: str, filename: str, mime_type: str, data: bytes, now: float) -> StoredFile:
        stored = StoredFile("file_sim_" + uuid.uuid4().hex[:24], account, filename, mime_type, data, now)
        with self._lock:
            self._files[stored.id] = stored
        return stored

    def get(self, file_id: str, account: str) -> StoredFile:
        with self._lock:
            stored = self._files.get(file_id)
        if stored is None or stored.account != account:
            raise ApiError(404, f"File not found: {file_id}")
        return stored

    def list(self, account: str) -> list[StoredFile]:
        with self._lock:
            mine = [f for f in self._files.values() if f.account == account]
        return sorted(mine, key=lambda f: f.created, reverse=True)

    def delete(self, file_id: str, account: str) -> dict[str, Any]:
        self.get(file_id, account)
        with self._lock:
            del self._files[file_id]
        return {"id": file_id, "type": "file_deleted"}
