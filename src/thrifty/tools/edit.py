"""Edit: replace one exact string in a file.

Exact, unique matching is what makes a model's edit safe to apply without showing it the file
again: when the string is missing or ambiguous the tool refuses and says why, instead of guessing.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from pydantic import Field

from thrifty.tools.base import Tool, ToolContext, ToolResult, absolute_path, error
from thrifty.tools.inputs import ToolInput
from thrifty.tools.read import format_numbered
from thrifty.tools.write import write_text

SNIPPET_CONTEXT_LINES = 3
SNIPPET_MAX_LINES = 24


class EditInput(ToolInput):
    file_path: str = Field(description="The absolute path to the file to modify")
    old_string: str = Field(description="The text to replace")
    new_string: str = Field(description="The text to replace it with (must be different from old_string)")
    replace_all: bool = Field(False, description="Replace all occurrences of old_string (default false)")


def _is_crlf(text: str) -> bool:
    """True when every line break is CRLF, so editing in LF form and converting back is lossless."""
    crlf = text.count("\r\n")
    return crlf > 0 and crlf == text.count("\n")


def _snippet(text: str, start: int, new_string: str) -> str:
    lines = text.split("\n")
    first = text.count("\n", 0, start)
    last = first + new_string.removesuffix("\n").count("\n")
    lo = max(0, first - SNIPPET_CONTEXT_LINES)
    hi = min(len(lines), last + SNIPPET_CONTEXT_LINES + 1, lo + SNIPPET_MAX_LINES)
    return format_numbered(lines[lo:hi], lo + 1)


def _apply(path: Path, params: EditInput) -> ToolResult:
    try:
        raw = path.read_bytes().decode("utf-8")
    except UnicodeDecodeError:
        return error(f"{path} is not valid UTF-8 text; the Edit tool only edits text files.")
    crlf = _is_crlf(raw)
    content = raw.replace("\r\n", "\n") if crlf else raw
    old = params.old_string.replace("\r\n", "\n") if crlf else params.old_string
    new = params.new_string.replace("\r\n", "\n") if crlf else params.new_string
    if old == "":
        if content:
            return error(
                "Cannot create new file - file already exists. Use a non-empty old_string to edit it."
            )
        updated, start, matches = new, 0, 1
    else:
        matches = content.count(old)
        if matches == 0:
            return error(f"String to replace not found in file.\nString: {params.old_string}")
        if matches > 1 and not params.replace_all:
            return error(
                f"Found {matches} matches of the string to replace, but replace_all is false. "
                "To replace all occurrences, set replace_all to true. To replace only one occurrence, "
                "please provide more context to uniquely identify the instance.\n"
                f"String: {params.old_string}"
            )
        start = content.index(old)
        updated = content.replace(old, new) if params.replace_all else content.replace(old, new, 1)
    write_text(path, updated.replace("\n", "\r\n") if crlf else updated)
    if params.replace_all and matches > 1:
        return ToolResult(
            f"The file {path} has been updated. All {matches} occurrences of old_string were replaced "
            "with new_string."
        )
    return ToolResult(
        f"The file {path} has been updated. Here's the result of running `cat -n` on a snippet "
        f"of the edited file:\n{_snippet(updated, start, new)}"
    )


class EditTool(Tool):
    name = "Edit"
    description = (
        "Performs an exact string replacement in a file. The file must have been read with the "
        "Read tool first. old_string must match the file exactly, including indentation (do not "
        "include the line-number prefix from Read output), and must be unique in the file unless "
        "replace_all is true; add surrounding lines to make it unique. Use replace_all to rename "
        "something throughout the file. An empty old_string creates a new file containing new_string."
    )
    input_model = EditInput
    edits_files = True
    path_keys = ("file_path",)
    primary_field = "file_path"

    async def call(self, params: EditInput, ctx: ToolContext) -> ToolResult:
        path = absolute_path(params.file_path)
        if isinstance(path, ToolResult):
            return path
        if params.old_string == params.new_string:
            return error("No changes to make: old_string and new_string are exactly the same.")
        if path.is_dir():
            return error(f"EISDIR: {path} is a directory, not a file.")
        try:
            if not path.exists():
                if params.old_string:
                    return error(f"File does not exist. Note: your current working directory is {ctx.cwd}.")
                await asyncio.to_thread(write_text, path, params.new_string)
                ctx.mark_read(path)
                return ToolResult(f"File created successfully at: {path}")
            if (stale := ctx.stale_error(path)) is not None:
                return stale
            result = await asyncio.to_thread(_apply, path, params)
        except OSError as exc:
            return error(f"Could not edit {path}: {exc.strerror or exc}")
        if not result.is_error:
            ctx.mark_read(path)
        return result
