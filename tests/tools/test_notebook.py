"""Notebooks: Read renders cells as Claude Code does; NotebookEdit replaces, inserts and deletes."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest

import thrifty
from tests.tools.conftest import CallTool
from thrifty.testing import Simulator
from thrifty.tools.base import ToolContext

pytestmark = pytest.mark.anyio

PNG_1PX = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def notebook(
    cells: list[dict[str, Any]] | None = None, minor: int = 5, lang: str = "python"
) -> dict[str, Any]:
    if cells is None:
        cells = [
            {"cell_type": "markdown", "id": "a1", "metadata": {}, "source": ["# Title\n", "Some text"]},
            {
                "cell_type": "code",
                "execution_count": 1,
                "id": "b2",
                "metadata": {},
                "outputs": [
                    {"name": "stdout", "output_type": "stream", "text": ["hello\n"]},
                    {
                        "data": {"text/plain": ["42"]},
                        "execution_count": 1,
                        "metadata": {},
                        "output_type": "execute_result",
                    },
                ],
                "source": ["print('hello')\n", "42"],
            },
            {
                "cell_type": "code",
                "execution_count": 2,
                "id": "c3",
                "metadata": {},
                "outputs": [
                    {
                        "ename": "ZeroDivisionError",
                        "evalue": "division by zero",
                        "output_type": "error",
                        "traceback": ["ZeroDivisionError: division by zero"],
                    }
                ],
                "source": "1/0",
            },
            {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": "x = 1"},
        ]
    return {
        "cells": cells,
        "metadata": {"kernelspec": {"language": lang, "name": lang}, "language_info": {"name": lang}},
        "nbformat": 4,
        "nbformat_minor": minor,
    }


@pytest.fixture
def nb_path(tmp_path: Path) -> Path:
    path = tmp_path / "nb.ipynb"
    path.write_text(json.dumps(notebook()))
    return path


def cells(path: Path) -> list[dict[str, Any]]:
    loaded: list[dict[str, Any]] = json.loads(path.read_text())["cells"]
    return loaded


# -- Read ---------------------------------------------------------------------------------------


async def test_read_renders_cells_and_outputs_as_claude_code_does(call: CallTool, nb_path: Path) -> None:
    result = await call("Read", {"file_path": str(nb_path)})
    assert not result.is_error
    # The exact text the real CLI (2.1.331) sent for this notebook.
    assert result.content == [
        {
            "type": "text",
            "text": '<cell id="a1"><cell_type>markdown</cell_type># Title\nSome text</cell id="a1">\n'
            '<cell id="b2">print(\'hello\')\n42</cell id="b2">\n\nhello\n\n\n42\n'
            '<cell id="c3">1/0</cell id="c3">\n\nZeroDivisionError: division by zero\n'
            "ZeroDivisionError: division by zero\n"
            '<cell id="cell-3">x = 1</cell id="cell-3">',
        }
    ]


async def test_image_outputs_are_image_blocks_and_other_languages_are_named(
    call: CallTool, tmp_path: Path
) -> None:
    plot = {
        "cell_type": "code",
        "id": "p",
        "metadata": {},
        "execution_count": 1,
        "source": "plot(1:3)",
        "outputs": [{"output_type": "display_data", "metadata": {}, "data": {"image/png": PNG_1PX + "\n"}}],
    }
    path = tmp_path / "r.ipynb"
    path.write_text(json.dumps(notebook([plot, {**plot, "id": "q", "outputs": []}], lang="R")))
    result = await call("Read", {"file_path": str(path)})
    assert isinstance(result.content, list)
    assert [b["type"] for b in result.content] == ["text", "image", "text"]
    assert result.content[0]["text"] == '<cell id="p"><language>R</language>plot(1:3)</cell id="p">'
    assert result.content[1]["source"] == {"type": "base64", "media_type": "image/png", "data": PNG_1PX}
    assert base64.b64decode(result.content[1]["source"]["data"]).startswith(b"\x89PNG")


async def test_long_outputs_are_cut_and_a_broken_notebook_is_one_line(call: CallTool, tmp_path: Path) -> None:
    noisy = {"cell_type": "code", "id": "n", "metadata": {}, "source": "", "execution_count": 1}
    noisy["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "x" * 50_000}]
    path = tmp_path / "noisy.ipynb"
    path.write_text(json.dumps(notebook([noisy])))
    text = (await call("Read", {"file_path": str(path)})).content[0]["text"]  # type: ignore[index]
    assert len(text) < 11_000 and "[output truncated: 40000 more characters]" in text
    broken = tmp_path / "broken.ipynb"
    broken.write_text("{not json")
    result = await call("Read", {"file_path": str(broken)})
    assert (
        result.is_error
        and "is not a valid notebook" in str(result.content)
        and "\n" not in str(result.content)
    )


# -- NotebookEdit -------------------------------------------------------------------------------


async def test_edit_requires_a_read_first(call: CallTool, nb_path: Path) -> None:
    result = await call("NotebookEdit", {"notebook_path": str(nb_path), "cell_id": "a1", "new_source": "x"})
    assert result.is_error and "has not been read yet" in str(result.content)


async def test_replace_insert_and_delete_round_trip(call: CallTool, nb_path: Path) -> None:
    await call("Read", {"file_path": str(nb_path)})
    path = str(nb_path)

    replaced = await call(
        "NotebookEdit", {"notebook_path": path, "cell_id": "b2", "new_source": "print('bye')"}
    )
    assert replaced.content == "Updated cell b2 with print('bye')"
    b2 = cells(nb_path)[1]
    assert b2["source"] == "print('bye')" and b2["outputs"] == [] and b2["execution_count"] is None

    inserted = await call(
        "NotebookEdit",
        {
            "notebook_path": path,
            "cell_id": "a1",
            "new_source": "## more",
            "cell_type": "markdown",
            "edit_mode": "insert",
        },
    )
    new_id = cells(nb_path)[1]["id"]
    assert inserted.content == f"Inserted cell {new_id} with ## more"
    assert cells(nb_path)[1] == {"cell_type": "markdown", "id": new_id, "source": "## more", "metadata": {}}

    first = await call(
        "NotebookEdit",
        {"notebook_path": path, "new_source": "import os", "cell_type": "code", "edit_mode": "insert"},
    )
    assert not first.is_error and cells(nb_path)[0]["source"] == "import os"
    assert cells(nb_path)[0]["outputs"] == []

    deleted = await call(
        "NotebookEdit", {"notebook_path": path, "cell_id": "c3", "new_source": "", "edit_mode": "delete"}
    )
    assert deleted.content == "Deleted cell c3"
    assert [c.get("id") for c in cells(nb_path)] == [cells(nb_path)[0]["id"], "a1", new_id, "b2", None]

    by_index = await call("NotebookEdit", {"notebook_path": path, "cell_id": "cell-4", "new_source": "y = 2"})
    assert by_index.content == "Updated cell cell-4 with y = 2" and cells(nb_path)[4]["source"] == "y = 2"

    retyped = await call(
        "NotebookEdit",
        {"notebook_path": path, "cell_id": "b2", "new_source": "*now prose*", "cell_type": "markdown"},
    )
    assert not retyped.is_error
    assert cells(nb_path)[3] == {"cell_type": "markdown", "id": "b2", "metadata": {}, "source": "*now prose*"}

    # What Read shows now, the file Jupyter would load (indent 1, as Jupyter writes it).
    text = (await call("Read", {"file_path": path})).content[0]["text"]  # type: ignore[index]
    assert '<cell id="a1">' in text and "## more" in text and "1/0" not in text
    assert nb_path.read_text().startswith('{\n "cells": [\n  {\n')


async def test_edit_errors_are_one_line_and_change_nothing(
    call: CallTool, nb_path: Path, tmp_path: Path
) -> None:
    await call("Read", {"file_path": str(nb_path)})
    before = nb_path.read_text()
    path = str(nb_path)
    cases = [
        ({"cell_id": "zz", "new_source": "y"}, 'Cell with ID "zz" not found in notebook.'),
        ({"new_source": "y", "edit_mode": "insert"}, "Cell type is required when using edit_mode=insert."),
        ({"new_source": "y"}, "cell_id is required when using edit_mode=replace."),
        ({"new_source": "y", "edit_mode": "delete"}, "cell_id is required when using edit_mode=delete."),
    ]
    for extra, message in cases:
        result = await call("NotebookEdit", {"notebook_path": path, **extra})
        assert result.is_error and result.content == message
    assert nb_path.read_text() == before
    other = tmp_path / "notes.txt"
    other.write_text("x")
    wrong = await call("NotebookEdit", {"notebook_path": str(other), "cell_id": "a", "new_source": "y"})
    assert wrong.is_error and "Jupyter notebook (.ipynb file)" in str(wrong.content)
    relative = await call("NotebookEdit", {"notebook_path": "nb.ipynb", "cell_id": "a1", "new_source": "y"})
    assert relative.is_error and "absolute path" in str(relative.content)


async def test_an_old_notebook_without_ids_gets_no_ids(
    call: CallTool, tmp_path: Path, ctx: ToolContext
) -> None:
    path = tmp_path / "old.ipynb"
    path.write_text(
        json.dumps(notebook([{"cell_type": "markdown", "metadata": {}, "source": "hi"}], minor=2))
    )
    await call("Read", {"file_path": str(path)})
    result = await call(
        "NotebookEdit",
        {"notebook_path": str(path), "new_source": "x", "cell_type": "code", "edit_mode": "insert"},
    )
    assert result.content == "Inserted cell cell-0 with x"
    assert "id" not in cells(path)[0]


async def test_an_edit_after_the_file_changed_asks_for_a_new_read(call: CallTool, nb_path: Path) -> None:
    import os

    await call("Read", {"file_path": str(nb_path)})
    stat = nb_path.stat()
    os.utime(nb_path, (stat.st_atime, stat.st_mtime + 5))
    result = await call("NotebookEdit", {"notebook_path": str(nb_path), "cell_id": "a1", "new_source": "x"})
    assert result.is_error and "modified since read" in str(result.content)


# -- permissions, end to end -------------------------------------------------------------------


def _run(sim: Simulator, cwd: Path, **options: Any) -> thrifty.Result:
    env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url}
    opts = thrifty.Options(cwd=cwd, env=env, model="claude-sonnet-4-6", **options)
    results = [m for m in thrifty.query_sync("edit the notebook", opts) if isinstance(m, thrifty.Result)]
    assert len(results) == 1
    return results[0]


def test_notebook_edit_is_offered_and_runs_inside_but_is_denied_outside(tmp_path: Path) -> None:
    project, outside = tmp_path / "project", tmp_path / "outside"
    project.mkdir()
    outside.mkdir()
    for d in (project, outside):
        (d / "nb.ipynb").write_text(json.dumps(notebook()))

    def edit(path: Path) -> list[dict[str, Any]]:
        return [
            {"tool_use": {"name": "Read", "input": {"file_path": str(path)}}},
            {
                "tool_use": {
                    "name": "NotebookEdit",
                    "input": {"notebook_path": str(path), "cell_id": "a1", "new_source": "# new"},
                }
            },
            {"text": "done"},
        ]

    with Simulator(edit(project / "nb.ipynb")) as sim:
        inside = _run(sim, project, permission_mode="acceptEdits")
        assert "NotebookEdit" in [t["name"] for t in sim.message_requests()[0].body["tools"]]
        assert inside.subtype == "success" and not inside.permission_denials
        assert cells(project / "nb.ipynb")[0]["source"] == "# new"

        sim.set_script(edit(outside / "nb.ipynb"))
        before = (outside / "nb.ipynb").read_text()
        denied = _run(sim, project, permission_mode="acceptEdits", allowed_tools=["Read"])
        assert [d["tool_name"] for d in denied.permission_denials] == ["NotebookEdit"]
        assert (outside / "nb.ipynb").read_text() == before
        last = sim.message_requests()[-1].body["messages"][-1]["content"][0]
        assert last["type"] == "tool_result" and last["is_error"]
