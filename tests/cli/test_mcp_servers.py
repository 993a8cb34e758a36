"""External MCP servers end to end: ``thrifty -p`` subprocesses, the in-process SDK and the
official Agent SDK's control requests, against real servers written with the ``mcp`` package
(``tests/mcp/servers/calc.py``) and the simulator."""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import pytest

import thrifty
from tests.cli.conftest import Cli, Run
from tests.cli.test_light_commands import imported
from tests.mcp.servers.running import served, stdio_config
from thrifty.testing import Simulator

STREAM = ("--output-format", "stream-json", "--verbose")
ADD = {"tool_use": {"name": "mcp__calc__add", "input": {"a": 2, "b": 3}}}


@pytest.fixture
def http_server() -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    with served("http") as found:
        yield found


def mcp_config(**servers: dict[str, Any]) -> str:
    return json.dumps({"mcpServers": servers})


def init_of(run: Run) -> dict[str, Any]:
    return next(f for f in run.lines if f.get("subtype") == "init")


def tool_results(cli: Cli, index: int) -> list[dict[str, Any]]:
    content = cli.sim.message_requests()[index].body["messages"][-1]["content"]
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def result_text(block: dict[str, Any]) -> str:
    content = block["content"]
    return content if isinstance(content, str) else "".join(b.get("text", "") for b in content)


def offered(cli: Cli, index: int = 0) -> set[str]:
    return {t["name"] for t in cli.sim.message_requests()[index].body["tools"]}


def test_a_stdio_server_s_tool_is_called_and_init_shows_real_statuses(cli: Cli) -> None:
    cli.sim.set_script([ADD, {"text": "5."}])
    config = mcp_config(calc=stdio_config(), broken={"command": "thrifty-no-such-server"})
    run = cli("-p", "add", *STREAM, "--mcp-config", config, "--allowedTools", "mcp__calc")
    assert run.code == 0, run.stderr
    assert run.lines[-1]["result"] == "5."
    (block,) = tool_results(cli, 1)
    assert result_text(block) == "sum is 5" and not block.get("is_error")
    init = init_of(run)
    assert init["mcp_servers"] == [
        {"name": "calc", "status": "connected"},
        {"name": "broken", "status": "failed"},
    ]
    assert "mcp__calc__add" in init["tools"] and "mcp__calc__add" in offered(cli)
    (line,) = run.stderr.splitlines()
    assert line.startswith("thrifty: MCP server 'broken' failed to connect: ")


def test_an_http_server_from_a_config_file(
    cli: Cli, tmp_path: Path, http_server: tuple[str, subprocess.Popen[bytes]]
) -> None:
    url, _ = http_server
    path = tmp_path / "mcp.json"
    path.write_text(mcp_config(calc={"type": "http", "url": url, "headers": {"X-Token": "${CALC_TOKEN}"}}))
    cli.sim.set_script(
        [{"tool_use": {"name": "mcp__calc__header", "input": {"name": "x-token"}}}, {"text": "ok"}]
    )
    env = cli.env(CALC_TOKEN="t0ken")
    run = cli("-p", "hdr", *STREAM, "--mcp-config", str(path), "--allowedTools", "mcp__calc__header", env=env)
    assert run.code == 0, run.stderr
    assert result_text(tool_results(cli, 1)[0]) == "t0ken"
    assert init_of(run)["mcp_servers"] == [{"name": "calc", "status": "connected"}]
    assert "t0ken" not in run.stderr


def test_permission_rules_apply_to_mcp_tools(cli: Cli) -> None:
    config = mcp_config(calc=stdio_config())
    cli.sim.set_script([ADD, {"text": "no"}])
    asked = cli("-p", "add", "--output-format", "json", "--mcp-config", config)
    assert asked.code == 0, asked.stderr
    assert [d["tool_name"] for d in asked.json["permission_denials"]] == ["mcp__calc__add"]
    cli.sim.set_script([ADD, {"text": "no"}])
    denied = cli("-p", "add", *STREAM, "--mcp-config", config, "--disallowedTools", "mcp__calc__add")
    assert denied.code == 0, denied.stderr
    assert "mcp__calc__add" not in init_of(denied)["tools"] and "mcp__calc__env" in init_of(denied)["tools"]
    (block,) = tool_results(cli, 3)
    assert block.get("is_error") and "sum is" not in result_text(block)


def test_a_server_that_dies_mid_session_is_an_error_result_and_the_run_goes_on(cli: Cli) -> None:
    crash = {"tool_use": {"name": "mcp__calc__crash", "input": {}}}
    cli.sim.set_script([crash, ADD, {"text": "carried on"}])
    config = mcp_config(calc=stdio_config())
    run = cli("-p", "go", *STREAM, "--mcp-config", config, "--allowedTools", "mcp__calc")
    assert run.code == 0, run.stderr
    assert run.lines[-1]["subtype"] == "success" and run.lines[-1]["result"] == "carried on"
    for index in (1, 2):
        (block,) = tool_results(cli, index)
        assert block["is_error"] and "MCP server 'calc' could not be reached" in result_text(block)


def test_project_servers_need_approval_and_strict_and_bare_skip_them(cli: Cli) -> None:
    (cli.cwd / ".mcp.json").write_text(mcp_config(proj=stdio_config(), other=stdio_config()))
    cli.sim.set_script([{"text": "a"}])
    unapproved = cli("-p", "x", *STREAM)
    assert unapproved.code == 0, unapproved.stderr
    assert init_of(unapproved)["mcp_servers"] == []
    assert "proj, other not approved" in unapproved.stderr
    (cli.cwd / ".claude").mkdir()
    (cli.cwd / ".claude" / "settings.local.json").write_text(json.dumps({"enabledMcpjsonServers": ["proj"]}))
    flag = mcp_config(calc=stdio_config())
    for extra, expected in (
        ((), [{"name": "proj", "status": "connected"}, {"name": "calc", "status": "connected"}]),
        (("--strict-mcp-config",), [{"name": "calc", "status": "connected"}]),
        (("--bare",), [{"name": "calc", "status": "connected"}]),
    ):
        cli.sim.set_script([{"text": "a"}])
        run = cli("-p", "x", *STREAM, "--mcp-config", flag, *extra)
        assert run.code == 0, run.stderr
        assert init_of(run)["mcp_servers"] == expected, extra
    cli.sim.set_script([{"text": "a"}])
    bare = cli("-p", "x", *STREAM, "--bare")
    assert init_of(bare)["mcp_servers"] == []


def test_user_and_local_servers_of_claude_json_are_started(cli: Cli) -> None:
    state = {
        "mcpServers": {"mine": stdio_config()},
        "projects": {str(cli.cwd.resolve()): {"mcpServers": {"here": stdio_config()}}},
    }
    (cli.home / ".claude.json").write_text(json.dumps(state))
    cli.sim.set_script([{"text": "a"}])
    run = cli("-p", "x", *STREAM)
    assert run.code == 0, run.stderr
    expected = [{"name": "mine", "status": "connected"}, {"name": "here", "status": "connected"}]
    assert init_of(run)["mcp_servers"] == expected
    cli.sim.set_script([{"text": "a"}])
    only_project = cli("-p", "x", *STREAM, "--setting-sources", "project")
    assert init_of(only_project)["mcp_servers"] == []


def test_without_the_mcp_package_a_server_fails_with_the_install_hint(cli: Cli, tmp_path: Path) -> None:
    fake = tmp_path / "fake" / "mcp"
    fake.mkdir(parents=True)
    (fake / "__init__.py").write_text("raise ImportError('No module named mcp')\n")
    cli.sim.set_script([{"text": "a"}])
    env = cli.env(PYTHONPATH=str(fake.parent))
    run = cli("-p", "x", *STREAM, "--mcp-config", mcp_config(calc=stdio_config()), env=env)
    assert run.code == 0, run.stderr
    assert init_of(run)["mcp_servers"] == [{"name": "calc", "status": "failed"}]
    assert run.stderr.strip() == (
        "thrifty: MCP server 'calc' failed to connect: the 'mcp' package is not installed; "
        "pip install 'thrifty[mcp]'"
    )


def test_a_run_without_mcp_servers_loads_no_mcp(cli: Cli) -> None:
    cli.sim.set_script([{"text": "hi"}])
    names = imported(cli, "-p", "hi")
    assert not [n for n in names if n.split(".")[0] in ("mcp", "mcp_types")]
    assert not {"thrifty.mcp.servers", "thrifty.mcp.external", "thrifty.mcp.client"} & names


@pytest.fixture
def own_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """In-process runs read ``~/.claude.json``: a home of the test's own, not the developer's."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("CLAUDE_CONFIG_DIR", raising=False)


@pytest.mark.anyio
@pytest.mark.usefixtures("own_home")
async def test_the_sdk_starts_servers_from_options(tmp_path: Path) -> None:
    with Simulator() as sim:
        sim.set_script([ADD, {"text": "5."}])
        env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url}
        options = thrifty.Options(
            cwd=tmp_path, env=env, mcp_servers={"calc": stdio_config()}, allowed_tools=["mcp__calc__add"]
        )
        with anyio.fail_after(60):
            messages = [m async for m in thrifty.query("add", options)]
        content = sim.message_requests()[1].body["messages"][-1]["content"]
    init = messages[0]
    assert isinstance(init, thrifty.SystemInit) and "mcp__calc__add" in init.tools
    assert init.data["mcp_servers"] == [{"name": "calc", "status": "connected"}]
    assert result_text(content[0]) == "sum is 5"
    assert messages[-1].result == "5."


@pytest.mark.anyio
async def test_control_requests_status_toggle_and_reconnect(cli: Cli, make_options: Any) -> None:
    from claude_agent_sdk import ClaudeSDKClient, ResultMessage

    cli.sim.set_script([{"text": "one"}, ADD, {"text": "two"}])
    options = make_options(mcp_servers={"calc": stdio_config()}, allowed_tools=["mcp__calc"])
    with anyio.fail_after(90):
        async with ClaudeSDKClient(options) as client:
            status = await client.get_mcp_status()
            await client.toggle_mcp_server("calc", False)
            disabled = await client.get_mcp_status()
            await client.query("first")
            first = [m async for m in client.receive_response()]
            await client.toggle_mcp_server("calc", True)
            await client.reconnect_mcp_server("calc")
            await client.query("second")
            second = [m async for m in client.receive_response()]
            with pytest.raises(Exception, match="MCP server 'nope' not found"):
                await client.reconnect_mcp_server("nope")
    (server,) = status["mcpServers"]
    assert server["status"] == "connected" and server["serverInfo"]["name"] == "calc"
    assert "add" in [t["name"] for t in server["tools"]] and server["transport"] == "stdio"
    assert disabled["mcpServers"][0]["status"] == "disabled"
    assert first[0].data["mcp_servers"] == [{"name": "calc", "status": "disabled"}]
    assert not [n for n in offered(cli, 0) if n.startswith("mcp__")]
    assert second[0].data["mcp_servers"] == [{"name": "calc", "status": "connected"}]
    assert "mcp__calc__add" in offered(cli, 1)
    assert result_text(tool_results(cli, 2)[0]) == "sum is 5"
    assert isinstance(second[-1], ResultMessage) and second[-1].result == "two"


@pytest.mark.anyio
@pytest.mark.usefixtures("own_home")
async def test_the_sdk_reads_approved_project_servers_unless_strict(tmp_path: Path) -> None:
    (tmp_path / ".mcp.json").write_text(mcp_config(proj=stdio_config()))
    (tmp_path / ".claude").mkdir()
    (tmp_path / ".claude" / "settings.local.json").write_text(
        json.dumps({"enableAllProjectMcpServers": True})
    )
    seen: list[Any] = []
    with Simulator() as sim:
        env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url}
        for strict in (False, True):
            sim.set_script([{"text": "ok"}])
            options = thrifty.Options(cwd=tmp_path, env=env, strict_mcp_config=strict)
            with anyio.fail_after(60):
                messages = [m async for m in thrifty.query("hi", options)]
            seen.append(messages[0].data["mcp_servers"])
    assert seen == [[{"name": "proj", "status": "connected"}], []]
