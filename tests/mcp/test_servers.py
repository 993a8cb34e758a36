"""``McpServers`` against real servers written with the ``mcp`` package (``servers/calc.py``):
stdio, streamable HTTP and SSE; ``${VAR}`` expansion; statuses; a server that dies; reconnect,
toggle and close; and which ``.mcp.json`` servers are approved."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.mcp.servers.running import stdio_config
from thrifty.mcp.config import Approvals, discover, expand, project_servers
from thrifty.mcp.servers import McpServers, UnknownServer
from thrifty.tools.base import Tool, ToolResult

pytestmark = pytest.mark.anyio

ENV = {**os.environ, "CALC_SECRET": "s3cret-value"}


async def started(configs: dict[str, dict[str, Any]], tmp_path: Path, **env: str) -> McpServers:
    servers = McpServers(configs, cwd=tmp_path, environ={**ENV, **env})
    await servers.start()
    return servers


def tools_of(servers: McpServers) -> dict[str, Tool]:
    return {t.name: t for t in servers.tools()}


async def call(servers: McpServers, tool: str, tmp_path: Path, **arguments: Any) -> ToolResult:
    from thrifty.tools.base import ToolContext

    return await tools_of(servers)[tool].run(arguments, ToolContext(cwd=tmp_path))


def text(result: ToolResult) -> str:
    return result.content if isinstance(result.content, str) else "".join(b["text"] for b in result.content)


def gone(pid: int) -> bool:
    for _ in range(100):
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


async def test_a_stdio_server_starts_answers_and_closes(tmp_path: Path) -> None:
    config = stdio_config(env={"TOKEN": "${CALC_SECRET}", "MODE": "${CALC_MODE:-plain}"})
    servers = await started({"calc": config}, tmp_path)
    try:
        (status,) = servers.status_entries()
        assert status["status"] == "connected" and status["serverInfo"] == {
            "name": "calc",
            "version": "4.5.6",
        }
        assert status["transport"] == "stdio" and status["scope"] == "dynamic"
        assert [t["name"] for t in status["tools"]] == ["add", "env", "header", "slow", "pid", "crash"]
        # Secrets are shown as keys only.
        assert status["config"]["env"] == {"TOKEN": "[redacted]", "MODE": "[redacted]"}
        assert "s3cret" not in json.dumps(status)
        assert text(await call(servers, "mcp__calc__add", tmp_path, a=2, b=3)) == "sum is 5"
        assert text(await call(servers, "mcp__calc__env", tmp_path, name="TOKEN")) == "s3cret-value"
        assert text(await call(servers, "mcp__calc__env", tmp_path, name="MODE")) == "plain"
        pid = int(text(await call(servers, "mcp__calc__pid", tmp_path)))
    finally:
        await servers.close()
    assert gone(pid), "closing the session ends the server process"


async def test_a_streamable_http_server_gets_its_headers(
    tmp_path: Path, http_server: tuple[str, subprocess.Popen[bytes]]
) -> None:
    url, _ = http_server
    config = {"type": "http", "url": url, "headers": {"X-Token": "Bearer ${CALC_SECRET}"}}
    servers = await started({"web": config}, tmp_path)
    try:
        (status,) = servers.status_entries()
        assert status["status"] == "connected" and status["transport"] == "http"
        assert status["config"]["headers"] == {"X-Token": "[redacted]"}
        assert text(await call(servers, "mcp__web__add", tmp_path, a=1, b=2)) == "sum is 3"
        header = await call(servers, "mcp__web__header", tmp_path, name="x-token")
        assert text(header) == "Bearer s3cret-value"
    finally:
        await servers.close()


async def test_an_sse_server_connects(
    tmp_path: Path, sse_server: tuple[str, subprocess.Popen[bytes]]
) -> None:
    url, _ = sse_server
    servers = await started({"old": {"type": "sse", "url": url}}, tmp_path)
    try:
        assert servers.init_entries() == [{"name": "old", "status": "connected"}]
        assert text(await call(servers, "mcp__old__add", tmp_path, a=4, b=4)) == "sum is 8"
    finally:
        await servers.close()


async def test_a_server_that_dies_is_an_error_result_then_reconnects(tmp_path: Path) -> None:
    servers = await started({"calc": stdio_config()}, tmp_path)
    changes: list[str] = []
    servers.on_change = lambda: changes.append("changed")
    try:
        died = await call(servers, "mcp__calc__crash", tmp_path)
        assert died.is_error and "MCP server 'calc' could not be reached" in text(died)
        assert servers.init_entries() == [{"name": "calc", "status": "failed"}]
        again = await call(servers, "mcp__calc__add", tmp_path, a=1, b=1)
        assert again.is_error and "could not be reached" in text(again)
        await servers.reconnect("calc")
        assert servers.init_entries() == [{"name": "calc", "status": "connected"}] and changes == ["changed"]
        assert text(await call(servers, "mcp__calc__add", tmp_path, a=1, b=1)) == "sum is 2"
    finally:
        await servers.close()


async def test_an_http_server_that_goes_away_is_an_error_result(
    tmp_path: Path, http_server: tuple[str, subprocess.Popen[bytes]]
) -> None:
    url, process = http_server
    servers = await started({"web": {"type": "http", "url": url}}, tmp_path)
    try:
        process.kill()
        process.wait()
        result = await call(servers, "mcp__web__add", tmp_path, a=1, b=2)
        assert result.is_error and "MCP server 'web' could not be reached" in text(result)
    finally:
        await servers.close()


async def test_toggle_removes_and_restores_a_servers_tools(tmp_path: Path) -> None:
    servers = await started({"calc": stdio_config()}, tmp_path)
    try:
        pid = int(text(await call(servers, "mcp__calc__pid", tmp_path)))
        await servers.toggle("calc", False)
        assert servers.tools() == [] and servers.status_entries()[0]["status"] == "disabled"
        assert gone(pid)
        await servers.toggle("calc", True)
        assert servers.init_entries() == [{"name": "calc", "status": "connected"}]
        assert text(await call(servers, "mcp__calc__add", tmp_path, a=2, b=2)) == "sum is 4"
        with pytest.raises(UnknownServer, match="MCP server 'nope' not found"):
            await servers.toggle("nope", True)
    finally:
        await servers.close()


async def test_failures_are_one_line_and_keep_secrets_out(tmp_path: Path) -> None:
    configs = {
        "missing": {"type": "stdio", "command": "thrifty-no-such-server"},
        "unset": stdio_config(env={"KEY": "${CALC_NOT_SET}"}),
        "nourl": {"type": "http"},
        "ok": stdio_config(),
    }
    servers = await started(configs, tmp_path)
    try:
        errors = {s.name: s.error for s in servers.servers}
        assert "No such file or directory" in str(errors["missing"])
        assert errors["unset"] == "environment variable CALC_NOT_SET is not set"
        assert errors["nourl"] == "an http server needs a 'url'"
        assert errors["ok"] is None
        assert all("\n" not in line for line in servers.problems()) and len(servers.problems()) == 3
    finally:
        await servers.close()


async def test_without_the_mcp_package_the_server_fails_with_the_install_hint(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "mcp", None)  # what an import of a missing package does
    monkeypatch.setitem(sys.modules, "mcp.client", None)
    servers = await started({"calc": stdio_config()}, tmp_path)
    assert servers.get("calc").error == "the 'mcp' package is not installed; pip install 'thrifty[mcp]'"


async def test_claude_code_s_timeouts_apply(tmp_path: Path) -> None:
    hang = {"type": "stdio", "command": sys.executable, "args": ["-c", "import time; time.sleep(60)"]}
    hung = await started({"hang": hang}, tmp_path, MCP_TIMEOUT="1000")
    await hung.close()
    assert hung.get("hang").error == "did not start within 1s (MCP_TIMEOUT)"
    servers = await started({"calc": stdio_config()}, tmp_path, MCP_TOOL_TIMEOUT="300")
    try:
        late = await call(servers, "mcp__calc__slow", tmp_path, seconds=5)
        assert late.is_error and "tool 'slow' timed out (no answer within 0.3s)" in text(late)
        assert servers.get("calc").status == "connected"
        assert text(await call(servers, "mcp__calc__add", tmp_path, a=1, b=1)) == "sum is 2"
    finally:
        await servers.close()


def test_expand_reads_variables_and_defaults() -> None:
    env = {"A": "1", "EMPTY": ""}
    assert expand({"x": ["${A}", "${B:-two}", "${EMPTY:-d}", "$A"]}, env) == {"x": ["1", "two", "d", "$A"]}
    with pytest.raises(ValueError, match="environment variable B is not set"):
        expand("${B}", env)


def test_project_servers_load_only_when_approved(tmp_path: Path) -> None:
    servers = {"a": {"command": "x"}, "b": {"command": "y"}, "c": {"command": "z"}}
    (tmp_path / ".mcp.json").write_text(json.dumps({"mcpServers": servers}))
    none, notes = project_servers(tmp_path, Approvals())
    assert none == {} and "a, b, c not approved" in notes[0]
    layers = [{"enabledMcpjsonServers": ["a"]}, {"disabledMcpjsonServers": ["c"]}]
    some, notes = project_servers(tmp_path, Approvals.from_layers(layers))
    assert list(some) == ["a"] and "b not approved" in notes[0]
    every = Approvals.from_layers([{"enableAllProjectMcpServers": True, "disabledMcpjsonServers": ["b"]}])
    assert list(project_servers(tmp_path, every)[0]) == ["a", "c"]
    (tmp_path / ".mcp.json").write_text("{nope")
    assert project_servers(tmp_path, every) == ({}, [".mcp.json ignored: cannot read it (JSONDecodeError)"])


def test_flag_servers_win_over_discovered_ones_of_the_same_name(tmp_path: Path) -> None:
    discovered = {"a": ("project", {"command": "p"}), "b": ("user", {"command": "u"})}
    servers = McpServers({"a": {"command": "flag"}}, cwd=tmp_path, environ={}, discovered=discovered)
    assert [(s.name, s.scope, s.config["command"]) for s in servers.servers] == [
        ("b", "user", "u"),
        ("a", "dynamic", "flag"),
    ]


def test_discover_reads_user_project_and_local_scopes_for_their_sources(tmp_path: Path) -> None:
    home, project = tmp_path / "home", tmp_path / "work" / "project"
    (project / "sub").mkdir(parents=True)
    home.mkdir()
    state = {
        "mcpServers": {"u": {"command": "user"}, "same": {"command": "user"}},
        "projects": {str(project): {"mcpServers": {"l": {"command": "local"}, "same": {"command": "local"}}}},
    }
    (home / ".claude.json").write_text(json.dumps(state))
    (project / ".mcp.json").write_text(json.dumps({"mcpServers": {"p": {"command": "proj"}, "same": {}}}))
    every = Approvals(enable_all=True)
    found, notes = discover(
        project, home=home, environ={}, sources=("user", "project", "local"), approvals=every
    )
    assert {n: (scope, c.get("command")) for n, (scope, c) in found.items()} == {
        "u": ("user", "user"),
        "same": ("local", "local"),
        "p": ("project", "proj"),
        "l": ("local", "local"),
    }
    assert notes == []
    # The local scope is looked up for the nearest directory above too; only the sources asked for.
    found, _ = discover(project / "sub", home=home, environ={}, sources=("local",), approvals=every)
    assert list(found) == ["l", "same"]
    asked: list[str] = []

    def approvals() -> Approvals:
        asked.append("asked")
        return every

    assert discover(project, home=home, environ={}, sources=(), approvals=approvals) == ({}, [])
    assert asked == []
    config_dir = tmp_path / "config"
    config_dir.mkdir()
    (config_dir / ".claude.json").write_text(json.dumps({"mcpServers": {"c": {"command": "x"}}}))
    environ = {"CLAUDE_CONFIG_DIR": str(config_dir)}
    found, _ = discover(project, home=home, environ=environ, sources=("user",), approvals=every)
    assert list(found) == ["c"]
