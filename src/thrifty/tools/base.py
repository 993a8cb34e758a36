"""The contract every tool meets, built-in or custom.

A tool validates its own input with a pydantic model, so the schema the model sees and the
checks the tool applies can never drift apart. Tools never raise for a bad call by the model:
they return an error result the model can read and correct, because in an agent loop a failed
tool call is information, not a crash.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, ValidationError

ContentBlock = dict[str, Any]


@dataclass(frozen=True)
class ToolResult:
    """What goes back to the model as a ``tool_result`` block.

    ``content`` is plain text, or a list of content blocks (text and image) when the tool
    returns something other than text, such as Read on a PNG.
    """

    content: str | list[ContentBlock]
    is_error: bool = False

    def to_block(self, tool_use_id: str) -> ContentBlock:
        block: ContentBlock = {"type": "tool_result", "tool_use_id": tool_use_id, "content": self.content}
        if self.is_error:
            block["is_error"] = True
        return block


def error(message: str) -> ToolResult:
    return ToolResult(content=message, is_error=True)


@dataclass
class ToolContext:
    """Per-run state shared by the tools of one session.

    ``read_files`` maps a resolved path to the mtime seen when it was last read, so Edit and Write
    can refuse to clobber a file the model never looked at or that changed underneath it.
    """

    cwd: Path
    additional_dirs: tuple[Path, ...] = ()
    read_files: dict[Path, float] = field(default_factory=dict)
    todos: list[dict[str, Any]] = field(default_factory=list)
    env: dict[str, str] | None = None

    @property
    def working_dirs(self) -> tuple[Path, ...]:
        return (self.cwd, *self.additional_dirs)

    def resolve(self, path: str) -> Path:
        """Absolute paths stay as given; relative ones are taken from the cwd."""
        p = Path(path).expanduser()
        return (p if p.is_absolute() else self.cwd / p).resolve()

    def is_inside_working_dirs(self, path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved.is_relative_to(d.resolve()) for d in self.working_dirs)


class ToolInput(BaseModel):
    """Base for tool input models: unknown keys are rejected, as the real tools do."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class Tool:
    """A built-in tool. Subclasses set the class attributes and implement ``call``."""

    name: ClassVar[str]
    description: ClassVar[str]
    input_model: ClassVar[type[ToolInput]]
    #: Read-only tools never change the filesystem; plan mode and permission defaults use this.
    read_only: ClassVar[bool] = False
    #: Tools that edit files; ``Edit(...)`` permission rules and acceptEdits mode cover them.
    edits_files: ClassVar[bool] = False

    def input_schema(self) -> dict[str, Any]:
        schema = self.input_model.model_json_schema(by_alias=True)
        schema.pop("title", None)
        for prop in schema.get("properties", {}).values():
            prop.pop("title", None)
        return schema

    def definition(self) -> dict[str, Any]:
        """The entry for the request's ``tools`` array."""
        return {"name": self.name, "description": self.description, "input_schema": self.input_schema()}

    async def run(self, raw_input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        try:
            parsed = self.input_model.model_validate(raw_input)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors()
            )
            return error(f"InputValidationError: {self.name} failed due to: {problems}")
        return await self.call(parsed, ctx)

    async def call(self, params: Any, ctx: ToolContext) -> ToolResult:
        raise NotImplementedError
