"""Request validation with the real API's 400s, so client bugs surface against the simulator.

Messages follow the real ones' style: a JSON-path-like location, then what is wrong.
"""

from __future__ import annotations

import re
from typing import Any

from thrifty.testing.errors import ApiError, invalid
from thrifty.testing.models import ModelCatalog, ModelSpec

API_VERSIONS = ("2023-06-01", "2026-10-21")
NEW_VERSION = "2026-10-21"
MAX_BREAKPOINTS = 4
TOOL_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,128}$")
CACHEABLE_TYPES = {"text", "image", "document", "search_result", "tool_use", "tool_result"}


def resolve_model(catalog: ModelCatalog, body: dict[str, Any]) -> ModelSpec:
    model = body.get("model")
    if not isinstance(model, str) or not model:
        raise invalid("model: Field required")
    spec = catalog.get(model)
    if spec is None:
        # The real API answers an unknown model with 404 not_found_error, not 400.
        raise ApiError(404, f"model: {model}")
    return spec


def check_context_window(input_tokens: int, spec: ModelSpec) -> None:
    """The real API's answer to a prompt over the model's context window (``max_input_tokens``)."""
    if input_tokens > spec.max_input_tokens:
        raise invalid(f"prompt is too long: {input_tokens} tokens > {spec.max_input_tokens} maximum")


def _blocks(content: Any, where: str) -> list[dict[str, Any]]:
    if isinstance(content, str):
        if not content:
            raise invalid(f"{where}: text content blocks must be non-empty")
        return [{"type": "text", "text": content}]
    if not isinstance(content, list):
        raise invalid(f"{where}: Input should be a valid string or list")
    for i, block in enumerate(content):
        if not isinstance(block, dict) or "type" not in block:
            raise invalid(f"{where}.{i}: each content block must be an object with a type")
    return content


def _check_cache_control(block: dict[str, Any], where: str, count: list[int], ttls: list[str]) -> None:
    cc = block.get("cache_control")
    if cc is None:
        return
    if not isinstance(cc, dict) or cc.get("type") != "ephemeral":
        raise invalid(f"{where}.cache_control.type: Input should be 'ephemeral'")
    ttl = cc.get("ttl", "5m")
    if ttl not in ("5m", "1h"):
        raise invalid(f"{where}.cache_control.ttl: Input should be '5m' or '1h'")
    count[0] += 1
    ttls.append(ttl)


def _check_messages(body: dict[str, Any], version: str, count: list[int], ttls: list[str]) -> None:
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise invalid("messages: at least one message is required")
    previous_tool_ids: list[str] = []
    seen_ids: set[str] = set()
    last_role = None
    for m, message in enumerate(messages):
        where = f"messages.{m}"
        if not isinstance(message, dict):
            raise invalid(f"{where}: Input should be an object")
        role = message.get("role")
        if role not in ("user", "assistant", "system"):
            raise invalid(f"{where}.role: Input should be 'user', 'assistant' or 'system'")
        if m == 0 and role != "user":
            raise invalid('messages: first message must use the "user" role')
        if role == "system":
            _check_system_message(messages, m, last_role)
            continue
        if role == last_role:
            raise invalid(
                f'messages: roles must alternate between "user" and "assistant", '
                f'but found multiple "{role}" roles in a row'
            )
        last_role = role
        blocks = _blocks(message.get("content"), f"{where}.content")
        if not blocks and not (role == "assistant" and m == len(messages) - 1):
            raise invalid(f"{where}.content: messages must have non-empty content")
        leading_results = 0
        result_ids: list[str] = []
        in_leading = True
        for b, block in enumerate(blocks):
            bwhere = f"{where}.content.{b}"
            kind = block["type"]
            if kind == "text":
                text = block.get("text")
                if not isinstance(text, str) or not text:
                    raise invalid(f"{bwhere}.text: text content blocks must be non-empty")
                if version == NEW_VERSION and role == "user" and block.get("citations"):
                    raise invalid(f"{bwhere}.citations: citations are not allowed in user messages")
            if kind == "document" and role == "assistant" and version == NEW_VERSION:
                raise invalid(f"{bwhere}: document blocks are not allowed in assistant messages")
            if kind in ("tool_use", "thinking", "redacted_thinking") and role != "assistant":
                raise invalid(f"{bwhere}.type: {kind} blocks may only appear in assistant messages")
            if kind == "tool_result" and role != "user":
                raise invalid(f"{bwhere}.type: tool_result blocks may only appear in user messages")
            if kind in ("thinking", "redacted_thinking") and block.get("cache_control"):
                raise invalid(f"{bwhere}.cache_control: {kind} blocks cannot be cached directly")
            if kind == "tool_use":
                tid = block.get("id")
                if not isinstance(tid, str) or not tid:
                    raise invalid(f"{bwhere}.id: Field required")
                if tid in seen_ids:
                    raise invalid(f"{bwhere}: `tool_use` ids must be unique")
                seen_ids.add(tid)
            if kind == "tool_result":
                if in_leading:
                    leading_results += 1
                result_ids.append(str(block.get("tool_use_id")))
            else:
                in_leading = False
            _check_cache_control(block, bwhere, count, ttls)
        if role == "user":
            for rid in result_ids:
                if rid not in previous_tool_ids:
                    raise invalid(
                        f"{where}.content: unexpected `tool_use_id` found in `tool_result` blocks: {rid}. "
                        "Each `tool_result` block must have a corresponding `tool_use` block in the "
                        "previous message."
                    )
            if previous_tool_ids:
                missing = [t for t in previous_tool_ids if t not in result_ids]
                if missing:
                    raise invalid(
                        f"{where}: `tool_use` ids were found without `tool_result` blocks immediately "
                        f"after: {', '.join(missing)}. Each `tool_use` block must have a corresponding "
                        "`tool_result` block in the next message."
                    )
                if leading_results < len(previous_tool_ids):
                    raise invalid(
                        f"{where}.content: Did not find {len(previous_tool_ids)} `tool_result` block(s) at "
                        "the beginning of this message. Messages following `tool_use` blocks must begin "
                        "with a matching number of `tool_result` blocks."
                    )
            previous_tool_ids = []
        else:
            previous_tool_ids = [str(b.get("id")) for b in blocks if b["type"] == "tool_use"]
    if previous_tool_ids and last_role == "assistant" and len(messages) > 1:
        # A trailing assistant message is a prefill; it may not end in an unanswered tool_use.
        raise invalid(f"messages.{len(messages) - 1}: a final assistant message cannot end with tool_use")
    final = messages[-1]
    if final.get("role") == "assistant":
        text_blocks = _blocks(final.get("content") or [], "messages") if final.get("content") else []
        if (
            text_blocks
            and text_blocks[-1].get("type") == "text"
            and text_blocks[-1]["text"].rstrip() != (text_blocks[-1]["text"])
        ):
            raise invalid("messages: final assistant content cannot end with trailing whitespace")


def _check_system_message(messages: list[Any], m: int, last_role: str | None) -> None:
    """A mid-conversation operator instruction (wire spec 2.2): text only, after a user turn,
    and either last or followed by the assistant. It does not take part in role alternation."""
    where = f"messages.{m}"
    if last_role != "user":
        raise invalid(f"{where}: a system message must follow a user message")
    following = messages[m + 1] if m + 1 < len(messages) else None
    if isinstance(following, dict) and following.get("role") != "assistant":
        raise invalid(
            f"{where}: a system message must be the last message or be followed by an assistant message"
        )
    for b, block in enumerate(_blocks(messages[m].get("content"), f"{where}.content")):
        if block.get("type") != "text" or not block.get("text"):
            raise invalid(f"{where}.content.{b}: system messages may only hold non-empty text blocks")


def _check_tools(body: dict[str, Any], count: list[int], ttls: list[str]) -> set[str]:
    tools = body.get("tools")
    if tools is None:
        return set()
    if not isinstance(tools, list):
        raise invalid("tools: Input should be a valid list")
    names: set[str] = set()
    for i, tool in enumerate(tools):
        where = f"tools.{i}"
        if not isinstance(tool, dict):
            raise invalid(f"{where}: Input should be an object")
        name = tool.get("name")
        if not isinstance(name, str) or not TOOL_NAME.match(name):
            raise invalid(f"{where}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'")
        if name in names:
            raise invalid("tools: Tool names must be unique.")
        names.add(name)
        tool_type = tool.get("type", "custom")
        if tool_type == "custom":
            schema = tool.get("input_schema")
            if not isinstance(schema, dict) or schema.get("type") != "object":
                raise invalid(f"{where}.input_schema.type: Input should be 'object'")
        _check_cache_control(tool, where, count, ttls)
    return names


#: Server tool versions the simulator knows, by capability (wire spec 2.3).
SERVER_TOOL_TYPES = {
    "web_search": ("web_search_20250305", "web_search_20260209", "web_search_20260318"),
    "web_fetch": ("web_fetch_20250910",),
}


def _check_server_tools(body: dict[str, Any], spec: ModelSpec) -> None:
    """Web tools: a known version, a model that has it, and not both domain lists."""
    for i, tool in enumerate(body.get("tools") or []):
        tool_type = str(tool.get("type", "custom"))
        kind = next((k for k in SERVER_TOOL_TYPES if tool_type.startswith(k + "_")), None)
        if kind is None:
            continue
        if tool_type not in SERVER_TOOL_TYPES[kind]:
            raise invalid(f"tools.{i}.type: unknown server tool type '{tool_type}'")
        if kind not in spec.server_tools:
            raise invalid(f"tools.{i}: '{tool_type}' is not supported on model '{spec.id}'")
        if tool.get("allowed_domains") and tool.get("blocked_domains"):
            raise invalid(f"tools.{i}: Cannot specify both allowed_domains and blocked_domains")


def validate(body: dict[str, Any], spec: ModelSpec, version: str, *, in_batch: bool = False) -> None:
    """Raise the real API's 400 for anything it would refuse; return quietly otherwise."""
    breakpoints = [0]
    ttls: list[str] = []
    max_tokens = body.get("max_tokens")
    if isinstance(max_tokens, bool) or not isinstance(max_tokens, int):
        raise invalid(
            "max_tokens: Field required" if max_tokens is None else "max_tokens: Input should be an integer"
        )
    if max_tokens < 0:
        raise invalid("max_tokens: Input should be greater than or equal to 0")
    if max_tokens > spec.max_tokens:
        raise invalid(
            f"max_tokens: {max_tokens} > {spec.max_tokens}, which is the maximum allowed number of output "
            f"tokens for {spec.id}"
        )
    tool_names = _check_tools(body, breakpoints, ttls)
    _check_server_tools(body, spec)
    system = body.get("system")
    if system is not None and not isinstance(system, str):
        for i, block in enumerate(_blocks(system, "system")):
            if block.get("type") != "text":
                raise invalid(f"system.{i}.type: Input should be 'text'")
            _check_cache_control(block, f"system.{i}", breakpoints, ttls)
    _check_messages(body, version, breakpoints, ttls)
    top = body.get("cache_control")
    if top is not None:
        _check_cache_control({"cache_control": top}, "", breakpoints, ttls)
    if breakpoints[0] > MAX_BREAKPOINTS:
        raise invalid(
            f"A maximum of {MAX_BREAKPOINTS} blocks with cache_control may be provided. "
            f"Found {breakpoints[0]}."
        )
    if "1h" in ttls and "5m" in ttls and ttls.index("5m") < len(ttls) - 1 - ttls[::-1].index("1h"):
        raise invalid("cache_control: a ttl='1h' cache_control block must not come after a ttl='5m' one")
    _check_thinking(body, spec, max_tokens)
    choice = body.get("tool_choice")
    if choice is not None:
        if not isinstance(choice, dict) or choice.get("type") not in ("auto", "any", "tool", "none"):
            raise invalid("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
        if choice["type"] == "tool" and choice.get("name") not in tool_names:
            raise invalid(f"tool_choice.name: Tool '{choice.get('name')}' not found in provided tools")
        thinking_on = (body.get("thinking") or {}).get("type") in ("enabled", "adaptive")
        if thinking_on and choice["type"] in ("any", "tool"):
            raise invalid("tool_choice: Thinking may not be enabled when tool_choice forces tool use.")
    for param in ("temperature", "top_p", "top_k"):
        if param in body:
            if version == NEW_VERSION:
                raise invalid(f"{param}: this parameter is not supported in API version {NEW_VERSION}")
            value = body[param]
            if param == "temperature" and not (isinstance(value, int | float) and 0 <= value <= 1):
                raise invalid("temperature: Input should be between 0 and 1")
    if max_tokens == 0:
        forced = (choice or {}).get("type") in ("any", "tool")
        if body.get("stream") or in_batch or forced or (body.get("output_config") or {}).get("format"):
            raise invalid("max_tokens: 0 is only allowed for non-streaming requests without forced output")
    stops = body.get("stop_sequences")
    if stops is not None and (
        not isinstance(stops, list) or not all(isinstance(s, str) and s for s in stops)
    ):
        raise invalid("stop_sequences: Input should be a list of non-empty strings")


def _check_thinking(body: dict[str, Any], spec: ModelSpec, max_tokens: int) -> None:
    thinking = body.get("thinking")
    if thinking is None:
        return
    kind = thinking.get("type") if isinstance(thinking, dict) else None
    if kind not in ("enabled", "adaptive", "disabled"):
        raise invalid("thinking.type: Input should be 'enabled', 'adaptive' or 'disabled'")
    if kind in ("enabled", "adaptive") and kind not in spec.thinking:
        raise invalid(f"thinking.type: '{kind}' is not supported for model {spec.id}")
    if kind == "enabled":
        budget = thinking.get("budget_tokens")
        if not isinstance(budget, int) or budget < 1024:
            raise invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
        if budget >= max_tokens:
            raise invalid(
                "max_tokens must be greater than thinking.budget_tokens. Please consult our documentation at "
                "https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size"
            )
