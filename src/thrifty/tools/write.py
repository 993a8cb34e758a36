"""Write: create a file, or replace one the model has read.

Replacing a whole file is the bluntest edit there is, so an existing file must have been read in
this session and be unchanged since; a new file needs no such check.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import Field

from thrifty.tools.base import Tool, ToolContext, ToolResult, absolute_path, error
from thrifty.tools.inputs import ToolInput


class WriteInput(ToolInput):
    file_path: str = Field(
        description="The absolute path to the file to write (must be absolute, not relative)"
    )
    content: str = Field(description="The content to write to the file")


def write_text(path: Path, content: str) -> None:
    """Write exactly the characters given: no newline translation, parents created as needed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8", newline="") as handle:
        handle.write(content)


class WriteTool(Tool):
    name = "Write"
    description = (
        "Writes a file to the local filesystem, replacing it if it exists. file_path must be "
        "absolute. An existing file must have been read with the Read tool first. Prefer the Edit "
        "tool for changing existing files: it sends only the change. Creates parent directories "
        "as needed. Do not create documentation or README files unless asked."
    )
    input_model = WriteInput
    edits_files = True
    path_keys = ("file_path",)
    primary_field = "file_path"

    async def call(self, params: WriteInput, ctx: ToolContext) -> ToolResult:
        path = absolute_path(params.file_path)
        if isinstance(path, ToolResult):
            return path
        if path.is_dir():
            return error(f"EISDIR: {path} is a directory, not a file.")
        existed = path.exists()
        if existed and (stale := ctx.stale_error(path)) is not None:
            return stale
        try:
            await asyncio.to_thread(write_text, path, params.content)
        except OSError as exc:
            return error(f"Could not write {path}: {exc.strerror or exc}")
        ctx.mark_read(path)
        if existed:
            return ToolResult(f"The file {path} has been updated.")
        return ToolResult(f"File created successfully at: {path}")
