"""Jupyter notebooks: load, render for the Read tool, and save for NotebookEdit.

Read shows a notebook the way Claude Code does: each cell as ``<cell id="...">source</cell
id="...">`` (with ``<cell_type>`` for a non-code cell and ``<language>`` for a non-Python kernel),
followed by its outputs as text, and images as image blocks. A cell without an id (nbformat before
4.5) is named ``cell-N`` by its index, and NotebookEdit accepts that name too.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

#: One output's text beyond this is cut: a long log or a big DataFrame is rarely worth its tokens.
MAX_OUTPUT_CHARS = 10_000
#: The whole rendered notebook beyond this is refused, with a pointer to reading cells with jq.
MAX_RENDERED_CHARS = 256 * 1024

_IMAGE_TYPES = ("image/png", "image/jpeg")
EMPTY_NOTEBOOK = "<system-reminder>Warning: the notebook exists but has no cells.</system-reminder>"


class NotebookError(Exception):
    """The file is not a notebook this tool can read (the message is one line, for the model)."""


def load(path: Path) -> dict[str, Any]:
    try:
        notebook = json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise NotebookError(f"{path} is not a valid notebook (not JSON: {exc}).") from exc
    if not isinstance(notebook, dict) or not isinstance(notebook.get("cells"), list):
        raise NotebookError(f"{path} is not a valid notebook (no cells list).")
    return notebook


def save(path: Path, notebook: dict[str, Any]) -> None:
    """Write the notebook back as Jupyter does (indent 1, non-ASCII kept, trailing newline)."""
    from thrifty.tools.write import write_text

    write_text(path, json.dumps(notebook, indent=1, ensure_ascii=False) + "\n")


def cell_id(cell: dict[str, Any], index: int) -> str:
    value = cell.get("id")
    return value if isinstance(value, str) and value else f"cell-{index}"


def find_cell(cells: list[dict[str, Any]], wanted: str) -> int | None:
    """The index of the cell whose id is ``wanted``; ``cell-N`` names the N-th cell when no id matches."""
    for index, cell in enumerate(cells):
        if cell.get("id") == wanted:
            return index
    if wanted.startswith("cell-") and wanted[5:].isdigit():
        index = int(wanted[5:])
        if index < len(cells):
            return index
    return None


def source_text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return value if isinstance(value, str) else ""


def language(notebook: dict[str, Any]) -> str:
    metadata = notebook.get("metadata") or {}
    info = metadata.get("language_info") or {}
    name = info.get("name") or (metadata.get("kernelspec") or {}).get("language") or "python"
    return str(name)


def _cut(text: str) -> str:
    if len(text) <= MAX_OUTPUT_CHARS:
        return text
    return (
        text[:MAX_OUTPUT_CHARS] + f"\n... [output truncated: {len(text) - MAX_OUTPUT_CHARS} more characters]"
    )


def _output_blocks(output: dict[str, Any]) -> list[dict[str, Any]]:
    kind = output.get("output_type")
    text = ""
    image: dict[str, Any] | None = None
    if kind == "stream":
        text = source_text(output.get("text"))
    elif kind in ("execute_result", "display_data"):
        data = output.get("data") or {}
        text = source_text(data.get("text/plain"))
        for media_type in _IMAGE_TYPES:
            encoded = data.get(media_type)
            if isinstance(encoded, str | list):
                image = {
                    "type": "image",
                    "source": {
                        "type": "base64",
                        "media_type": media_type,
                        "data": source_text(encoded).replace("\n", ""),
                    },
                }
                break
    elif kind == "error":
        trace = "\n".join(str(line) for line in output.get("traceback") or [])
        text = f"{output.get('ename', '')}: {output.get('evalue', '')}\n{trace}"
    blocks: list[dict[str, Any]] = []
    if text:
        blocks.append({"type": "text", "text": "\n" + _cut(text)})
    if image is not None:
        blocks.append(image)
    return blocks


def render(notebook: dict[str, Any]) -> list[dict[str, Any]]:
    """The Read tool's content blocks for a notebook, adjacent text blocks joined by newlines."""
    lang = language(notebook)
    blocks: list[dict[str, Any]] = []
    for index, cell in enumerate(notebook["cells"]):
        if not isinstance(cell, dict):
            continue
        ident = cell_id(cell, index)
        kind = cell.get("cell_type", "code")
        meta = f"<cell_type>{kind}</cell_type>" if kind != "code" else ""
        if kind == "code" and lang != "python":
            meta += f"<language>{lang}</language>"
        source = source_text(cell.get("source"))
        blocks.append({"type": "text", "text": f'<cell id="{ident}">{meta}{source}</cell id="{ident}">'})
        if kind == "code":
            for output in cell.get("outputs") or []:
                if isinstance(output, dict):
                    blocks.extend(_output_blocks(output))
    merged: list[dict[str, Any]] = []
    for block in blocks:
        if merged and block["type"] == "text" and merged[-1]["type"] == "text":
            merged[-1] = {"type": "text", "text": merged[-1]["text"] + "\n" + block["text"]}
        else:
            merged.append(block)
    return merged


def read_notebook(path: Path) -> list[dict[str, Any]] | str:
    """The Read tool's content for the notebook at ``path``, or the error line for the model."""
    try:
        notebook = load(path)
    except NotebookError as exc:
        return str(exc)
    blocks = render(notebook)
    size = sum(len(b["text"]) if b["type"] == "text" else len(b["source"]["data"]) for b in blocks)
    if size > MAX_RENDERED_CHARS:
        return (
            f"Notebook content ({size // 1024} KiB rendered) exceeds the maximum allowed size "
            f"({MAX_RENDERED_CHARS // 1024} KiB). Read specific cells with Bash and jq, e.g. "
            f"jq '.cells[:20]' {path}"
        )
    if not blocks:
        return [{"type": "text", "text": EMPTY_NOTEBOOK}]
    return blocks
