"""thrifty and the real ``claude`` (bundled with claude-agent-sdk) side by side with a local plugin
(``--plugin-dir``): the same ending, the plugin and its parts in ``system/init``, its command
expanded, its agent run, its hook run; and a plugin that cannot be loaded reported alike.

Each side gets its own simulator, project and home (``run_side``); the plugin is written into
each side's project and passed by a relative path, which both resolve from the working directory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.agent.test_plugins import NAME, demo_plugin, hook_lines
from tests.sdk.feature_scripts import DELEGATE
from tests.sdk.test_side_by_side_features import CLAUDE, FORMATS, side_by_side

pytestmark = pytest.mark.skipif(not CLAUDE.exists(), reason="the bundled claude is not installed")

both_formats = pytest.mark.parametrize("fmt", FORMATS)
PLUGIN_ARGS = ["--plugin-dir", "plugin"]


def with_plugin(project: Path) -> None:
    demo_plugin(project / "plugin")


def ours_only(plugins: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """claude also lists its built-in plugins (``path: builtin``); thrifty has none."""
    return [p for p in plugins if p["path"] != "builtin"]


@both_formats
def test_a_plugin_command(tmp_path: Path, fmt: str) -> None:
    args = ["-p", f"/{NAME}:greet Bob", *PLUGIN_ARGS]
    ours, theirs = side_by_side(tmp_path, [{"text": "Hello Bob"}], args, fmt, setup=with_plugin)
    assert ours.ending == (0, "success", False, "end_turn", "completed")
    for side, who in ((ours, "thrifty"), (theirs, "claude")):
        assert side.result["result"] == "Hello Bob"
        assert "Say hello to Bob from the plugin." in side.sent()
        assert f"<command-name>/{NAME}:greet</command-name>" in side.sent()
        plugin = tmp_path / who / "project" / "plugin"
        assert hook_lines(plugin.parent) == [f"{plugin} {plugin}"], who  # the hook ran, rooted
    if fmt == "stream-json":
        for side, who in ((ours, "thrifty"), (theirs, "claude")):
            (init,) = side.system("init")
            path = str(tmp_path / who / "project" / "plugin")
            entry = {"name": NAME, "path": path, "source": f"{NAME}@inline", "version": "1.2.3"}
            assert ours_only(init["plugins"]) == [entry], who
            assert "plugin_errors" not in init or init["plugin_errors"] is None, who
            assert {f"{NAME}:greet", f"{NAME}:sub:deep", f"{NAME}:shout"} <= set(init["slash_commands"]), who
            assert f"{NAME}:shout" in init["skills"] and f"{NAME}:helper" in init["agents"], who


def test_a_plugin_command_by_its_bare_name_is_not_run(tmp_path: Path) -> None:
    ours, theirs = side_by_side(
        tmp_path, [{"text": "plain"}], ["-p", "/greet Bob", *PLUGIN_ARGS], "json", setup=with_plugin
    )
    assert ours.ending == (0, "success", False, "end_turn", "completed")
    for side in (ours, theirs):
        assert "from the plugin" not in side.sent() and "/greet Bob" in side.sent()


def test_a_plugin_skill_by_its_bare_name_runs(tmp_path: Path) -> None:
    ours, theirs = side_by_side(
        tmp_path, [{"text": "LOUD"}], ["-p", "/shout now", *PLUGIN_ARGS], "json", setup=with_plugin
    )
    assert ours.ending == (0, "success", False, "end_turn", "completed")
    for side in (ours, theirs):
        assert f"<command-name>/{NAME}:shout</command-name>" in side.sent()
        assert "SHOUT the words." in side.sent()


@both_formats
def test_the_plugin_agent_runs(tmp_path: Path, fmt: str) -> None:
    delegate: Any = DELEGATE["tool_use"]  # the features' Agent call, to the plugin's agent
    call = {**delegate["input"], "subagent_type": f"{NAME}:helper"}
    script = {
        "conversations": [
            {"match": "SUBTASK", "turns": [{"text": "sub done"}]},
            {"turns": [{"tool_use": {"name": "Agent", "input": call}}, {"text": "parent done"}]},
        ]
    }
    ours, theirs = side_by_side(tmp_path, script, ["-p", "go", *PLUGIN_ARGS], fmt, setup=with_plugin)
    assert ours.ending == (0, "success", False, "end_turn", "completed")
    for side in (ours, theirs):
        assert side.result["result"] == "parent done"
        (child,) = [r for r in side.requests if "SUBTASK please" in str(r.body["messages"][0])]
        assert "You are the plugin helper." in str(child.body["system"])
        assert "sub done" in str(side.requests[-1].body["messages"][-1])


@both_formats
def test_a_missing_plugin_dir_is_reported_and_the_run_goes_on(tmp_path: Path, fmt: str) -> None:
    ours, theirs = side_by_side(tmp_path, [{"text": "ok"}], ["-p", "hi", "--plugin-dir", "nowhere"], fmt)
    assert ours.ending == (0, "success", False, "end_turn", "completed")
    if fmt == "stream-json":
        for side, who in ((ours, "thrifty"), (theirs, "claude")):
            (init,) = side.system("init")
            missing = str(tmp_path / who / "project" / "nowhere")
            assert ours_only(init["plugins"]) == []
            assert init["plugin_errors"] == [
                {
                    "plugin": "inline[0]",
                    "type": "path-not-found",
                    "message": f"Path not found: {missing}",
                    "path": missing,
                }
            ], who


def test_bare_keeps_the_plugins_commands_not_its_agents_or_hooks(tmp_path: Path) -> None:
    args = ["-p", f"/{NAME}:greet Bob", "--bare", *PLUGIN_ARGS]
    ours, theirs = side_by_side(tmp_path, [{"text": "Hello"}], args, "stream-json", setup=with_plugin)
    assert ours.ending == (0, "success", False, "end_turn", "completed")
    for side, who in ((ours, "thrifty"), (theirs, "claude")):
        (init,) = side.system("init")
        assert [p["name"] for p in ours_only(init["plugins"])] == [NAME], who
        assert f"{NAME}:greet" in init["slash_commands"] and f"{NAME}:shout" in init["skills"], who
        assert f"{NAME}:helper" not in init["agents"], who
        assert "Say hello to Bob from the plugin." in side.sent(), who
        assert hook_lines(tmp_path / who / "project") == [], who
