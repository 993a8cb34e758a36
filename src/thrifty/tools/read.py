"""Read: show a file to the model, numbered the way ``cat -n`` numbers it.

Line numbers let the model point at code and pick ``offset``/``limit`` for the next read; the
size cap and the line cap keep one careless read from filling the context window (and the bill).
"""

from __future__ import annotations

import asyncio
import base64
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Annotated, Any

from pydantic import Field

from thrifty.tools.base import Tool, ToolContext, ToolResult, absolute_path, error
from thrifty.tools.inputs import ToolInput

DEFAULT_LINE_LIMIT = 2000
MAX_LINE_CHARS = 2000
MAX_TEXT_BYTES = 256 * 1024
MAX_IMAGE_BYTES = 3_932_160  # 3.75 MiB: base64 grows it by 4/3 to the API's 5 MiB image limit.
BINARY_SNIFF_BYTES = 8192
#: Files up to this size are read on the event loop (a local read of it takes microseconds).
INLINE_READ_BYTES = 64 * 1024

IMAGE_MEDIA_TYPES = {
    ".png": "image/png",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".gif": "image/gif",
    ".webp": "image/webp",
}
# Extensions whose contents are never useful as text, even when the first bytes hold no NUL.
_BINARY_KINDS = (
    "exe dll so dylib o a lib obj bin class jar pyc pyo pyd whl wasm",  # compiled
    "zip gz tgz bz2 xz zst 7z rar tar iso dmg",  # archives
    "mp3 mp4 wav flac ogg aac avi mov mkv webm",  # media
    "bmp ico tif tiff psd",  # images the API does not take
    "ttf otf woff woff2 eot",  # fonts
    "db sqlite sqlite3 npy npz pkl parquet doc docx xls xlsx ppt pptx",  # data and documents
)
BINARY_EXTENSIONS = frozenset(ext for kind in _BINARY_KINDS for ext in kind.split())


class ReadInput(ToolInput):
    file_path: str = Field(description="The absolute path to the file to read")
    offset: Annotated[int, Field(ge=0)] | None = Field(
        None,
        description="The line number to start reading from (1-based). "
        "Only provide if the file is too large to read at once",
    )
    limit: Annotated[int, Field(gt=0)] | None = Field(
        None,
        description="The number of lines to read. Only provide if the file is too large to read at once.",
    )
    pages: str | None = Field(
        None,
        description='Page range for PDF files (e.g. "1-5", "3"). Only applicable to PDF files. '
        "Maximum 20 pages per request; required for PDFs over 10 pages.",
    )
    allow_large: bool | None = Field(
        None,
        description="Read a text file over the size limit in full. Costs many tokens; prefer offset/limit.",
    )


def format_numbered(lines: list[str], first_line: int) -> str:
    """Number lines like ``cat -n``, shortening any line too long to be worth its tokens."""
    out = []
    for number, line in enumerate(lines, start=first_line):
        if len(line) > MAX_LINE_CHARS:
            line = line[:MAX_LINE_CHARS] + "… [line truncated]"
        out.append(f"{number:>6}\t{line}")
    return "\n".join(out)


def sniff_media_type(data: bytes, suffix: str) -> str:
    """Trust the bytes over the name: the API rejects an image whose declared type is wrong."""
    if data.startswith(b"\x89PNG\r\n\x1a\n"):
        return "image/png"
    if data.startswith(b"\xff\xd8\xff"):
        return "image/jpeg"
    if data[:6] in (b"GIF87a", b"GIF89a"):
        return "image/gif"
    if data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        return "image/webp"
    return IMAGE_MEDIA_TYPES[suffix]


def _read_image(path: Path, suffix: str) -> ToolResult:
    size = path.stat().st_size
    if size > MAX_IMAGE_BYTES:
        return error(
            f"Image is too large to read ({size / 1048576:.2f} MiB; the limit is 3.75 MiB). "
            "Resize or compress it first, for example with the Bash tool."
        )
    data = path.read_bytes()
    block: dict[str, Any] = {
        "type": "image",
        "source": {
            "type": "base64",
            "media_type": sniff_media_type(data, suffix),
            "data": base64.b64encode(data).decode("ascii"),
        },
    }
    return ToolResult(content=[block])


def _numbered(lines: Iterable[str], params: ReadInput) -> ToolResult:
    """The window ``offset``/``limit`` of ``lines`` (each with or without its line end)."""
    start = max(params.offset or 1, 1)
    limit = params.limit or DEFAULT_LINE_LIMIT
    selected: list[str] = []
    total = 0
    for total, raw in enumerate(lines, start=1):
        if start <= total < start + limit:
            selected.append(raw.removesuffix("\n").removesuffix("\r"))
    if total == 0:
        return ToolResult(
            "<system-reminder>Warning: the file exists but the contents are empty.</system-reminder>"
        )
    if not selected:
        return ToolResult(
            f"<system-reminder>Warning: the file exists but is shorter than the provided offset ({start}). "
            f"The file has {total} lines.</system-reminder>"
        )
    text = format_numbered(selected, start)
    last = start + len(selected) - 1
    if last < total:
        text += (
            f"\n\n(Showing lines {start}-{last} of {total}. "
            f"Use offset={last + 1} to read on, or limit for a different window.)"
        )
    return ToolResult(text)


def _split_lines(data: bytes) -> list[str]:
    """Lines split on LF only, so numbering agrees with grep, sed and editors; like iterating a
    file opened with ``newline="\n"`` (no empty line after a final LF)."""
    lines = data.decode("utf-8", "replace").split("\n")
    if lines[-1] == "":
        lines.pop()
    return lines


def _binary_error(path: Path) -> ToolResult:
    return error(
        f"This tool cannot read binary files. {path} appears to be a binary file. "
        "Use the Bash tool with a suitable tool (file, xxd, unzip -l, ...) to inspect it."
    )


def _read(path: Path, params: ReadInput) -> ToolResult:
    suffix = path.suffix.lower()
    if suffix == ".pdf":
        from thrifty.tools.pdf import read_pdf  # only a PDF read pays for importing it

        blocks = read_pdf(path, params.pages)
        return error(blocks) if isinstance(blocks, str) else ToolResult(content=blocks)
    if params.pages is not None:
        return error("The pages parameter applies only to PDF files.")
    if suffix == ".ipynb":
        from thrifty.tools.notebook import read_notebook

        cells = read_notebook(path)
        return error(cells) if isinstance(cells, str) else ToolResult(content=cells)
    if suffix in IMAGE_MEDIA_TYPES:
        return _read_image(path, suffix)
    if suffix.removeprefix(".") in BINARY_EXTENSIONS:
        return _binary_error(path)
    # Unbuffered: one open, one fstat and the reads, for the sniff, the size check and the text.
    with path.open("rb", buffering=0) as handle:
        head = handle.read(BINARY_SNIFF_BYTES)
        if b"\x00" in head:
            return _binary_error(path)
        size = os.fstat(handle.fileno()).st_size
        if (
            size > MAX_TEXT_BYTES
            and params.offset is None
            and params.limit is None
            and not params.allow_large
        ):
            return error(
                f"File content ({size // 1024} KiB) exceeds the maximum allowed size "
                f"({MAX_TEXT_BYTES // 1024} KiB). "
                "Use the offset and limit parameters to read specific portions of the file, "
                "or use the Grep tool to search for specific content."
            )
        if size <= MAX_TEXT_BYTES:  # small enough to hold whole: read the rest and split it
            return _numbered(_split_lines(head + handle.readall()), params)
    # A large file read with offset/limit is streamed, never held whole.
    with path.open(encoding="utf-8", errors="replace", newline="\n") as text:
        return _numbered(text, params)


class ReadTool(Tool):
    name = "Read"
    description = (
        "Reads a file from the local filesystem. file_path must be an absolute path. By default "
        f"reads up to {DEFAULT_LINE_LIMIT} lines from the start; for long files pass offset (1-based "
        "line number) and limit. Output is numbered like `cat -n` (line number, tab, content); the "
        "numbers are not part of the file. Lines over 2000 characters are truncated. Images (PNG, "
        "JPEG, GIF, WebP) are shown to you visually, PDFs as documents (see pages), notebooks as "
        "cells with outputs. Cannot read directories (use Bash `ls` or Glob) or binary files."
    )
    input_model = ReadInput
    read_only = True
    path_keys = ("file_path",)
    primary_field = "file_path"

    async def call(self, params: ReadInput, ctx: ToolContext) -> ToolResult:
        path = absolute_path(params.file_path)
        if isinstance(path, ToolResult):
            return path
        try:
            info = path.stat()  # one stat answers exists, directory and regular file
        except OSError:
            info = None
        if info is None:
            return error(f"File does not exist. Note: your current working directory is {ctx.cwd}.")
        if stat.S_ISDIR(info.st_mode):
            return error(
                f"EISDIR: {path} is a directory, not a file. "
                "Use the Bash tool with `ls`, or the Glob tool, to list its contents."
            )
        if not stat.S_ISREG(info.st_mode):
            return error(f"{path} is not a regular file (a device, socket or pipe); it cannot be read.")
        try:
            # A small file is read on the loop: handing it to a thread costs more than reading it.
            if info.st_size <= INLINE_READ_BYTES:
                result = _read(path, params)
            else:
                result = await asyncio.to_thread(_read, path, params)
        except OSError as exc:
            return error(f"Could not read {path}: {exc.strerror or exc}")
        if not result.is_error:
            ctx.mark_read(path, info.st_mtime)
        return result
