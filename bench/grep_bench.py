"""Grep and Glob against ripgrep itself, on a repository with a large gitignored ``.venv``.

    .venv/bin/python bench/grep_bench.py [--files 3000] [--venv-files 30000] [--runs 7] [--dir DIR]

Builds a git repository (``git init``; a bare ``.git`` directory if git is missing) holding
``--files`` source files and a ``.venv`` with ``--venv-files`` more, ignored by ``.gitignore``, as
in the outside trial where a Python walk answered from ``.venv`` and took seconds. Then, alternating
and ``--runs`` times each, it times in this process:

- ``grep``: the thrifty Grep tool through its call path (``Tool.run``, validation included),
  default files_with_matches mode, against ``rg -l`` run directly for the same search;
- ``grep-content``: the same in content mode, against ``rg -n``;
- ``glob``: the thrifty Glob tool with ``**/*.py``, against ``rg --files --glob '**/*.py'``.

Printed per search: the number of results each side found (they must agree), the median wall
seconds of each, and the ratio thrifty/rg; and the machine's usable core count, since rg searches
in parallel. The tree is kept with ``--dir`` (reused if it exists), else built in a temp dir.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from thrifty.tools.base import ToolContext
from thrifty.tools.registry import BUILTIN_TOOLS
from thrifty.tools.ripgrep import rg_binary

PATTERN = r"def handle_\w+\(request"
SOURCE = '''"""Module {i}."""

import os


class Thing{i}:
    def __init__(self, value: int) -> None:
        self.value = value

    def total(self) -> int:
        return sum(range(self.value)) + {i}

'''
HANDLER = "\ndef handle_{i}(request):\n    return request.path\n"


def build(root: Path, files: int, venv_files: int) -> None:
    if (root / ".gitignore").exists():
        return
    root.mkdir(parents=True, exist_ok=True)
    if shutil.which("git"):
        subprocess.run(["git", "init", "-q", str(root)], check=True)
    else:
        (root / ".git").mkdir()
    (root / ".gitignore").write_text(".venv/\nbuild/\n__pycache__/\n")
    for i in range(files):
        p = root / f"src/pkg{i % 50}/sub{i % 7}/mod{i}.py"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(SOURCE.format(i=i) + (HANDLER.format(i=i) if i % 10 == 0 else ""))
    for i in range(venv_files):
        p = root / f".venv/lib/python3.11/site-packages/dist{i % 200}/m{i}.py"
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(SOURCE.format(i=i) + HANDLER.format(i=i))


def rg_command(rg: str, root: Path, search: str) -> list[str]:
    """What rg is asked directly: Claude Code's flags for the same search."""
    vcs = [a for d in (".git", ".svn", ".hg", ".bzr", ".jj", ".sl") for a in ("--glob", f"!{d}")]
    if search == "glob":
        return [rg, "--files", "--hidden", *vcs, "--glob", "**/*.py", str(root)]
    mode = ["-l"] if search == "grep" else ["-n", "--no-heading"]
    return [rg, "--hidden", *vcs, "--max-columns", "500", *mode, "-e", PATTERN, str(root)]


def tool_call(search: str) -> tuple[str, dict[str, Any]]:
    if search == "glob":
        return "Glob", {"pattern": "**/*.py"}
    if search == "grep":
        return "Grep", {"pattern": PATTERN, "head_limit": 0}
    return "Grep", {"pattern": PATTERN, "output_mode": "content", "head_limit": 0}


def count_tool_results(search: str, text: str) -> int:
    """How many results the tool reported: Glob lists 100 and says how many there were."""
    if search == "glob" and (m := re.search(r"showing \d+ of (\d+)", text)):
        return int(m.group(1))
    lines = [line for line in text.splitlines() if line and not line.startswith("(")]
    return len(lines) - 1 if search == "grep" else len(lines)


async def timed(fn: Callable[[], Awaitable[int]]) -> tuple[float, int]:
    t0 = time.perf_counter()
    n = await fn()
    return time.perf_counter() - t0, n


async def measure(root: Path, rg: str, search: str, runs: int) -> dict[str, Any]:
    ctx = ToolContext(cwd=root)
    name, raw = tool_call(search)

    async def thrifty() -> int:
        result = await BUILTIN_TOOLS[name].run(raw, ctx)
        if result.is_error:
            raise SystemExit(f"{name} failed: {result.content}")
        return count_tool_results(search, str(result.content))

    async def direct() -> int:
        proc = await asyncio.to_thread(subprocess.run, rg_command(rg, root, search), capture_output=True)
        return len(proc.stdout.splitlines())

    walls: dict[str, list[float]] = {"thrifty": [], "rg": []}
    found: dict[str, int] = {}
    await thrifty(), await direct()  # warm the page cache and the binary lookup
    for _ in range(runs):
        for side, fn in (("thrifty", thrifty), ("rg", direct)):
            wall, found[side] = await timed(fn)
            walls[side].append(wall)
    t, r = statistics.median(walls["thrifty"]), statistics.median(walls["rg"])
    return {
        "search": search,
        "results_thrifty": found["thrifty"],
        "results_rg": found["rg"],
        "thrifty_s_median": round(t, 4),
        "rg_s_median": round(r, 4),
        "ratio_thrifty_rg": round(t / r, 2),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--files", type=int, default=3000, help="tracked source files")
    ap.add_argument("--venv-files", type=int, default=30000, help="files in the gitignored .venv")
    ap.add_argument("--runs", type=int, default=7, help="timed runs of each side (median reported)")
    ap.add_argument("--dir", type=Path, help="where to build (and keep) the tree")
    args = ap.parse_args()
    rg = rg_binary()
    if rg is None:
        raise SystemExit("rg not found: pip install ripgrep")
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    with tempfile.TemporaryDirectory() as tmp:
        root = args.dir or Path(tmp) / "repo"
        t0 = time.perf_counter()
        build(root, args.files, args.venv_files)
        built = time.perf_counter() - t0
        print(
            f"tree: {args.files} source files + {args.venv_files} in .venv (built in {built:.1f} s); "
            f"{cores} usable cores; rg {rg}; python {sys.version.split()[0]}"
        )
        for search in ("grep", "grep-content", "glob"):
            row = asyncio.run(measure(root, rg, search, args.runs))
            print(json.dumps(row))
            if row["results_thrifty"] != row["results_rg"]:
                raise SystemExit(f"{search}: thrifty and rg disagree")


if __name__ == "__main__":
    main()
