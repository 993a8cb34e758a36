"""Session transcripts on disk, so a run can be resumed, continued or forked later.

One JSON object per line under ``<data dir>/projects/<sanitized cwd>/<session id>.jsonl``, in
the shape Claude Code uses, so tools that read one can read the other. Lines are appended as the
conversation happens, never rewritten: a crash loses at most the line being written, and the
loader skips such a torn line and repairs what the API would refuse (a tool call left without a
result, two messages in a row from one side).
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import uuid as uuidlib
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from thrifty import __version__
from thrifty.billing.paths import data_dir
from thrifty.billing.secret import json_plain, redact

__all__ = [
    "SessionInfo",
    "TranscriptWriter",
    "find_transcript",
    "fork_transcript",
    "latest_session",
    "list_sessions",
    "load_messages",
    "project_dir",
]

MAX_NAME = 200
PROMPT_CHARS = 200
INTERRUPTED = "[Request interrupted by user for tool use]"
#: The ``subtype`` of a compaction's ``system`` entry (Claude Code's name).
COMPACT_BOUNDARY = "compact_boundary"
_ROLES = ("user", "assistant")
_RESERVED = frozenset({"type", "uuid", "parentUuid", "sessionId", "cwd", "version", "timestamp", "message"})
_UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", re.IGNORECASE)


def _base36(n: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = digits[r] + out
        if not n:
            return out


def _sanitize(name: str) -> str:
    """Claude Code's scheme, so one cwd maps to one folder; the hash keeps long paths distinct."""
    safe = re.sub(r"[^a-zA-Z0-9]", "-", name)
    if len(safe) <= MAX_NAME:
        return safe
    digest = int.from_bytes(hashlib.sha256(name.encode()).digest()[:8], "big")
    return f"{safe[:MAX_NAME]}-{_base36(digest)}"


def _projects_root(environ: Mapping[str, str] | None) -> Path:
    return data_dir(environ) / "projects"


def project_dir(cwd: Path, environ: Mapping[str, str] | None = None) -> Path:
    return _projects_root(environ) / _sanitize(str(Path(cwd).resolve()))


def _check_id(session_id: str) -> str:
    """The id becomes a file name: anything but a plain UUID (``../x``) could leave the folder."""
    if not _UUID.fullmatch(session_id):
        raise ValueError(f"invalid session id {session_id!r}: expected a UUID")
    return session_id


def _private_dir(path: Path) -> None:
    """Transcripts quote files and command output, so only the owner may list or read them."""
    path.parent.parent.mkdir(parents=True, exist_ok=True)
    for level in (path.parent, path):
        level.mkdir(mode=0o700, exist_ok=True)


def _scrub(value: Any) -> Any:
    """Redact each string before encoding, so a secret that JSON would escape is caught too."""
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {_scrub(k): _scrub(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_scrub(v) for v in value]
    return value


def _encode(entry: Mapping[str, Any]) -> bytes:
    # String by string only when a secret would read differently once JSON-escaped.
    scrubbed = entry if json_plain() else _scrub(entry)
    text = redact(json.dumps(scrubbed, ensure_ascii=False, separators=(",", ":")))
    # Escaped, so a reader that splits with ``splitlines`` sees one line too (valid: only in strings).
    return (text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029") + "\n").encode()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _objects(data: bytes) -> Iterator[dict[str, Any]]:
    """Split on bytes, not ``splitlines``: U+2028 inside a string is not a line break."""
    for raw in data.split(b"\n"):
        try:
            entry = json.loads(raw) if raw.strip() else None
        except ValueError:  # a torn line after a crash, or not ours
            continue
        if isinstance(entry, dict):
            yield entry


def _is_boundary(entry: Mapping[str, Any]) -> bool:
    return entry.get("type") == "system" and entry.get("subtype") == COMPACT_BOUNDARY


def _since_boundary(data: bytes) -> list[dict[str, Any]]:
    """Message entries after the last compaction boundary: the history a resume goes on from."""
    kept: list[dict[str, Any]] = []
    for entry in _objects(data):
        if _is_boundary(entry):
            kept = []
            continue
        message = entry.get("message")
        if entry.get("type") in _ROLES and isinstance(message, dict) and message.get("role") == entry["type"]:
            kept.append(entry)
    return kept


def _entries(data: bytes) -> Iterator[dict[str, Any]]:
    """Message entries in file order; other types are for someone else (or a later version)."""
    for entry in _objects(data):
        message = entry.get("message")
        if entry.get("type") in _ROLES and isinstance(message, dict) and message.get("role") == entry["type"]:
            yield entry


class TranscriptWriter:
    """Appends one session's messages; each line reaches the OS before ``record`` returns."""

    def __init__(self, path: Path, fd: int, session_id: str, cwd: str, last_uuid: str | None) -> None:
        self._path, self._fd, self._session_id, self._cwd, self._last = path, fd, session_id, cwd, last_uuid

    @classmethod
    def open(cls, cwd: Path, session_id: str, environ: Mapping[str, str] | None = None) -> TranscriptWriter:
        folder = project_dir(cwd, environ)
        path = folder / f"{_check_id(session_id)}.jsonl"
        _private_dir(folder)
        data = path.read_bytes() if path.exists() else b""
        ids = [e["uuid"] for e in _entries(data) if isinstance(e.get("uuid"), str)]
        fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        os.fchmod(fd, 0o600)
        if data and not data.endswith(b"\n"):  # else the next record is glued to a torn line
            _write_all(fd, b"\n")
        return cls(path, fd, session_id, str(Path(cwd).resolve()), ids[-1] if ids else None)

    @property
    def path(self) -> Path:
        return self._path

    def record(self, message: dict[str, Any], *, uuid: str | None = None, **extra: Any) -> str:
        role = message.get("role")
        if role not in _ROLES:
            raise ValueError(f"cannot record a message with role {role!r}")
        if clash := _RESERVED & extra.keys():
            raise ValueError(f"reserved transcript keys: {sorted(clash)}")
        if self._fd < 0:
            raise ValueError("transcript is closed")
        entry_id = uuid or str(uuidlib.uuid4())
        entry = {
            "type": role,
            "uuid": entry_id,
            "parentUuid": self._last,
            "sessionId": self._session_id,
            "cwd": self._cwd,
            "version": __version__,
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            **extra,
            "message": {"role": role, "content": message.get("content", "")},
        }
        _write_all(self._fd, _encode(entry))
        self._last = entry_id
        return entry_id

    def record_boundary(self, metadata: dict[str, Any]) -> str:
        """A compaction boundary (``agent.compact``): a resume reads only what follows it."""
        if self._fd < 0:
            raise ValueError("transcript is closed")
        entry_id = str(uuidlib.uuid4())
        entry = {
            "type": "system",
            "subtype": COMPACT_BOUNDARY,
            "content": "Conversation compacted",
            "uuid": entry_id,
            "parentUuid": None,
            "logicalParentUuid": self._last,
            "sessionId": self._session_id,
            "cwd": self._cwd,
            "version": __version__,
            "timestamp": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": "info",
            "compactMetadata": metadata,
        }
        _write_all(self._fd, _encode(entry))
        self._last = entry_id
        return entry_id

    def close(self) -> None:
        if self._fd >= 0:
            os.close(self._fd)
            self._fd = -1

    def __enter__(self) -> TranscriptWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def as_blocks(content: Any) -> list[Any]:
    """Message content as a block list (a string becomes one text block, an empty one none)."""
    if isinstance(content, str):
        return [{"type": "text", "text": content}] if content else []
    return list(content) if isinstance(content, list) else []


def _ids(message: dict[str, Any], kind: str, key: str) -> list[str]:
    blocks = [b for b in as_blocks(message["content"]) if isinstance(b, dict) and b.get("type") == kind]
    return [b[key] for b in blocks if isinstance(b.get(key), str)]


def _merged(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for m in messages:
        if not as_blocks(m["content"]) or (not out and m["role"] == "assistant"):
            continue
        if out and out[-1]["role"] == m["role"]:
            out[-1] = {"role": m["role"], "content": as_blocks(out[-1]["content"]) + as_blocks(m["content"])}
        else:
            out.append(m)
    return out


def interrupted_result(tool_use_id: str) -> dict[str, Any]:
    """The result a tool call gets when the run stopped before it ran."""
    return {"type": "tool_result", "tool_use_id": tool_use_id, "content": INTERRUPTED, "is_error": True}


def _is_result(block: Any) -> bool:
    return isinstance(block, dict) and block.get("type") == "tool_result"


def _paired(messages: list[dict[str, Any]]) -> tuple[list[dict[str, Any]], bool]:
    """Each tool_use answered right after, no result without its call; True if a message went."""
    out: list[dict[str, Any]] = []
    dropped = False
    for m in messages:
        if m["role"] == "user":
            calls = _ids(out[-1], "tool_use", "id") if out else []
            blocks = as_blocks(m["content"])
            rest = [b for b in blocks if not _is_result(b)]
            if calls or len(rest) < len(blocks):  # results first, as the API requires
                answered = _ids(m, "tool_result", "tool_use_id")
                results = [b for b in blocks if _is_result(b) and b.get("tool_use_id") in calls]
                missing = [interrupted_result(i) for i in calls if i not in answered]
                m = {"role": "user", "content": results + missing + rest}
            if not m["content"]:
                dropped = True
                continue
        out.append(m)
    return out, dropped


def load_messages(path: Path) -> list[dict[str, Any]]:
    """The history as the Messages API will accept it, whatever a crash left behind."""
    entries = _since_boundary(path.read_bytes())
    messages = [{"role": e["type"], "content": e["message"].get("content")} for e in entries]
    dropped = True
    while dropped:  # dropping an orphan-only user message can join two assistant turns
        messages, dropped = _paired(_merged(messages))
    if messages and messages[-1]["role"] == "assistant" and (calls := _ids(messages[-1], "tool_use", "id")):
        messages.append({"role": "user", "content": [interrupted_result(i) for i in calls]})
    return messages


def find_transcript(session_id: str, cwd: Path, environ: Mapping[str, str] | None = None) -> Path | None:
    """The cwd's folder first; then any other, for a session resumed from elsewhere."""
    name = f"{_check_id(session_id)}.jsonl"
    here = project_dir(cwd, environ) / name
    if here.is_file():
        return here
    return next((p for p in sorted(_projects_root(environ).glob(f"*/{name}")) if p.is_file()), None)


def _transcripts(folder: Path) -> list[Path]:
    if not folder.is_dir():
        return []
    return [p for p in folder.glob("*.jsonl") if _UUID.fullmatch(p.stem) and p.is_file()]


def latest_session(cwd: Path, environ: Mapping[str, str] | None = None) -> str | None:
    paths = _transcripts(project_dir(cwd, environ))
    return max(paths, key=lambda p: (p.stat().st_mtime_ns, p.name)).stem if paths else None


@dataclass(frozen=True)
class SessionInfo:
    session_id: str
    path: Path
    cwd: str | None
    modified: datetime
    first_prompt: str | None
    message_count: int


def _text(content: Any) -> str:
    parts = [b.get("text", "") for b in as_blocks(content) if isinstance(b, dict) and b.get("type") == "text"]
    return " ".join(" ".join(parts).split())


def _info(path: Path) -> SessionInfo:
    cwd: str | None = None
    prompt: str | None = None
    count = 0
    for entry in _entries(path.read_bytes()):
        count += 1
        if cwd is None and isinstance(entry.get("cwd"), str):
            cwd = entry["cwd"]
        if prompt is None and entry["type"] == "user":
            prompt = _text(entry["message"].get("content"))[:PROMPT_CHARS] or None
    modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    return SessionInfo(path.stem, path, cwd, modified, prompt, count)


def list_sessions(cwd: Path | None = None, environ: Mapping[str, str] | None = None) -> list[SessionInfo]:
    """Newest first; every project's sessions when no cwd is given."""
    root = _projects_root(environ)
    folders = [project_dir(cwd, environ)] if cwd is not None else sorted(root.glob("*"))
    infos = [_info(p) for folder in folders for p in _transcripts(folder)]
    return sorted(infos, key=lambda i: (i.modified, i.session_id), reverse=True)


def fork_transcript(
    source: Path, new_session_id: str, cwd: Path, environ: Mapping[str, str] | None = None
) -> Path:
    """A new session that starts with the old one's history; the source stays untouched."""
    folder = project_dir(cwd, environ)
    dest = folder / f"{_check_id(new_session_id)}.jsonl"
    lines = [
        _encode({**e, "sessionId": new_session_id} if "sessionId" in e else e)
        for e in _objects(source.read_bytes())
    ]
    _private_dir(folder)
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        _write_all(fd, b"".join(lines))
    finally:
        os.close(fd)
    return dest
