from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.tools.conftest import CallTool
from thrifty.tools.base import ToolContext
from thrifty.tools.registry import BUILTIN_TOOLS

pytestmark = pytest.mark.anyio


async def read_file(call: CallTool, path: Path, text: str | bytes) -> Path:
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    result = await call("Read", {"file_path": str(path)})
    assert not result.is_error
    return path


def edit(path: Path, old: str, new: str, **extra: object) -> dict[str, object]:
    return {"file_path": str(path), "old_string": old, "new_string": new, **extra}


def test_edit_is_an_editing_tool() -> None:
    assert BUILTIN_TOOLS["Edit"].edits_files
    assert not BUILTIN_TOOLS["Edit"].read_only


async def test_replaces_a_unique_string_and_shows_a_snippet(call: CallTool, tmp_path: Path) -> None:
    f = await read_file(call, tmp_path / "a.py", "".join(f"line{i}\n" for i in range(1, 21)))
    result = await call("Edit", edit(f, "line10\n", "ten\nTEN\n"))
    assert not result.is_error
    assert f.read_text().splitlines()[8:12] == ["line9", "ten", "TEN", "line11"]
    text = str(result.content)
    assert f"The file {f} has been updated." in text
    assert "    10\tten\n    11\tTEN" in text
    assert "     7\tline7" in text  # context before
    assert "     6\t" not in text
    assert "line14" not in text


async def test_string_not_found(call: CallTool, tmp_path: Path) -> None:
    f = await read_file(call, tmp_path / "a.txt", "hello world\n")
    result = await call("Edit", edit(f, "goodbye", "hi"))
    assert result.is_error
    assert "String to replace not found in file." in str(result.content)
    assert f.read_text() == "hello world\n"


async def test_ambiguous_match_is_refused(call: CallTool, tmp_path: Path) -> None:
    f = await read_file(call, tmp_path / "a.txt", "x = 1\nx = 1\nx = 1\n")
    result = await call("Edit", edit(f, "x = 1", "x = 2"))
    assert result.is_error
    assert "Found 3 matches" in str(result.content)
    assert "replace_all" in str(result.content)
    assert "more context" in str(result.content)
    assert f.read_text() == "x = 1\nx = 1\nx = 1\n"


async def test_replace_all(call: CallTool, tmp_path: Path) -> None:
    f = await read_file(call, tmp_path / "a.txt", "foo bar foo\nfoo\n")
    result = await call("Edit", edit(f, "foo", "baz", replace_all=True))
    assert not result.is_error
    assert f.read_text() == "baz bar baz\nbaz\n"
    assert "3 occurrences" in str(result.content)


async def test_replace_all_with_one_match_is_fine(call: CallTool, tmp_path: Path) -> None:
    f = await read_file(call, tmp_path / "a.txt", "only once\n")
    result = await call("Edit", edit(f, "once", "twice", replace_all=True))
    assert not result.is_error
    assert f.read_text() == "only twice\n"


async def test_identical_strings_are_an_error(call: CallTool, tmp_path: Path) -> None:
    f = await read_file(call, tmp_path / "a.txt", "same\n")
    result = await call("Edit", edit(f, "same", "same"))
    assert result.is_error
    assert "No changes to make" in str(result.content)


async def test_edit_requires_a_prior_read(call: CallTool, tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("content\n")
    result = await call("Edit", edit(f, "content", "changed"))
    assert result.is_error
    assert "File has not been read yet" in str(result.content)
    assert f.read_text() == "content\n"


async def test_edit_refuses_a_file_changed_since_read(call: CallTool, tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("content\n")
    os.utime(f, (1_000_000, 1_000_000))
    await call("Read", {"file_path": str(f)})
    os.utime(f, (1_000_500, 1_000_500))
    result = await call("Edit", edit(f, "content", "changed"))
    assert result.is_error
    assert "modified since read" in str(result.content)


async def test_consecutive_edits_need_no_reread(call: CallTool, ctx: ToolContext, tmp_path: Path) -> None:
    f = await read_file(call, tmp_path / "a.txt", "a b c\n")
    assert not (await call("Edit", edit(f, "a", "A"))).is_error
    assert not (await call("Edit", edit(f, "b", "B"))).is_error
    assert f.read_text() == "A B c\n"
    assert ctx.read_files[f] == f.stat().st_mtime


async def test_empty_old_string_creates_a_new_file(call: CallTool, ctx: ToolContext, tmp_path: Path) -> None:
    f = tmp_path / "new" / "file.txt"
    result = await call("Edit", edit(f, "", "fresh\n"))
    assert not result.is_error
    assert "created" in str(result.content)
    assert f.read_text() == "fresh\n"
    assert f in ctx.read_files


async def test_empty_old_string_on_existing_content_is_refused(call: CallTool, tmp_path: Path) -> None:
    f = await read_file(call, tmp_path / "a.txt", "exists\n")
    result = await call("Edit", edit(f, "", "other"))
    assert result.is_error
    assert "already exists" in str(result.content)


async def test_empty_old_string_fills_an_empty_file(call: CallTool, tmp_path: Path) -> None:
    f = await read_file(call, tmp_path / "a.txt", "")
    result = await call("Edit", edit(f, "", "now full\n"))
    assert not result.is_error
    assert f.read_text() == "now full\n"


async def test_missing_file_with_old_string(call: CallTool, tmp_path: Path) -> None:
    result = await call("Edit", edit(tmp_path / "nope.txt", "a", "b"))
    assert result.is_error
    assert "File does not exist." in str(result.content)


async def test_crlf_file_is_edited_with_lf_strings_and_stays_crlf(call: CallTool, tmp_path: Path) -> None:
    f = await read_file(call, tmp_path / "win.txt", b"one\r\ntwo\r\nthree\r\n")
    result = await call("Edit", edit(f, "one\ntwo", "uno\ndos"))
    assert not result.is_error
    assert f.read_bytes() == b"uno\r\ndos\r\nthree\r\n"


async def test_mixed_line_endings_are_left_alone(call: CallTool, tmp_path: Path) -> None:
    f = await read_file(call, tmp_path / "mixed.txt", b"a\r\nb\nc\r\n")
    result = await call("Edit", edit(f, "b", "B"))
    assert not result.is_error
    assert f.read_bytes() == b"a\r\nB\nc\r\n"


async def test_non_utf8_file_is_refused(call: CallTool, tmp_path: Path) -> None:
    f = await read_file(call, tmp_path / "latin.txt", "café\n".encode("latin-1"))
    result = await call("Edit", edit(f, "caf", "CAF"))
    assert result.is_error
    assert "UTF-8" in str(result.content)
    assert f.read_bytes() == "café\n".encode("latin-1")


async def test_relative_path_and_directory_are_refused(call: CallTool, tmp_path: Path) -> None:
    rel = await call("Edit", edit(Path("a.txt"), "a", "b"))
    assert rel.is_error
    assert "absolute" in str(rel.content)
    directory = await call("Edit", edit(tmp_path, "a", "b"))
    assert directory.is_error
    assert "directory" in str(directory.content)


async def test_replacement_text_is_literal_not_a_regex_template(call: CallTool, tmp_path: Path) -> None:
    f = await read_file(call, tmp_path / "a.txt", "path = 'x'\n")
    result = await call("Edit", edit(f, "'x'", r"'\1 $& \\n'"))
    assert not result.is_error
    assert f.read_text() == "path = '\\1 $& \\\\n'\n"
