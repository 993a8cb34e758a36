"""NotebookEdit: replace, insert or delete one cell of a Jupyter notebook.

It edits a file, so it is under Edit's rules: the permission engine treats it as a file edit
(``edits_files``, ``notebook_path``), and the notebook must have been read in this session and
not changed since, as for Edit.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from typing import Any, Literal

from pydantic import Field

from thrifty.tools import notebook
from thrifty.tools.base import Tool, ToolContext, ToolResult, absolute_path, error
from thrifty.tools.inputs import ToolInput


class NotebookEditInput(ToolInput):
    notebook_path: str = Field(description="The absolute path to the notebook (.ipynb)")
    cell_id: str | None = Field(
        None, description="The cell to edit; for insert, the new cell goes after it (or first if omitted)"
    )
    new_source: str = Field(description="The new source for the cell")
    cell_type: Literal["code", "markdown"] | None = Field(
        None, description="Defaults to the cell's current type; required for insert"
    )
    edit_mode: Literal["replace", "insert", "delete"] | None = Field(None, description="Default: replace")


def _new_cell(kind: str, source: str, with_id: bool) -> dict[str, Any]:
    cell: dict[str, Any] = {"cell_type": kind}
    if with_id:
        cell["id"] = secrets.token_hex(4)
    cell["source"] = source
    cell["metadata"] = {}
    if kind == "code":
        cell["execution_count"] = None
        cell["outputs"] = []
    return cell


def _set_type(cell: dict[str, Any], kind: str) -> None:
    cell["cell_type"] = kind
    if kind == "code":
        cell.setdefault("execution_count", None)
        cell.setdefault("outputs", [])
    else:
        cell.pop("execution_count", None)
        cell.pop("outputs", None)


def _uses_ids(nb: dict[str, Any]) -> bool:
    """Cell ids belong to nbformat 4.5 and later; an older notebook keeps cells without them."""
    major, minor = nb.get("nbformat", 4), nb.get("nbformat_minor", 0)
    newer = isinstance(major, int) and isinstance(minor, int) and (major, minor) >= (4, 5)
    return newer or any(isinstance(c, dict) and "id" in c for c in nb["cells"])


def _apply(path: Path, params: NotebookEditInput) -> ToolResult:
    try:
        nb = notebook.load(path)
    except notebook.NotebookError as exc:
        return error(str(exc))
    cells: list[dict[str, Any]] = nb["cells"]
    mode = params.edit_mode or "replace"
    index: int | None = None
    if params.cell_id is not None:
        index = notebook.find_cell(cells, params.cell_id)
        if index is None:
            return error(f'Cell with ID "{params.cell_id}" not found in notebook.')
    if mode == "insert":
        if params.cell_type is None:
            return error("Cell type is required when using edit_mode=insert.")
        cell = _new_cell(params.cell_type, params.new_source, _uses_ids(nb))
        cells.insert(0 if index is None else index + 1, cell)
        notebook.save(path, nb)
        name = notebook.cell_id(cell, 0 if index is None else index + 1)
        return ToolResult(f"Inserted cell {name} with {params.new_source}")
    if index is None:
        return error(f"cell_id is required when using edit_mode={mode}.")
    name = notebook.cell_id(cells[index], index)
    if mode == "delete":
        del cells[index]
        notebook.save(path, nb)
        return ToolResult(f"Deleted cell {name}")
    cell = cells[index]
    if params.cell_type is not None and params.cell_type != cell.get("cell_type"):
        _set_type(cell, params.cell_type)
    cell["source"] = params.new_source
    if cell.get("cell_type") == "code":
        cell["execution_count"] = None  # the old outputs no longer describe this source
        cell["outputs"] = []
    notebook.save(path, nb)
    return ToolResult(f"Updated cell {name} with {params.new_source}")


class NotebookEditTool(Tool):
    name = "NotebookEdit"
    description = (
        "Replaces, inserts or deletes one cell of a Jupyter notebook. Read the notebook first. "
        'cell_id is the id in Read\'s <cell id="..."> output. Replacing a code cell clears its outputs.'
    )
    input_model = NotebookEditInput
    edits_files = True
    path_keys = ("notebook_path",)
    primary_field = "notebook_path"

    async def call(self, params: NotebookEditInput, ctx: ToolContext) -> ToolResult:
        path = absolute_path(params.notebook_path)
        if isinstance(path, ToolResult):
            return path
        if path.suffix.lower() != ".ipynb":
            return error(
                "File must be a Jupyter notebook (.ipynb file). "
                "For editing other file types, use the Edit tool."
            )
        if not path.is_file():
            return error(f"Notebook file does not exist. Note: your current working directory is {ctx.cwd}.")
        try:
            if (stale := ctx.stale_error(path)) is not None:
                return stale
            result = await asyncio.to_thread(_apply, path, params)
        except OSError as exc:
            return error(f"Could not edit {path}: {exc.strerror or exc}")
        if not result.is_error:
            ctx.mark_read(path)
        return result
