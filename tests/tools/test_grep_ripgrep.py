"""Grep over ripgrep: what ignore files hide, and running rg itself (found, bounded, cancellable)."""

from __future__ import annotations

import asyncio
import os
import shutil
import signal
import sys
from pathlib import Path

import pytest

from tests.tools.conftest import CallTool, git_init, grep, write
from thrifty.tools.ripgrep import rg_binary, run_rg

pytestmark = pytest.mark.anyio


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    """A git repository where most files holding "needle" are ignored, one way or another."""
    git_init(tmp_path)
    write(
        tmp_path,
        {
            ".gitignore": ".venv/\nbuild/\n*.log\n",
            "src/app.py": "needle = 1\n",
            "src/local.py": "needle = 'kept: the nested rule is for sub/ only'\n",
            "sub/.gitignore": "local.py\n",
            "sub/local.py": "needle = 'ignored by sub/.gitignore'\n",
            "sub/kept.py": "needle = 2\n",
            ".ignore": "fixtures/\n",
            "fixtures/data.py": "needle = 'ignored by .ignore'\n",
            ".venv/lib/site.py": "needle = 'ignored'\n",
            "build/out.py": "needle = 'ignored'\n",
            "debug.log": "needle\n",
            ".github/ci.yml": "needle: hidden files are searched\n",
            ".env.example": "NEEDLE=1\n",
            ".git/needle.txt": "needle\n",
        },
    )
    (tmp_path / ".git/info").mkdir(exist_ok=True)
    (tmp_path / ".git/info/exclude").write_text("scratch.py\n")
    (tmp_path / "scratch.py").write_text("needle = 'excluded by .git/info/exclude'\n")
    return tmp_path


async def test_ignore_files_decide_what_is_searched_in_a_git_repository(call: CallTool, repo: Path) -> None:
    out = await grep(call, {"pattern": "needle", "-i": True})
    assert sorted(out.splitlines()[1:]) == sorted(
        str(repo / n) for n in ("src/app.py", "src/local.py", "sub/kept.py", ".github/ci.yml", ".env.example")
    )
    assert out.splitlines()[0] == "Found 5 files"


async def test_ignored_files_are_skipped_in_every_output_mode(call: CallTool, repo: Path) -> None:
    content = await grep(call, {"pattern": "needle", "output_mode": "content", "type": "py"})
    count = await grep(call, {"pattern": "needle", "output_mode": "count", "type": "py"})
    for out in (content, count):
        assert ".venv" not in out
        assert "build" not in out
        assert "fixtures" not in out
        assert str(repo / "sub/local.py") not in out
        assert str(repo / "scratch.py") not in out
    assert count.endswith("Found 3 total matches across 3 files.")
    assert len(content.splitlines()) == 3


async def test_a_glob_filter_keeps_ignored_directories_out(call: CallTool, repo: Path) -> None:
    out = await grep(call, {"pattern": "needle", "glob": "**/*.py"})
    assert ".venv" not in out
    assert "build" not in out
    assert "fixtures" not in out


async def test_a_glob_names_ignored_files_past_their_rule_as_rg_does(call: CallTool, repo: Path) -> None:
    """rg's --glob "overrides any other ignore logic" for the files it matches; Claude Code passes
    the glob to rg the same way, so a glob naming an ignored file finds it (directories stay out)."""
    out = await grep(call, {"pattern": "needle", "glob": "*.log"})
    assert out == f"Found 1 file\n{repo / 'debug.log'}"


async def test_an_ignored_directory_given_as_path_is_searched(call: CallTool, repo: Path) -> None:
    out = await grep(call, {"pattern": "needle", "path": ".venv"})
    assert out == f"Found 1 file\n{repo / '.venv/lib/site.py'}"


async def test_outside_a_git_repository_gitignore_is_not_applied_but_ignore_is(
    call: CallTool, tmp_path: Path
) -> None:
    write(
        tmp_path,
        {
            ".gitignore": "build/\n",
            ".ignore": "fixtures/\n",
            "build/out.py": "needle\n",
            "fixtures/data.py": "needle\n",
            ".rgignore": "vendor/\n",
            "vendor/lib.py": "needle\n",
        },
    )
    out = await grep(call, {"pattern": "needle"})
    assert out == f"Found 1 file\n{tmp_path / 'build/out.py'}"


async def test_content_is_ordered_by_path_with_separators_between_files(
    call: CallTool, tmp_path: Path
) -> None:
    names = [f"d{i}/f{j}.txt" for i in range(4) for j in range(4)]
    write(tmp_path, {name: "before\nhit\n" for name in names})
    out = await grep(call, {"pattern": "hit", "output_mode": "content", "-B": 1})
    expected: list[str] = []
    for name in sorted(names):
        expected += ["--"] if expected else []
        expected += [f"{tmp_path / name}-1-before", f"{tmp_path / name}:2:hit"]
    assert out.splitlines() == expected
    second = await grep(call, {"pattern": "hit", "output_mode": "content", "head_limit": 3, "offset": 3})
    assert second.splitlines()[:3] == [f"{tmp_path / name}:2:hit" for name in sorted(names)[3:6]]


async def test_without_line_numbers_context_lines_keep_their_dash(call: CallTool, tree: Path) -> None:
    out = await grep(call, {"pattern": "def alpha", "output_mode": "content", "-n": False, "-A": 1})
    p = tree / "pkg/mod.py"
    assert out.splitlines() == [f"{p}:def alpha():", f"{p}-    return 1"]


async def test_odd_file_names_and_a_leading_dash_pattern(call: CallTool, tmp_path: Path) -> None:
    write(tmp_path, {"a:1-b.txt": "x\n-flag here\n"})
    out = await grep(call, {"pattern": "-flag", "output_mode": "content"})
    assert out == f"{tmp_path / 'a:1-b.txt'}:2:-flag here"


async def test_rg_is_found_from_the_ripgrep_distribution_without_path(
    call: CallTool, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "")
    rg_binary.cache_clear()
    try:
        assert shutil.which("rg") is None
        found = rg_binary()
        assert found is not None
        assert Path(found).name in ("rg", "rg.exe")
        assert await grep(call, {"pattern": "alpha", "path": "web"}) == f"Found 1 file\n{tree / 'web/app.ts'}"
    finally:
        rg_binary.cache_clear()


async def test_missing_rg_is_a_one_line_error(
    call: CallTool, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tree))  # no rg there
    monkeypatch.setattr(sys, "path", [])  # and no ripgrep distribution to be found
    rg_binary.cache_clear()
    try:
        for name, raw in (("Grep", {"pattern": "alpha"}), ("Glob", {"pattern": "**/*.py"})):
            result = await call(name, raw)
            assert result.is_error
            assert "pip install ripgrep" in str(result.content)
            assert "\n" not in str(result.content)
    finally:
        monkeypatch.undo()
        rg_binary.cache_clear()


def _processes_reading(path: Path) -> list[int]:
    pids = []
    for proc in Path("/proc").iterdir():
        try:
            if proc.name.isdigit() and str(path).encode() in (proc / "cmdline").read_bytes():
                pids.append(int(proc.name))
        except OSError:
            continue
    return pids


@pytest.mark.skipif(not Path("/proc/self/cmdline").exists(), reason="needs /proc")
async def test_cancelling_a_search_ends_ripgrep(call: CallTool, tmp_path: Path) -> None:
    fifo = tmp_path / "never-written"
    os.mkfifo(fifo)  # rg blocks opening it until a writer comes, which never happens
    task = asyncio.ensure_future(call("Grep", {"pattern": "x", "path": str(fifo)}))
    pids: list[int] = []
    for _ in range(500):
        await asyncio.sleep(0.01)
        if pids := _processes_reading(fifo):
            break
    assert pids, "rg did not start"
    try:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert _processes_reading(fifo) == []
    finally:
        for pid in _processes_reading(fifo):
            os.kill(pid, signal.SIGKILL)


async def test_ripgrep_output_is_bounded(tmp_path: Path) -> None:
    write(tmp_path, {f"f{i:02}.txt": "x\n" for i in range(50)})
    out = await run_rg(["--files", "--", str(tmp_path)], tmp_path, None, limit=100)
    assert not isinstance(out, str)
    assert out.truncated
    assert len(out.stdout) == 100
