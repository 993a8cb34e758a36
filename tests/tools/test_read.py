from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest

from tests.tools.conftest import CallTool
from thrifty.tools.base import ToolContext
from thrifty.tools.read import MAX_IMAGE_BYTES, MAX_TEXT_BYTES, format_numbered

pytestmark = pytest.mark.anyio

PNG_1PX = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def write_lines(path: Path, count: int) -> Path:
    path.write_text("".join(f"line {i}\n" for i in range(1, count + 1)))
    return path


async def test_reads_text_numbered_like_cat_n(call: CallTool, tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("alpha\n\tbeta\n")
    result = await call("Read", {"file_path": str(f)})
    assert not result.is_error
    assert result.content == "     1\talpha\n     2\t\tbeta"


async def test_last_line_without_newline_is_shown(call: CallTool, tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("one\ntwo")
    assert (await call("Read", {"file_path": str(f)})).content == "     1\tone\n     2\ttwo"


async def test_offset_and_limit_select_a_window(call: CallTool, tmp_path: Path) -> None:
    f = write_lines(tmp_path / "a.txt", 10)
    result = await call("Read", {"file_path": str(f), "offset": 3, "limit": 2})
    assert isinstance(result.content, str)
    assert result.content.startswith("     3\tline 3\n     4\tline 4")
    assert "line 5" not in result.content
    assert "Showing lines 3-4 of 10" in result.content
    assert "offset=5" in result.content


async def test_offset_only_reads_to_the_end(call: CallTool, tmp_path: Path) -> None:
    f = write_lines(tmp_path / "a.txt", 5)
    result = await call("Read", {"file_path": str(f), "offset": 4})
    assert result.content == "     4\tline 4\n     5\tline 5"


async def test_default_limit_is_2000_lines(call: CallTool, tmp_path: Path) -> None:
    f = write_lines(tmp_path / "a.txt", 2500)
    result = await call("Read", {"file_path": str(f)})
    assert isinstance(result.content, str)
    assert "  2000\tline 2000" in result.content
    assert "line 2001" not in result.content
    assert "Showing lines 1-2000 of 2500" in result.content


async def test_long_lines_are_truncated(call: CallTool, tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_text("x" * 5000 + "\nshort\n")
    result = await call("Read", {"file_path": str(f)})
    assert isinstance(result.content, str)
    first, second = result.content.split("\n")
    assert first.startswith("     1\t" + "x" * 2000)
    assert "x" * 2001 not in first
    assert "line truncated" in first
    assert second == "     2\tshort"


async def test_crlf_line_endings_are_not_shown(call: CallTool, tmp_path: Path) -> None:
    f = tmp_path / "a.txt"
    f.write_bytes(b"one\r\ntwo\r\n")
    assert (await call("Read", {"file_path": str(f)})).content == "     1\tone\n     2\ttwo"


async def test_invalid_utf8_is_replaced_not_refused(call: CallTool, tmp_path: Path) -> None:
    f = tmp_path / "latin1.txt"
    f.write_bytes("café\n".encode("latin-1"))
    result = await call("Read", {"file_path": str(f)})
    assert not result.is_error
    assert result.content == "     1\tcaf\ufffd"


async def test_relative_path_is_refused(call: CallTool) -> None:
    result = await call("Read", {"file_path": "a.txt"})
    assert result.is_error
    assert "absolute" in str(result.content)


async def test_missing_file(call: CallTool, tmp_path: Path) -> None:
    result = await call("Read", {"file_path": str(tmp_path / "nope.txt")})
    assert result.is_error
    assert "File does not exist." in str(result.content)


async def test_directory_points_to_ls_and_glob(call: CallTool, tmp_path: Path) -> None:
    result = await call("Read", {"file_path": str(tmp_path)})
    assert result.is_error
    assert "directory" in str(result.content)
    assert "Glob" in str(result.content)
    assert "ls" in str(result.content)


async def test_empty_file_gets_a_note(call: CallTool, tmp_path: Path) -> None:
    f = tmp_path / "empty.txt"
    f.touch()
    result = await call("Read", {"file_path": str(f)})
    assert not result.is_error
    assert "exists but the contents are empty" in str(result.content)


async def test_offset_past_the_end(call: CallTool, tmp_path: Path) -> None:
    f = write_lines(tmp_path / "a.txt", 3)
    result = await call("Read", {"file_path": str(f), "offset": 10})
    assert "shorter than the provided offset (10)" in str(result.content)
    assert "3 lines" in str(result.content)


async def test_large_file_needs_offset_limit_or_allow_large(call: CallTool, tmp_path: Path) -> None:
    f = tmp_path / "big.txt"
    f.write_text(("y" * 99 + "\n") * (MAX_TEXT_BYTES // 100 + 10))
    refused = await call("Read", {"file_path": str(f)})
    assert refused.is_error
    assert "exceeds the maximum allowed size" in str(refused.content)
    assert "offset and limit" in str(refused.content)

    window = await call("Read", {"file_path": str(f), "offset": 100, "limit": 5})
    assert not window.is_error
    assert str(window.content).startswith("   100\t")

    whole = await call("Read", {"file_path": str(f), "allow_large": True})
    assert not whole.is_error


async def test_nul_bytes_mean_binary(call: CallTool, tmp_path: Path) -> None:
    f = tmp_path / "data.txt"
    f.write_bytes(b"abc\x00def")
    result = await call("Read", {"file_path": str(f)})
    assert result.is_error
    assert "binary" in str(result.content)


async def test_binary_extension_is_refused_even_without_nul(call: CallTool, tmp_path: Path) -> None:
    f = tmp_path / "archive.zip"
    f.write_text("PK looks like text")
    result = await call("Read", {"file_path": str(f)})
    assert result.is_error
    assert "binary" in str(result.content)


async def test_png_becomes_an_image_block(call: CallTool, ctx: ToolContext, tmp_path: Path) -> None:
    f = tmp_path / "pixel.png"
    f.write_bytes(PNG_1PX)
    result = await call("Read", {"file_path": str(f)})
    assert not result.is_error
    assert result.content == [
        {
            "type": "image",
            "source": {
                "type": "base64",
                "media_type": "image/png",
                "data": base64.b64encode(PNG_1PX).decode(),
            },
        }
    ]
    assert f in ctx.read_files


@pytest.mark.parametrize(
    ("name", "data", "media_type"),
    [
        ("photo.JPG", b"\xff\xd8\xff\xe0rest", "image/jpeg"),
        ("anim.gif", b"GIF89a....", "image/gif"),
        ("pic.webp", b"RIFF\x00\x00\x00\x00WEBPVP8 ", "image/webp"),
        ("mislabelled.png", b"\xff\xd8\xff\xe0jpeg really", "image/jpeg"),
    ],
)
async def test_image_media_type_comes_from_the_bytes(
    call: CallTool, tmp_path: Path, name: str, data: bytes, media_type: str
) -> None:
    f = tmp_path / name
    f.write_bytes(data)
    result = await call("Read", {"file_path": str(f)})
    assert isinstance(result.content, list)
    assert result.content[0]["source"]["media_type"] == media_type


async def test_oversized_image_is_refused(call: CallTool, tmp_path: Path) -> None:
    f = tmp_path / "huge.png"
    f.write_bytes(PNG_1PX + b"\x00" * MAX_IMAGE_BYTES)
    result = await call("Read", {"file_path": str(f)})
    assert result.is_error
    assert "too large" in str(result.content)


async def test_pages_of_a_pdf_without_a_page_tree_is_one_clear_error(call: CallTool, tmp_path: Path) -> None:
    f = tmp_path / "doc.pdf"
    f.write_bytes(b"%PDF-1.7\n")
    result = await call("Read", {"file_path": str(f), "pages": "1-2"})
    assert result.is_error
    assert str(result.content).startswith("Could not read the page structure of")
    assert "\n" not in str(result.content)


async def test_pages_on_a_text_file_is_an_error(call: CallTool, tmp_path: Path) -> None:
    f = write_lines(tmp_path / "a.txt", 2)
    result = await call("Read", {"file_path": str(f), "pages": "1"})
    assert result.is_error
    assert "PDF" in str(result.content)


async def test_success_records_mtime_and_failure_does_not(
    call: CallTool, ctx: ToolContext, tmp_path: Path
) -> None:
    good = write_lines(tmp_path / "a.txt", 1)
    os.utime(good, (1_000_000, 1_000_000))
    await call("Read", {"file_path": str(good)})
    assert ctx.read_files[good] == 1_000_000

    bad = tmp_path / "b.bin"
    bad.write_bytes(b"\x00\x01")
    await call("Read", {"file_path": str(bad)})
    assert bad not in ctx.read_files


async def test_symlinked_path_is_recorded_resolved(call: CallTool, ctx: ToolContext, tmp_path: Path) -> None:
    real = write_lines(tmp_path / "real.txt", 1)
    link = tmp_path / "link.txt"
    link.symlink_to(real)
    await call("Read", {"file_path": str(link)})
    assert real in ctx.read_files


@pytest.mark.parametrize(
    "raw",
    [
        {"file_path": "/x", "offset": -1},
        {"file_path": "/x", "limit": 0},
        {"file_path": "/x", "bogus": 1},
        {},
    ],
)
async def test_bad_input_is_a_validation_error(call: CallTool, raw: dict[str, object]) -> None:
    result = await call("Read", raw)
    assert result.is_error
    assert str(result.content).startswith("InputValidationError: Read failed")


async def test_explicit_nulls_are_accepted(call: CallTool, tmp_path: Path) -> None:
    f = write_lines(tmp_path / "a.txt", 1)
    result = await call("Read", {"file_path": str(f), "offset": None, "limit": None})
    assert result.content == "     1\tline 1"


def test_format_numbered_pads_to_six() -> None:
    assert format_numbered(["a", "b"], 99) == "    99\ta\n   100\tb"
    assert format_numbered(["z"], 1234567) == "1234567\tz"


async def test_a_fifo_is_refused_rather_than_blocking(call: CallTool, tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = await call("Read", {"file_path": str(fifo)})
    assert result.is_error
    assert "not a regular file" in str(result.content)
