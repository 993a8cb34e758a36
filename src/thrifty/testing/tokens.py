"""Deterministic token counting: the simulator's stand-in for a tokenizer.

Real counts depend on a private tokenizer, so the simulator uses a documented rule that tests
can compute by hand (see docs/simulator.md):

- text: one token per started 4 UTF-8 bytes (``ceil(bytes / 4)``), 0 for empty text;
- every message costs 4 framing tokens, a system prompt 3, each tool definition 5;
- tool_use: name + canonical JSON of the input + 5; tool_result: its content + 4;
- image: ``ceil(width * height / 750)`` capped at 1,600 when the size can be read from the
  PNG/GIF/JPEG header, else 1,600; document: its text, or 1,500 for binary sources.

``count_tokens`` and the input side of ``usage`` both come from ``flatten``, so they agree.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import struct
from dataclasses import dataclass
from typing import Any

MESSAGE_OVERHEAD = 4
SYSTEM_OVERHEAD = 3
TOOL_OVERHEAD = 5
TOOL_USE_OVERHEAD = 5
TOOL_RESULT_OVERHEAD = 4
IMAGE_MAX_TOKENS = 1600
BINARY_DOCUMENT_TOKENS = 1500


def count_text(text: str) -> int:
    return math.ceil(len(text.encode("utf-8")) / 4)


def canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _image_size(data: bytes) -> tuple[int, int] | None:
    if data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) >= 24:
        w, h = struct.unpack(">II", data[16:24])
        return int(w), int(h)
    if data[:6] in (b"GIF87a", b"GIF89a") and len(data) >= 10:
        w, h = struct.unpack("<HH", data[6:10])
        return int(w), int(h)
    if data[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            length = struct.unpack(">H", data[i + 2 : i + 4])[0]
            if marker in (0xC0, 0xC1, 0xC2):
                h, w = struct.unpack(">HH", data[i + 5 : i + 9])
                return int(w), int(h)
            i += 2 + length
    return None


def image_tokens(source: dict[str, Any]) -> int:
    if source.get("type") != "base64":
        return IMAGE_MAX_TOKENS
    try:
        raw = base64.b64decode(source.get("data", ""), validate=False)
    except (binascii.Error, ValueError):
        return IMAGE_MAX_TOKENS
    size = _image_size(raw)
    if size is None:
        return IMAGE_MAX_TOKENS
    return max(1, min(IMAGE_MAX_TOKENS, math.ceil(size[0] * size[1] / 750)))


def block_tokens(block: dict[str, Any]) -> int:
    kind = block.get("type")
    if kind == "text":
        return count_text(str(block.get("text", "")))
    if kind == "thinking":
        return count_text(str(block.get("thinking", "")))
    if kind == "redacted_thinking":
        return count_text(str(block.get("data", ""))) // 4
    if kind == "image":
        return image_tokens(block.get("source") or {})
    if kind == "document":
        source = block.get("source") or {}
        if source.get("type") == "text":
            return count_text(str(source.get("data", "")))
        if source.get("type") == "content":
            return content_tokens(source.get("content", ""))
        return BINARY_DOCUMENT_TOKENS
    if kind in ("tool_use", "server_tool_use"):
        return (
            count_text(str(block.get("name", "")))
            + count_text(canonical(block.get("input", {})))
            + (TOOL_USE_OVERHEAD)
        )
    if kind == "tool_result":
        return content_tokens(block.get("content", "")) + TOOL_RESULT_OVERHEAD
    if kind == "search_result":
        return count_text(str(block.get("title", ""))) + content_tokens(block.get("content", []))
    return count_text(canonical({k: v for k, v in block.items() if k != "cache_control"}))


def content_tokens(content: Any) -> int:
    if isinstance(content, str):
        return count_text(content)
    if isinstance(content, list):
        return sum(block_tokens(b) for b in content if isinstance(b, dict))
    return 0


def tool_tokens(tool: dict[str, Any]) -> int:
    body = {k: v for k, v in tool.items() if k != "cache_control"}
    return count_text(canonical(body)) + TOOL_OVERHEAD


@dataclass(frozen=True)
class Unit:
    """One cacheable position of the prompt: a tool, a system block, or a message block.

    The prompt-cache prefix is rendered tools -> system -> messages, so a list of units in that
    order is all the cache needs: a breakpoint is a unit index, a prefix is a slice.
    """

    section: str  # "tools" | "system" | "messages"
    canonical: str
    tokens: int
    cache_control: dict[str, Any] | None
    cacheable: bool = True
    is_image: bool = False


def _content_key(block: dict[str, Any]) -> dict[str, Any]:
    """The bytes the cache keys on: the block without its breakpoint marker, so moving a
    breakpoint along the conversation (what every agent does) keeps the prefix intact."""
    return {k: v for k, v in block.items() if k != "cache_control"}


def _blocks(content: Any) -> list[dict[str, Any]]:
    if isinstance(content, str):
        return [{"type": "text", "text": content}]
    return [b for b in content if isinstance(b, dict)] if isinstance(content, list) else []


def flatten(body: dict[str, Any]) -> list[Unit]:
    units: list[Unit] = []
    for tool in body.get("tools") or []:
        if isinstance(tool, dict):
            units.append(
                Unit("tools", canonical(_content_key(tool)), tool_tokens(tool), tool.get("cache_control"))
            )
    system = body.get("system")
    if system:
        system_blocks = _blocks(system)
        for i, block in enumerate(system_blocks):
            extra = SYSTEM_OVERHEAD if i == 0 else 0
            units.append(
                Unit(
                    "system",
                    canonical(_content_key(block)),
                    block_tokens(block) + extra,
                    block.get("cache_control"),
                )
            )
    for message in body.get("messages") or []:
        if not isinstance(message, dict):
            continue
        blocks = _blocks(message.get("content", ""))
        for i, block in enumerate(blocks):
            extra = MESSAGE_OVERHEAD if i == 0 else 0
            # The role is part of the bytes: the same text as user or assistant is another prefix.
            key = canonical({"role": message.get("role"), "block": _content_key(block)})
            units.append(
                Unit(
                    "messages",
                    key,
                    block_tokens(block) + extra,
                    block.get("cache_control"),
                    cacheable=block.get("type") not in ("thinking", "redacted_thinking"),
                    is_image=block.get("type") == "image",
                )
            )
    return units


def count_input_tokens(body: dict[str, Any]) -> int:
    return sum(u.tokens for u in flatten(body))
