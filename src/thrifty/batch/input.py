"""A batch's input: JSONL lines (or SDK dicts) checked one by one and turned into API requests.

Each item has an ``id`` (a string or an integer, unique in the file) and either a ``prompt``
(one user message) or ``messages`` (the Messages API's list); optionally ``model``, ``system``,
``max_tokens`` and ``json_schema`` (the answer is forced through a ``StructuredOutput`` tool, the
same tool a ``--json-schema`` run uses). A bad item is a ``BatchInputError`` naming its line.

The API's ``custom_id`` must match ``^[a-zA-Z0-9_-]{1,64}$``; an id that does is sent as it is,
any other gets ``id-`` and a hash of it, deterministically, so the same file always makes the
same requests (and the same journal key, ``request_key``).
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CUSTOM_ID = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
KNOWN_KEYS = frozenset({"id", "prompt", "messages", "model", "system", "max_tokens", "json_schema"})
DEFAULT_BATCH_MAX_TOKENS = 4096
#: The API's limit on requests per batch.
MAX_REQUESTS = 100_000
STRUCTURED_TOOL = "StructuredOutput"


class BatchInputError(ValueError):
    """An input item that cannot be sent: one line naming where it is."""


@dataclass(frozen=True)
class BatchItem:
    #: The caller's id, as given (a string or an integer).
    id: str | int
    custom_id: str
    params: dict[str, Any]
    #: The JSON schema the answer must match, if any.
    schema: dict[str, Any] | None
    where: str


def custom_id_for(item_id: str | int) -> str:
    text = str(item_id)
    if CUSTOM_ID.match(text):
        return text
    return "id-" + hashlib.sha256(text.encode("utf-8")).hexdigest()[:40]


def _schema(value: Any, where: str) -> dict[str, Any]:
    from thrifty.tools.structured import SchemaError, check_schema

    try:
        return check_schema(value)
    except SchemaError as exc:
        raise BatchInputError(f"{where}: json_schema: {exc}") from None


def structured_tool(schema: dict[str, Any]) -> dict[str, Any]:
    from thrifty.tools.structured import definition

    return definition(schema)


def build_item(raw: Any, where: str, *, default_model: str, default_max_tokens: int | None) -> BatchItem:
    if not isinstance(raw, Mapping):
        raise BatchInputError(f"{where}: expected a JSON object")
    unknown = sorted(set(raw) - KNOWN_KEYS)
    if unknown:
        raise BatchInputError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(sorted(KNOWN_KEYS))})")
    item_id = raw.get("id")
    if isinstance(item_id, bool) or not isinstance(item_id, str | int) or item_id == "":
        raise BatchInputError(f"{where}: 'id' must be a non-empty string or an integer")
    prompt, messages = raw.get("prompt"), raw.get("messages")
    if (prompt is None) == (messages is None):
        raise BatchInputError(f"{where}: give exactly one of 'prompt' or 'messages'")
    if prompt is not None:
        if not isinstance(prompt, str) or not prompt.strip():
            raise BatchInputError(f"{where}: 'prompt' must be a non-empty string")
        messages = [{"role": "user", "content": prompt}]
    elif not isinstance(messages, list) or not messages or not all(isinstance(m, Mapping) for m in messages):
        raise BatchInputError(f"{where}: 'messages' must be a non-empty list of message objects")
    model = raw.get("model", default_model)
    if not isinstance(model, str) or not model.strip():
        raise BatchInputError(f"{where}: 'model' must be a non-empty string")
    max_tokens = raw.get("max_tokens", default_max_tokens or DEFAULT_BATCH_MAX_TOKENS)
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int) or max_tokens < 1:
        raise BatchInputError(f"{where}: 'max_tokens' must be a positive integer")
    params: dict[str, Any] = {
        "model": model,
        "max_tokens": max_tokens,
        "messages": [dict(m) for m in messages],
    }
    system = raw.get("system")
    if system is not None:
        if not isinstance(system, str | list):
            raise BatchInputError(f"{where}: 'system' must be a string or a list of text blocks")
        params["system"] = system
    schema = None
    if raw.get("json_schema") is not None:
        schema = _schema(raw["json_schema"], where)
        params["tools"] = [structured_tool(schema)]
        params["tool_choice"] = {"type": "tool", "name": STRUCTURED_TOOL}
    return BatchItem(item_id, custom_id_for(item_id), params, schema, where)


def build_items(
    raws: Iterable[tuple[str, Any]], *, default_model: str, default_max_tokens: int | None = None
) -> list[BatchItem]:
    """``raws``: (where, parsed item) pairs; ids must be unique, and so must their custom ids."""
    items: list[BatchItem] = []
    seen: dict[str, str] = {}
    for where, raw in raws:
        item = build_item(raw, where, default_model=default_model, default_max_tokens=default_max_tokens)
        key = str(item.id)
        if key in seen:
            raise BatchInputError(f"{where}: duplicate id {key!r} (first on {seen[key]})")
        seen[key] = where
        items.append(item)
    customs: dict[str, BatchItem] = {}
    for item in items:
        other = customs.setdefault(item.custom_id, item)
        if other is not item:
            raise BatchInputError(f"{item.where}: id {item.id!r} maps to the same custom_id as {other.where}")
    if not items:
        raise BatchInputError("the input holds no items")
    if len(items) > MAX_REQUESTS:
        raise BatchInputError(
            f"{len(items):,} items: a batch holds at most {MAX_REQUESTS:,}; split the input"
        )
    return items


def read_jsonl(path: Path) -> list[tuple[str, Any]]:
    """(``line N``, parsed JSON) for each non-blank line of ``path``."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise BatchInputError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchInputError(f"{path}: cannot read it ({type(exc).__name__})") from None
    out: list[tuple[str, Any]] = []
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"line {number}"
        try:
            out.append((where, json.loads(line)))
        except json.JSONDecodeError as exc:
            raise BatchInputError(f"{where}: not valid JSON ({exc.msg}, column {exc.colno})") from None
    return out


def api_requests(items: Iterable[BatchItem]) -> list[dict[str, Any]]:
    return [{"custom_id": item.custom_id, "params": item.params} for item in items]


def request_key(items: Iterable[BatchItem]) -> str:
    """A hash of exactly what would be sent: the journal's key for one submission."""
    canonical = json.dumps(api_requests(items), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(canonical.encode("utf-8")).hexdigest()[:32]
