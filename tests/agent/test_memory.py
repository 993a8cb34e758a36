from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

from thrifty.agent.memory.loader import MEMORY_PREAMBLE, Memory, MemoryFile, load_memory
from thrifty.agent.memory.markdown import find_imports, strip_html_comments


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def home(tmp_path: Path) -> Path:
    h = tmp_path / "home"
    h.mkdir()
    return h


@pytest.fixture
def project(tmp_path: Path) -> Path:
    p = tmp_path / "work" / "repo"
    p.mkdir(parents=True)
    return p


def load(cwd: Path, home: Path, **kwargs: Any) -> Memory:
    kwargs.setdefault("environ", {})
    kwargs.setdefault("managed_dir", home.parent / "managed")
    return load_memory(cwd, home=home, **kwargs)


def ours(memory: Memory, root: Path) -> list[MemoryFile]:
    """Only files under the test's tmp dir: the walk to / may find stray files on the machine."""
    real = root.resolve()
    return [f for f in memory.files if f.path.resolve().is_relative_to(real)]


def names(memory: Memory, root: Path) -> list[str]:
    real = root.resolve()
    return [str(f.path.resolve().relative_to(real)) for f in ours(memory, root)]


def text_of(memory: Memory, path: Path) -> str:
    for f in memory.files:
        if f.path.resolve() == path.resolve():
            return f.text
    raise AssertionError(f"{path} not loaded: {[str(f.path) for f in memory.files]}")


# -- discovery order ------------------------------------------------------------------------------


def test_ancestors_load_from_root_down_to_cwd(tmp_path: Path, home: Path) -> None:
    cwd = tmp_path / "a" / "b" / "c"
    cwd.mkdir(parents=True)
    write(tmp_path / "a" / "CLAUDE.md", "A")
    write(tmp_path / "a" / "b" / "CLAUDE.md", "B")
    write(cwd / "CLAUDE.md", "C")
    memory = load(cwd, home)
    assert names(memory, tmp_path) == ["a/CLAUDE.md", "a/b/CLAUDE.md", "a/b/c/CLAUDE.md"]
    assert [f.scope for f in ours(memory, tmp_path)] == ["project"] * 3


def test_order_within_a_directory_and_local_after_project(tmp_path: Path, home: Path) -> None:
    parent = tmp_path / "p"
    cwd = parent / "c"
    write(parent / "CLAUDE.local.md", "parent local")
    write(parent / "CLAUDE.md", "parent")
    write(cwd / "CLAUDE.local.md", "local")
    write(cwd / ".claude" / "CLAUDE.md", "dot")
    write(cwd / "CLAUDE.md", "main")
    write(cwd / ".claude" / "rules" / "style.md", "rule")
    memory = load(cwd, home)
    assert names(memory, tmp_path) == [
        "p/CLAUDE.md",
        "p/CLAUDE.local.md",
        "p/c/CLAUDE.md",
        "p/c/.claude/CLAUDE.md",
        "p/c/.claude/rules/style.md",
        "p/c/CLAUDE.local.md",
    ]
    assert [f.scope for f in ours(memory, tmp_path)] == [
        "project",
        "local",
        "project",
        "project",
        "project",
        "local",
    ]


def test_user_memory_and_rules_come_first(project: Path, home: Path) -> None:
    write(home / ".claude" / "CLAUDE.md", "user")
    write(home / ".claude" / "rules" / "b.md", "user rule b")
    write(home / ".claude" / "rules" / "a" / "z.md", "user rule nested")
    write(home / ".claude" / "rules" / "notes.txt", "not markdown")
    write(project / "CLAUDE.md", "project")
    write(project / ".claude" / "rules" / "r.md", "project rule")
    memory = load(project, home)
    tail = home.parent
    assert names(memory, tail) == [
        "home/.claude/CLAUDE.md",
        "home/.claude/rules/a/z.md",
        "home/.claude/rules/b.md",
        "work/repo/CLAUDE.md",
        "work/repo/.claude/rules/r.md",
    ]
    assert [f.scope for f in ours(memory, tail)][:3] == ["user", "user", "user"]


def test_claude_config_dir_replaces_home_dot_claude(project: Path, home: Path, tmp_path: Path) -> None:
    write(home / ".claude" / "CLAUDE.md", "ignored user memory")
    config = tmp_path / "cfg"
    write(config / "CLAUDE.md", "configured user memory")
    write(config / "rules" / "x.md", "configured rule")
    memory = load(project, home, environ={"CLAUDE_CONFIG_DIR": str(config)})
    texts = [f.text for f in memory.files if f.scope == "user"]
    assert texts == ["configured user memory", "configured rule"]
    assert "ignored user memory" not in memory.render()


def test_cwd_under_home_does_not_read_user_memory_twice(home: Path) -> None:
    cwd = home / "src" / "proj"
    cwd.mkdir(parents=True)
    write(home / ".claude" / "CLAUDE.md", "user memory")
    write(home / ".claude" / "rules" / "r.md", "user rule")
    write(home / "CLAUDE.md", "home project memory")
    memory = load(cwd, home)
    ours_files = ours(memory, home)
    assert [(f.text, f.scope) for f in ours_files] == [
        ("user memory", "user"),
        ("user rule", "user"),
        ("home project memory", "project"),
    ]
    # Excluding user memory must not let the walk pick it up as project memory.
    no_user = load(cwd, home, setting_sources=["project", "local"])
    assert [f.text for f in ours(no_user, home)] == ["home project memory"]


def test_managed_memory_loads_first_whatever_the_sources(project: Path, home: Path) -> None:
    managed = home.parent / "managed"
    write(managed / "CLAUDE.md", "policy")
    write(project / "CLAUDE.md", "project")
    memory = load(project, home)
    assert [f.scope for f in memory.files][:1] == ["managed"]
    assert memory.files[0].text == "policy"
    assert [f.text for f in load(project, home, setting_sources=[]).files] == ["policy"]


@pytest.mark.parametrize(
    ("sources", "expected"),
    [
        (None, ["user", "project", "rule", "local"]),
        ([], []),
        (["user"], ["user"]),
        (["project"], ["project", "rule"]),
        (["local"], ["local"]),
        (["user", "project"], ["user", "project", "rule"]),
        (["project", "local"], ["project", "rule", "local"]),
    ],
)
def test_setting_sources_exclusions(
    project: Path, home: Path, sources: list[str] | None, expected: list[str]
) -> None:
    write(home / ".claude" / "CLAUDE.md", "user")
    write(project / "CLAUDE.md", "project")
    write(project / ".claude" / "rules" / "r.md", "rule")
    write(project / "CLAUDE.local.md", "local")
    memory = load(project, home, setting_sources=sources)
    assert [f.text for f in ours(memory, home.parent)] == expected


def test_conditional_rules_are_skipped_at_launch(project: Path, home: Path) -> None:
    rules = project / ".claude" / "rules"
    write(rules / "always.md", "always on")
    write(rules / "ts.md", '---\npaths:\n  - "src/**/*.ts"\n  - "lib/*.ts"\n---\nTypeScript rules')
    write(rules / "one.md", "---\npaths: docs/**\n---\nDocs rules")
    write(rules / "meta.md", "---\ndescription: style notes\n---\nMeta body")
    memory = load(project, home)
    assert [f.text for f in ours(memory, home.parent)] == ["always on", "Meta body"]
    conditional = {r.path.name: r.globs for r in memory.conditional_rules}
    assert conditional == {"ts.md": ("src/**/*.ts", "lib/*.ts"), "one.md": ("docs/**",)}
    assert "TypeScript" not in memory.render()


def test_rules_are_loaded_for_ancestor_directories(tmp_path: Path, home: Path) -> None:
    repo = tmp_path / "repo"
    cwd = repo / "pkg"
    cwd.mkdir(parents=True)
    write(repo / ".claude" / "rules" / "r.md", "repo rule")
    assert [f.text for f in ours(load(cwd, home), tmp_path)] == ["repo rule"]


def test_symlinked_duplicate_is_loaded_once(project: Path, home: Path) -> None:
    write(project / "CLAUDE.md", "once")
    (project / ".claude").mkdir()
    (project / ".claude" / "CLAUDE.md").symlink_to(project / "CLAUDE.md")
    assert [f.text for f in ours(load(project, home), home.parent)] == ["once"]


def test_rules_directory_symlink_loop_does_not_hang(project: Path, home: Path) -> None:
    rules = project / ".claude" / "rules"
    write(rules / "r.md", "rule")
    (rules / "loop").symlink_to(rules, target_is_directory=True)
    assert [f.text for f in ours(load(project, home), home.parent)] == ["rule"]


def test_additional_dirs_need_the_env_switch(project: Path, home: Path, tmp_path: Path) -> None:
    extra = tmp_path / "extra"
    write(extra / "CLAUDE.md", "extra memory")
    off = load(project, home, additional_dirs=[extra])
    assert "extra memory" not in off.render()
    on = load(
        project,
        home,
        additional_dirs=[extra],
        environ={"CLAUDE_CODE_ADDITIONAL_DIRECTORIES_CLAUDE_MD": "1"},
    )
    assert "extra memory" in on.render()


# -- robustness -----------------------------------------------------------------------------------


def test_undecodable_file_is_skipped_with_a_warning(project: Path, home: Path) -> None:
    (project / "CLAUDE.md").write_bytes(b"\xff\xfe\xfa bad utf-8")
    write(project / "CLAUDE.local.md", "still here")
    memory = load(project, home)
    assert [f.text for f in ours(memory, home.parent)] == ["still here"]
    assert any("CLAUDE.md" in w for w in memory.warnings)


@pytest.mark.skipif(os.name != "posix" or os.geteuid() == 0, reason="root reads anything")
def test_unreadable_file_is_skipped(project: Path, home: Path) -> None:
    target = write(project / "CLAUDE.md", "secret")
    target.chmod(0)
    try:
        memory = load(project, home)
    finally:
        target.chmod(0o644)
    assert ours(memory, home.parent) == []
    assert memory.warnings


def test_directory_named_like_memory_is_ignored(project: Path, home: Path) -> None:
    (project / "CLAUDE.md").mkdir()
    memory = load(project, home)
    assert ours(memory, home.parent) == []
    assert memory.warnings == []


def test_missing_cwd_does_not_crash(tmp_path: Path, home: Path) -> None:
    memory = load(tmp_path / "does" / "not" / "exist", home)
    assert ours(memory, tmp_path) == []


# -- imports --------------------------------------------------------------------------------------


def test_relative_import_is_resolved_from_the_importing_file(project: Path, home: Path) -> None:
    write(project / "docs" / "guide.md", "GUIDE @style.md")
    write(project / "docs" / "style.md", "STYLE")
    write(project / "CLAUDE.md", "see @docs/guide.md\nend")
    assert text_of(load(project, home), project / "CLAUDE.md") == "see GUIDE STYLE\nend"


def test_absolute_and_home_imports(project: Path, home: Path, tmp_path: Path) -> None:
    outside = write(tmp_path / "shared" / "team.md", "TEAM")
    write(home / "prefs.md", "PREFS")
    write(project / "CLAUDE.md", f"@{outside}\n@~/prefs.md\n")
    assert text_of(load(project, home), project / "CLAUDE.md") == "TEAM\nPREFS\n"


def test_imports_nest_at_most_four_hops(project: Path, home: Path) -> None:
    for i in range(1, 6):
        write(project / f"f{i}.md", f"F{i} @f{i + 1}.md" if i < 5 else "F5")
    write(project / "CLAUDE.md", "root @f1.md")
    memory = load(project, home)
    assert text_of(memory, project / "CLAUDE.md") == "root F1 F2 F3 F4 @f5.md"
    assert any("depth" in w for w in memory.warnings)


def test_import_cycles_are_cut(project: Path, home: Path) -> None:
    write(project / "a.md", "A @b.md")
    write(project / "b.md", "B @a.md")
    write(project / "CLAUDE.md", "root @a.md and self @CLAUDE.md")
    memory = load(project, home)
    assert text_of(memory, project / "CLAUDE.md") == "root A B @a.md and self @CLAUDE.md"
    assert any("cycle" in w for w in memory.warnings)


def test_imports_in_code_are_ignored(project: Path, home: Path) -> None:
    write(project / "x.md", "X")
    source = "\n".join(
        [
            "prose @x.md",
            "inline `@x.md` code and ``@x.md`` too",
            "```",
            "@x.md",
            "```",
            "~~~~python",
            "@x.md",
            "```",
            "~~~~",
            "after @x.md",
        ]
    )
    write(project / "CLAUDE.md", source)
    expected = source.replace("prose @x.md", "prose X").replace("after @x.md", "after X")
    assert text_of(load(project, home), project / "CLAUDE.md") == expected


def test_missing_and_non_path_imports_stay_as_text(project: Path, home: Path) -> None:
    text = "mail me@example.com, ping @nobody, @@twice, decorators @#tag, bare @"
    write(project / "CLAUDE.md", text)
    assert text_of(load(project, home), project / "CLAUDE.md") == text


def test_import_keeps_trailing_punctuation_fragments_and_escaped_spaces(project: Path, home: Path) -> None:
    write(project / "README.md", "R")
    write(project / "my notes.md", "N")
    write(project / "CLAUDE.md", r"Read @README.md. Then @README.md#usage, and @my\ notes.md")
    assert text_of(load(project, home), project / "CLAUDE.md") == "Read R. Then R, and N"


def test_imported_files_are_processed_like_top_level_files(project: Path, home: Path) -> None:
    write(project / "inc.md", "<!-- hidden -->\nshown")
    write(project / "CLAUDE.md", "@inc.md")
    assert text_of(load(project, home), project / "CLAUDE.md") == "shown"


def test_external_imports_can_be_refused(project: Path, home: Path, tmp_path: Path) -> None:
    outside = write(tmp_path / "elsewhere.md", "EXTERNAL")
    write(project / "inside.md", "INSIDE")
    write(project / "CLAUDE.md", f"@{outside} @inside.md")
    write(home / ".claude" / "CLAUDE.md", f"@{outside}")
    memory = load(project, home, allow_external_imports=False)
    assert text_of(memory, project / "CLAUDE.md") == f"@{outside} INSIDE"
    # User memory is the user's own choice, so its imports are not restricted.
    assert text_of(memory, home / ".claude" / "CLAUDE.md") == "EXTERNAL"
    assert any("not approved" in w for w in memory.warnings)


def test_binary_import_is_left_as_text(project: Path, home: Path) -> None:
    (project / "blob.md").write_bytes(b"\x00\x01\x02")
    write(project / "CLAUDE.md", "@blob.md")
    assert text_of(load(project, home), project / "CLAUDE.md") == "@blob.md"


# -- HTML comments --------------------------------------------------------------------------------


def test_block_html_comments_are_stripped() -> None:
    text = "\n".join(
        [
            "keep 1",
            "<!-- one line -->",
            "  <!-- indented",
            "spanning -->",
            "<!-- a --> tail stays",
            "inline <!-- stays --> here",
            "```",
            "<!-- in code stays -->",
            "```",
            "keep 2",
        ]
    )
    assert strip_html_comments(text) == "\n".join(
        [
            "keep 1",
            " tail stays",
            "inline <!-- stays --> here",
            "```",
            "<!-- in code stays -->",
            "```",
            "keep 2",
        ]
    )


def test_unterminated_comment_is_kept() -> None:
    assert strip_html_comments("a\n<!-- never closed\nb\n") == "a\n<!-- never closed\nb\n"


def test_comments_are_stripped_before_imports(project: Path, home: Path) -> None:
    write(project / "x.md", "X")
    write(project / "CLAUDE.md", "<!-- @x.md -->\nvisible @x.md")
    assert text_of(load(project, home), project / "CLAUDE.md") == "visible X"


def test_find_imports_positions() -> None:
    refs = find_imports("a @b.md\n`@c.md` @./d.md")
    assert [(r.path, r.start) for r in refs] == [("b.md", 2), ("./d.md", 16)]


# -- rendering ------------------------------------------------------------------------------------


def test_render_names_each_file_and_its_scope(project: Path, home: Path) -> None:
    write(home / ".claude" / "CLAUDE.md", "be terse")
    write(project / "CLAUDE.md", "use uv\n\n")
    write(project / "CLAUDE.local.md", "my sandbox url")
    write(project / ".claude" / "CLAUDE.md", "<!-- only a comment -->\n")
    rendered = load(project, home).render()
    user = (home / ".claude" / "CLAUDE.md").resolve()
    proj = project.resolve()
    assert rendered.startswith(MEMORY_PREAMBLE + "\n\n")
    assert (
        f"Contents of {user} (user's private global instructions for all projects):\n\nbe terse" in rendered
    )
    assert (
        f"Contents of {proj / 'CLAUDE.md'} (project instructions, checked into the codebase):\n\nuse uv"
        in rendered
    )
    assert (
        f"Contents of {proj / 'CLAUDE.local.md'} (user's private project instructions, not checked in):"
        "\n\nmy sandbox url" in rendered
    )
    assert f"{proj / '.claude' / 'CLAUDE.md'}" not in rendered  # empty after stripping
    assert rendered.index("be terse") < rendered.index("use uv") < rendered.index("my sandbox url")


def test_render_is_empty_without_content() -> None:
    assert Memory().render() == ""
    assert Memory(files=[MemoryFile(Path("/x/CLAUDE.md"), "project", "  \n")]).render() == ""
