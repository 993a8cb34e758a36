"""Custom slash commands and skills: discovery by setting source, front matter, expansion."""

from __future__ import annotations

from pathlib import Path

import pytest

import thrifty
from thrifty.agent.commands import CommandFailed, expand_prompt, listing, load_catalog
from thrifty.agent.commands.catalog import Catalog
from thrifty.agent.commands.expand import parse_slash, substitute
from thrifty.agent.commands.turn import allowed_for_now, shell_check
from thrifty.agent.permissions.policy import PermissionPolicy
from thrifty.core.events import SystemInit
from thrifty.testing import Simulator

pytestmark = pytest.mark.anyio


REVIEW = "---\nname: review\ndescription: Review code\n---\nLook.\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    project, config = tmp_path / "project", tmp_path / "config"
    write(
        project / ".claude/commands/greet.md",
        "---\ndescription: Greet someone\nargument-hint: NAME\nallowed-tools: Bash(git add:*), Read\n"
        "model: haiku\n---\nSay hello to $ARGUMENTS.\n",
    )
    write(project / ".claude/commands/git/push.md", "Push the branch.\n")
    write(project / ".claude/skills/review/SKILL.md", REVIEW)
    write(config / "commands/mine.md", "---\ndisable-model-invocation: true\n---\nMine.\n")
    write(config / "skills/tidy/SKILL.md", "Tidy things up.\n")
    return project, config


def catalog(project: Path, config: Path, **kwargs: object) -> Catalog:
    return load_catalog(project, environ={"CLAUDE_CONFIG_DIR": str(config)}, **kwargs)  # type: ignore[arg-type]


def test_commands_and_skills_are_found_by_source(dirs: tuple[Path, Path]) -> None:
    project, config = dirs
    found = catalog(project, config)
    assert found.names == ["review", "git:push", "greet", "tidy", "mine"]
    assert found.skill_names == ["review", "tidy"]
    greet = found.get("greet")
    assert greet is not None and greet.model == "haiku" and greet.argument_hint == "NAME"
    assert greet.allowed_tools == ("Bash(git add:*)", "Read") and greet.description == "Greet someone"
    assert greet.entry() == {"name": "greet", "description": "Greet someone", "argumentHint": "NAME"}
    tidy = found.get("tidy")
    assert tidy is not None and tidy.description == "Tidy things up."
    assert catalog(project, config, setting_sources=["user"]).names == ["tidy", "mine"]
    assert catalog(project, config, setting_sources=["project"]).names == ["review", "git:push", "greet"]
    assert catalog(project, config, setting_sources=[]).names == []
    assert catalog(project, config, bare=True).names == []
    assert catalog(project, config, disabled=True).names == []


def test_the_model_is_told_of_every_command_but_user_only_ones(dirs: tuple[Path, Path]) -> None:
    text = listing(catalog(*dirs))
    assert text is not None and "- greet: Greet someone" in text and "- review: Review code" in text
    assert "mine" not in text
    assert listing(Catalog()) is None


def test_bad_front_matter_is_one_line_naming_the_file(tmp_path: Path) -> None:
    bad = write(tmp_path / ".claude/commands/bad.md", "---\ndescription ok\nmodel: opus\n---\nBody\n")
    open_ended = write(tmp_path / ".claude/commands/open.md", "---\ndescription: x\nBody\n")
    found = load_catalog(tmp_path, environ={}, setting_sources=["project"])
    assert found.warnings == [
        f"{bad}: front matter line 2 is not 'key: value' ('description ok'); ignored",
        f"{open_ended}: front matter has no closing '---' line; the whole file is the prompt",
    ]
    command = found.get("bad")
    assert command is not None and command.body == "Body\n" and command.model == "opus"


def test_arguments_are_substituted_as_claude_code_does() -> None:
    assert substitute("Hi $ARGUMENTS!", "Bob Alice") == "Hi Bob Alice!"
    assert substitute("$0 then $1, $2", 'Bob "Alice Smith"') == "Bob then Alice Smith, $2"
    assert substitute("$ARGUMENTS[1]", "a b") == "b"
    assert substitute("No placeholder.\n", "a b") == "No placeholder.\n\n\nARGUMENTS: a b"
    assert substitute("No placeholder.", "") == "No placeholder."
    assert parse_slash("/git:push now please") == ("git:push", "now please")
    assert parse_slash("/usr/bin/env is missing") is None
    assert parse_slash("say /hi") is None


async def test_a_slash_prompt_expands_and_an_unknown_one_goes_as_written(dirs: tuple[Path, Path]) -> None:
    project, config = dirs
    found = catalog(project, config)
    policy = PermissionPolicy(cwd=project)
    check = shell_check(policy)
    expansion = await expand_prompt("/greet Bob", found, cwd=str(project), check=check)
    assert expansion is not None and expansion.command is found.get("greet")
    assert [b["text"] for b in expansion.content] == [
        "<command-message>greet</command-message>\n<command-name>/greet</command-name>\n"
        "<command-args>Bob</command-args>\n",
        "Say hello to Bob.\n",
    ]
    skill = await expand_prompt([{"type": "text", "text": "/review"}], found, cwd=str(project), check=check)
    assert skill is not None
    skill_dir = project / ".claude/skills/review"
    assert skill.content[1]["text"] == f"Base directory for this skill: {skill_dir}\n\nLook.\n"
    unknown = await expand_prompt("/nope x", found, cwd=str(project), check=check)
    assert unknown is not None and unknown.command is None
    assert "/nope" in unknown.content[0]["text"] and unknown.content[1]["text"] == "/nope x"
    assert await expand_prompt("plain", found, cwd=str(project), check=check) is None


async def test_shell_lines_run_only_when_the_rules_allow_them(tmp_path: Path) -> None:
    write(tmp_path / ".claude/commands/ok.md", "---\nallowed-tools: Bash(printf:*)\n---\nOut: !`printf hi`\n")
    write(tmp_path / ".claude/commands/no.md", "Out: !`touch made.txt`\n")
    found = load_catalog(tmp_path, environ={}, setting_sources=["project"])
    policy = PermissionPolicy(cwd=tmp_path)
    check = shell_check(policy)
    ran = await expand_prompt("/ok", found, cwd=str(tmp_path), check=check)
    assert ran is not None and ran.content[1]["text"] == "Out: hi\n"
    with pytest.raises(CommandFailed, match=r'^Shell command permission check failed for pattern "!`touch'):
        await expand_prompt("/no", found, cwd=str(tmp_path), check=check)
    assert not (tmp_path / "made.txt").exists()
    assert policy.rules("allow") == []  # the command's rules held for the check only


def test_allowed_tools_are_taken_away_again(tmp_path: Path) -> None:
    policy = PermissionPolicy(cwd=tmp_path, allow=["Read"])
    with allowed_for_now(policy, ["Bash(make:*)"]):
        assert [r.text for r in policy.rules("allow")] == ["Read", "Bash(make:*)"]
    assert [r.text for r in policy.rules("allow")] == ["Read"]


async def test_a_failing_shell_line_fails_the_command(tmp_path: Path) -> None:
    write(tmp_path / ".claude/commands/ls.md", "Out: !`ls missing-dir`\n")
    found = load_catalog(tmp_path, environ={}, setting_sources=["project"])
    check = shell_check(PermissionPolicy(cwd=tmp_path))
    with pytest.raises(
        CommandFailed, match=r'^Shell command failed for pattern "!`ls missing-dir`": \[stderr\]'
    ):
        await expand_prompt("/ls", found, cwd=str(tmp_path), check=check)


async def test_the_in_process_sdk_lists_and_runs_commands(dirs: tuple[Path, Path]) -> None:
    project, config = dirs
    with Simulator() as sim:
        env = {
            "ANTHROPIC_API_KEY": sim.api_key,
            "ANTHROPIC_BASE_URL": sim.base_url,
            "CLAUDE_CONFIG_DIR": str(config),
        }
        sim.set_script([{"text": "ok"}, {"text": "ok"}])
        events = [e async for e in thrifty.query("/greet Ann", thrifty.Options(cwd=project, env=env))]
        init = events[0]
        assert isinstance(init, SystemInit)
        assert init.data["slash_commands"] == ["review", "git:push", "greet", "tidy", "mine"]
        assert init.data["skills"] == ["review", "tidy"]
        body = sim.message_requests()[-1].body
        assert body["model"] == "claude-haiku-5-5"
        assert body["messages"][-1]["content"][1]["text"] == "Say hello to Ann.\n"
        options = thrifty.Options(cwd=project, env=env, disable_slash_commands=True)
        events = [e async for e in thrifty.query("/greet Ann", options)]
        assert isinstance(events[0], SystemInit) and events[0].data["slash_commands"] == []
        assert sim.message_requests()[-1].body["messages"][-1]["content"][1]["text"] == "/greet Ann"
    with pytest.raises(thrifty.SetupError, match='skills must be a list of skill names or "all"'):
        thrifty.Options(cwd=project, skills="review")


def test_a_skills_list_limits_what_the_model_may_invoke(dirs: tuple[Path, Path]) -> None:
    found = catalog(*dirs)
    found.restrict(["review"])
    assert [c.name for c in found.model_invocable()] == ["review"]
    assert found.names == ["review", "git:push", "greet", "tidy", "mine"]
