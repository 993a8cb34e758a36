"""``continue: false`` after a tool ends the run, from a settings hook and over the control protocol.

Claude Code's shape for this ending: ``subtype: success``, ``is_error: false``, an empty ``result``,
``stop_reason: tool_use``, ``terminal_reason: hook_stopped``, exit 0, and no further request.
"""

from __future__ import annotations

import json
from typing import Any

import anyio
import pytest
from claude_agent_sdk import HookMatcher, ResultMessage, UserMessage, query

from tests.cli.conftest import Cli

TIMEOUT_S = 90
BASH = {"tool_use": {"name": "Bash", "input": {"command": "echo from-the-tool"}}}


def test_settings_post_tool_use_hook_stops_the_cli_run(cli: Cli) -> None:
    stop = cli.cwd / "stop.json"
    stop.write_text(json.dumps({"continue": False, "stopReason": "quota reached"}))
    hook = {"type": "command", "command": f"cat '{stop}'"}
    settings = {"hooks": {"PostToolUse": [{"matcher": "Bash", "hooks": [hook]}]}}
    (cli.cwd / ".claude").mkdir()
    (cli.cwd / ".claude" / "settings.json").write_text(json.dumps(settings))
    cli.sim.set_script([BASH, {"text": "should never be asked for"}])
    run = cli("-p", "go", "--allowedTools", "Bash", "--output-format", "json")
    assert run.code == 0, run.stderr
    result = run.json
    assert (result["subtype"], result["is_error"], result["result"]) == ("success", False, "")
    assert (result["terminal_reason"], result["stop_reason"], result["num_turns"]) == (
        "hook_stopped",
        "tool_use",
        2,
    )
    assert len(cli.sim.message_requests()) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("event", ["PostToolUse", "PreToolUse"])
async def test_hook_callback_answered_by_the_host_stops_the_run(
    cli: Cli, make_options: Any, event: str
) -> None:
    """The official SDK answers ``hook_callback`` with ``continue: false``; thrifty must stop."""
    calls: list[str] = []

    async def halt(hook_input: Any, tool_use_id: str | None, context: Any) -> Any:
        calls.append(hook_input["hook_event_name"])
        return {"continue_": False, "stopReason": "host says stop"}

    cli.sim.set_script([BASH, {"text": "should never be asked for"}])
    hooks = {event: [HookMatcher(matcher="Bash", hooks=[halt])]}
    options = make_options(hooks=hooks, allowed_tools=["Bash"])
    with anyio.fail_after(TIMEOUT_S):
        messages = [m async for m in query(prompt="go", options=options)]
    result = messages[-1]
    assert isinstance(result, ResultMessage)
    assert (result.subtype, result.is_error, result.result) == ("success", False, "")
    assert (result.terminal_reason, result.stop_reason) == ("hook_stopped", "tool_use")
    assert calls == [event] and len(cli.sim.message_requests()) == 1
    tool_results = [m for m in messages if isinstance(m, UserMessage)][-1]
    assert isinstance(tool_results.content, list)
    notices = [b for b in tool_results.content if getattr(b, "text", None)]
    assert [b.text for b in notices] == [f"{event}:Bash hook stopped continuation: host says stop"]
