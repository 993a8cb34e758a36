"""Claude Code's transcripts: where they live, and what one line says about a billed call.

Claude Code writes one JSONL file per session under ``<config dir>/projects/<sanitized cwd>/``
(subagents under ``<session>/subagents/``). A model call shows up as one ``assistant`` line per
content block of the response, each repeating the message id, request id and usage, and again
in any file that copied the conversation (a resumed or forked session) or mirrored it (the
``progress`` line a parent session writes for each of a subagent's calls). So a call is keyed by
(message id, request id), and the ledger's natural key (``request_id``) keeps it once: the most
complete copy (``Call.rank``; a copy taken mid-response carries a partial output count).

The config dirs are ``--claude-dir`` if given, else the comma-separated ``CLAUDE_CONFIG_DIR``,
else ``$XDG_CONFIG_HOME/claude`` (``~/.config/claude``) and ``~/.claude``: the places Claude Code
and ccusage use. Each may also name the ``projects`` folder itself.

Parsing is the hot path of an import (a heavy user has gigabytes of transcripts, most of it tool
output), so a line is only decoded when it contains ``"usage"``; see ``importer``.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, NamedTuple

from thrifty.billing.ledger.rows import LedgerRow
from thrifty.billing.prices import PriceTable
from thrifty.core.usage import Usage

SOURCE = "claude-code"
ACCOUNT = "claude-code"
#: Lines without this are never decoded: they cannot carry a call's usage.
MARKER = b'"usage"'
SYNTHETIC_MODEL = "<synthetic>"
#: A count this large is corrupt, not a call (and would not fit the ledger's 64-bit columns).
MAX_TOKENS = 10**12
#: Why a line that carries usage was not recorded, in the order reports list them.
SKIP_REASONS = {
    "malformed": "not valid JSON (a torn or corrupted line)",
    "invalid": "a field has the wrong type (tokens, timestamp, model, request id)",
    "no_id": "no message id, so the call could not be told apart from its copies",
    "synthetic": "a <synthetic> message Claude Code wrote itself (no API call)",
    "api_error": "an API error message (no billed call)",
}


@dataclass(frozen=True)
class Discovery:
    #: Config dirs that hold a ``projects`` folder, in search order, without repeats.
    dirs: tuple[Path, ...]
    #: Every dir looked at, for the error message when none holds transcripts.
    searched: tuple[Path, ...]
    #: Where the list came from: ``--claude-dir``, ``CLAUDE_CONFIG_DIR`` or ``default``.
    origin: str


def _config_dir(raw: str) -> Path:
    path = Path(raw).expanduser()
    if path.name == "projects" and path.is_dir():
        return path.parent
    return path


def discover(explicit: Sequence[str] | None = None, environ: Mapping[str, str] | None = None) -> Discovery:
    env = os.environ if environ is None else environ
    if explicit:
        raw, origin = list(explicit), "--claude-dir"
    elif env.get("CLAUDE_CONFIG_DIR", "").strip():
        raw, origin = env["CLAUDE_CONFIG_DIR"].split(","), "CLAUDE_CONFIG_DIR"
    else:
        home = Path(env.get("HOME") or Path.home())
        xdg = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else home / ".config"
        raw, origin = [str(xdg / "claude"), str(home / ".claude")], "default"
    searched: list[Path] = []
    found: list[Path] = []
    seen: set[Path] = set()
    for entry in (r.strip() for r in raw):
        if not entry:
            continue
        path = _config_dir(entry).absolute()
        searched.append(path)
        if (path / "projects").is_dir() and path.resolve() not in seen:
            seen.add(path.resolve())
            found.append(path)
    return Discovery(tuple(found), tuple(searched), origin)


def scan_transcripts(dirs: Sequence[Path]) -> list[tuple[str, os.stat_result]]:
    """Every ``*.jsonl`` under each dir's ``projects`` (any depth) with its stat, sorted by path; a
    file reached twice (a symlinked config dir) is listed once."""
    files: list[tuple[str, os.stat_result]] = []
    seen: set[tuple[int, int]] = set()

    def walk(directory: str) -> None:
        try:
            entries = list(os.scandir(directory))
        except OSError:
            return
        for entry in entries:
            try:
                if entry.is_dir(follow_symlinks=False):
                    walk(entry.path)
                elif entry.name.endswith(".jsonl") and entry.is_file():
                    st = entry.stat()
                    if (st.st_dev, st.st_ino) not in seen:
                        seen.add((st.st_dev, st.st_ino))
                        files.append((entry.path, st))
            except OSError:
                continue

    for directory in dirs:
        walk(str(directory / "projects"))
    files.sort(key=lambda item: item[0])
    return files


def transcript_files(dirs: Sequence[Path]) -> list[Path]:
    return [Path(name) for name, _ in scan_transcripts(dirs)]


def _sanitize(name: str) -> str:
    return "".join(c if c.isascii() and c.isalnum() else "-" for c in name)


def _children(directory: str) -> dict[str, str]:
    """Sanitized name -> name of the subdirectories of ``directory``."""
    try:
        return {_sanitize(e.name): e.name for e in os.scandir(directory) if e.is_dir()}
    except OSError:
        return {}


def decode_project_folder(name: str) -> str:
    """Best effort at the cwd behind a sanitized folder name (``-home-me-my-app``).

    Claude Code replaced every character but letters and digits with ``-``, so ``/``, ``.``,
    ``_`` and ``-`` all look alike. Walking down from ``/``, the longest run of parts that
    sanitizes to an existing directory's name wins; past what exists, every ``-`` is a ``/``.
    """
    if not name.startswith("-"):
        return name
    parts = name[1:].split("-")
    current = Path("/")
    i = 0
    while i < len(parts):
        children = _children(str(current))
        for j in range(len(parts), i, -1):
            found = children.get("-".join(parts[i:j]))
            if found is not None:
                current, i = current / found, j
                break
        else:
            return str(current.joinpath(*parts[i:]))
    return str(current)


class FileContext:
    """What a file's path says, for lines that do not say it themselves."""

    def __init__(self, session_id: str, folder: str, subagent: bool) -> None:
        self.session_id = session_id
        #: The sanitized project folder name.
        self.folder = folder
        #: A file under ``<session>/subagents/``: every call in it is a sidechain.
        self.subagent = subagent
        self._project: str | None = None

    @property
    def project(self) -> str:
        """The cwd the folder name stands for (looked up only for a line without ``cwd``)."""
        if self._project is None:
            self._project = decode_project_folder(self.folder)
        return self._project


def file_context(path: Path) -> FileContext:
    parts = path.parts
    try:
        at = len(parts) - 1 - parts[::-1].index("projects")
    except ValueError:
        at = len(parts) - 2
    relative = parts[at + 1 :]
    folder = relative[0] if len(relative) > 1 else path.parent.name
    subagent = len(relative) >= 4 and relative[-2] == "subagents"
    if subagent:
        session = relative[-3]
    elif len(relative) == 2:
        session = path.stem
    else:
        session = relative[-2] if len(relative) > 2 else path.stem
    return FileContext(session, folder, subagent)


_scan: Any = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # set in __init__


def decode(line: bytes) -> Any:
    """``json.loads`` for one transcript line, minus its per-call overhead (the hot path)."""
    text = line.decode("utf-8")  # UnicodeDecodeError is a ValueError
    try:
        value, end = _scan(text, 0)
    except StopIteration:  # no value at 0: leading whitespace, or not JSON at all
        return json.loads(text)
    if end != len(text) and text[end:].strip():
        raise ValueError(f"extra data after column {end}")
    return value


def is_json(data: bytes) -> bool:
    try:
        decode(data)
    except (ValueError, RecursionError):
        return False
    return True


def _count(value: Any, *, required: bool = False) -> int | None:
    """A token count: a JSON integer in [0, ``MAX_TOKENS``) (``None`` or absent: 0 when not
    ``required``); ``None`` for anything else."""
    if value is None and not required:
        return 0
    if type(value) is int and 0 <= value < MAX_TOKENS:
        return value
    return None


def parse_time(value: Any) -> datetime | None:
    if type(value) is not str:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    if moment.tzinfo is None:  # Claude Code writes UTC with a "Z"; a bare time is UTC too
        return moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC)


def _text(value: Any) -> str | None:
    return value if type(value) is str and value else None


def _usage_entry(obj: Any) -> tuple[dict[str, Any], dict[str, Any], dict[str, Any]] | None:
    """(entry, message, usage) of a line that reports a call's usage, else None.

    ``entry`` is the object holding ``message`` and ``requestId``: the line itself, or for a
    ``progress`` line the subagent's message it mirrors.
    """
    if type(obj) is not dict:
        return None
    message = obj.get("message")
    if type(message) is not dict and obj.get("type") == "progress":
        data = obj.get("data")
        inner = data.get("message") if type(data) is dict else None
        if type(inner) is dict:
            obj, message = inner, inner.get("message")
    if type(message) is not dict:
        return None
    usage = message.get("usage")
    if type(usage) is not dict:
        return None
    return obj, message, usage


#: A copy's completeness among the copies of one call: (output tokens, all tokens, server tool
#: requests); the import side of ``ledger.completeness`` (every imported row is complete and
#: from the same source, so those two places of it are equal).
Rank = tuple[int, int, int]


class Duplicate(NamedTuple):
    """``parse_line``'s answer for a line whose call was already seen with as many tokens."""

    key: tuple[str, str | None]


class Call(NamedTuple):
    """One line's account of a call, before it is priced into a ledger row."""

    message_id: str
    request_id: str | None
    #: Of several lines for one call (a streamed response logs early lines with a partial
    #: output count) the greatest is the call.
    rank: Rank
    model: str
    #: The usage, validated strictly (``parse_line``) before it was read into a ``Usage``.
    usage: Usage
    recorded_at: datetime
    session_id: str
    project: str
    tags: dict[str, str]

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.message_id, self.request_id)


def _tools(usage: dict[str, Any]) -> tuple[int, int] | None:
    """(web search, web fetch) requests of ``usage.server_tool_use`` (absent or null: none);
    ``None`` when a count there is not one."""
    tools = usage.get("server_tool_use")
    if tools is None:
        return (0, 0)
    if type(tools) is not dict:
        return None
    searches, fetches = _count(tools.get("web_search_requests")), _count(tools.get("web_fetch_requests"))
    if searches is None or fetches is None:
        return None
    return (searches, fetches)


def parse_line(
    line: bytes, ctx: FileContext, known: Mapping[tuple[str, str | None], Rank]
) -> Call | Duplicate | str | None:
    """The call one line reports, or why not.

    A skip reason (``SKIP_REASONS``) for a usage line that cannot be recorded; ``Duplicate``
    when ``known`` already has this call at least as complete (checked before the rest of the
    line is looked at: most usage lines repeat a call); ``None`` for a line that reports no
    call (a tool result that quotes a usage object).
    """
    try:
        obj = decode(line)
    except (ValueError, RecursionError):  # includes UnicodeDecodeError and JSONDecodeError
        return "malformed"
    found = _usage_entry(obj)
    if found is None:
        return None
    entry, message, usage = found
    outer: dict[str, Any] = obj
    if entry.get("isApiErrorMessage") is True:
        return "api_error"
    model = message.get("model")
    if model == SYNTHETIC_MODEL:
        return "synthetic"
    message_id = _text(message.get("id"))
    if message_id is None:
        return "no_id" if message.get("id") is None else "invalid"
    request_id = entry.get("requestId")
    if request_id is not None and _text(request_id) is None:
        return "invalid"
    inp = _count(usage.get("input_tokens"), required=True)
    out = _count(usage.get("output_tokens"), required=True)
    if type(model) is not str or not model or inp is None or out is None:
        return "invalid"
    writes = _count(usage.get("cache_creation_input_tokens"))
    reads = _count(usage.get("cache_read_input_tokens"))
    tools = _tools(usage)
    if writes is None or reads is None or tools is None:
        return "invalid"
    rank = (out, inp + out + writes + reads, tools[0] + tools[1])
    key = (message_id, request_id)
    best = known.get(key)
    if best is not None and rank <= best:
        return Duplicate(key)
    clean: dict[str, Any] = {
        "input_tokens": inp,
        "output_tokens": out,
        "cache_creation_input_tokens": writes,
        "cache_read_input_tokens": reads,
        "server_tool_use": {"web_search_requests": tools[0], "web_fetch_requests": tools[1]},
    }
    split = usage.get("cache_creation")
    if type(split) is dict:
        w5, w1 = (
            _count(split.get("ephemeral_5m_input_tokens")),
            _count(split.get("ephemeral_1h_input_tokens")),
        )
        if w5 is None or w1 is None:
            return "invalid"
        clean["cache_creation"] = {"ephemeral_5m_input_tokens": w5, "ephemeral_1h_input_tokens": w1}
    recorded_at = parse_time(entry.get("timestamp", outer.get("timestamp")))
    if recorded_at is None:
        return "invalid"
    sidechain = entry is not outer or ctx.subagent or outer.get("isSidechain") is True
    tags = {"sidechain": "true" if sidechain else "false"}
    for tag, value in (("entrypoint", outer.get("entrypoint")), ("version", outer.get("version"))):
        if type(value) is str and value:
            tags[tag] = value
    logged = entry.get("costUSD")
    if isinstance(logged, int | float) and not isinstance(logged, bool) and math.isfinite(logged):
        tags["logged_cost_usd"] = repr(logged)
    return Call(
        message_id,
        request_id,
        rank,
        model,
        # Validated above; ``from_api`` adds the one cache-write rule (an unsplit total is 5m).
        Usage.from_api(clean),
        recorded_at,
        _text(outer.get("sessionId")) or ctx.session_id,
        _text(outer.get("cwd")) or ctx.project,
        tags,
    )


def to_row(call: Call, mode: str, prices: PriceTable) -> LedgerRow:
    """The ledger row for ``call``, priced as the meter prices thrifty's own calls."""
    usage = call.usage
    return LedgerRow(
        request_id=call.request_id if call.request_id is not None else f"msg:{call.message_id}",
        session_id=call.session_id,
        mode=mode,
        account=ACCOUNT,
        model=call.model,
        input_tokens=usage.input_tokens,
        output_tokens=usage.output_tokens,
        cache_write_5m_tokens=usage.cache_write_5m_tokens,
        cache_write_1h_tokens=usage.cache_write_1h_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        web_search_requests=usage.web_search_requests,
        web_fetch_requests=usage.web_fetch_requests,
        # At the price in force when the call was made, stamped with the user's override if any.
        cost_usd=prices.cost(call.model, usage, batch=mode == "batch", at=call.recorded_at),
        price_version=prices.version_for(call.model),
        project=call.project,
        recorded_at=call.recorded_at,
        tags=call.tags,
        message_id=call.message_id,
        source=SOURCE,
    )
