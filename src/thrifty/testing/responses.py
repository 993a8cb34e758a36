"""Turning a scripted turn into a Message and into its exact SSE event sequence."""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from thrifty.testing.cache import CacheUsage
from thrifty.testing.tokens import canonical, count_text

#: Server tool result blocks, answered by the API itself.
SERVER_RESULTS = ("web_search_tool_result", "web_fetch_tool_result")
#: ``usage.server_tool_use`` counters by server tool name.
SERVER_COUNTERS = {"web_search": "web_search_requests", "web_fetch": "web_fetch_requests"}
TEXT_CHUNK = 24
JSON_CHUNK = 16


def stable_id(prefix: str, *parts: object) -> str:
    """Ids derived from the request, so a retried request gets the same tool_use ids."""
    digest = hashlib.sha256("|".join(str(p) for p in parts).encode()).hexdigest()
    return f"{prefix}{digest[:24]}"


def signature_for(thinking: str) -> str:
    return base64.b64encode(hashlib.sha256(b"thrifty-sim:" + thinking.encode()).digest()).decode()


@dataclass
class Shaped:
    content: list[dict[str, Any]]
    stop_reason: str
    stop_sequence: str | None
    output_tokens: int
    thinking_tokens: int


def _block_output_tokens(block: dict[str, Any]) -> int:
    kind = block.get("type")
    if kind == "text":
        return count_text(block.get("text", ""))
    if kind == "thinking":
        return count_text(block.get("thinking", ""))
    if kind in ("tool_use", "server_tool_use"):
        return count_text(block.get("name", "")) + count_text(canonical(block.get("input", {})))
    if kind in SERVER_RESULTS:
        return 0  # the API writes results into the message; the model does not generate them
    return count_text(canonical(block))


def shape(
    blocks: list[dict[str, Any]],
    *,
    stop_reason: str | None,
    max_tokens: int,
    stop_sequences: list[str],
    id_seed: str,
) -> Shaped:
    """Apply what the real model's sampling would: ids, signatures, stop sequences, max_tokens."""
    out: list[dict[str, Any]] = []
    used = 0
    thinking_tokens = 0
    reason = stop_reason
    matched: str | None = None
    server_id = ""
    for i, original in enumerate(blocks):
        block = dict(original)
        if block.get("type") == "tool_use" and not block.get("id"):
            block["id"] = stable_id("toolu_sim_", id_seed, i)
        if block.get("type") == "server_tool_use":
            block["id"] = block.get("id") or stable_id("srvtoolu_sim_", id_seed, i)
            server_id = block["id"]
        if block.get("type") in SERVER_RESULTS and not block.get("tool_use_id"):
            block["tool_use_id"] = server_id
        if block.get("type") == "thinking" and not block.get("signature"):
            block["signature"] = signature_for(block.get("thinking", ""))
        if block.get("type") == "text":
            hits = [(block["text"].find(s), s) for s in stop_sequences if s in block["text"]]
            if hits:
                pos, matched = min(hits)
                block["text"] = block["text"][:pos]
                reason = "stop_sequence"
        cost = _block_output_tokens(block)
        if used + cost > max_tokens:
            reason = "max_tokens"
            room = max_tokens - used
            if block.get("type") == "text" and room > 0:
                block["text"] = block["text"].encode()[: room * 4].decode("utf-8", "ignore")
                out.append(block)
                used += count_text(block["text"])
            matched = None
            break
        used += cost
        if block.get("type") == "thinking":
            thinking_tokens += cost
        out.append(block)
        if reason == "stop_sequence":
            break
    if reason is None:
        reason = "tool_use" if any(b.get("type") == "tool_use" for b in out) else "end_turn"
    if reason == "max_tokens" and max_tokens == 0:
        out = []
    return Shaped(out, reason, matched, max(used, 1) if max_tokens else 0, thinking_tokens)


def server_tool_use(content: list[dict[str, Any]]) -> dict[str, int] | None:
    """``usage.server_tool_use``: the message's server tool uses by kind; None when it made none."""
    counts = dict.fromkeys(SERVER_COUNTERS.values(), 0)
    for block in content:
        counter = SERVER_COUNTERS.get(str(block.get("name")))
        if block.get("type") == "server_tool_use" and counter is not None:
            counts[counter] += 1
    return counts if any(counts.values()) else None


def restrict_fetches(content: list[dict[str, Any]], tools: list[Any]) -> None:
    """A fetch outside the request's ``web_fetch`` domains gets the API's ``url_not_allowed``."""
    fetchers = (t for t in tools if isinstance(t, dict) and str(t.get("type", "")).startswith("web_fetch_"))
    spec = next(fetchers, None)
    if spec is None:
        return
    allowed, blocked = spec.get("allowed_domains"), spec.get("blocked_domains") or []
    for block in content:
        page = block.get("content")
        if block.get("type") != "web_fetch_tool_result" or not isinstance(page, dict):
            continue
        host = (urlsplit(str(page.get("url", ""))).hostname or "").lower()

        def within(domains: list[str], host: str = host) -> bool:
            return any(host == d.lower() or host.endswith("." + d.lower()) for d in domains)

        if within(blocked) or (allowed is not None and not within(allowed)):
            block["content"] = {"type": "web_fetch_tool_result_error", "error_code": "url_not_allowed"}


def usage_dict(
    cache: CacheUsage,
    output_tokens: int,
    thinking_tokens: int,
    *,
    service_tier: str,
    override: dict[str, int] | None,
) -> dict[str, Any]:
    usage: dict[str, Any] = {
        "input_tokens": cache.input_tokens,
        "cache_creation_input_tokens": cache.cache_creation_input_tokens,
        "cache_read_input_tokens": cache.cache_read_input_tokens,
        "cache_creation": {
            "ephemeral_5m_input_tokens": cache.ephemeral_5m_input_tokens,
            "ephemeral_1h_input_tokens": cache.ephemeral_1h_input_tokens,
        },
        "output_tokens": output_tokens,
        "output_tokens_details": {"thinking_tokens": thinking_tokens},
        "server_tool_use": None,
        "service_tier": service_tier,
        "inference_geo": "global",
    }
    for key, value in (override or {}).items():
        if key in ("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"):
            usage["cache_creation"][key] = value
        else:
            usage[key] = value
    if override and any(k.startswith("ephemeral_") for k in override):
        usage["cache_creation_input_tokens"] = sum(usage["cache_creation"].values())
    return usage


def message(msg_id: str, model: str, shaped: Shaped, usage: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": msg_id,
        "type": "message",
        "role": "assistant",
        "model": model,
        "content": shaped.content,
        "stop_reason": shaped.stop_reason,
        "stop_sequence": shaped.stop_sequence,
        "stop_details": None,
        "container": None,
        "usage": usage,
    }


def _chunks(text: str, size: int) -> list[str]:
    return [text[i : i + size] for i in range(0, len(text), size)] or []


def sse_events(msg: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """The exact event sequence of section 4.2: start, blocks, one ping, delta, stop."""
    usage = msg["usage"]
    start_usage = {k: v for k, v in usage.items() if k not in ("output_tokens_details",)}
    start_usage["output_tokens"] = min(1, usage["output_tokens"])
    skeleton = {**msg, "content": [], "stop_reason": None, "stop_sequence": None, "usage": start_usage}
    yield "message_start", {"type": "message_start", "message": skeleton}
    for index, block in enumerate(msg["content"]):
        kind = block.get("type")
        if kind == "text":
            start: dict[str, Any] = {"type": "text", "text": ""}
            deltas = [{"type": "text_delta", "text": c} for c in _chunks(block["text"], TEXT_CHUNK)]
        elif kind == "thinking":
            start = {"type": "thinking", "thinking": "", "signature": ""}
            deltas = [
                {"type": "thinking_delta", "thinking": c} for c in _chunks(block["thinking"], TEXT_CHUNK)
            ]
            deltas.append({"type": "signature_delta", "signature": block.get("signature", "")})
        elif kind in ("tool_use", "server_tool_use"):
            start = {"type": kind, "id": block["id"], "name": block["name"], "input": {}}
            raw = json.dumps(block.get("input", {}))
            deltas = [{"type": "input_json_delta", "partial_json": ""}]
            deltas += [{"type": "input_json_delta", "partial_json": c} for c in _chunks(raw, JSON_CHUNK)]
        else:
            start, deltas = block, []
        yield "content_block_start", {"type": "content_block_start", "index": index, "content_block": start}
        if index == 0:
            yield "ping", {"type": "ping"}
        for delta in deltas:
            yield "content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": index}
    final_usage = {
        k: usage[k]
        for k in (
            "input_tokens",
            "cache_creation_input_tokens",
            "cache_read_input_tokens",
            "output_tokens",
            "output_tokens_details",
        )
    }
    if usage.get("server_tool_use"):
        final_usage["server_tool_use"] = usage["server_tool_use"]
    yield (
        "message_delta",
        {
            "type": "message_delta",
            "delta": {
                "stop_reason": msg["stop_reason"],
                "stop_sequence": msg["stop_sequence"],
                "stop_details": None,
            },
            "usage": final_usage,
        },
    )
    yield "message_stop", {"type": "message_stop"}


def encode_event(name: str, data: dict[str, Any]) -> bytes:
    return f"event: {name}\ndata: {json.dumps(data, separators=(',', ':'))}\n\n".encode()
