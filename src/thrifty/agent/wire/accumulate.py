"""Raw stream events in, the SDK's message snapshot out, without loading the SDK.

``MessageAccumulator`` follows ``anthropic.lib.streaming._messages`` (SDK 2.17) step by step:

- ``accumulate_event``: ``message_start`` starts the snapshot (events before it are passed through
  and not accumulated, a second one changes nothing); ``content_block_start`` appends its block;
  ``text_delta`` / ``thinking_delta`` append to a text / thinking block; ``signature_delta``
  *replaces* the thinking block's signature; ``citations_delta`` appends to the text block's
  citations; ``input_json_delta`` concatenates a ``tool_use`` / ``server_tool_use`` block's
  fragments, and the input is what ``jiter.from_json(buf, partial_mode=True)`` makes of them
  (the SDK parses after every fragment; parsing once, at ``content_block_stop`` or when the
  snapshot is read, gives the same value for every complete or partial buffer); an empty buffer
  leaves the start event's ``input`` alone; ``message_delta`` sets ``stop_reason``,
  ``stop_sequence`` and ``stop_details`` (even to None), ``container`` when given, overwrites
  ``output_tokens``, and the other usage counts only when present (they are cumulative totals).
  Deltas of a type the block does not take are ignored, as are unknown event types.
- ``build_events``: what ``MessageStream`` yields for each raw event; ``content_block_stop``
  carries the finished ``content_block`` and ``message_stop`` the whole ``message``.
- ``model_dump(mode="json", exclude_none=True)``: ``dump`` walks the SDK's model schema
  (``_schema``, derived from the SDK by a test): declared fields in the SDK's order, then
  unknown fields in arrival order; None dropped from model fields, kept inside free-form values
  such as a tool's ``input``; a union member chosen by the ``type`` literal, else the first.
"""

from __future__ import annotations

import copy
from typing import Any

from thrifty.agent.wire import _schema

_TRACKS_INPUT = ("tool_use", "server_tool_use")


def dump(value: Any, kind: Any) -> Any:
    """``value`` as the SDK's ``model_dump(mode="json", exclude_none=True)`` of model ``kind``."""
    if kind is None or value is None:
        return value
    if isinstance(kind, str):
        if not isinstance(value, dict):
            return value
        fields = _schema.MODELS[kind]
        out: dict[str, Any] = {}
        for name, sub in fields:
            item = value.get(name)
            if item is not None:
                out[name] = dump(item, sub)
        if len(value) > len(out):
            declared = {name for name, _ in fields}
            for name, item in value.items():
                if name not in declared and item is not None:
                    out[name] = item
        return out
    if kind[0] == "list":
        return [dump(item, kind[1]) for item in value] if isinstance(value, list) else value
    return dump(value, _member(value, kind[1]))


def _copied(value: Any) -> Any:
    """A deep copy of decoded JSON (dicts, lists and leaves that are never changed in place):
    what ``copy.deepcopy`` gives, without its memo and dispatch, which cost more than the rest
    of the accumulation."""
    if type(value) is dict:
        return {key: _copied(item) for key, item in value.items()}
    if type(value) is list:
        return [_copied(item) for item in value]
    return value if not isinstance(value, dict | list) else copy.deepcopy(value)


def _member(value: Any, members: tuple[Any, ...]) -> Any:
    if isinstance(value, list):
        return next((m for m in members if isinstance(m, tuple) and m[0] == "list"), None)
    models = [m for m in members if isinstance(m, str)]
    if not models or not isinstance(value, dict):
        return None
    kind = value.get("type")
    return next((m for m in models if _schema.LITERALS.get(m) == kind), models[0])


class MessageAccumulator:
    """Feed raw events (decoded JSON) in order; read ``snapshot()`` and the events to report."""

    def __init__(self) -> None:
        self._message: dict[str, Any] | None = None
        #: Unparsed ``input_json_delta`` fragments per block index.
        self._json: dict[int, str] = {}

    @property
    def started(self) -> bool:
        return self._message is not None

    def feed(self, event: dict[str, Any]) -> None:
        kind = event.get("type")
        message = self._message
        if message is None:
            if kind == "message_start":
                self._message = _copied(event.get("message") or {})
                self._message.setdefault("content", [])
            return
        content: list[Any] = message.setdefault("content", [])
        if kind == "content_block_start":
            content.append(_copied(event.get("content_block")))
        elif kind == "content_block_delta":
            self._delta(content[event["index"]], event["index"], event.get("delta") or {})
        elif kind == "content_block_stop":
            self._settle(event["index"])
        elif kind == "message_delta":
            delta = event.get("delta") or {}
            message["stop_reason"] = delta.get("stop_reason")
            message["stop_sequence"] = delta.get("stop_sequence")
            message["stop_details"] = delta.get("stop_details")
            if delta.get("container") is not None:
                message["container"] = delta["container"]
            usage = message.get("usage")
            if not isinstance(usage, dict):
                usage = message["usage"] = {}
            given = event.get("usage") or {}
            usage["output_tokens"] = given.get("output_tokens")
            for name in (
                "input_tokens",
                "cache_creation_input_tokens",
                "cache_read_input_tokens",
                "server_tool_use",
                "output_tokens_details",
            ):
                if given.get(name) is not None:
                    usage[name] = given[name]

    def _delta(self, block: Any, index: int, delta: dict[str, Any]) -> None:
        kind, block_type = delta.get("type"), block.get("type") if isinstance(block, dict) else None
        if kind == "text_delta" and block_type == "text":
            block["text"] = (block.get("text") or "") + delta["text"]
        elif kind == "input_json_delta" and block_type in _TRACKS_INPUT:
            self._json[index] = self._json.get(index, "") + delta["partial_json"]
        elif kind == "citations_delta" and block_type == "text":
            citations = block.get("citations")
            block["citations"] = [*citations, delta["citation"]] if citations else [delta["citation"]]
        elif kind == "thinking_delta" and block_type == "thinking":
            block["thinking"] = (block.get("thinking") or "") + delta["thinking"]
        elif kind == "signature_delta" and block_type == "thinking":
            block["signature"] = delta["signature"]

    def _settle(self, index: int) -> None:
        """Parse a tool block's input fragments into ``input`` (the SDK's partial-mode parse)."""
        buf = self._json.pop(index, "")
        if not buf or self._message is None:
            return
        import json

        block = self._message["content"][index]
        try:
            block["input"] = json.loads(buf)
            return
        except ValueError:
            pass
        from jiter import from_json  # partial JSON (a cut stream, a max_tokens stop): as the SDK

        try:
            block["input"] = from_json(buf.encode(), partial_mode=True)
        except ValueError as exc:
            raise ValueError(
                "Unable to parse tool parameter JSON from model. Please retry your request or adjust "
                f"your prompt. Error: {exc}. JSON: {buf}"
            ) from exc

    def snapshot(self) -> dict[str, Any]:
        """The SDK's ``current_message_snapshot.model_dump(mode="json", exclude_none=True)``."""
        if self._message is None:
            raise AssertionError("no message_start in the stream")  # the SDK's own assertion
        for index in list(self._json):
            self._settle(index)
        return dict(dump(self._message, _schema.ROOTS["message"]))

    def report(self, event: dict[str, Any]) -> dict[str, Any]:
        """The event as ``MessageStream`` yields it, dumped (call after ``feed``)."""
        kind = event.get("type")
        if self._message is not None and kind == "content_block_stop":
            index = event["index"]
            block = self._message["content"][index]
            stop = {"type": "content_block_stop", "index": index, "content_block": block}
            return dict(dump(stop, _schema.ROOTS["content_block_stop"]))
        if self._message is not None and kind == "message_stop":
            out = {"type": "message_stop", "message": self.snapshot()}
            return {"type": "message_stop", "message": out["message"]}
        return dict(dump(event, _schema.ROOTS["event"]))
