"""The schema tidying and file-state helpers that base.py gives every tool."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from thrifty.tools.base import Tool, ToolContext, ToolResult, absolute_path
from thrifty.tools.inputs import ToolInput


class Inner(ToolInput):
    title: str = Field(description="a property that happens to be called title")


class Sample(ToolInput):
    count: Annotated[int, Field(ge=1)] | None = Field(None, description="optional with a bound")
    either: int | str | None = None
    inner: Inner
    inners: list[Inner] = Field(default_factory=list)
    meta: dict[str, str] = Field(default={"title": "kept"})


class Node(ToolInput):
    children: list[Node] = Field(default_factory=list)


class SampleTool(Tool):
    name = "Sample"
    description = "A tool used to look at schemas."
    input_model = Sample


class NodeTool(Tool):
    name = "Node"
    description = "A self-referencing schema."
    input_model = Node


def test_optional_fields_show_their_plain_type() -> None:
    props = SampleTool().input_schema()["properties"]
    assert props["count"] == {"type": "integer", "minimum": 1, "description": "optional with a bound"}
    assert props["either"] == {"anyOf": [{"type": "integer"}, {"type": "string"}]}
    assert props["meta"]["default"] == {"title": "kept"}


def test_nested_models_are_inlined_and_property_names_survive() -> None:
    schema = SampleTool().input_schema()
    assert "$defs" not in schema
    inner = schema["properties"]["inner"]
    assert inner["properties"]["title"]["description"] == "a property that happens to be called title"
    assert inner["required"] == ["title"]
    assert schema["properties"]["inners"]["items"] == inner
    assert schema["required"] == ["inner"]


def test_recursive_models_keep_their_defs() -> None:
    schema: dict[str, Any] = NodeTool().input_schema()
    assert "Node" in schema["$defs"]
    assert schema["$defs"]["Node"]["properties"]["children"]["items"] == {"$ref": "#/$defs/Node"}


def test_null_is_still_accepted_for_optional_fields() -> None:
    parsed = Sample.model_validate({"count": None, "inner": {"title": "t"}})
    assert parsed.count is None


def test_absolute_path() -> None:
    assert absolute_path("/a/../b") == Path("/b")
    refused = absolute_path("relative/file.txt")
    assert isinstance(refused, ToolResult)
    assert refused.is_error


def test_stale_error_tracks_reads(tmp_path: Path) -> None:
    ctx = ToolContext(cwd=tmp_path)
    f = tmp_path / "a.txt"
    f.write_text("x")
    unread = ctx.stale_error(f)
    assert unread is not None
    assert "not been read" in str(unread.content)
    os.utime(f, (100, 100))
    ctx.mark_read(f)
    assert ctx.stale_error(f) is None
    os.utime(f, (200, 200))
    changed = ctx.stale_error(f)
    assert changed is not None
    assert "modified since read" in str(changed.content)
