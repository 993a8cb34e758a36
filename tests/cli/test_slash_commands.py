"""Custom slash commands and skills, end to end: ``thrifty -p`` and the official Agent SDK driving
a real ``thrifty`` subprocess against the simulator, which records what reached the model."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from claude_agent_sdk import ClaudeSDKClient, SystemMessage

from tests.cli.conftest import Cli

TIMEOUT_S = 90
FINAL = {"text": "Done."}

GREET = """---
description: Greet someone
argument-hint: NAME [OTHER]
model: haiku
---
Say hello to $ARGUMENTS. First $0, then $1.
"""


REVIEW = "---\nname: review\ndescription: Review code\n---\nLook hard.\n"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    return [str(b.get("text", "")) for b in content if b.get("type") == "text"]


def last_user_texts(cli: Cli) -> list[str]:
    return texts(cli.sim.message_requests()[-1].body["messages"][-1]["content"])


def init_of(cli: Cli, *args: str) -> dict[str, Any]:
    cli.sim.set_script([FINAL])
    run = cli("-p", "hi", "--output-format", "stream-json", "--verbose", *args)
    assert run.code == 0, run.stderr
    frame: dict[str, Any] = run.lines[0]
    assert frame["subtype"] == "init"
    return frame


@pytest.fixture
def project(cli: Cli) -> Cli:
    write(cli.cwd / ".claude/commands/greet.md", GREET)
    write(cli.cwd / ".claude/commands/git/push.md", "Push $ARGUMENTS now.\n")
    write(cli.cwd / ".claude/skills/review/SKILL.md", REVIEW)
    write(cli.home / ".claude/commands/mine.md", "My own command.\n")
    return cli


def test_a_command_prompt_expands_with_its_arguments_and_model(project: Cli) -> None:
    project.sim.set_script([FINAL])
    run = project("-p", "/greet Bob Alice")
    assert run.code == 0, run.stderr
    assert run.stdout == "Done.\n"
    assert last_user_texts(project) == [
        "<command-message>greet</command-message>\n<command-name>/greet</command-name>\n"
        "<command-args>Bob Alice</command-args>\n",
        "Say hello to Bob Alice. First Bob, then Alice.\n",
    ]
    assert project.sim.message_requests()[-1].body["model"] == "claude-haiku-5-5"
    project.sim.set_script([FINAL])
    assert project("-p", "/git:push main").code == 0
    assert last_user_texts(project)[1] == "Push main now.\n"
    assert project.sim.message_requests()[-1].body["model"] == "claude-sonnet-5-5"


def test_init_lists_the_commands_and_skills_of_each_setting_source(project: Cli) -> None:
    init = init_of(project)
    assert init["slash_commands"] == ["review", "git:push", "greet", "mine"]
    assert init["skills"] == ["review"] and "Skill" in init["tools"]
    assert init_of(project, "--setting-sources", "user")["slash_commands"] == ["mine"]
    project_only = init_of(project, "--setting-sources", "project")
    assert project_only["slash_commands"] == ["review", "git:push", "greet"]
    assert init_of(project, "--setting-sources", "")["slash_commands"] == []
    bare = init_of(project, "--bare")
    assert bare["slash_commands"] == [] and bare["skills"] == []


def test_disable_slash_commands_sends_the_prompt_as_written(project: Cli) -> None:
    init = init_of(project, "--disable-slash-commands")
    assert init["slash_commands"] == [] and init["skills"] == [] and "Skill" not in init["tools"]
    project.sim.set_script([FINAL])
    assert project("-p", "/greet Bob", "--disable-slash-commands").code == 0
    reminder, prompt = last_user_texts(project)
    assert "/greet" in reminder and "did not run" in reminder and prompt == "/greet Bob"
    assert "Skill" not in [t["name"] for t in project.sim.message_requests()[-1].body["tools"]]


def test_an_unknown_command_goes_to_the_model_with_a_reminder(project: Cli) -> None:
    project.sim.set_script([FINAL])
    run = project("-p", "/nosuch thing")
    assert run.code == 0, run.stderr
    reminder, prompt = last_user_texts(project)
    assert "/nosuch" in reminder and "/greet" in reminder and prompt == "/nosuch thing"


def test_allowed_tools_of_a_command_hold_for_its_turn(project: Cli) -> None:
    target = project.cwd / "note.txt"
    write(project.cwd / ".claude/commands/note.md", "---\nallowed-tools: Write\n---\nWrite a note.\n")
    script = [{"tool_use": {"name": "Write", "input": {"file_path": str(target), "content": "hi"}}}, FINAL]
    project.sim.set_script(script)
    run = project("-p", "write a note", "--output-format", "json")
    assert run.code == 0 and run.json["permission_denials"] != [] and not target.exists()
    project.sim.set_script(script)
    run = project("-p", "/note", "--output-format", "json")
    assert run.code == 0, run.stderr
    assert run.json["permission_denials"] == [] and target.read_text() == "hi"


def test_bad_front_matter_is_one_line_on_stderr_and_the_command_still_runs(project: Cli) -> None:
    bad = write(project.cwd / ".claude/commands/bad.md", "---\ndescription no colon\n---\nBad body.\n")
    project.sim.set_script([FINAL])
    run = project("-p", "/bad")
    assert run.code == 0, run.stderr
    assert run.stderr.splitlines() == [
        f"thrifty: {bad.resolve()}: front matter line 2 is not 'key: value' ('description no colon'); ignored"
    ]
    assert last_user_texts(project)[1] == "Bad body.\n"


def test_a_refused_shell_line_ends_the_turn_before_any_request(project: Cli) -> None:
    write(project.cwd / ".claude/commands/sh.md", "Status: !`touch made.txt`\n")
    ok = "---\nallowed-tools: Bash(printf:*)\n---\nSays: !`printf hi`\n"
    write(project.cwd / ".claude/commands/ok.md", ok)
    run = project("-p", "/sh", "--output-format", "json")
    assert run.code == 0 and run.json["subtype"] == "success" and run.json["num_turns"] == 0
    refusal = 'Shell command permission check failed for pattern "!`touch made.txt`"'
    assert run.json["result"].startswith(refusal)
    assert project.sim.message_requests() == [] and not (project.cwd / "made.txt").exists()
    project.sim.set_script([FINAL])
    assert project("-p", "/ok").code == 0
    assert last_user_texts(project)[1] == "Says: hi\n"


def test_the_model_invokes_a_skill_with_the_skill_tool(project: Cli) -> None:
    call = {"tool_use": {"name": "Skill", "input": {"skill": "review", "args": "src/"}}}
    project.sim.set_script([call, FINAL])
    run = project("-p", "review my code", "--output-format", "json")
    assert run.code == 0, run.stderr
    first, second = project.sim.message_requests()
    system = str(first.body["system"])
    assert "- review: Review code" in system and "- greet: Greet someone" in system
    result = second.body["messages"][-1]["content"][0]
    assert result["type"] == "tool_result" and not result.get("is_error")
    skill_dir = project.cwd.resolve() / ".claude/skills/review"
    assert texts(result["content"]) == [
        "Launching skill: review",
        f"Base directory for this skill: {skill_dir}\n\nLook hard.\n\n\nARGUMENTS: src/",
    ]


def test_no_skill_tool_without_skills(cli: Cli) -> None:
    init = init_of(cli)
    assert init["slash_commands"] == [] and "Skill" not in init["tools"]


# -- the official Agent SDK, as its setting_sources example drives it --------------------------


async def init_commands(options: Any, prompt: str = "What is 2 + 2?") -> tuple[list[str], dict[str, Any]]:
    with anyio.fail_after(TIMEOUT_S):
        async with ClaudeSDKClient(options=options) as client:
            info = await client.get_server_info()
            await client.query(prompt)
            async for message in client.receive_response():
                if isinstance(message, SystemMessage) and message.subtype == "init":
                    return list(message.data.get("slash_commands", [])), info or {}
    raise AssertionError("no init message")


@pytest.mark.anyio
async def test_the_sdk_sees_commands_by_setting_sources(cli: Cli, make_options: Any) -> None:
    write(cli.cwd / ".claude/commands/commit.md", "---\ndescription: Create a git commit\n---\nCommit.\n")
    cli.sim.set_script([FINAL] * 4)
    default, info = await init_commands(make_options())
    assert "commit" in default
    assert {"name": "commit", "description": "Create a git commit", "argumentHint": ""} in info["commands"]
    assert "commit" not in (await init_commands(make_options(setting_sources=[])))[0]
    assert "commit" not in (await init_commands(make_options(setting_sources=["user"])))[0]
    assert "commit" in (await init_commands(make_options(setting_sources=["user", "project"])))[0]


@pytest.mark.anyio
async def test_an_sdk_query_runs_a_command(cli: Cli, make_options: Any) -> None:
    write(cli.cwd / ".claude/commands/greet.md", GREET)
    cli.sim.set_script([FINAL])
    await init_commands(make_options(), "/greet Ann")
    assert last_user_texts(cli)[1] == "Say hello to Ann. First Ann, then $1.\n"


@pytest.mark.anyio
async def test_sdk_skills_choose_what_the_model_may_invoke(project: Cli, make_options: Any) -> None:
    project.sim.set_script([FINAL])
    await init_commands(make_options(skills=["review"]))
    system = str(project.sim.message_requests()[-1].body["system"])
    assert "- review: Review code" in system and "greet" not in system


def test_stream_json_prompts_expand_unless_the_host_composed_them(project: Cli) -> None:
    def user(text: str, **extra: Any) -> str:
        return json.dumps({"type": "user", "message": {"role": "user", "content": text}, **extra})

    project.sim.set_script([FINAL, FINAL])
    stdin = user("/git:push main") + "\n" + user("/git:push dev", client_composed=True) + "\n"
    run = project("--input-format", "stream-json", "--output-format", "stream-json", "--verbose", stdin=stdin)
    assert run.code == 0, run.stderr
    first, second = project.sim.message_requests()
    assert texts(first.body["messages"][-1]["content"])[1] == "Push main now.\n"
    assert texts(second.body["messages"][-1]["content"])[-1] == "/git:push dev"
    inits = [f for f in run.lines if f.get("subtype") == "init"]
    assert [f["slash_commands"] for f in inits] == [["review", "git:push", "greet", "mine"]] * 2
