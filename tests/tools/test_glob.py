from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.tools.conftest import CallTool, git_init
from thrifty.tools.base import ToolContext
from thrifty.tools.glob import MAX_RESULTS, glob_to_regex

pytestmark = pytest.mark.anyio


def make(root: Path, *names: str, mtime: float | None = None) -> list[Path]:
    paths = []
    for name in names:
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(name)
        if mtime is not None:
            os.utime(p, (mtime, mtime))
        paths.append(p)
    return paths


def lines(content: object) -> list[str]:
    return str(content).splitlines()


@pytest.mark.parametrize(
    ("pattern", "path", "matches"),
    [
        ("*.py", "a.py", True),
        ("*.py", "src/a.py", False),
        ("**/*.py", "a.py", True),
        ("**/*.py", "src/deep/a.py", True),
        ("src/**/*.py", "src/a.py", True),
        ("src/**/*.py", "src/x/y/a.py", True),
        ("src/**/*.py", "lib/a.py", False),
        ("src/**", "src/x/y", True),
        ("*.{ts,tsx}", "a.tsx", True),
        ("*.{ts,tsx}", "a.js", False),
        ("{src,lib}/*.{c,h}", "lib/x.h", True),
        ("a?.txt", "ab.txt", True),
        ("a?.txt", "a/.txt", False),
        ("[ab]*.md", "b1.md", True),
        ("[!ab]*.md", "b1.md", False),
        ("file(1).txt", "file(1).txt", True),
        ("a.b", "axb", False),
        ("**", "any/thing/at/all", True),
    ],
)
def test_glob_to_regex(pattern: str, path: str, matches: bool) -> None:
    assert bool(glob_to_regex(pattern).fullmatch(path)) is matches


async def test_recursive_pattern_skips_git(call: CallTool, tmp_path: Path) -> None:
    make(tmp_path, "a.py", "src/b.py", "src/deep/c.py", "notes.md", ".git/hooks/x.py")
    result = await call("Glob", {"pattern": "**/*.py"})
    assert not result.is_error
    assert sorted(lines(result.content)) == sorted(
        str(tmp_path / n) for n in ("a.py", "src/b.py", "src/deep/c.py")
    )


async def test_single_star_stays_in_one_directory(call: CallTool, tmp_path: Path) -> None:
    make(tmp_path, "a.py", "src/b.py")
    result = await call("Glob", {"pattern": "*.py"})
    assert lines(result.content) == [str(tmp_path / "a.py")]


async def test_results_are_newest_first(call: CallTool, tmp_path: Path) -> None:
    make(tmp_path, "old.txt", mtime=1_000_000)
    make(tmp_path, "new.txt", mtime=3_000_000)
    make(tmp_path, "sub/mid.txt", mtime=2_000_000)
    result = await call("Glob", {"pattern": "**/*.txt"})
    assert lines(result.content) == [str(tmp_path / n) for n in ("new.txt", "sub/mid.txt", "old.txt")]


async def test_results_are_capped_with_a_note(call: CallTool, tmp_path: Path) -> None:
    make(tmp_path, *(f"f{i:03}.txt" for i in range(MAX_RESULTS + 5)))
    result = await call("Glob", {"pattern": "*.txt"})
    out = lines(result.content)
    assert len(out) == MAX_RESULTS + 1
    assert "truncated" in out[-1]
    assert f"{MAX_RESULTS} of {MAX_RESULTS + 5}" in out[-1]


async def test_no_matches(call: CallTool, tmp_path: Path) -> None:
    make(tmp_path, "a.py")
    result = await call("Glob", {"pattern": "**/*.rs"})
    assert not result.is_error
    assert result.content == "No files found"


async def test_only_files_are_listed(call: CallTool, tmp_path: Path) -> None:
    make(tmp_path, "pkg.d/file.txt")
    result = await call("Glob", {"pattern": "*.d"})
    assert result.content == "No files found"


async def test_braces(call: CallTool, tmp_path: Path) -> None:
    make(tmp_path, "src/a.ts", "src/b.tsx", "src/c.js")
    result = await call("Glob", {"pattern": "src/**/*.{ts,tsx}"})
    assert sorted(lines(result.content)) == [str(tmp_path / "src/a.ts"), str(tmp_path / "src/b.tsx")]


async def test_relative_path_resolves_against_cwd(call: CallTool, tmp_path: Path) -> None:
    make(tmp_path, "a.py", "src/b.py")
    result = await call("Glob", {"pattern": "*.py", "path": "src"})
    assert lines(result.content) == [str(tmp_path / "src/b.py")]


async def test_absolute_search_path(call: CallTool, tmp_path: Path) -> None:
    make(tmp_path, "src/b.py")
    result = await call("Glob", {"pattern": "*.py", "path": str(tmp_path / "src")})
    assert lines(result.content) == [str(tmp_path / "src/b.py")]


async def test_absolute_pattern(call: CallTool, tmp_path: Path) -> None:
    make(tmp_path, "src/x/b.py", "other/c.py")
    result = await call("Glob", {"pattern": f"{tmp_path}/src/**/*.py"})
    assert lines(result.content) == [str(tmp_path / "src/x/b.py")]


async def test_literal_prefix_and_dot_segments(call: CallTool, tmp_path: Path) -> None:
    make(tmp_path, "src/x/b.py")
    result = await call("Glob", {"pattern": "./src/x/*.py"})
    assert lines(result.content) == [str(tmp_path / "src/x/b.py")]


async def test_hidden_files_are_found(call: CallTool, tmp_path: Path) -> None:
    make(tmp_path, ".github/workflows/ci.yml")
    result = await call("Glob", {"pattern": "**/*.yml"})
    assert lines(result.content) == [str(tmp_path / ".github/workflows/ci.yml")]


async def test_missing_directory(call: CallTool, tmp_path: Path) -> None:
    result = await call("Glob", {"pattern": "*", "path": "nope"})
    assert result.is_error
    assert "does not exist" in str(result.content)


async def test_path_must_be_a_directory(call: CallTool, tmp_path: Path) -> None:
    (f,) = make(tmp_path, "a.py")
    result = await call("Glob", {"pattern": "*", "path": str(f)})
    assert result.is_error
    assert "not a directory" in str(result.content)


async def test_pattern_is_required(call: CallTool) -> None:
    result = await call("Glob", {"path": "."})
    assert result.is_error
    assert "InputValidationError" in str(result.content)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git_init(tmp_path)
    make(
        tmp_path,
        "src/app.py",
        "src/gen_pb2.py",
        "sub/local.py",
        "sub/kept.py",
        "top/local.py",
        "fixtures/data.py",
        ".venv/lib/site.py",
        "build/out.py",
        ".github/hooks/check.py",
        ".git/hooks/x.py",
    )
    (tmp_path / ".gitignore").write_text(".venv/\nbuild/\n*_pb2.py\n")
    (tmp_path / "sub/.gitignore").write_text("local.py\n")
    (tmp_path / ".ignore").write_text("fixtures/\n")
    return tmp_path


async def test_ignore_files_decide_what_is_listed_in_a_git_repository(call: CallTool, repo: Path) -> None:
    result = await call("Glob", {"pattern": "**/*.py"})
    assert sorted(lines(result.content)) == sorted(
        str(repo / n) for n in ("src/app.py", "sub/kept.py", "top/local.py", ".github/hooks/check.py")
    )


async def test_a_pattern_naming_ignored_files_does_not_list_them(call: CallTool, repo: Path) -> None:
    patterns = [
        {"pattern": "**/*_pb2.py"},
        {"pattern": "*_pb2.py", "path": "src"},
        {"pattern": "sub/local.py"},
    ]
    for raw in patterns:
        result = await call("Glob", raw)
        assert result.content == "No files found", raw
    result = await call("Glob", {"pattern": "**/local.py"})
    assert lines(result.content) == [str(repo / "top/local.py")]


async def test_an_ignored_directory_named_explicitly_is_listed(call: CallTool, repo: Path) -> None:
    for raw in ({"pattern": ".venv/**/*.py"}, {"pattern": "**/*.py", "path": ".venv"}):
        result = await call("Glob", raw)
        assert lines(result.content) == [str(repo / ".venv/lib/site.py")]


async def test_outside_a_git_repository_gitignore_is_not_applied_but_ignore_is(
    call: CallTool, tmp_path: Path
) -> None:
    make(tmp_path, "build/out.py", "fixtures/data.py", "vendor/lib.py", ".git-less.py")
    (tmp_path / ".gitignore").write_text("build/\n")
    (tmp_path / ".ignore").write_text("fixtures/\n")
    (tmp_path / ".rgignore").write_text("vendor/\n")
    result = await call("Glob", {"pattern": "**/*.py"})
    assert sorted(lines(result.content)) == [str(tmp_path / ".git-less.py"), str(tmp_path / "build/out.py")]


async def test_claude_code_s_no_ignore_setting_lists_ignored_files(
    call: CallTool, repo: Path, ctx: ToolContext
) -> None:
    ctx.env = {**os.environ, "CLAUDE_CODE_GLOB_NO_IGNORE": "true", "CLAUDE_CODE_GLOB_HIDDEN": "false"}
    result = await call("Glob", {"pattern": "**/*.py"})
    assert sorted(lines(result.content)) == sorted(
        str(repo / n)
        for n in (
            "src/app.py",
            "src/gen_pb2.py",
            "sub/local.py",
            "sub/kept.py",
            "top/local.py",
            "fixtures/data.py",
            "build/out.py",
        )
    )
