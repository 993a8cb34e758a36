"""The contract every tool meets, built-in or custom.

A tool validates its own input with a pydantic model, so the schema the model sees and the
checks the tool applies can never drift apart. Tools never raise for a bad call by the model:
they return an error result the model can read and correct, because in an agent loop a failed
tool call is information, not a crash.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

if TYPE_CHECKING:
    from thrifty.tools.bash_background import BackgroundShells
    from thrifty.tools.inputs import ToolInput

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
    #: Shells Bash started with ``run_in_background`` (``tools.bash_background``), made on first use.
    background: BackgroundShells | None = None

    @property
    def working_dirs(self) -> tuple[Path, ...]:
        return (self.cwd, *self.additional_dirs)

    async def aclose(self) -> None:
        """End what the session's tools left running: its background shells are killed."""
        if self.background is not None:
            await self.background.close()

    def resolve(self, path: str) -> Path:
        """Absolute paths stay as given; relative ones are taken from the cwd."""
        p = Path(path).expanduser()
        return (p if p.is_absolute() else self.cwd / p).resolve()

    def is_inside_working_dirs(self, path: Path) -> bool:
        resolved = path.resolve()
        return any(resolved.is_relative_to(d.resolve()) for d in self.working_dirs)

    def mark_read(self, path: Path, mtime: float | None = None) -> None:
        """Remember the file as seen now, after a Read or after this session's own write.

        ``mtime``: the time stamp stat gave before the read (a change during the read then
        reads as a change since, which errs on the safe side)."""
        self.read_files[path] = path.stat().st_mtime if mtime is None else mtime

    def stale_error(self, path: Path) -> ToolResult | None:
        """Why an existing file may not be overwritten yet, or None when it may.

        Writing blind, or over a change the model has not seen (a formatter, the user), loses
        work; the model is told to Read first, which is cheap and fixes both.
        """
        seen = self.read_files.get(path)
        if seen is None:
            return error("File has not been read yet. Read it first before writing to it.")
        if path.stat().st_mtime > seen:
            return error(
                "File has been modified since read, either by the user or by a linter. "
                "Read it again before attempting to write it."
            )
        return None


def absolute_path(file_path: str) -> Path | ToolResult:
    """The resolved path, or an error result: file tools take absolute paths only.

    The model is told to pass absolute paths; refusing a relative one (rather than guessing a
    base) keeps an edit from landing in a directory nobody meant.
    """
    p = Path(file_path).expanduser()
    if not p.is_absolute():
        return error(f"file_path must be an absolute path, not a relative path: {file_path!r}")
    return p.resolve()


class Tool:
    """A built-in tool. Subclasses set the class attributes and implement ``call``."""

    name: ClassVar[str]
    description: ClassVar[str]
    input_model: ClassVar[type[ToolInput]]
    #: Read-only tools never change the filesystem; plan mode and permission defaults use this.
    read_only: ClassVar[bool] = False
    #: Tools that edit files; ``Edit(...)`` permission rules and acceptEdits mode cover them.
    edits_files: ClassVar[bool] = False
    #: The input keys holding a filesystem path the call reads or writes (or, for Glob and Grep,
    #: the directory it searches): path permission rules, the working-directory checks and
    #: ``can_use_tool`` see exactly these. ``None`` means undeclared, and the permission engine
    #: then scans the generic keys (``tools.registry.GENERIC_PATH_KEYS``), so a tool that forgets
    #: to declare is checked as strictly as before; every built-in tool declares, ``()`` included.
    path_keys: ClassVar[tuple[str, ...] | None] = None
    #: The input key Claude Code's hook ``if`` conditions and rule specifiers test (``command``
    #: for Bash, ``file_path`` for Read, ``pattern`` for Grep); ``None`` for a tool without one.
    #: When it is one of ``path_keys`` the specifier is matched as a gitignore-style path.
    primary_field: ClassVar[str | None] = None

    def input_schema(self) -> dict[str, Any]:
        schema = self.input_model.model_json_schema(by_alias=True)
        defs: dict[str, Any] = schema.pop("$defs", {})
        try:
            tidied: dict[str, Any] = _tidy_schema(schema, defs, inline=True, expanding=())
        except _CyclicSchemaError:
            tidied = _tidy_schema(schema, defs, inline=False, expanding=())
            tidied["$defs"] = {
                name: _tidy_schema(d, defs, inline=False, expanding=()) for name, d in defs.items()
            }
        return tidied

    def definition(self) -> dict[str, Any]:
        """The entry for the request's ``tools`` array (a fresh copy: callers may mark it).

        Built once per tool: generating a pydantic schema costs far more than copying one, and
        every session of an SDK process asks again.
        """
        cached: dict[str, Any] | None = self.__dict__.get("_definition")
        if cached is None:
            cached = {"name": self.name, "description": self.description, "input_schema": self.input_schema()}
            self.__dict__["_definition"] = cached
        return copy.deepcopy(cached)

    async def run(self, raw_input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        from pydantic import ValidationError  # loaded already: the input model is a pydantic class

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


class _CyclicSchemaError(Exception):
    pass


_VALUE_KEYWORDS = frozenset({"default", "const", "enum", "examples"})


def _tidy_schema(node: Any, defs: dict[str, Any], inline: bool, expanding: tuple[str, ...]) -> Any:
    """Shape a pydantic schema like the real tools' schemas, which the model is used to.

    An optional field shows as its plain type (the model leaves it out rather than sending null,
    and null is still accepted), nested models are inlined rather than referenced, and titles are
    dropped: every byte of a tool definition is paid for on each request that misses the cache.
    A self-referencing model cannot be inlined, so it keeps its ``$defs``.
    """
    if isinstance(node, list):
        return [_tidy_schema(item, defs, inline, expanding) for item in node]
    if not isinstance(node, dict):
        return node
    ref = node.get("$ref")
    if inline and isinstance(ref, str) and ref.startswith("#/$defs/"):
        name = ref.removeprefix("#/$defs/")
        if name in expanding:
            raise _CyclicSchemaError(name)
        merged = {**defs[name], **{k: v for k, v in node.items() if k != "$ref"}}
        return _tidy_schema(merged, defs, inline, (*expanding, name))
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "title" and isinstance(value, str):
            continue
        if key in _VALUE_KEYWORDS:
            out[key] = value  # data, not schema: a default may well hold a key named "title"
        elif key == "properties" and isinstance(value, dict):
            out[key] = {prop: _tidy_schema(v, defs, inline, expanding) for prop, v in value.items()}
        else:
            out[key] = _tidy_schema(value, defs, inline, expanding)
    options = out.get("anyOf")
    if isinstance(options, list) and {"type": "null"} in options:
        rest = [o for o in options if o != {"type": "null"}]
        del out["anyOf"]
        if len(rest) == 1 and isinstance(rest[0], dict):
            out = {**rest[0], **out}
        else:
            out["anyOf"] = rest
    if "default" in out and out["default"] is None:
        del out["default"]
    return out


def __getattr__(name: str) -> Any:
    """``ToolInput`` still answers from here, loaded (with pydantic) only when asked for."""
    if name == "ToolInput":
        from thrifty.tools.inputs import ToolInput

        return ToolInput
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
