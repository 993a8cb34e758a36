from __future__ import annotations

import asyncio
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.tools.conftest import CallTool
from thrifty.tools.grep import split_globs
from thrifty.tools.ripgrep import rg_binary, run_rg

pytestmark = pytest.mark.anyio

SOURCE = """import os

def alpha():
    return 1

def beta():
    return 2
"""


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    files = {
        "pkg/mod.py": SOURCE,
        "pkg/other.py": "x = 'no functions here'\n",
        "web/app.ts": "export function alpha() {}\n",
        "web/view.tsx": "const Beta = () => null\n",
        "README.md": "# Alpha project\n",
        ".git/config": "def alpha(): pass\n",
    }
    for i, (name, text) in enumerate(sorted(files.items())):
        p = tmp_path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
        os.utime(p, (1_000_000 + i, 1_000_000 + i))
    return tmp_path


async def grep(call: CallTool, raw: dict[str, Any]) -> str:
    result = await call("Grep", raw)
    assert not result.is_error, result.content
    assert isinstance(result.content, str)
    return result.content


async def test_files_with_matches_is_the_default(call: CallTool, tree: Path) -> None:
    out = await grep(call, {"pattern": r"def \w+"})
    assert out == f"Found 1 file\n{tree / 'pkg/mod.py'}"


async def test_files_are_newest_first(call: CallTool, tree: Path) -> None:
    os.utime(tree / "web/app.ts", (5_000_000, 5_000_000))
    out = await grep(call, {"pattern": "alpha", "-i": True})
    assert out.splitlines() == [
        "Found 3 files",
        str(tree / "web/app.ts"),
        str(tree / "pkg/mod.py"),
        str(tree / "README.md"),
    ]


async def test_content_mode_with_line_numbers(call: CallTool, tree: Path) -> None:
    out = await grep(call, {"pattern": "return", "output_mode": "content"})
    path = tree / "pkg/mod.py"
    assert out == f"{path}:4:    return 1\n{path}:7:    return 2"


async def test_content_mode_without_line_numbers(call: CallTool, tree: Path) -> None:
    out = await grep(call, {"pattern": "return 2", "output_mode": "content", "-n": False})
    assert out == f"{tree / 'pkg/mod.py'}:    return 2"


async def test_context_lines_and_group_separators(call: CallTool, tree: Path) -> None:
    out = await grep(call, {"pattern": "^def", "output_mode": "content", "-C": 1})
    p = tree / "pkg/mod.py"
    assert out.splitlines() == [
        f"{p}-2-",
        f"{p}:3:def alpha():",
        f"{p}-4-    return 1",
        f"{p}-5-",
        f"{p}:6:def beta():",
        f"{p}-7-    return 2",
    ]


async def test_separator_between_distant_matches(call: CallTool, tree: Path) -> None:
    out = await grep(call, {"pattern": "import|return 2", "output_mode": "content", "-B": 1})
    p = tree / "pkg/mod.py"
    assert out.splitlines() == [f"{p}:1:import os", "--", f"{p}-6-def beta():", f"{p}:7:    return 2"]


async def test_context_wins_over_before_and_after_as_in_claude_code(call: CallTool, tree: Path) -> None:
    out = await grep(call, {"pattern": "import", "output_mode": "content", "-A": 0, "context": 1})
    p = tree / "pkg/mod.py"
    assert out.splitlines() == [f"{p}:1:import os", f"{p}-2-"]


async def test_after_and_before_context(call: CallTool, tree: Path) -> None:
    p = tree / "pkg/mod.py"
    after = await grep(call, {"pattern": "def alpha", "output_mode": "content", "-A": 1})
    assert after.splitlines() == [f"{p}:3:def alpha():", f"{p}-4-    return 1"]
    before = await grep(call, {"pattern": "def alpha", "output_mode": "content", "-B": 2})
    assert before.splitlines() == [f"{p}-1-import os", f"{p}-2-", f"{p}:3:def alpha():"]


async def test_context_is_ignored_outside_content_mode(call: CallTool, tree: Path) -> None:
    out = await grep(call, {"pattern": "def alpha", "-C": 3})
    assert out == f"Found 1 file\n{tree / 'pkg/mod.py'}"


async def test_case_insensitive(call: CallTool, tree: Path) -> None:
    assert "README.md" not in await grep(call, {"pattern": "alpha"})
    assert "README.md" in await grep(call, {"pattern": "alpha", "-i": True})


async def test_only_matching(call: CallTool, tree: Path) -> None:
    out = await grep(call, {"pattern": r"return \d", "output_mode": "content", "-o": True})
    p = tree / "pkg/mod.py"
    assert out.splitlines() == [f"{p}:4:return 1", f"{p}:7:return 2"]


async def test_count_mode(call: CallTool, tree: Path) -> None:
    out = await grep(call, {"pattern": "def|return", "output_mode": "count", "glob": "*.py"})
    assert out == f"{tree / 'pkg/mod.py'}:4\n\nFound 4 total matches across 1 file."


async def test_glob_filter_with_braces_and_negation(call: CallTool, tree: Path) -> None:
    out = await grep(call, {"pattern": "(?i)alpha|beta", "glob": "*.{ts,tsx}"})
    assert sorted(out.splitlines()[1:]) == [str(tree / "web/app.ts"), str(tree / "web/view.tsx")]
    out = await grep(call, {"pattern": "(?i)alpha|beta", "glob": "!*.tsx"})
    assert str(tree / "web/view.tsx") not in out
    assert str(tree / "web/app.ts") in out


async def test_glob_with_a_slash_matches_the_relative_path(call: CallTool, tree: Path) -> None:
    out = await grep(call, {"pattern": "alpha", "glob": "pkg/**"})
    assert out.splitlines()[1:] == [str(tree / "pkg/mod.py")]


async def test_type_filter(call: CallTool, tree: Path) -> None:
    assert (await grep(call, {"pattern": "alpha", "type": "ts"})).splitlines()[1:] == [
        str(tree / "web/app.ts")
    ]
    assert (await grep(call, {"pattern": "alpha", "type": "py"})).splitlines()[1:] == [
        str(tree / "pkg/mod.py")
    ]


async def test_unknown_type_lists_known_ones(call: CallTool, tree: Path) -> None:
    result = await call("Grep", {"pattern": "x", "type": "cobol"})
    assert result.is_error
    assert "Unknown file type" in str(result.content)
    assert "py" in str(result.content)


async def test_head_limit_and_offset_page_through_content(call: CallTool, tmp_path: Path) -> None:
    (tmp_path / "n.txt").write_text("".join(f"hit {i}\n" for i in range(1, 11)))
    first = await grep(call, {"pattern": "hit", "output_mode": "content", "head_limit": 3})
    assert [line.split(":", 2)[2] for line in first.splitlines()[:3]] == ["hit 1", "hit 2", "hit 3"]
    assert "offset=3" in first
    second = await grep(call, {"pattern": "hit", "output_mode": "content", "head_limit": 3, "offset": 3})
    assert second.splitlines()[0].endswith(":4:hit 4")
    everything = await grep(call, {"pattern": "hit", "output_mode": "content", "head_limit": 0})
    assert len(everything.splitlines()) == 10
    assert "truncated" not in everything


async def test_default_head_limit_is_250(call: CallTool, tmp_path: Path) -> None:
    (tmp_path / "n.txt").write_text("hit\n" * 300)
    out = await grep(call, {"pattern": "hit", "output_mode": "content"})
    assert len([line for line in out.splitlines() if line.endswith(":hit")]) == 250
    assert "head_limit=250" in out


async def test_head_limit_applies_to_files(call: CallTool, tmp_path: Path) -> None:
    for i in range(5):
        (tmp_path / f"f{i}.txt").write_text("hit\n")
    out = await grep(call, {"pattern": "hit", "head_limit": 2})
    assert out.splitlines()[0] == "Found 5 files"
    assert len(out.splitlines()[1:3]) == 2
    assert "offset=2" in out


async def test_multiline(call: CallTool, tree: Path) -> None:
    pattern = r"def beta\(\):\n\s+return"
    single_line = await call("Grep", {"pattern": pattern})
    assert single_line.is_error
    assert "multiline: true" in str(single_line.content)
    out = await grep(call, {"pattern": pattern, "multiline": True, "output_mode": "content"})
    p = tree / "pkg/mod.py"
    assert out.splitlines() == [f"{p}:6:def beta():", f"{p}:7:    return 2"]


async def test_multiline_dot_matches_newline(call: CallTool, tree: Path) -> None:
    out = await grep(call, {"pattern": "alpha.*beta", "multiline": True, "output_mode": "count"})
    assert out.startswith(f"{tree / 'pkg/mod.py'}:1")


async def test_skips_vcs_and_binary_files(call: CallTool, tmp_path: Path) -> None:
    for vcs in (".git", ".hg", ".svn", ".jj"):
        (tmp_path / vcs).mkdir()
        (tmp_path / vcs / "HEAD").write_text("needle\n")
    (tmp_path / "blob.dat").write_bytes(b"needle\x00\x01")
    (tmp_path / "ok.txt").write_text("needle\n")
    out = await grep(call, {"pattern": "needle"})
    assert out == f"Found 1 file\n{tmp_path / 'ok.txt'}"


async def test_a_single_file_path_shows_its_name(call: CallTool, tmp_path: Path) -> None:
    big = tmp_path / "huge.log"
    big.write_text("x\n" * 100_000 + "needle\n")
    out = await grep(call, {"pattern": "needle", "path": str(big), "output_mode": "count"})
    assert out.startswith(f"{big}:1")
    out = await grep(call, {"pattern": "needle", "path": str(big), "output_mode": "content"})
    assert out == f"{big}:100001:needle"


async def test_relative_path_resolves_against_cwd(call: CallTool, tree: Path) -> None:
    out = await grep(call, {"pattern": "alpha", "path": "web"})
    assert out == f"Found 1 file\n{tree / 'web/app.ts'}"


async def test_long_lines_are_omitted(call: CallTool, tmp_path: Path) -> None:
    (tmp_path / "min.js").write_text("needle" + "x" * 5000 + "\n")
    out = await grep(call, {"pattern": "needle", "output_mode": "content"})
    assert out.startswith(f"{tmp_path / 'min.js'}:1:[Omitted long")
    assert "xxxx" not in out


async def test_no_matches_messages(call: CallTool, tree: Path) -> None:
    assert await grep(call, {"pattern": "zzz"}) == "No files found"
    assert await grep(call, {"pattern": "zzz", "output_mode": "content"}) == "No matches found"
    assert await grep(call, {"pattern": "zzz", "output_mode": "count"}) == "No matches found"


async def test_invalid_regex_is_a_one_line_error(call: CallTool, tree: Path) -> None:
    result = await call("Grep", {"pattern": "def (unclosed"})
    assert result.is_error
    assert "Invalid regex" in str(result.content)
    assert "unclosed group" in str(result.content)
    assert "\n" not in str(result.content)


async def test_regex_dialect_is_ripgrep_s(call: CallTool, tree: Path) -> None:
    lookahead = await call("Grep", {"pattern": "def (?=alpha)"})
    assert lookahead.is_error
    assert "look-around" in str(lookahead.content)
    out = await grep(call, {"pattern": r"\bdef\s+\w+\(\)", "output_mode": "count"})
    assert out.startswith(f"{tree / 'pkg/mod.py'}:2")


async def test_missing_path_is_an_error(call: CallTool, tree: Path) -> None:
    result = await call("Grep", {"pattern": "x", "path": "nowhere"})
    assert result.is_error
    assert "does not exist" in str(result.content)


async def test_bad_output_mode_is_a_validation_error(call: CallTool) -> None:
    result = await call("Grep", {"pattern": "x", "output_mode": "lines"})
    assert result.is_error
    assert "InputValidationError" in str(result.content)


@pytest.mark.parametrize(
    ("spec", "globs"),
    [
        ("*.py", ["*.py"]),
        ("*.{ts,tsx}", ["*.{ts,tsx}"]),
        ("*.js, *.{ts,tsx} !*.min.js", ["*.js", "*.{ts,tsx}", "!*.min.js"]),
        ("", []),
    ],
)
def test_split_globs(spec: str, globs: list[str]) -> None:
    assert split_globs(spec) == globs


async def test_glob_with_leading_double_star_matches_at_any_depth(call: CallTool, tree: Path) -> None:
    out = await grep(call, {"pattern": "alpha", "glob": "**/web/*.ts"})
    assert out.splitlines()[1:] == [str(tree / "web/app.ts")]
    out = await grep(call, {"pattern": "alpha", "glob": "**/*.ts"})
    assert out.splitlines()[1:] == [str(tree / "web/app.ts")]


async def test_end_anchor_works_on_crlf_lines(call: CallTool, tmp_path: Path) -> None:
    (tmp_path / "win.txt").write_bytes(b"foo\r\nbar\r\n")
    out = await grep(call, {"pattern": "^foo$", "output_mode": "content"})
    assert out == f"{tmp_path / 'win.txt'}:1:foo"


async def test_start_of_text_anchor_is_per_line(call: CallTool, tmp_path: Path) -> None:
    (tmp_path / "a.txt").write_text("x\nfoo\n")
    out = await grep(call, {"pattern": r"\Afoo", "output_mode": "content"})
    assert out == f"{tmp_path / 'a.txt'}:2:foo"


def write(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        p = root / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)


def git_init(root: Path) -> None:
    if shutil.which("git") is None:
        pytest.skip("git is not installed")
    subprocess.run(["git", "init", "-q", str(root)], check=True)


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
