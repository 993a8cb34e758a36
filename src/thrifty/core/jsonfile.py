"""Reading the small JSON files users edit by hand (settings, config), with one-line errors.

Settings and billing config fail closed the same way, so they read files the same way: any
problem (unreadable, not UTF-8, not JSON, not an object) is one line naming the file and where,
raised as the caller's error type so each layer keeps its own exception. An empty file is ``{}``
and a UTF-8 byte-order mark is accepted, as editors on some systems write one.
"""

from __future__ import annotations

import codecs
import json
from pathlib import Path
from typing import Any


def kind(value: Any) -> str:
    """The JSON name of a value's type, as a user would write it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def read_object(path: Path, error: type[Exception]) -> dict[str, Any]:
    """The file's JSON object, or ``error`` with one line; a missing file raises
    FileNotFoundError so the caller decides whether absence is fine."""
    try:
        raw = path.read_bytes()
    except (FileNotFoundError, NotADirectoryError):
        raise FileNotFoundError(str(path)) from None
    except OSError as exc:  # permission denied, a directory, an I/O error: fail closed
        raise error(f"{path}: cannot be read ({exc.strerror or exc})") from None
    bom = len(codecs.BOM_UTF8) if raw.startswith(codecs.BOM_UTF8) else 0
    try:
        text = raw[bom:].decode("utf-8")
    except UnicodeDecodeError as exc:
        where = f"byte 0x{raw[bom + exc.start]:02x} at offset {bom + exc.start}"
        raise error(f"{path}: not UTF-8 text ({where})") from None
    return decode_object(text, str(path), error)


def decode_object(text: str, where: str, error: type[Exception]) -> dict[str, Any]:
    """``text`` as a JSON object; ``where`` names it in the error (a path, or a flag)."""
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise error(f"{where}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})") from None
    except RecursionError:
        raise error(f"{where}: not valid JSON (nested too deeply)") from None
    if not isinstance(data, dict):
        raise error(f"{where}: must be a JSON object, got {kind(data)}")
    return data
