"""Tools the caller brings: an SDK ``@tool`` function, or a tool of an SDK MCP server that the
official ``claude-agent-sdk`` serves over the control protocol.

They meet the same contract as the built-ins (the runner, the permission engine and the hooks
cannot tell them apart), but their input is described by a JSON Schema rather than a pydantic
model, so it is checked with ``jsonschema`` before the handler sees it. A handler that raises
becomes an error result the model can read: a caller's bug must not end the run.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any

from thrifty.tools.base import Tool, ToolContext, ToolResult, error

ToolHandler = Callable[[dict[str, Any]], Awaitable[ToolResult]]


class CustomTool(Tool):
    """Base of the classes ``custom_tool`` makes; one class per tool because names are ClassVars."""

    schema: dict[str, Any]
    handler: ToolHandler

    def input_schema(self) -> dict[str, Any]:
        return self.schema

    async def run(self, raw_input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        import jsonschema  # here, not at the top: most runs define no custom tool

        validator_cls = jsonschema.validators.validator_for(self.schema)
        problems = sorted(validator_cls(self.schema).iter_errors(raw_input), key=lambda e: list(e.path))
        if problems:
            detail = "; ".join(
                f"{'.'.join(str(p) for p in e.path) or 'input'}: {e.message}" for e in problems
            )
            return error(f"InputValidationError: {self.name} failed due to: {detail}")
        try:
            return await self.handler(raw_input)
        except Exception as exc:
            return error(f"Error: {self.name} failed: {type(exc).__name__}: {exc}")


def custom_tool(
    name: str,
    description: str,
    input_schema: dict[str, Any],
    handler: ToolHandler,
    *,
    read_only: bool = False,
    path_keys: Sequence[str] | None = None,
    primary_field: str | None = None,
) -> Tool:
    """A ``Tool`` for the runner. The schema must itself be valid, or this raises ``ValueError``.

    ``path_keys`` names the input keys that hold a path the tool reads or writes, which path
    permission rules and the working-directory checks then apply to; left out, the generic keys
    (``file_path``, ``notebook_path``, ``path``) are checked, as for any undeclared tool.
    """
    import jsonschema

    try:
        jsonschema.validators.validator_for(input_schema).check_schema(input_schema)
    except jsonschema.SchemaError as exc:
        raise ValueError(f"tool {name!r}: input schema is not a valid JSON Schema: {exc.message}") from exc
    if isinstance(path_keys, str):
        raise ValueError(f"tool {name!r}: path_keys must be a sequence of input keys, not one string")
    cls = type(
        f"CustomTool_{name}",
        (CustomTool,),
        {
            "name": name,
            "description": description,
            "read_only": read_only,
            "path_keys": None if path_keys is None else tuple(path_keys),
            "primary_field": primary_field,
        },
    )
    tool: CustomTool = cls()
    tool.schema = input_schema
    tool.handler = handler
    return tool
