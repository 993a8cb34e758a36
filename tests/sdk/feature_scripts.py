"""Simulator scripts that both thrifty and the real ``claude`` can follow, for the feature
tests: tests/sdk/test_side_by_side_features.py holds the two side by side, and
tests/sdk/test_features_in_process.py runs the same scripts through the in-process SDK. They live
apart from the side-by-side module so that the in-process tests do not depend on the bundled
``claude`` being installed."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

#: A call of the calc server's ``add`` tool (tests/mcp/servers/calc.py: "sum is 5").
ADD = {"tool_use": {"name": "mcp__calc__add", "input": {"a": 2, "b": 3}}}

DELEGATE = {
    "tool_use": {
        "name": "Agent",
        "input": {
            "description": "do it",
            "prompt": "SUBTASK please",
            "subagent_type": "helper",
            # Claude Code runs subagents in the background unless told not to; thrifty accepts
            # the field and always runs them in the foreground.
            "run_in_background": False,
        },
    }
}


def delegating(subagent_turns: list[dict[str, Any]]) -> dict[str, Any]:
    return {
        "conversations": [
            {"match": "SUBTASK", "turns": subagent_turns},
            {"turns": [DELEGATE, {"text": "parent done"}]},
        ]
    }


def greet_command(project: Path) -> None:
    commands = project / ".claude" / "commands"
    commands.mkdir(parents=True)
    (commands / "greet.md").write_text(
        "---\ndescription: Greet someone\n---\nSay hello to $ARGUMENTS politely.\n"
    )


def reading_until_compacted(path: str) -> Callable[[Any], dict[str, Any]]:
    """Read the big file until the conversation is summarised; then answer.

    Claude Code's summary prompt and thrifty's both ask for a ``<summary>`` block, in the last
    user message; neither sends a summary request's answer back before it compacts."""

    def play(request: Any) -> dict[str, Any]:
        messages = json.dumps(request.body["messages"])
        if "Read big.txt three times." in messages:
            return {"text": "done after compaction"}
        if "<summary>" in json.dumps(request.body["messages"][-1]):
            return {"text": "<summary>Read big.txt three times.</summary>"}
        return {"tool_use": {"name": "Read", "input": {"file_path": path}}}

    return play
