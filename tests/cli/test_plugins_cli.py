"""``--plugin-dir`` end to end: ``thrifty -p`` as a subprocess, the official Agent SDK's
``plugins=[...]`` driving thrifty through ``cli_path``, and ``thrifty.Options(plugins=...)`` in
process, all against the simulator."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import anyio
import pytest
from claude_agent_sdk import ClaudeSDKClient, SystemMessage

import thrifty
from tests.agent.test_plugins import NAME, demo_plugin, hook_lines
from tests.cli.conftest import Cli
from tests.mcp.servers.running import stdio_config

TIMEOUT_S = 90
ENTRY = {"name": NAME, "source": f"{NAME}@inline", "version": "1.2.3"}


@pytest.fixture
def plugin(cli: Cli) -> Path:
    return demo_plugin(cli.home / "plugins" / "demo")


def init_of(run_lines: list[dict[str, Any]]) -> dict[str, Any]:
    (init,) = [f for f in run_lines if f.get("subtype") == "init"]
    return init


def test_a_plugin_command_runs_and_init_lists_the_plugin(cli: Cli, plugin: Path) -> None:
    cli.sim.set_script([{"text": "Hello Bob"}])
    run = cli(
        "-p", f"/{NAME}:greet Bob", "--plugin-dir", str(plugin), "--output-format", "stream-json", "--verbose"
    )
    assert run.code == 0, run.stderr
    init = init_of(run.lines)
    assert init["plugins"] == [{**ENTRY, "path": str(plugin)}]
    assert [c for c in init["slash_commands"] if c.startswith(NAME)] == [
        f"{NAME}:greet",
        f"{NAME}:sub:deep",
        f"{NAME}:shout",
    ]
    assert init["skills"] == [f"{NAME}:shout"] and f"{NAME}:helper" in init["agents"]
    assert run.lines[-1]["result"] == "Hello Bob"
    sent = cli.sim.message_requests()[-1].body["messages"][0]["content"]
    assert [b["text"] for b in sent][1] == "Say hello to Bob from the plugin.\n"
    assert hook_lines(cli.cwd) == [f"{plugin} {plugin}"]


def test_plugin_dirs_repeat_and_a_relative_one_is_from_the_cwd(cli: Cli, plugin: Path) -> None:
    other = cli.cwd / "local-plugin"
    (other / "commands").mkdir(parents=True)
    (other / "commands" / "hi.md").write_text("Say hi.\n")
    cli.sim.set_script([{"text": "ok"}])
    run = cli(
        "-p",
        "x",
        "--plugin-dir",
        str(plugin),
        "--plugin-dir",
        "local-plugin",
        "--output-format",
        "stream-json",
        "--verbose",
    )
    assert run.code == 0, run.stderr
    init = init_of(run.lines)
    assert [p["name"] for p in init["plugins"]] == [NAME, "local-plugin"]
    assert init["plugins"][1]["path"] == str(other.resolve())
    assert "local-plugin:hi" in init["slash_commands"]


def test_a_missing_plugin_dir_warns_in_one_line_and_the_run_goes_on(cli: Cli) -> None:
    """Claude Code 2.1.337 does not fail either: it reports the plugin in ``plugin_errors``."""
    cli.sim.set_script([{"text": "ok"}])
    missing = cli.cwd / "nope"
    run = cli("-p", "hi", "--plugin-dir", "nope", "--output-format", "stream-json", "--verbose")
    assert run.code == 0, run.stderr
    assert run.stderr.splitlines() == [f"thrifty: plugin nope not loaded: Path not found: {missing}"]
    init = init_of(run.lines)
    assert init["plugins"] == []
    assert [(e["type"], e["path"]) for e in init["plugin_errors"]] == [("path-not-found", str(missing))]
    assert run.lines[-1]["subtype"] == "success"


def test_a_plugin_mcp_server_is_named_under_the_plugin(cli: Cli, plugin: Path) -> None:
    (plugin / ".mcp.json").write_text(json.dumps({"mcpServers": {"calc": stdio_config()}}))
    tool = f"mcp__plugin_{NAME}_calc__add"
    cli.sim.set_script([{"tool_use": {"name": tool, "input": {"a": 2, "b": 3}}}, {"text": "five"}])
    args = [
        "-p",
        "add",
        "--plugin-dir",
        str(plugin),
        "--allowedTools",
        tool,
        "--output-format",
        "stream-json",
        "--verbose",
    ]
    run = cli(*args)
    assert run.code == 0, run.stderr
    init = init_of(run.lines)
    assert init["mcp_servers"] == [{"name": f"plugin:{NAME}:calc", "status": "connected"}]
    assert tool in init["tools"]
    assert "sum is 5" in json.dumps(cli.sim.message_requests()[-1].body["messages"])
    # --strict-mcp-config leaves the plugin's servers out, as Claude Code does.
    cli.sim.set_script([{"text": "ok"}])
    strict = init_of(cli(*args, "--strict-mcp-config").lines)
    assert strict["mcp_servers"] == [] and strict["plugins"][0]["name"] == NAME


# -- the official Agent SDK --------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_official_sdk_passes_plugins_to_thrifty(cli: Cli, plugin: Path, make_options: Any) -> None:
    cli.sim.set_script([{"text": "Hello"}])
    options = make_options(plugins=[{"type": "local", "path": str(plugin)}])
    init: dict[str, Any] | None = None
    with anyio.fail_after(TIMEOUT_S):
        async with ClaudeSDKClient(options=options) as client:
            info = await client.get_server_info() or {}
            await client.query(f"/{NAME}:greet Ann")
            async for message in client.receive_response():
                if isinstance(message, SystemMessage) and message.subtype == "init":
                    init = message.data
    assert init is not None
    assert init["plugins"] == [{**ENTRY, "path": str(plugin)}]
    assert f"{NAME}:greet" in [c["name"] for c in info["commands"]]
    assert f"{NAME}:helper" in [a["name"] for a in info.get("agents", [])]
    sent = cli.sim.message_requests()[-1].body["messages"][0]["content"]
    assert "Say hello to Ann from the plugin.\n" in [b.get("text") for b in sent]


# -- thrifty's own SDK -------------------------------------------------------------------------


@pytest.mark.anyio
async def test_thrifty_options_take_plugins(cli: Cli, plugin: Path) -> None:
    cli.sim.set_script([{"text": "Hello"}])
    env = {**cli.env(), "HOME": str(cli.home)}
    options = thrifty.Options(
        cwd=cli.cwd,
        env=env,
        plugins=[{"type": "local", "path": plugin}],
        persist_session=False,
        record_usage=False,
    )
    messages = [m async for m in thrifty.query(prompt=f"/{NAME}:greet Zoe", options=options)]
    init = next(m for m in messages if getattr(m, "subtype", None) == "init")
    assert init.data["plugins"] == [{**ENTRY, "path": str(plugin)}]
    assert f"{NAME}:shout" in init.data["skills"]
    sent = cli.sim.message_requests()[-1].body["messages"][0]["content"]
    assert "Say hello to Zoe from the plugin.\n" in [b.get("text") for b in sent]


def test_thrifty_options_refuse_a_plugin_that_is_not_local(tmp_path: Path) -> None:
    with pytest.raises(thrifty.SetupError, match='"type": "local"'):
        thrifty.Options(plugins=[{"type": "marketplace", "path": str(tmp_path)}])
    with pytest.raises(thrifty.SetupError, match="plugins"):
        thrifty.Options(plugins=[str(tmp_path)])  # type: ignore[list-item]
