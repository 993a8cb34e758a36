"""Custom in-process tools: the ``@tool`` decorator and ``create_sdk_mcp_server``, as in
``claude-agent-sdk``.

A tool is an ``async def handler(args: dict) -> dict`` returning
``{"content": [{"type": "text", "text": ...} | {"type": "image", "data": ..., "mimeType": ...}],
"is_error"?: bool}``. Grouped into a server under ``Options.mcp_servers={"calc": server}``, the
model sees it as ``mcp__calc__<name>``, exactly like the official SDK's in-process MCP servers,
but nothing speaks MCP here: the handler is called directly by the loop's tool runner, so the
permission engine, hooks and ``can_use_tool`` treat it like any built-in tool.

``input_schema`` may be a ``{param: type}`` dict (every parameter required), a full JSON Schema
(a dict with ``type`` and ``properties``), a ``TypedDict``, or (thrifty only) a pydantic model
class, whose validation then runs before the handler, which still receives a plain dict.
"""

from __future__ import annotations

import logging
import re
import types as pytypes
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union, get_args, get_origin, get_type_hints, is_typeddict

from pydantic import BaseModel, ValidationError

from thrifty.agent.validate import SetupError
from thrifty.tools.base import Tool, ToolResult, error
from thrifty.tools.custom import custom_tool

__all__ = [
    "SdkMcpServer",
    "SdkMcpTool",
    "ToolAnnotations",
    "create_sdk_mcp_server",
    "input_schema_of",
    "server_tools",
    "tool",
]

logger = logging.getLogger("thrifty.sdk")
ToolHandler = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
#: What the Messages API accepts as a tool name.
_TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")


@dataclass
class ToolAnnotations:
    """Hints about a tool (MCP's names). thrifty uses ``readOnlyHint``: a read-only tool is
    allowed in plan mode and by the default permission rules for reads."""

    title: str | None = None
    readOnlyHint: bool | None = None  # the wire spelling, as in the official SDK
    destructiveHint: bool | None = None
    idempotentHint: bool | None = None
    openWorldHint: bool | None = None
    maxResultSizeChars: int | None = None


@dataclass
class SdkMcpTool:
    """What ``@tool`` returns: the definition, still callable as ``await t.handler(args)``."""

    name: str
    description: str
    input_schema: Any
    handler: ToolHandler
    annotations: Any = None


@dataclass
class SdkMcpServer:
    """The ``instance`` of a ``create_sdk_mcp_server`` config: a named group of tools."""

    name: str
    version: str = "1.0.0"
    tools: list[SdkMcpTool] = field(default_factory=list)


def tool(
    name: str, description: str, input_schema: Any, annotations: Any = None
) -> Callable[[ToolHandler], SdkMcpTool]:
    """Decorate ``async def handler(args: dict) -> dict`` as a tool (see the module docstring)."""
    if not isinstance(name, str) or not _TOOL_NAME.match(name):
        raise SetupError(f"tool name {name!r} must be 1-128 letters, digits, '_' or '-'")
    input_schema_of(input_schema)  # a bad schema fails here, not at the first run

    def decorator(handler: ToolHandler) -> SdkMcpTool:
        if not callable(handler):
            raise SetupError(f"@tool({name!r}) must decorate an async function")
        return SdkMcpTool(name, description, input_schema, handler, annotations)

    return decorator


def create_sdk_mcp_server(
    name: str, version: str = "1.0.0", tools: list[SdkMcpTool] | None = None
) -> dict[str, Any]:
    """``{"type": "sdk", "name": name, "instance": SdkMcpServer}``, for ``Options.mcp_servers``."""
    for t in tools or []:
        if not isinstance(t, SdkMcpTool):
            raise SetupError(f"server {name!r}: {t!r} is not a @tool-decorated function")
    names = [t.name for t in tools or []]
    if len(set(names)) != len(names):
        raise SetupError(f"server {name!r}: two tools share a name")
    return {"type": "sdk", "name": name, "instance": SdkMcpServer(name, version, list(tools or []))}


# -- schemas ------------------------------------------------------------------------------------


def _is_model(value: Any) -> bool:
    return isinstance(value, type) and issubclass(value, BaseModel)


def _json_type(py_type: Any) -> dict[str, Any]:
    """A Python annotation as JSON Schema, with the official SDK's mapping."""
    origin = get_origin(py_type)
    if origin is Annotated:
        base, *meta = get_args(py_type)
        schema = _json_type(base)
        described = next((m for m in meta if isinstance(m, str)), None)
        return {**schema, "description": described} if described else schema
    if getattr(origin, "_name", None) in ("NotRequired", "Required", "ReadOnly"):
        return _json_type(get_args(py_type)[0])
    simple = {str: "string", int: "integer", float: "number", bool: "boolean", list: "array", dict: "object"}
    if py_type in simple:
        return {"type": simple[py_type]}
    if origin is Union or isinstance(py_type, pytypes.UnionType):
        options = [a for a in get_args(py_type) if a is not type(None)]
        return _json_type(options[0]) if len(options) == 1 else {"anyOf": [_json_type(a) for a in options]}
    if origin is Literal:
        return {"enum": list(get_args(py_type))}
    if origin is list:
        args = get_args(py_type)
        return {"type": "array", "items": _json_type(args[0])} if args else {"type": "array"}
    if origin is dict:
        return {"type": "object"}
    if is_typeddict(py_type):
        return _typeddict_schema(py_type)
    if _is_model(py_type):
        return dict(py_type.model_json_schema())
    return {"type": "string"}  # the official SDK's fallback


def _typeddict_schema(td: Any) -> dict[str, Any]:
    hints = get_type_hints(td, include_extras=True)
    schema: dict[str, Any] = {"type": "object", "properties": {k: _json_type(v) for k, v in hints.items()}}
    required = sorted(getattr(td, "__required_keys__", hints.keys()))
    if required:
        schema["required"] = required
    return schema


def input_schema_of(spec: Any) -> dict[str, Any]:
    """The JSON Schema sent to the model for any accepted ``input_schema`` form."""
    if isinstance(spec, dict):
        if isinstance(spec.get("type"), str) and "properties" in spec:
            return spec
        props = {str(k): _json_type(v) for k, v in spec.items()}
        return {"type": "object", "properties": props, "required": list(props)}
    if is_typeddict(spec):
        return _typeddict_schema(spec)
    if _is_model(spec):
        return dict(spec.model_json_schema())
    raise SetupError(
        f"input_schema must be a {{name: type}} dict, a JSON Schema, a TypedDict or a pydantic model, "
        f"not {type(spec).__name__}"
    )


# -- results ------------------------------------------------------------------------------------


def _block(item: Any) -> dict[str, Any] | None:
    """One MCP-style content item as a Messages API block (None: dropped, as the SDK does)."""
    kind = item.get("type") if isinstance(item, dict) else None
    if kind == "text":
        return {"type": "text", "text": str(item.get("text", ""))}
    if kind == "image":
        source = {"type": "base64", "media_type": item.get("mimeType"), "data": item.get("data")}
        return {"type": "image", "source": source}
    if kind == "resource_link":
        parts = [str(p) for p in (item.get("name"), item.get("uri"), item.get("description")) if p]
        return {"type": "text", "text": "\n".join(parts) or "Resource link"}
    if kind == "resource" and isinstance(item.get("resource"), dict) and "text" in item["resource"]:
        return {"type": "text", "text": str(item["resource"]["text"])}
    logger.warning("tool result content of type %r is not supported; dropped", kind)
    return None


def to_tool_result(name: str, value: Any) -> ToolResult:
    """A handler's ``{"content": [...], "is_error"?}`` as the runner's ``ToolResult``."""
    if not isinstance(value, dict) or not isinstance(value.get("content", []), list):
        return error(f"Error: tool {name} returned {type(value).__name__}, not {{'content': [...]}}")
    blocks = [b for b in (_block(i) for i in value.get("content", [])) if b is not None]
    is_error = bool(value.get("is_error") or value.get("isError"))
    if all(b["type"] == "text" for b in blocks):
        return ToolResult("\n".join(b["text"] for b in blocks), is_error=is_error)
    return ToolResult(blocks, is_error=is_error)


def _read_only(annotations: Any) -> bool:
    if annotations is None:
        return False
    if isinstance(annotations, dict):
        return bool(annotations.get("readOnlyHint") or annotations.get("read_only_hint"))
    return bool(getattr(annotations, "readOnlyHint", None) or getattr(annotations, "read_only_hint", None))


def _adapter(full_name: str, sdk_tool: SdkMcpTool) -> Callable[[dict[str, Any]], Awaitable[ToolResult]]:
    model = sdk_tool.input_schema if _is_model(sdk_tool.input_schema) else None

    async def run(args: dict[str, Any]) -> ToolResult:
        if model is not None:
            try:
                args = model.model_validate(args).model_dump()
            except ValidationError as exc:
                detail = "; ".join(
                    f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors()
                )
                return error(f"InputValidationError: {full_name} failed due to: {detail}")
        return to_tool_result(full_name, await sdk_tool.handler(args))

    return run


#: ``mcp_servers`` entries the session starts itself (``thrifty.mcp``), as in ``--mcp-config``.
EXTERNAL_KINDS = ("stdio", "sse", "http")


def is_external(config: Any) -> bool:
    """A stdio/sse/http server config (``type`` may be left out when a ``command`` or ``url`` says)."""
    if not isinstance(config, dict):
        return False
    kind = config.get("type")
    return kind in EXTERNAL_KINDS or (kind is None and ("command" in config or "url" in config))


def server_tools(key: str, config: Any) -> list[Tool]:
    """The runner's tools for one ``mcp_servers`` entry, named ``mcp__<key>__<tool>``."""
    instance = config.get("instance") if isinstance(config, dict) else None
    if not isinstance(config, dict) or config.get("type") != "sdk" or not isinstance(instance, SdkMcpServer):
        raise SetupError(
            f"mcp_servers[{key!r}]: must be create_sdk_mcp_server(...) or a stdio/sse/http server "
            "config ({'type': 'stdio', 'command': ...} or {'type': 'http', 'url': ...})"
        )
    out: list[Tool] = []
    for t in instance.tools:
        full = f"mcp__{key}__{t.name}"
        if not _TOOL_NAME.match(full):
            raise SetupError(f"tool name {full!r} is not a valid API tool name (1-128 of [a-zA-Z0-9_-])")
        try:
            out.append(
                custom_tool(
                    full,
                    t.description,
                    input_schema_of(t.input_schema),
                    _adapter(full, t),
                    read_only=_read_only(t.annotations),
                )
            )
        except ValueError as exc:
            raise SetupError(str(exc)) from exc
    return out
