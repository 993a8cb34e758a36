"""Local plugins in a session: loading the directory, and each part reaching the loader that
reads it (commands and skills, agents, hooks), run in process against the simulator.

``demo_plugin`` builds the plugin the CLI and side-by-side tests use too."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from thrifty.agent.options import AgentOptions
from thrifty.agent.plugins import load_plugins
from thrifty.agent.session import Session
from thrifty.agent.via_claude.argv import claude_argv
from thrifty.core.events import Event, Result, SystemInit
from thrifty.testing import Simulator

pytestmark = pytest.mark.anyio

NAME = "demo-plugin"
#: The hook appends ``<expanded root> <CLAUDE_PLUGIN_ROOT from its environment>`` to this file
#: in the project (``$CLAUDE_PROJECT_DIR``), once per prompt.
HOOK_LOG = "plugin-hook.log"


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def demo_plugin(root: Path) -> Path:
    """A plugin with a command (and a nested one), an agent, a skill and a UserPromptSubmit hook."""
    manifest = {"name": NAME, "description": "A demo", "version": "1.2.3", "author": {"name": "Tester"}}
    write(root / ".claude-plugin/plugin.json", json.dumps(manifest))
    write(
        root / "commands/greet.md",
        "---\ndescription: Greet someone\n---\nSay hello to $ARGUMENTS from the plugin.\n",
    )
    write(root / "commands/sub/deep.md", "Deep command body.\n")
    write(
        root / "agents/helper.md",
        "---\nname: helper\ndescription: Helps with plugin things\ntools: Bash\n---\n"
        "You are the plugin helper.\n",
    )
    write(
        root / "skills/shout/SKILL.md", "---\nname: shout\ndescription: Shout loudly\n---\nSHOUT the words.\n"
    )
    write(root / "scripts/hook.sh", f'echo "$1 $CLAUDE_PLUGIN_ROOT" >> "$CLAUDE_PROJECT_DIR/{HOOK_LOG}"\n')
    hook = {
        "type": "command",
        "command": 'bash "${CLAUDE_PLUGIN_ROOT}/scripts/hook.sh" "${CLAUDE_PLUGIN_ROOT}"',
    }
    write(root / "hooks/hooks.json", json.dumps({"hooks": {"UserPromptSubmit": [{"hooks": [hook]}]}}))
    return root


def hook_lines(project: Path) -> list[str]:
    log = project / HOOK_LOG
    return log.read_text().splitlines() if log.exists() else []


def options_for(sim: Simulator, cwd: Path, **extra: Any) -> AgentOptions:
    env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url, "HOME": str(cwd / "home")}
    return AgentOptions(cwd=cwd, environ=env, persist_session=False, record_usage=False, **extra)


async def run(options: AgentOptions, prompt: str) -> list[Event]:
    async with Session(options) as session:
        return [event async for event in session.turn(prompt)]


def user_texts(sim: Simulator, index: int = -1) -> list[str]:
    content = sim.message_requests()[index].body["messages"][0]["content"]
    if isinstance(content, str):
        return [content]
    return [str(b.get("text", "")) for b in content if b.get("type") == "text"]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    cwd = tmp_path / "project"
    cwd.mkdir()
    demo_plugin(tmp_path / "plugin")
    return cwd


# -- loading -----------------------------------------------------------------------------------


def test_a_plugin_and_what_cannot_be_loaded(tmp_path: Path) -> None:
    demo_plugin(tmp_path / "good")
    (tmp_path / "plain" / "commands").mkdir(parents=True)
    write(tmp_path / "corrupt/.claude-plugin/plugin.json", "{bad")
    write(tmp_path / "nameless/.claude-plugin/plugin.json", '{"description": "x"}')
    demo_plugin(tmp_path / "again")
    dirs = ["good", "plain", "missing", "corrupt", "nameless", "again"]
    plugins = load_plugins(dirs, tmp_path)
    assert plugins.init_entries() == [
        {"name": NAME, "path": str(tmp_path / "good"), "source": f"{NAME}@inline", "version": "1.2.3"},
        # Without a manifest, Claude Code names the plugin after its directory.
        {"name": "plain", "path": str(tmp_path / "plain"), "source": "plain@inline"},
    ]
    assert [(e["plugin"], e["type"], e["path"]) for e in plugins.errors] == [
        ("inline[2]", "path-not-found", str(tmp_path / "missing")),
        ("inline[3]", "generic-error", str(tmp_path / "corrupt")),
        ("inline[4]", "generic-error", str(tmp_path / "nameless")),
        ("inline[5]", "generic-error", str(tmp_path / "again")),
    ]
    assert plugins.errors[0]["message"] == f"Path not found: {tmp_path / 'missing'}"
    assert "corrupt manifest" in plugins.errors[1]["message"]
    assert '"name"' in plugins.errors[2]["message"]


# -- a session ---------------------------------------------------------------------------------


async def test_init_lists_the_plugin_and_its_parts_and_the_hook_runs(project: Path) -> None:
    plugin = project.parent / "plugin"
    with Simulator([{"text": "ok"}]) as sim:
        events = await run(options_for(sim, project, plugins=[Path("../plugin")]), "hi")
    (init,) = [e for e in events if isinstance(e, SystemInit)]
    frame = init.to_frame()
    assert frame["plugins"] == [
        {"name": NAME, "path": str(plugin), "source": f"{NAME}@inline", "version": "1.2.3"}
    ]
    assert "plugin_errors" not in frame
    # Commands, then skills, each under the plugin's name, as Claude Code lists them.
    assert frame["slash_commands"] == [f"{NAME}:greet", f"{NAME}:sub:deep", f"{NAME}:shout"]
    assert frame["skills"] == [f"{NAME}:shout"]
    assert f"{NAME}:helper" in frame["agents"] and "Task" in frame["tools"]
    # ${CLAUDE_PLUGIN_ROOT} was expanded in the command, and set in the hook's environment.
    assert hook_lines(project) == [f"{plugin} {plugin}"]
    assert isinstance(events[-1], Result) and events[-1].subtype == "success"


async def test_the_namespaced_command_expands_and_the_bare_name_does_not(project: Path) -> None:
    with Simulator([{"text": "Hello Bob"}, {"text": "plain"}, {"text": "shouted"}]) as sim:
        options = options_for(sim, project, plugins=[project.parent / "plugin"])
        await run(options, f"/{NAME}:greet Bob")
        assert user_texts(sim, 0) == [
            f"<command-message>{NAME}:greet</command-message>\n<command-name>/{NAME}:greet</command-name>\n"
            "<command-args>Bob</command-args>\n",
            "Say hello to Bob from the plugin.\n",
        ]
        # A plugin command answers only to its full name (Claude Code 2.1.337)...
        await run(options, "/greet Bob")
        reminder, typed = user_texts(sim, 1)
        assert "/greet" in reminder and f"/{NAME}:greet" in reminder and typed == "/greet Bob"
        # ...a plugin skill to its bare name too, shown by its full one.
        await run(options, "/shout now")
        header, body = user_texts(sim, 2)
        assert f"<command-name>/{NAME}:shout</command-name>" in header
        assert body.startswith(
            f"Base directory for this skill: {project.parent / 'plugin' / 'skills' / 'shout'}"
        )
        assert "SHOUT the words." in body


async def test_the_plugin_agent_is_offered_and_runs(project: Path) -> None:
    call = {"description": "help", "prompt": "SUBTASK please", "subagent_type": f"{NAME}:helper"}
    script = {
        "conversations": [
            {"match": "SUBTASK", "turns": [{"text": "sub done"}]},
            {"turns": [{"tool_use": {"name": "Agent", "input": call}}, {"text": "parent done"}]},
        ]
    }
    with Simulator(script) as sim:
        events = await run(options_for(sim, project, plugins=[project.parent / "plugin"]), "go")
        first, child, last = sim.message_requests()
    (agent_tool,) = [t for t in first.body["tools"] if t["name"] == "Agent"]
    assert f"- {NAME}:helper: Helps with plugin things (Tools: Bash)" in agent_tool["description"]
    assert "You are the plugin helper." in json.dumps(child.body["system"])
    assert [t["name"] for t in child.body["tools"]] == ["Bash"]
    assert "sub done" in json.dumps(last.body["messages"][-1])
    assert isinstance(events[-1], Result) and events[-1].result == "parent done"


async def test_bare_keeps_the_plugins_commands_but_not_its_agents_or_hooks(project: Path) -> None:
    """As Claude Code 2.1.337 does with ``--bare --plugin-dir``."""
    with Simulator([{"text": "ok"}]) as sim:
        events = await run(options_for(sim, project, plugins=[project.parent / "plugin"], bare=True), "hi")
    frame = next(e for e in events if isinstance(e, SystemInit)).to_frame()
    assert frame["plugins"][0]["name"] == NAME
    assert f"{NAME}:greet" in frame["slash_commands"] and frame["skills"] == [f"{NAME}:shout"]
    assert f"{NAME}:helper" not in frame["agents"]
    assert hook_lines(project) == []


async def test_setting_sources_do_not_turn_plugins_off(project: Path) -> None:
    with Simulator([{"text": "ok"}]) as sim:
        options = options_for(sim, project, plugins=[project.parent / "plugin"], setting_sources=[])
        frame = next(e for e in await run(options, "hi") if isinstance(e, SystemInit)).to_frame()
    assert f"{NAME}:greet" in frame["slash_commands"] and f"{NAME}:helper" in frame["agents"]
    assert len(hook_lines(project)) == 1


async def test_a_plugin_that_cannot_load_is_reported_and_the_run_goes_on(project: Path) -> None:
    with Simulator([{"text": "ok"}]) as sim:
        options = options_for(sim, project, plugins=[project / "nowhere"])
        events = await run(options, "hi")
    frame = next(e for e in events if isinstance(e, SystemInit)).to_frame()
    assert frame["plugins"] == []
    assert frame["plugin_errors"] == [
        {
            "plugin": "inline[0]",
            "type": "path-not-found",
            "message": f"Path not found: {project / 'nowhere'}",
            "path": str(project / "nowhere"),
        }
    ]
    assert isinstance(events[-1], Result) and events[-1].subtype == "success"


async def test_without_plugins_nothing_is_listed(tmp_path: Path) -> None:
    with Simulator([{"text": "ok"}]) as sim:
        events = await run(options_for(sim, tmp_path), "hi")
    frame = next(e for e in events if isinstance(e, SystemInit)).to_frame()
    assert frame["plugins"] == [] and "plugin_errors" not in frame


def test_a_plan_run_passes_each_plugin_dir_to_claude(tmp_path: Path) -> None:
    options = AgentOptions(cwd=tmp_path, plugins=[Path("one"), tmp_path / "two"])
    argv = claude_argv("claude", options, session_id=None)
    assert [argv[i + 1] for i, a in enumerate(argv) if a == "--plugin-dir"] == ["one", str(tmp_path / "two")]
    assert "--plugin-dir" not in claude_argv("claude", AgentOptions(cwd=tmp_path), session_id=None)
