"""``thrifty sessions``: the stored conversations ``--resume`` can pick up, newest first.

Reads transcripts only (no ledger, no client), so it is instant and works offline.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from thrifty.agent.transcripts import SessionInfo, list_sessions
from thrifty.cli.errors import EXIT_OK


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "sessions",
        help="list the sessions --resume can continue",
        description="List stored sessions, newest first: id, last activity, messages and the first "
        "prompt. Only this directory's sessions unless --all. Continue one with "
        "`thrifty -p PROMPT --resume ID`, or the newest here with `--continue`.",
    )
    p.add_argument("--all", action="store_true", help="sessions of every directory, not just this one")
    p.add_argument("--limit", type=int, default=20, help="show at most N sessions (default 20; 0: all)")
    p.add_argument("-j", "--json", action="store_true", help="print a JSON array instead of text")


def _as_json(info: SessionInfo) -> dict[str, Any]:
    return {
        "session_id": info.session_id,
        "cwd": info.cwd,
        "modified": info.modified.isoformat(),
        "message_count": info.message_count,
        "first_prompt": info.first_prompt,
        "path": str(info.path),
    }


def run(args: argparse.Namespace) -> int:
    found = list_sessions(None if args.all else Path.cwd().resolve())
    shown = found[: args.limit] if args.limit > 0 else found
    if args.json:
        print(json.dumps([_as_json(i) for i in shown], indent=2))
        return EXIT_OK
    if not shown:
        where = "anywhere" if args.all else "for this directory (try --all)"
        print(f"No stored sessions {where}.")
        return EXIT_OK
    for info in shown:
        when = info.modified.astimezone().strftime("%Y-%m-%d %H:%M")
        prompt = (info.first_prompt or "").replace("\n", " ")
        prompt = prompt if len(prompt) <= 60 else prompt[:59] + "…"
        place = f"  {info.cwd}" if args.all and info.cwd else ""
        print(f"{info.session_id}  {when}  {info.message_count:>4} msgs  {prompt}{place}")
    if len(found) > len(shown):
        print(f"... {len(found) - len(shown)} more (--limit 0 shows all)")
    return EXIT_OK
