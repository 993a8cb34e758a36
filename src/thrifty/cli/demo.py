"""``thrifty demo``: a real agent run against the bundled simulator. No key, no network, no bill.

The model side is scripted (it is a simulator), but everything else is the real thing: the same
loop as ``thrifty -p``, the real tools on a scratch project, the permission policy, and the meter
pricing each call at published rates.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
from pathlib import Path
from typing import Any

from thrifty.agent.options import AgentOptions
from thrifty.agent.session import run_agent
from thrifty.billing.ledger import RowQuery, open_ledger
from thrifty.core.events import ApiUsage, AssistantMessage, Event, PermissionDenied, Result, UserMessage
from thrifty.testing import Simulator

PROMPT = "Tidy TODO.md: count the open items, mark the simulator done, and summarise."


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    sub.add_parser(
        "demo",
        help="run a short simulated agent session offline (no key needed)",
        description="Run the agent on a scratch project against the bundled simulator: "
        "offline, nothing billed.",
    )


def _script(todo: Path) -> list[dict[str, Any]]:
    return [
        {
            "thinking": "Look at the file before changing it.",
            "text": "Let me read the TODO list.",
            "tool_use": {"name": "Read", "input": {"file_path": str(todo)}},
        },
        {
            "text": "Counting open items.",
            "tool_use": {"name": "Bash", "input": {"command": "grep -c '\\[ \\]' TODO.md"}},
        },
        {
            "text": "Marking the simulator as done.",
            "tool_use": {
                "name": "Edit",
                "input": {
                    "file_path": str(todo),
                    "old_string": "- [ ] simulator",
                    "new_string": "- [x] simulator",
                },
            },
        },
        {
            "text": "TODO.md had 3 open items; the simulator is now marked done, "
            "leaving the agent loop and billing."
        },
    ]


def _show(event: Event) -> None:
    if isinstance(event, AssistantMessage):
        for block in event.message.get("content") or []:
            if block.get("type") == "text":
                print(f"  assistant: {block['text']}")
            elif block.get("type") == "tool_use":
                print(f"  tool call: {block['name']} {block['input']}")
    elif (
        isinstance(event, UserMessage) and event.origin == "tool_results" and isinstance(event.content, list)
    ):
        for block in event.content:
            text = block.get("content") if isinstance(block.get("content"), str) else "(content)"
            first = str(text).strip().splitlines()[0] if str(text).strip() else ""
            print(f"  tool result{' (error)' if block.get('is_error') else ''}: {first[:70]}")
    elif isinstance(event, PermissionDenied):
        print(f"  denied: {event.tool_name}: {event.message}")
    elif isinstance(event, ApiUsage):
        u = event.usage
        print(
            f"  [call] input={u.input_tokens} cache_write={u.cache_write_tokens} "
            f"cache_read={u.cache_read_tokens} output={u.output_tokens}"
        )


async def _run(project: Path, sim: Simulator) -> Result:
    options = AgentOptions(
        cwd=project,
        allowed_tools=["Edit", "Bash(grep:*)"],
        setting_sources=[],
        # Everything billing-related stays in the throwaway directory: the user's own config
        # cannot pin a mode here, and the demo's simulated spend never enters their ledger.
        environ={
            "ANTHROPIC_BASE_URL": sim.base_url,
            "ANTHROPIC_API_KEY": sim.api_key,
            "THRIFTY_CONFIG_DIR": str(project / ".thrifty-config"),
            "THRIFTY_KEYRING": "0",
        },
        ledger=str(project / ".thrifty-demo-ledger.sqlite3"),
        # A simulated conversation is not one the user will want to resume.
        persist_session=False,
    )
    result: Result | None = None
    async for event in run_agent(PROMPT, options):
        _show(event)
        if isinstance(event, Result):
            result = event
    assert result is not None
    return result


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="thrifty-demo-") as tmp:
        project = Path(tmp)
        todo = project / "TODO.md"
        todo.write_text("# TODO\n- [ ] simulator\n- [ ] agent loop\n- [ ] billing\n")
        with Simulator(_script(todo)) as sim:
            print(
                f"[simulated] thrifty demo: a real agent run against the bundled simulator at {sim.base_url}"
            )
            print(f"> {PROMPT}")
            result = asyncio.run(_run(project, sim))
        ledger = open_ledger(str(project / ".thrifty-demo-ledger.sqlite3"))
        recorded = len(ledger.query(RowQuery(session_id=result.session_id)))
        ledger.close()
        print("\nTODO.md now reads:\n" + "".join(f"  {line}" for line in todo.read_text().splitlines(True)))
    u = result.usage
    print(
        f"[simulated] {result.num_turns} model calls, {u['input_tokens'] + u['cache_creation_input_tokens']} "
        f"input tokens written, {u['cache_read_input_tokens']} read from cache, {u['output_tokens']} output."
    )
    print(
        f"[simulated] at published API prices this run would cost ${result.total_cost_usd:.4f}; "
        "nothing was billed: it ran against a local simulator."
    )
    print(
        f"[simulated] each call was metered into a throwaway ledger ({recorded} rows); "
        "real runs record into yours: see `thrifty status` and `thrifty usage daily`."
    )
    return result.exit_code
