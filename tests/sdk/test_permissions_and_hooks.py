"""``can_use_tool`` and hook callbacks, end to end through the loop and the simulator."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import thrifty
from tests.sdk.conftest import MakeOptions, sent, texts
from thrifty.sdk.hooks import hook_callbacks
from thrifty.testing import Simulator

FINAL = {"text": "done"}


def write(path: Path, content: str = "model text") -> dict[str, Any]:
    return {"tool_use": {"name": "Write", "input": {"file_path": str(path), "content": content}}}


def test_can_use_tool_allows_with_an_updated_input(
    sim: Simulator, options: MakeOptions, project: Path
) -> None:
    target = project / "out.txt"
    asked: list[tuple[str, dict[str, Any], thrifty.ToolPermissionContext]] = []

    async def approve(name: str, tool_input: dict[str, Any], ctx: thrifty.ToolPermissionContext) -> Any:
        asked.append((name, tool_input, ctx))
        return thrifty.PermissionResultAllow(updated_input={**tool_input, "content": "approved text"})

    sim.set_script([write(target), FINAL])
    result = thrifty.run_sync("write it", options(can_use_tool=approve))
    assert target.read_text() == "approved text"
    assert result.subtype == "success" and result.permission_denials == []
    ((name, tool_input, ctx),) = asked
    assert name == "Write" and tool_input["content"] == "model text"
    call_id = sent(sim)["messages"][-1]["content"][0]["tool_use_id"]
    assert ctx.tool_use_id == call_id and ctx.decision_reason and "write to" in ctx.decision_reason


def test_can_use_tool_denies_with_a_message_the_model_reads(
    sim: Simulator, options: MakeOptions, project: Path
) -> None:
    target = project / "out.txt"

    async def deny(name: str, tool_input: dict[str, Any], ctx: thrifty.ToolPermissionContext) -> Any:
        return thrifty.PermissionResultDeny(message="No writes on Fridays.")

    sim.set_script([write(target), FINAL])
    messages = list(thrifty.query_sync("write it", options(can_use_tool=deny)))
    result = messages[-1]
    assert isinstance(result, thrifty.Result) and not target.exists()
    assert result.permission_denials == [
        {
            "tool_name": "Write",
            "tool_use_id": result.permission_denials[0]["tool_use_id"],
            "tool_input": {"file_path": str(target), "content": "model text"},
        }
    ]
    denied = [m for m in messages if isinstance(m, thrifty.PermissionDenied)]
    assert len(denied) == 1 and denied[0].message == "No writes on Fridays."
    block = sent(sim)["messages"][-1]["content"][0]
    assert block["is_error"] is True and block["content"] == "No writes on Fridays."


def test_a_deny_with_interrupt_stops_the_turn(sim: Simulator, options: MakeOptions, project: Path) -> None:
    async def stop(name: str, tool_input: dict[str, Any], ctx: thrifty.ToolPermissionContext) -> Any:
        return thrifty.PermissionResultDeny(message="stop", interrupt=True)

    sim.set_script([write(project / "x.txt"), FINAL])
    result = thrifty.run_sync("write", options(can_use_tool=stop))
    assert result.subtype == "error_during_execution" and result.terminal_reason == "aborted_tools"
    assert len(sim.message_requests()) == 1


def test_allowed_tools_short_circuit_the_callback_and_a_failing_callback_denies(
    sim: Simulator, options: MakeOptions, project: Path
) -> None:
    asked: list[str] = []

    async def broken(name: str, tool_input: dict[str, Any], ctx: thrifty.ToolPermissionContext) -> Any:
        asked.append(name)
        raise RuntimeError("approval service down")

    sim.set_script([write(project / "a.txt"), FINAL])
    thrifty.run_sync("write", options(can_use_tool=broken, allowed_tools=["Write"]))
    assert asked == [] and (project / "a.txt").exists()
    sim.set_script([write(project / "b.txt"), FINAL])
    result = thrifty.run_sync("write", options(can_use_tool=broken))
    assert asked == ["Write"] and not (project / "b.txt").exists()
    assert "approval service down" in sent(sim)["messages"][-1]["content"][0]["content"]
    assert len(result.permission_denials) == 1


def test_updated_permissions_add_a_rule_for_the_rest_of_the_session(
    sim: Simulator, options: MakeOptions, project: Path
) -> None:
    asked: list[str] = []

    async def always(name: str, tool_input: dict[str, Any], ctx: thrifty.ToolPermissionContext) -> Any:
        asked.append(tool_input["file_path"])
        rule = thrifty.PermissionUpdate("addRules", [thrifty.PermissionRuleValue("Write")], behavior="allow")
        return thrifty.PermissionResultAllow(updated_permissions=[rule])

    sim.set_script([write(project / "1.txt"), write(project / "2.txt"), FINAL])
    result = thrifty.run_sync("write twice", options(can_use_tool=always))
    assert result.subtype == "success" and asked == [str(project / "1.txt")]
    assert (project / "1.txt").exists() and (project / "2.txt").exists()


def test_hooks_deny_before_and_add_context_after(sim: Simulator, options: MakeOptions, project: Path) -> None:
    (project / "notes.txt").write_text("milk\n")
    seen: list[tuple[str, str | None, dict[str, Any]]] = []

    async def guard(
        data: dict[str, Any], tool_use_id: str | None, context: thrifty.HookContext
    ) -> dict[str, Any]:
        seen.append((data["hook_event_name"], tool_use_id, context))
        return {
            "hookSpecificOutput": {
                "hookEventName": "PreToolUse",
                "permissionDecision": "deny",
                "permissionDecisionReason": "rm is not allowed here",
            }
        }

    async def remind(
        data: dict[str, Any], tool_use_id: str | None, context: thrifty.HookContext
    ) -> dict[str, Any]:
        seen.append((data["hook_event_name"], tool_use_id, {"tool": data["tool_name"]}))
        return {
            "hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": "Notes are stale."}
        }

    sim.set_script(
        [
            {"tool_use": {"name": "Bash", "input": {"command": "rm -rf build"}}},
            {"tool_use": {"name": "Read", "input": {"file_path": str(project / "notes.txt")}}},
            FINAL,
        ]
    )
    hooks = {
        "PreToolUse": [thrifty.HookMatcher(matcher="Bash", hooks=[guard])],
        "PostToolUse": [thrifty.HookMatcher(matcher="Read", hooks=[remind])],
    }
    result = thrifty.run_sync("clean up", options(hooks=hooks, allowed_tools=["Bash"]))
    assert result.subtype == "success"
    assert [d["tool_name"] for d in result.permission_denials] == ["Bash"]
    denied = sent(sim, 1)["messages"][-1]["content"][0]
    assert denied["is_error"] is True and denied["content"] == "rm is not allowed here"
    after_read = texts(sent(sim, 2)["messages"][-1]["content"])
    assert any("milk" in t for t in after_read) and "Notes are stale." in after_read
    bash_id = denied["tool_use_id"]
    assert seen[0] == ("PreToolUse", bash_id, {"signal": None})
    assert seen[1][0] == "PostToolUse" and seen[1][2] == {"tool": "Read"}


def test_pre_tool_use_context_reaches_the_model_with_the_result(
    sim: Simulator, options: MakeOptions, project: Path
) -> None:
    (project / "notes.txt").write_text("milk\n")

    async def brief(
        data: dict[str, Any], tool_use_id: str | None, context: thrifty.HookContext
    ) -> dict[str, Any]:
        return {"hookSpecificOutput": {"hookEventName": "PreToolUse", "additionalContext": "Read-only repo."}}

    sim.set_script(
        [{"tool_use": {"name": "Read", "input": {"file_path": str(project / "notes.txt")}}}, FINAL]
    )
    hooks = {"PreToolUse": [thrifty.HookMatcher(matcher="Read", hooks=[brief])]}
    assert thrifty.run_sync("read", options(hooks=hooks)).subtype == "success"
    after_read = texts(sent(sim, 1)["messages"][-1]["content"])
    assert any("milk" in t for t in after_read) and "Read-only repo." in after_read


def test_continue_underscore_is_renamed_and_stops_the_run(sim: Simulator, options: MakeOptions) -> None:
    async def halt(
        data: dict[str, Any], tool_use_id: str | None, context: thrifty.HookContext
    ) -> dict[str, Any]:
        return {"continue_": False, "stopReason": "prompt rejected by policy"}

    sim.set_script([FINAL])
    hooks = {"UserPromptSubmit": [thrifty.HookMatcher(hooks=[halt])]}
    result = thrifty.run_sync("x", options(hooks=hooks))
    assert result.is_error and result.terminal_reason == "hook_stopped"
    assert result.result == "prompt rejected by policy" and sim.message_requests() == []


def test_a_failing_hook_is_no_decision_unless_on_failure_block(
    sim: Simulator, options: MakeOptions, project: Path
) -> None:
    async def broken(
        data: dict[str, Any], tool_use_id: str | None, context: thrifty.HookContext
    ) -> dict[str, Any]:
        raise ValueError("hook bug")

    script = [{"tool_use": {"name": "Bash", "input": {"command": "echo ran"}}}, FINAL]
    sim.set_script(script)
    lenient = {"PreToolUse": [thrifty.HookMatcher(hooks=[broken])]}
    result = thrifty.run_sync("x", options(hooks=lenient, allowed_tools=["Bash"]))
    assert result.permission_denials == [] and "ran" in texts(sent(sim)["messages"][-1]["content"])[0]
    strict = {"PreToolUse": [thrifty.HookMatcher(hooks=[broken], on_failure="block")]}
    result = thrifty.run_sync("x", options(hooks=strict, allowed_tools=["Bash"]))
    assert len(result.permission_denials) == 1
    assert "hook bug" in sent(sim)["messages"][-1]["content"][0]["content"]


def test_hook_options_are_checked(options: MakeOptions) -> None:
    async def cb(
        data: dict[str, Any], tool_use_id: str | None, context: thrifty.HookContext
    ) -> dict[str, Any]:
        return {}

    with pytest.raises(thrifty.SetupError, match=r"Notification.*not supported"):
        options(hooks={"Notification": [thrifty.HookMatcher(hooks=[cb])]})
    with pytest.raises(thrifty.SetupError, match="HookMatcher"):
        options(hooks={"PreToolUse": [cb]})


@pytest.mark.anyio
async def test_callback_output_keys_are_renamed_for_the_hook_contract() -> None:
    async def cb(
        data: dict[str, Any], tool_use_id: str | None, context: thrifty.HookContext
    ) -> dict[str, Any]:
        return {"async_": True, "continue_": False, "systemMessage": "hi"}

    ((matcher, adapted),) = hook_callbacks({"Stop": [thrifty.HookMatcher(hooks=[cb])]})["Stop"]
    assert matcher is None
    assert await adapted({"hook_event_name": "Stop"}) == {
        "async": True,
        "continue": False,
        "systemMessage": "hi",
    }


def test_post_tool_use_continue_false_stops_after_the_tool(
    sim: Simulator, options: MakeOptions, project: Path
) -> None:
    """Claude Code ends the run on the tool results: success, empty result, no further request."""
    seen: list[str] = []

    async def halt(
        data: dict[str, Any], tool_use_id: str | None, context: thrifty.HookContext
    ) -> dict[str, Any]:
        seen.append(data["tool_input"]["command"])
        return {"continue_": False, "stopReason": "deploy window closed"}

    two_calls = {
        "tool_use": [
            {"name": "Bash", "input": {"command": "echo first"}},
            {"name": "Bash", "input": {"command": "touch second-ran"}},
        ]
    }
    sim.set_script([two_calls, FINAL])
    hooks = {"PostToolUse": [thrifty.HookMatcher(matcher="Bash", hooks=[halt])]}
    messages = list(thrifty.query_sync("deploy", options(hooks=hooks, allowed_tools=["Bash"])))
    result = messages[-1]
    assert isinstance(result, thrifty.Result)
    assert (result.subtype, result.is_error, result.result) == ("success", False, "")
    assert (result.terminal_reason, result.stop_reason, result.num_turns) == ("hook_stopped", "tool_use", 2)
    assert len(sim.message_requests()) == 1
    # The first call ran and its result stands; the second was never started.
    assert seen == ["echo first"] and not (project / "second-ran").exists()
    last = [m for m in messages if isinstance(m, thrifty.UserMessage)][-1]
    assert isinstance(last.content, list)
    assert last.content[0]["content"].strip() == "first"
    assert last.content[1]["is_error"] is True and "Not run" in last.content[1]["content"]
    assert last.content[-1] == {
        "type": "text",
        "text": "PostToolUse:Bash hook stopped continuation: deploy window closed",
    }


def test_pre_tool_use_continue_false_refuses_the_call_and_stops(
    sim: Simulator, options: MakeOptions, project: Path
) -> None:
    async def guard(
        data: dict[str, Any], tool_use_id: str | None, context: thrifty.HookContext
    ) -> dict[str, Any]:
        return {"continue_": False, "stopReason": "no pushes today"}

    sim.set_script([{"tool_use": {"name": "Bash", "input": {"command": "touch pushed"}}}, FINAL])
    hooks = {"PreToolUse": [thrifty.HookMatcher(matcher="Bash", hooks=[guard])]}
    result = thrifty.run_sync("push", options(hooks=hooks, allowed_tools=["Bash"]))
    assert (result.subtype, result.is_error, result.terminal_reason) == ("success", False, "hook_stopped")
    assert len(sim.message_requests()) == 1 and not (project / "pushed").exists()
    assert [d["tool_name"] for d in result.permission_denials] == ["Bash"]


def test_a_broken_settings_file_raises_setup_error_before_any_request(
    sim: Simulator, options: MakeOptions, project: Path
) -> None:
    (project / ".claude").mkdir()
    settings = project / ".claude" / "settings.json"
    settings.write_text('{"permissions":{"deny":["Read"],}}')
    sim.set_script([FINAL])
    with pytest.raises(thrifty.SetupError, match=f"^{settings}: not valid JSON \\(line 1, column 33: "):
        thrifty.run_sync("x", options())
    with pytest.raises(thrifty.SetupError, match=r"^--settings: permissions\.deny\[0\] must be a string"):
        thrifty.run_sync("x", options(setting_sources=[], settings='{"permissions": {"deny": [1]}}'))
    config = Path(os.environ["THRIFTY_CONFIG_DIR"]) / "config.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_bytes(b'{"project": "caf\xe9"}')
    with pytest.raises(thrifty.SetupError, match=f"^{config}: not UTF-8 text \\(byte 0xe9 at offset 16\\)$"):
        thrifty.run_sync("x", options(setting_sources=[]))
    assert sim.message_requests() == []
