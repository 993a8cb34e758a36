from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.tools.conftest import CallTool, grep
from thrifty.tools.grep import split_globs

pytestmark = pytest.mark.anyio


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
