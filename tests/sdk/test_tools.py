"""``@tool`` and ``create_sdk_mcp_server``: schemas, calls by the model, results and failures."""

from __future__ import annotations

from typing import Annotated, Any, Literal, NotRequired, TypedDict

import pytest
from pydantic import BaseModel, Field

import thrifty
from tests.sdk.conftest import MakeOptions, sent, texts
from thrifty.sdk.tools import input_schema_of
from thrifty.testing import Simulator

PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="


def text(value: str, **extra: Any) -> dict[str, Any]:
    return {"content": [{"type": "text", "text": value}], **extra}


def tool_result(sim: Simulator, index: int = -1) -> dict[str, Any]:
    block: dict[str, Any] = sent(sim, index)["messages"][-1]["content"][0]
    assert block["type"] == "tool_result"
    return block


def calc(calls: list[dict[str, Any]]) -> dict[str, Any]:
    @thrifty.tool("add", "Add two numbers", {"a": float, "b": float})
    async def add(args: dict[str, Any]) -> dict[str, Any]:
        calls.append(args)
        return text(f"sum={args['a'] + args['b']}")

    return thrifty.create_sdk_mcp_server("calculator", version="2.0.0", tools=[add])


@pytest.mark.anyio
async def test_the_model_calls_a_custom_tool_and_gets_its_result(
    sim: Simulator, options: MakeOptions
) -> None:
    calls: list[dict[str, Any]] = []
    sim.set_script(
        [{"tool_use": {"name": "mcp__calc__add", "input": {"a": 2, "b": 3.5}}}, {"text": "It is 5.5."}]
    )
    opts = options(mcp_servers={"calc": calc(calls)}, allowed_tools=["mcp__calc__add"])
    messages = [m async for m in thrifty.query("add 2 and 3.5", opts)]
    assert calls == [{"a": 2, "b": 3.5}]
    first = sent(sim, 0)
    offered = {t["name"]: t for t in first["tools"]}
    assert offered["mcp__calc__add"]["input_schema"] == {
        "type": "object",
        "properties": {"a": {"type": "number"}, "b": {"type": "number"}},
        "required": ["a", "b"],
    }
    block = tool_result(sim)
    assert block["content"] == "sum=5.5" and not block.get("is_error")
    init = messages[0]
    assert isinstance(init, thrifty.SystemInit) and "mcp__calc__add" in init.tools
    results = [m for m in messages if isinstance(m, thrifty.UserMessage)]
    assert results[0].origin == "tool_results"
    final = messages[-1]
    assert isinstance(final, thrifty.Result) and final.result == "It is 5.5." and final.num_turns == 2


def test_a_custom_tool_not_allowed_is_denied_without_can_use_tool(
    sim: Simulator, options: MakeOptions
) -> None:
    calls: list[dict[str, Any]] = []
    sim.set_script([{"tool_use": {"name": "mcp__calc__add", "input": {"a": 1, "b": 1}}}, {"text": "ok"}])
    result = thrifty.run_sync("x", options(mcp_servers={"calc": calc(calls)}))
    assert calls == [] and result.permission_denials[0]["tool_name"] == "mcp__calc__add"
    assert tool_result(sim)["is_error"] is True


def test_input_schema_forms() -> None:
    full = {"type": "object", "properties": {"q": {"type": "string"}}, "required": []}
    assert input_schema_of(full) is full
    assert input_schema_of({"n": int, "tags": list[str], "label": Annotated[str, "shown to users"]}) == {
        "type": "object",
        "properties": {
            "n": {"type": "integer"},
            "tags": {"type": "array", "items": {"type": "string"}},
            "label": {"type": "string", "description": "shown to users"},
        },
        "required": ["n", "tags", "label"],
    }

    # the functional form: this module's annotations are strings, which hide NotRequired
    query = TypedDict(  # noqa: UP013
        "query", {"text": str, "mode": Literal["fast", "slow"], "limit": NotRequired[int | None]}
    )

    assert input_schema_of(query) == {
        "type": "object",
        "properties": {
            "text": {"type": "string"},
            "mode": {"enum": ["fast", "slow"]},
            "limit": {"type": "integer"},
        },
        "required": ["mode", "text"],
    }

    class Search(BaseModel):
        text: str = Field(min_length=1)
        limit: int = 10

    schema = input_schema_of(Search)
    assert schema["properties"]["text"]["minLength"] == 1 and schema["required"] == ["text"]
    with pytest.raises(thrifty.SetupError, match="input_schema must be"):
        input_schema_of(42)
    with pytest.raises(thrifty.SetupError, match="tool name"):
        thrifty.tool("bad name!", "x", {})


def test_a_pydantic_input_is_validated_before_the_handler_which_gets_a_dict(
    sim: Simulator, options: MakeOptions
) -> None:
    class Search(BaseModel):
        text: str = Field(min_length=3)
        limit: int = 10

    seen: list[dict[str, Any]] = []

    @thrifty.tool("search", "Search notes", Search, annotations=thrifty.ToolAnnotations(readOnlyHint=True))
    async def search(args: dict[str, Any]) -> dict[str, Any]:
        seen.append(args)
        return text("found 1")

    sim.set_script(
        [
            {"tool_use": {"name": "mcp__notes__search", "input": {"text": "ab"}}},
            {"tool_use": {"name": "mcp__notes__search", "input": {"text": "abc"}}},
            {"text": "done"},
        ]
    )
    server = thrifty.create_sdk_mcp_server("notes", tools=[search])
    # readOnlyHint: allowed in default mode without an allow rule
    result = thrifty.run_sync("find", options(mcp_servers={"notes": server}))
    assert result.subtype == "success" and result.permission_denials == []
    invalid = tool_result(sim, 1)
    assert invalid["is_error"] is True and "InputValidationError" in invalid["content"]
    assert seen == [{"text": "abc", "limit": 10}]
    assert tool_result(sim, 2)["content"] == "found 1"


def test_errors_exceptions_and_images_come_back_as_tool_results(sim: Simulator, options: MakeOptions) -> None:
    @thrifty.tool("fail", "Fails softly", {})
    async def fail(args: dict[str, Any]) -> dict[str, Any]:
        return text("disk full", is_error=True)

    @thrifty.tool("crash", "Raises", {})
    async def crash(args: dict[str, Any]) -> dict[str, Any]:
        raise RuntimeError("kaboom")

    @thrifty.tool("pic", "An image", {})
    async def pic(args: dict[str, Any]) -> dict[str, Any]:
        return {
            "content": [
                {"type": "text", "text": "a dot"},
                {"type": "image", "data": PNG, "mimeType": "image/png"},
            ]
        }

    server = thrifty.create_sdk_mcp_server("t", tools=[fail, crash, pic])
    calls = [{"name": f"mcp__t__{n}", "input": {}} for n in ("fail", "crash", "pic")]
    sim.set_script([{"tool_use": calls}, {"text": "ok"}])
    result = thrifty.run_sync("x", options(mcp_servers={"t": server}, allowed_tools=["mcp__t"]))
    assert result.subtype == "success"
    blocks = sent(sim)["messages"][-1]["content"]
    assert blocks[0]["is_error"] is True and blocks[0]["content"] == "disk full"
    assert blocks[1]["is_error"] is True and "RuntimeError: kaboom" in blocks[1]["content"]
    image = blocks[2]["content"]
    assert image[0] == {"type": "text", "text": "a dot"}
    assert image[1]["type"] == "image" and image[1]["source"]["media_type"] == "image/png"
    assert "a dot" in texts(sent(sim)["messages"][-1]["content"])


def test_servers_must_be_servers_and_names_must_not_clash(options: MakeOptions) -> None:
    with pytest.raises(thrifty.SetupError, match=r"must be create_sdk_mcp_server\(...\) or a stdio/sse/http"):
        thrifty.run_sync("x", options(mcp_servers={"ext": {"type": "ws", "address": "srv"}}))

    @thrifty.tool("same", "x", {})
    async def same(args: dict[str, Any]) -> dict[str, Any]:
        return text("")

    with pytest.raises(thrifty.SetupError, match="share a name"):
        thrifty.create_sdk_mcp_server("s", tools=[same, same])
