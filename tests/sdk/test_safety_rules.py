"""The options' safety rules hold in the SDK as they do on the command line (see
tests/cli/test_options_rules.py): one validator serves both, so each rule is tested from both."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest

import thrifty
from tests.sdk.conftest import MakeOptions
from thrifty.testing import Simulator

root_only = pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() != 0, reason="needs root")
UUID = "6f1d2c1e-0000-4000-8000-000000000000"


def write(path: Path) -> dict[str, Any]:
    return {"tool_use": {"name": "Write", "input": {"file_path": str(path), "content": "x"}}}


@root_only
def test_bypass_permissions_as_root_is_refused_outside_a_sandbox(
    sim: Simulator, options: MakeOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IS_SANDBOX", raising=False)
    sim.set_script([{"text": "never"}])
    with pytest.raises(thrifty.SetupError, match="cannot be used with root/sudo privileges") as info:
        thrifty.run_sync("hi", options(permission_mode="bypassPermissions"))
    assert str(info.value).startswith('permission_mode="bypassPermissions" ')
    assert sim.message_requests() == []


@root_only
@pytest.mark.parametrize("where", ["process", "options"])
def test_is_sandbox_lets_root_bypass_permissions(
    sim: Simulator, options: MakeOptions, monkeypatch: pytest.MonkeyPatch, where: str
) -> None:
    monkeypatch.delenv("IS_SANDBOX", raising=False)
    if where == "process":
        monkeypatch.setenv("IS_SANDBOX", "1")
    opts = options()
    if where == "options":
        opts.env["IS_SANDBOX"] = "1"
    opts.permission_mode = "bypassPermissions"  # checked again when the run starts
    sim.set_script([{"text": "fine"}])
    assert thrifty.run_sync("hi", opts).result == "fine"


@root_only
@pytest.mark.anyio
async def test_switching_to_bypass_as_root_is_refused_too(
    sim: Simulator, options: MakeOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("IS_SANDBOX", raising=False)
    async with thrifty.Client(options()) as client:
        with pytest.raises(ValueError, match="root/sudo"):
            await client.set_permission_mode("bypassPermissions")
        assert await client.set_permission_mode("acceptEdits") == "acceptEdits"


@pytest.mark.parametrize(("where", "requests"), [("process", 1), ("options", 2)])
def test_thrifty_max_retries_is_the_default_retry_count(
    sim: Simulator, options: MakeOptions, monkeypatch: pytest.MonkeyPatch, where: str, requests: int
) -> None:
    monkeypatch.setenv("THRIFTY_MAX_RETRIES", "0")
    opts = options()
    if where == "options":
        opts.env["THRIFTY_MAX_RETRIES"] = "1"
    sim.set_script([{"text": "never", "fault": {"kind": "overloaded", "times": 0}}])
    result = thrifty.run_sync("x", opts)
    assert result.is_error and result.api_error_status == 529
    assert len(sim.message_requests()) == requests


def test_an_explicit_max_retries_wins_over_thrifty_max_retries(
    sim: Simulator, options: MakeOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THRIFTY_MAX_RETRIES", "3")
    sim.set_script([{"text": "never", "fault": {"kind": "overloaded", "times": 0}}])
    thrifty.run_sync("x", options(max_retries=0))
    assert len(sim.message_requests()) == 1


def test_a_malformed_thrifty_max_retries_is_a_setup_error(
    sim: Simulator, options: MakeOptions, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("THRIFTY_MAX_RETRIES", "many")
    with pytest.raises(thrifty.SetupError, match="THRIFTY_MAX_RETRIES must be a whole number, not 'many'"):
        thrifty.run_sync("x", options())
    assert sim.message_requests() == []


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"resume": UUID, "continue_conversation": True}, "resume and continue_conversation cannot be used"),
        ({"fork_session": True}, "fork_session only works with resume or continue_conversation"),
        ({"session_id": UUID, "resume": UUID}, "session_id with resume or continue_conversation also needs"),
        (
            {"resume": UUID, "fork_session": True, "persist_session": False},
            "fork_session cannot be used with persist_session=False",
        ),
        ({"resume": "../../etc/passwd"}, "resume '../../etc/passwd' is not a valid UUID"),
    ],
)
def test_session_conflicts_are_refused(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(thrifty.SetupError, match=message):
        thrifty.Options(**fields)


def test_add_directories_update_opens_a_directory_for_the_rest_of_the_session(
    sim: Simulator, options: MakeOptions, project: Path, tmp_path: Path
) -> None:
    other = tmp_path / "other"
    other.mkdir()
    asked: list[str] = []

    def allow(name: str, tool_input: dict[str, Any], ctx: thrifty.ToolPermissionContext) -> Any:
        asked.append(tool_input["file_path"])
        grant = thrifty.PermissionUpdate("addDirectories", directories=[str(other)], destination="session")
        return thrifty.PermissionResultAllow(updated_permissions=[grant])

    sim.set_script([write(project / "1.txt"), write(other / "2.txt"), {"text": "done"}])
    result = thrifty.run_sync("write", options(can_use_tool=allow))
    # outside the working directories the second write would be denied without asking
    assert asked == [str(project / "1.txt"), str(other / "2.txt")]
    assert (other / "2.txt").exists() and result.permission_denials == []
