from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.tools.conftest import CallTool
from thrifty.tools.base import ToolContext
from thrifty.tools.registry import BUILTIN_TOOLS

pytestmark = pytest.mark.anyio


def test_write_is_an_editing_tool() -> None:
    tool = BUILTIN_TOOLS["Write"]
    assert tool.edits_files
    assert not tool.read_only


async def test_creates_file_and_parent_dirs(call: CallTool, ctx: ToolContext, tmp_path: Path) -> None:
    target = tmp_path / "deep" / "er" / "new.txt"
    result = await call("Write", {"file_path": str(target), "content": "hello\n"})
    assert not result.is_error
    assert result.content == f"File created successfully at: {target}"
    assert target.read_text() == "hello\n"
    assert ctx.read_files[target] == target.stat().st_mtime


async def test_overwriting_an_unread_file_is_refused(call: CallTool, tmp_path: Path) -> None:
    target = tmp_path / "old.txt"
    target.write_text("precious")
    result = await call("Write", {"file_path": str(target), "content": "clobbered"})
    assert result.is_error
    assert "File has not been read yet. Read it first before writing to it." in str(result.content)
    assert target.read_text() == "precious"


async def test_overwrite_after_read(call: CallTool, tmp_path: Path) -> None:
    target = tmp_path / "old.txt"
    target.write_text("before")
    await call("Read", {"file_path": str(target)})
    result = await call("Write", {"file_path": str(target), "content": "after"})
    assert not result.is_error
    assert result.content == f"The file {target} has been updated."
    assert target.read_text() == "after"


async def test_file_changed_since_read_is_refused(call: CallTool, tmp_path: Path) -> None:
    target = tmp_path / "old.txt"
    target.write_text("before")
    os.utime(target, (1_000_000, 1_000_000))
    await call("Read", {"file_path": str(target)})
    target.write_text("someone else's change")
    os.utime(target, (1_000_100, 1_000_100))
    result = await call("Write", {"file_path": str(target), "content": "mine"})
    assert result.is_error
    assert "modified since read" in str(result.content)
    assert target.read_text() == "someone else's change"


async def test_own_write_counts_as_seen(call: CallTool, tmp_path: Path) -> None:
    target = tmp_path / "a.txt"
    await call("Write", {"file_path": str(target), "content": "one"})
    result = await call("Write", {"file_path": str(target), "content": "two"})
    assert not result.is_error
    assert target.read_text() == "two"


async def test_content_is_written_byte_for_byte(call: CallTool, tmp_path: Path) -> None:
    target = tmp_path / "crlf.txt"
    await call("Write", {"file_path": str(target), "content": "a\r\nb\n\u00e9"})
    assert target.read_bytes() == "a\r\nb\n\u00e9".encode()


async def test_relative_path_is_refused(call: CallTool, tmp_path: Path) -> None:
    result = await call("Write", {"file_path": "rel.txt", "content": "x"})
    assert result.is_error
    assert "absolute" in str(result.content)
    assert not (tmp_path / "rel.txt").exists()


async def test_directory_is_refused(call: CallTool, tmp_path: Path) -> None:
    result = await call("Write", {"file_path": str(tmp_path), "content": "x"})
    assert result.is_error
    assert "directory" in str(result.content)


async def test_unwritable_location_is_an_error_result(call: CallTool, tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a dir")
    result = await call("Write", {"file_path": str(blocker / "child.txt"), "content": "x"})
    assert result.is_error
    assert "Could not write" in str(result.content)


async def test_content_is_required(call: CallTool, tmp_path: Path) -> None:
    result = await call("Write", {"file_path": str(tmp_path / "a.txt")})
    assert result.is_error
    assert "InputValidationError" in str(result.content)
