"""Read on a PDF: a document block, whole or a page range cut out in pure Python, within limits."""

from __future__ import annotations

import base64
import re
import zlib
from pathlib import Path
from typing import Any

import pytest

import thrifty
from tests.tools.conftest import CallTool
from thrifty.testing import Simulator
from thrifty.tools import pdf
from thrifty.tools.pdf import PdfDocument, count_pages, parse_pages

pytestmark = pytest.mark.anyio


def _assemble(objects: list[bytes], trailer: bool = True) -> bytes:
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    if not trailer:
        return bytes(out) + b"%%EOF\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _stream(text: bytes) -> bytes:
    return b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream"


def make_pdf(pages: int) -> bytes:
    """A valid PDF of ``pages`` pages, each showing "Page N", with a flat page tree."""
    kids = b" ".join(b"%d 0 R" % (3 + 2 * i) for i in range(pages))
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [%s] /Count %d >>" % (kids, pages),
    ]
    for i in range(pages):
        objects.append(
            b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] /Contents %d 0 R "
            b"/Resources << /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >> >>"
            % (4 + 2 * i)
        )
        objects.append(_stream(b"BT /F1 24 Tf 20 100 Td (Page %d) Tj ET" % (i + 1)))
    return _assemble(objects)


def make_compressed_pdf() -> bytes:
    """Four pages in a two-level tree, the tree in a compressed object stream, attributes inherited."""
    in_stream = {
        1: b"<< /Type /Catalog /Pages 2 0 R >>",
        2: b"<< /Type /Pages /Kids [3 0 R 4 0 R] /Count 4 /MediaBox [0 0 300 300] >>",
        3: b"<< /Type /Pages /Parent 2 0 R /Kids [5 0 R 6 0 R] /Count 2 /Resources 13 0 R >>",
        4: b"<< /Type /Pages /Parent 2 0 R /Kids [7 0 R 8 0 R] /Count 2 /Resources 13 0 R >>",
        **{
            5 + i: b"<< /Type /Page /Parent %d 0 R /Contents %d 0 R >>" % (3 + i // 2, 9 + i)
            for i in range(4)
        },
        13: b"<< /Font << /F1 << /Type /Font /Subtype /Type1 /BaseFont /Helvetica >> >> >>",
    }
    parts, offsets, at = [], [], 0
    for body in in_stream.values():
        offsets.append(at)
        parts.append(body + b"\n")
        at += len(body) + 1
    header = b" ".join(b"%d %d" % (n, off) for n, off in zip(in_stream, offsets, strict=True)) + b"\n"
    packed = zlib.compress(header + b"".join(parts))
    objects: list[bytes] = [b"null"] * 14
    for i in range(4):
        objects[9 + i - 1] = _stream(b"BT /F1 24 Tf 20 100 Td (Page %d) Tj ET" % (i + 1))
    objects[14 - 1] = (
        b"<< /Type /ObjStm /N %d /First %d /Filter /FlateDecode /Length %d >>\nstream\n"
        % (len(in_stream), len(header), len(packed))
        + packed
        + b"\nendstream"
    )
    # The slots of the objects kept in the stream are not written as regular objects.
    out = bytearray(b"%PDF-1.5\n")
    for number, body in enumerate(objects, start=1):
        if number in in_stream:
            continue
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    return bytes(out) + b"%%EOF\n"


def page_texts(data: bytes) -> list[bytes]:
    """The "Page N" each page of a PDF shows, in page order (by following the page tree)."""
    doc = PdfDocument(data)
    texts = []
    for number, inherited in doc.pages:
        contents = re.search(rb"/Contents\s+(\d+)", doc.objects[number].body)
        assert contents is not None
        texts.append(re.findall(rb"\((Page \d+)\)", doc.objects[int(contents.group(1))].body)[0])
        assert b"/MediaBox" in doc.objects[number].body or b"/MediaBox" in inherited
    return texts


def document_bytes(content: Any) -> bytes:
    assert isinstance(content, list)
    docs = [b for b in content if b["type"] == "document"]
    assert len(docs) == 1
    assert docs[0]["source"]["media_type"] == "application/pdf"
    return base64.b64decode(docs[0]["source"]["data"])


# -- the page range parameter -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("spec", "expected"), [("3", (3, 3)), ("1-5", (1, 5)), (" 2 - 4 ", (2, 4)), ("1-20", (1, 20))]
)
def test_page_ranges_parse(spec: str, expected: tuple[int, int]) -> None:
    assert parse_pages(spec) == expected


@pytest.mark.parametrize(
    ("spec", "fragment"),
    [
        ("x", "Invalid pages parameter"),
        ("1,3", "not a list"),
        ("0", "1-indexed"),
        ("5-2", "low to high"),
        ("1-25", "exceeds maximum of 20 pages per request"),
    ],
)
def test_bad_page_ranges_are_one_line(spec: str, fragment: str) -> None:
    message = parse_pages(spec)
    assert isinstance(message, str) and fragment in message and "\n" not in message


# -- reading ------------------------------------------------------------------------------------


async def test_a_small_pdf_is_one_document_block(call: CallTool, tmp_path: Path) -> None:
    data = make_pdf(3)
    f = tmp_path / "doc.pdf"
    f.write_bytes(data)
    result = await call("Read", {"file_path": str(f)})
    assert not result.is_error
    assert isinstance(result.content, list)
    assert result.content[0] == {"type": "text", "text": f"PDF file read: {f} ({len(data) / 1024:.1f}KB)"}
    assert document_bytes(result.content) == data


async def test_a_page_range_sends_only_those_pages(call: CallTool, tmp_path: Path) -> None:
    f = tmp_path / "long.pdf"
    f.write_bytes(make_pdf(12))
    result = await call("Read", {"file_path": str(f), "pages": "2-3"})
    assert not result.is_error, result.content
    assert isinstance(result.content, list)
    assert result.content[0]["text"].startswith(f"PDF pages 2-3 of 12 read: {f}")
    extracted = document_bytes(result.content)
    assert page_texts(extracted) == [b"Page 2", b"Page 3"]
    assert len(extracted) < len(f.read_bytes())
    one = await call("Read", {"file_path": str(f), "pages": "12"})
    assert page_texts(document_bytes(one.content)) == [b"Page 12"]


async def test_a_range_past_the_end_is_cut_and_one_wholly_past_it_refused(
    call: CallTool, tmp_path: Path
) -> None:
    f = tmp_path / "doc.pdf"
    f.write_bytes(make_pdf(3))
    cut = await call("Read", {"file_path": str(f), "pages": "2-9"})
    assert page_texts(document_bytes(cut.content)) == [b"Page 2", b"Page 3"]
    past = await call("Read", {"file_path": str(f), "pages": "5"})
    assert past.is_error and past.content == 'Page range "5" is out of range: the PDF has 3 pages.'


def test_compressed_object_streams_and_inherited_attributes_are_followed() -> None:
    data = make_compressed_pdf()
    assert count_pages(data) == 4
    doc = PdfDocument(data)
    extracted = doc.extract(2, 3)
    assert b"/ObjStm" not in extracted  # written back as plain objects
    assert page_texts(extracted) == [b"Page 2", b"Page 3"]
    assert b"/Helvetica" in extracted and b"[0 0 300 300]" in extracted  # inherited, made explicit


async def test_a_long_pdf_without_pages_is_refused_with_one_line(call: CallTool, tmp_path: Path) -> None:
    f = tmp_path / "long.pdf"
    f.write_bytes(make_pdf(11))
    result = await call("Read", {"file_path": str(f)})
    assert result.is_error
    assert isinstance(result.content, str) and "\n" not in result.content
    assert result.content.startswith("This PDF has 11 pages, too many to read at once")
    assert "pages parameter" in result.content
    too_many = await call("Read", {"file_path": str(f), "pages": "1-21"})
    assert too_many.is_error and "exceeds maximum of 20 pages" in str(too_many.content)


async def test_a_too_large_pdf_is_refused_with_one_line(
    call: CallTool, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(pdf, "MAX_PDF_BYTES", 2048)
    f = tmp_path / "big.pdf"
    f.write_bytes(make_pdf(3) + b"%" + b"x" * 4096 + b"\n")
    result = await call("Read", {"file_path": str(f)})
    assert result.is_error
    assert isinstance(result.content, str) and "\n" not in result.content
    assert result.content.startswith("PDF is too large to read at once (")
    assert not (await call("Read", {"file_path": str(f), "pages": "1"})).is_error  # a page is small


async def test_a_file_named_pdf_that_is_not_one_is_refused(call: CallTool, tmp_path: Path) -> None:
    f = tmp_path / "fake.pdf"
    f.write_text("hello")
    result = await call("Read", {"file_path": str(f)})
    assert result.is_error and "does not look like a PDF" in str(result.content)


# -- end to end: what the API receives ----------------------------------------------------------


def test_the_request_carries_the_pdf_as_a_document_in_the_tool_result(tmp_path: Path) -> None:
    data = make_pdf(2)
    (tmp_path / "paper.pdf").write_bytes(data)
    read = {"tool_use": {"name": "Read", "input": {"file_path": str(tmp_path / "paper.pdf")}}}
    with Simulator([read, {"text": "It has two pages."}]) as sim:
        env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url}
        options = thrifty.Options(cwd=tmp_path, env=env, model="claude-sonnet-4-6")
        messages = list(thrifty.query_sync("summarise paper.pdf", options))
        second = sim.message_requests()[1].body
    result = next(m for m in messages if isinstance(m, thrifty.Result))
    assert result.subtype == "success"
    tool_result = second["messages"][-1]["content"][0]
    assert tool_result["type"] == "tool_result" and not tool_result.get("is_error")
    assert [b["type"] for b in tool_result["content"]] == ["text", "document"]
    assert document_bytes(tool_result["content"]) == data
