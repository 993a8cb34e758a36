"""``thrifty demo``: an offline run against the bundled simulator. No key, no network, no bill."""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path
from typing import Any

from thrifty.testing import Simulator

DEMO_MODEL = "claude-sonnet-5-5"
SYSTEM = "You are thrifty's demo agent. " + "Keep answers short and show your work. " * 120


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    sub.add_parser(
        "demo",
        help="run a short simulated session offline (no key needed)",
        description="Start the bundled simulator and run a short scripted session against it, offline.",
    )


def _script(path: Path) -> list[dict[str, Any]]:
    return [
        {
            "thinking": "The user wants the notes summarised; read the file first.",
            "text": "Let me read the notes.",
            "tool_use": {"name": "Read", "input": {"file_path": str(path)}},
        },
        {"text": "The notes list two tasks: ship the simulator, then the agent loop."},
    ]


def run(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="thrifty-demo-") as tmp:
        notes = Path(tmp) / "notes.txt"
        notes.write_text("1. ship the simulator\n2. then the agent loop\n")
        with Simulator(_script(notes)) as sim:
            print(f"[simulated] thrifty demo against the bundled simulator at {sim.base_url}")
            client = sim.client()
            system: list[Any] = [{"type": "text", "text": SYSTEM, "cache_control": {"type": "ephemeral"}}]
            messages: list[Any] = [{"role": "user", "content": "Summarise notes.txt for me."}]
            print(f"> {messages[0]['content']}")
            for _ in range(2):
                reply = client.messages.create(
                    model=DEMO_MODEL, max_tokens=1024, system=system, messages=messages
                )
                u = reply.usage
                for block in reply.content:
                    if block.type == "text":
                        print(f"  assistant: {block.text}")
                    elif block.type == "tool_use":
                        print(f"  tool call: {block.name}({block.input})")
                print(
                    f"  usage: input={u.input_tokens} cache_write={u.cache_creation_input_tokens} "
                    f"cache_read={u.cache_read_input_tokens} output={u.output_tokens}"
                )
                if reply.stop_reason != "tool_use":
                    break
                call = next(b for b in reply.content if b.type == "tool_use")
                messages.append({"role": "assistant", "content": [b.model_dump() for b in reply.content]})
                messages.append(
                    {
                        "role": "user",
                        "content": [
                            {"type": "tool_result", "tool_use_id": call.id, "content": notes.read_text()}
                        ],
                    }
                )
            print("[simulated] nothing was billed: this ran against a local simulator.")
    return 0
