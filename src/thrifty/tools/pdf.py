"""PDFs for the Read tool: sent to the model as ``document`` blocks, whole or a page range at a time.

The API reads a PDF itself (text and page images), so the tool's job is only to keep the request
within bounds: a small PDF goes whole, a longer one must be read a few pages at a time. Without a
PDF library in the dependencies, a page range is cut out here in pure Python: the selected pages
and every object they reference are copied into a new, smaller PDF with a fresh page tree. That
covers classic and compressed (object stream) files; an encrypted or malformed file can still be
read whole when it is short enough, and otherwise gets one line saying why it cannot.
"""

from __future__ import annotations

import base64
import contextlib
import re
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Claude Code's limits: at most 20 pages per read, and ``pages`` required over 10 pages.
MAX_PAGES_PER_READ = 20
MAX_PAGES_WITHOUT_RANGE = 10
#: Raw bytes per read: base64 grows it by 4/3, to about 27 MB of the API's 32 MB request limit.
MAX_PDF_BYTES = 20 * 1024 * 1024

_DELIMITERS = b"()<>[]{}/%"
_WHITESPACE = b" \t\r\n\f\x00"
_OBJ_HEADER = re.compile(rb"(\d+)\s+(\d+)\s+obj\b")
_REF = re.compile(rb"(\d+)\s+(\d+)\s+R\b")
_TOKEN = re.compile(rb"[^\s()<>\[\]{}/%]+")
_INHERITABLE = (b"/Resources", b"/MediaBox", b"/CropBox", b"/Rotate")
_RANGE = re.compile(r"\s*(\d+)\s*(?:-\s*(\d+)\s*)?")


class PdfError(Exception):
    """The PDF's structure could not be read (the message is one line, for the model)."""


def parse_pages(spec: str) -> tuple[int, int] | str:
    """``"3"`` or ``"1-5"`` as a 1-based inclusive range, or the one-line error for the model."""
    match = _RANGE.fullmatch(spec)
    if match is None:
        return (
            f'Invalid pages parameter: "{spec}". Give one page ("3") or one range ("1-5"), not a list. '
            "To read several pages or ranges, read each one separately. Pages are 1-indexed."
        )
    first = int(match.group(1))
    last = int(match.group(2)) if match.group(2) else first
    if first < 1 or last < first:
        return f'Invalid pages parameter: "{spec}". Pages are 1-indexed and a range runs low to high ("2-4").'
    if last - first + 1 > MAX_PAGES_PER_READ:
        return (
            f'Page range "{spec}" exceeds maximum of {MAX_PAGES_PER_READ} pages per request. '
            "Please use a smaller range."
        )
    return first, last


def human_size(size: int) -> str:
    if size < 1024 * 1024:
        return f"{size / 1024:.1f}KB"
    return f"{size / 1048576:.1f}MB"


def document_block(data: bytes) -> dict[str, Any]:
    return {
        "type": "document",
        "source": {
            "type": "base64",
            "media_type": "application/pdf",
            "data": base64.b64encode(data).decode("ascii"),
        },
    }


# --- a small reader of PDF syntax: enough to find the page tree and copy objects ------------------


def _skip_space(data: bytes, i: int) -> int:
    n = len(data)
    while i < n:
        c = data[i]
        if c in _WHITESPACE:
            i += 1
        elif c == 0x25:  # % comment, to the end of the line
            while i < n and data[i] not in b"\r\n":
                i += 1
        else:
            break
    return i


def _skip_value(data: bytes, i: int) -> int:
    """The index just past the value starting at ``i`` (a ref ``N G R`` counts as three values)."""
    i = _skip_space(data, i)
    if i >= len(data):
        raise PdfError("unexpected end of data")
    if data.startswith(b"<<", i):
        i += 2
        while True:
            i = _skip_space(data, i)
            if data.startswith(b">>", i):
                return i + 2
            i = _skip_value(data, i)
    c = data[i]
    if c == 0x5B:  # [
        i += 1
        while True:
            i = _skip_space(data, i)
            if i >= len(data):
                raise PdfError("unterminated array")
            if data[i] == 0x5D:
                return i + 1
            i = _skip_value(data, i)
    if c == 0x28:  # ( literal string, nesting, with backslash escapes
        depth, i = 1, i + 1
        while depth:
            if i >= len(data):
                raise PdfError("unterminated string")
            ch = data[i]
            i += 2 if ch == 0x5C else 1
            depth += 1 if ch == 0x28 else -1 if ch == 0x29 else 0
        return i
    if c == 0x3C:  # <hex string>
        end = data.find(b">", i)
        if end < 0:
            raise PdfError("unterminated hex string")
        return end + 1
    if c == 0x2F:  # /Name
        match = _TOKEN.match(data, i + 1)
        return i + 1 + (len(match.group()) if match else 0)
    match = _TOKEN.match(data, i)
    if match is None:
        raise PdfError(f"unexpected byte {chr(c)!r}")
    return match.end()


def _dict_entries(data: bytes, i: int = 0) -> tuple[dict[bytes, bytes], int]:
    """The top-level entries of the dictionary at ``i`` (raw value bytes) and the index past it."""
    i = _skip_space(data, i)
    if not data.startswith(b"<<", i):
        raise PdfError("expected a dictionary")
    i += 2
    entries: dict[bytes, bytes] = {}
    while True:
        i = _skip_space(data, i)
        if data.startswith(b">>", i):
            return entries, i + 2
        if i >= len(data) or data[i] != 0x2F:
            raise PdfError("expected a name in a dictionary")
        key_end = _skip_value(data, i)
        start = _skip_space(data, key_end)
        end = _skip_value(data, start)
        ref = _REF.match(data, start)
        if ref is not None:
            end = ref.end()
        entries[data[i:key_end]] = data[start:end]
        i = end


@dataclass
class _Obj:
    body: bytes  # what lies between ``N G obj`` and ``endobj``
    dict_end: int  # the end of the leading dictionary (0 when the object is not one)


def _ref_num(value: bytes | None) -> int | None:
    match = _REF.fullmatch(value.strip()) if value else None
    return int(match.group(1)) if match else None


def _leading_dict(body: bytes) -> tuple[dict[bytes, bytes], int]:
    start = _skip_space(body, 0)
    if not body.startswith(b"<<", start):
        return {}, 0
    return _dict_entries(body, start)


def _stream_data(body: bytes, entries: dict[bytes, bytes], dict_end: int) -> bytes:
    i = _skip_space(body, dict_end)
    if not body.startswith(b"stream", i):
        raise PdfError("expected a stream")
    i += 6
    i += 2 if body.startswith(b"\r\n", i) else 1
    end = body.rfind(b"endstream")
    raw = body[i:end].rstrip(b"\r\n")
    length = entries.get(b"/Length", b"").strip()
    if length.isdigit() and int(length) <= len(body) - i:
        raw = body[i : i + int(length)]
    filters = entries.get(b"/Filter", b"")
    if not filters:
        return raw
    if filters.strip(b"[] \r\n") != b"/FlateDecode":
        raise PdfError("an object stream uses a filter other than FlateDecode")
    try:
        return zlib.decompress(raw)
    except zlib.error as exc:
        raise PdfError(f"an object stream does not inflate: {exc}") from exc


def _read_objects(data: bytes) -> dict[int, _Obj]:
    """Every object by number; a later definition (an incremental update) replaces an earlier one."""
    objects: dict[int, _Obj] = {}
    pos = 0
    while (match := _OBJ_HEADER.search(data, pos)) is not None:
        start = match.end()
        try:
            entries, dict_end = _leading_dict_at(data, start)
        except PdfError:
            entries, dict_end = {}, 0
        search_from = start
        if dict_end:
            after = _skip_space(data, start + dict_end)
            if data.startswith(b"stream", after):
                length = entries.get(b"/Length", b"").strip()
                search_from = after + 6 + int(length) if length.isdigit() else after
                if not length.isdigit():
                    search_from = max(search_from, data.find(b"endstream", after))
        end = data.find(b"endobj", search_from)
        if end < 0:
            break
        objects[int(match.group(1))] = _Obj(data[start:end], dict_end)
        pos = end + 6
    for obj in list(objects.values()):
        if not obj.dict_end:
            continue
        entries, _ = _leading_dict(obj.body)
        if entries.get(b"/Type", b"").strip() == b"/ObjStm":
            _unpack_object_stream(obj, entries, objects)
    return objects


def _leading_dict_at(data: bytes, start: int) -> tuple[dict[bytes, bytes], int]:
    """Like ``_leading_dict`` on ``data[start:]`` without copying it; the end is relative to ``start``."""
    i = _skip_space(data, start)
    if not data.startswith(b"<<", i):
        return {}, 0
    entries, end = _dict_entries(data, i)
    return entries, end - start


def _unpack_object_stream(obj: _Obj, entries: dict[bytes, bytes], objects: dict[int, _Obj]) -> None:
    content = _stream_data(obj.body, entries, obj.dict_end)
    count = int(entries.get(b"/N", b"0").strip() or 0)
    first = int(entries.get(b"/First", b"0").strip() or 0)
    numbers = [int(n) for n in content[:first].split()]
    pairs = list(zip(numbers[0 : 2 * count : 2], numbers[1 : 2 * count : 2], strict=False))
    for index, (number, offset) in enumerate(pairs):
        if number in objects:
            continue  # defined outside the stream too: the regular object is the newer one
        end = first + pairs[index + 1][1] if index + 1 < len(pairs) else len(content)
        body = b" " + content[first + offset : end].strip() + b"\n"
        _, dict_end = _leading_dict(body) if body.lstrip().startswith(b"<<") else ({}, 0)
        objects[number] = _Obj(body, dict_end)


class PdfDocument:
    """A parsed PDF: its objects and its pages in order, each with the attributes it inherits."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.objects = _read_objects(data)
        self.pages: list[tuple[int, dict[bytes, bytes]]] = []
        self._walk(self._pages_root(), {}, set())
        if not self.pages:
            raise PdfError("no pages found")

    def entries(self, number: int) -> dict[bytes, bytes]:
        obj = self.objects.get(number)
        if obj is None or not obj.dict_end:
            return {}
        return _leading_dict(obj.body)[0]

    def _pages_root(self) -> int:
        catalogs = [n for n in self.objects if self.entries(n).get(b"/Type", b"").strip() == b"/Catalog"]
        trailer = self.data.rfind(b"trailer")
        root = None
        if trailer >= 0:
            with contextlib.suppress(PdfError, ValueError):
                root = _ref_num(_dict_entries(self.data, trailer + 7)[0].get(b"/Root"))
        if root is None or root not in self.objects:
            if not catalogs:
                raise PdfError("no document catalog")
            root = catalogs[-1]
        pages = _ref_num(self.entries(root).get(b"/Pages"))
        if pages is None:
            raise PdfError("the catalog has no page tree")
        return pages

    def _walk(self, number: int, inherited: dict[bytes, bytes], seen: set[int]) -> None:
        if number in seen:
            raise PdfError("the page tree has a cycle")
        seen.add(number)
        entries = self.entries(number)
        kind = entries.get(b"/Type", b"").strip()
        if kind == b"/Pages" or (b"/Kids" in entries and kind != b"/Page"):
            here = {**inherited, **{k: v for k, v in entries.items() if k in _INHERITABLE}}
            for kid in _REF.finditer(entries.get(b"/Kids", b"")):
                self._walk(int(kid.group(1)), here, seen)
        elif entries:
            self.pages.append((number, {k: v for k, v in inherited.items() if k not in entries}))

    def extract(self, first: int, last: int) -> bytes:
        """A new PDF holding pages ``first``..``last`` (1-based, inclusive) and what they use."""
        if b"/Encrypt" in self.data[self.data.rfind(b"trailer") :] or any(
            self.entries(n).get(b"/Type", b"").strip() == b"/XRef" and b"/Encrypt" in self.entries(n)
            for n in self.objects
        ):
            raise PdfError("the PDF is encrypted")
        tree = max(self.objects) + 1
        catalog = tree + 1
        bodies: dict[int, bytes] = {}
        pending: list[int] = []
        kids: list[bytes] = []
        for number, inherited in self.pages[first - 1 : last]:
            entries = {k: v for k, v in self.entries(number).items() if k != b"/Parent"}
            entries.update(inherited)
            entries[b"/Parent"] = b"%d 0 R" % tree
            body = b"<< " + b" ".join(k + b" " + v for k, v in entries.items()) + b" >>"
            bodies[number] = body
            kids.append(b"%d 0 R" % number)
            pending.extend(int(ref.group(1)) for ref in _REF.finditer(body))
        while pending:
            number = pending.pop()
            if number in bodies or number not in self.objects or number == tree:
                continue
            obj = self.objects[number]
            bodies[number] = obj.body
            head = obj.body[: obj.dict_end] if obj.dict_end else obj.body
            if obj.dict_end:
                # A page's annotations point back at other pages (/P, /Parent): not followed.
                head = re.sub(rb"/(?:Parent|P)\s+\d+\s+\d+\s+R", b"", head)
            pending.extend(int(ref.group(1)) for ref in _REF.finditer(head))
        bodies[tree] = b"<< /Type /Pages /Kids [" + b" ".join(kids) + b"] /Count %d >>" % len(kids)
        bodies[catalog] = b"<< /Type /Catalog /Pages %d 0 R >>" % tree
        return _write(bodies, catalog, self.objects)


def _write(bodies: dict[int, bytes], root: int, objects: dict[int, _Obj]) -> bytes:
    """The new file, objects numbered 1..n in their old order (so the xref table has no gaps)."""
    renumber = {old: new for new, old in enumerate(sorted(bodies), start=1)}

    def fix(match: re.Match[bytes]) -> bytes:
        number = renumber.get(int(match.group(1)))
        return b"null" if number is None else b"%d 0 R" % number  # a reference to what was left out

    out = bytearray(b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n")
    offsets: list[int] = []
    for old in sorted(bodies):
        body = bodies[old]
        obj = objects.get(old)
        split = obj.dict_end if obj is not None and body is obj.body and obj.dict_end else len(body)
        if obj is not None and body is obj.body and not obj.dict_end and b"stream" in body:
            split = 0  # a stream without a readable dictionary: copied untouched
        body = _REF.sub(fix, body[:split]) + body[split:]
        offsets.append(len(out))
        out += b"%d 0 obj\n" % renumber[old] + body.strip(b"\r\n") + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(offsets) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(offsets) + 1,
        renumber[root],
        xref,
    )
    return bytes(out)


def count_pages(data: bytes) -> int | None:
    """The number of pages, or None when the structure cannot be read."""
    try:
        return len(PdfDocument(data).pages)
    except (PdfError, ValueError, RecursionError):
        counts = [int(n) for n in re.findall(rb"/Count\s+(\d+)", data)]
        return max(counts) if counts else None


def read_pdf(path: Path, pages: str | None) -> list[dict[str, Any]] | str:
    """The tool result's content blocks for the PDF at ``path``, or the error line for the model."""
    size = path.stat().st_size
    data = path.read_bytes()
    if data.lstrip()[:5] != b"%PDF-":
        return f"{path} does not look like a PDF file (it lacks the %PDF- header)."
    if pages is None:
        if size > MAX_PDF_BYTES:
            return (
                f"PDF is too large to read at once ({human_size(size)}; the limit is "
                f"{human_size(MAX_PDF_BYTES)}). Use the pages parameter to read it a few pages at a time."
            )
        total = count_pages(data)
        if total is not None and total > MAX_PAGES_WITHOUT_RANGE:
            return (
                f"This PDF has {total} pages, too many to read at once (over {MAX_PAGES_WITHOUT_RANGE}). "
                f'Use the pages parameter to read specific page ranges (e.g. pages: "1-5"); '
                f"at most {MAX_PAGES_PER_READ} pages per request."
            )
        return [{"type": "text", "text": f"PDF file read: {path} ({human_size(size)})"}, document_block(data)]
    wanted = parse_pages(pages)
    if isinstance(wanted, str):
        return wanted
    first, last = wanted
    try:
        document = PdfDocument(data)
    except (PdfError, ValueError, RecursionError) as exc:
        return f"Could not read the page structure of {path} ({exc}); pages cannot be selected from it."
    total = len(document.pages)
    if first > total:
        return f'Page range "{pages}" is out of range: the PDF has {total} page{"s" if total != 1 else ""}.'
    last = min(last, total)
    try:
        extracted = document.extract(first, last)
    except (PdfError, ValueError, RecursionError) as exc:
        return f"Could not extract pages {pages} from {path} ({exc})."
    if len(extracted) > MAX_PDF_BYTES:
        return (
            f"Pages {pages} of {path} are too large to read ({human_size(len(extracted))}; the limit is "
            f"{human_size(MAX_PDF_BYTES)}). Read fewer pages at a time."
        )
    span = f"page {first}" if first == last else f"pages {first}-{last}"
    text = f"PDF {span} of {total} read: {path} ({human_size(len(extracted))})"
    return [{"type": "text", "text": text}, document_block(extracted)]
