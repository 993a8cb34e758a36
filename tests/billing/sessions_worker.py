"""Many concurrent in-process sessions with the ledger on, under a low descriptor limit.

The child side of ``tests/billing/test_many_sessions.py`` (and the workload of
``bench/sessions_bench.py``)::

    python -m tests.billing.sessions_worker BASE_URL API_KEY LEDGER_URL SESSIONS NOFILE WORKDIR

It lowers its own ``RLIMIT_NOFILE`` to ``NOFILE`` first (so the limit never touches pytest or
the simulator, which runs in the parent), then runs ``SESSIONS`` concurrent ``thrifty.query``
sessions of two calls each (a Read tool call, then text) and prints one JSON line: errors, the
first error, wall and CPU seconds.
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import sys
import time
from pathlib import Path
from typing import Any

import thrifty

ANSWER = "The notes say: many."
#: What the simulator answers every session: a tool call, then the text.
CALLS = 2


def script(work: Path) -> list[dict[str, Any]]:
    (work / "notes.txt").write_text("many\n")
    return [
        {"tool_use": {"name": "Read", "input": {"file_path": str(work / "notes.txt")}}},
        {"text": ANSWER},
    ]


def lower_nofile(limit: int) -> None:
    """The soft descriptor limit to ``limit`` (never above the hard one)."""
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit, hard))


async def run_sessions(base_url: str, api_key: str, ledger: str, sessions: int, work: Path) -> dict[str, Any]:
    """``sessions`` concurrent two-call sessions; how many failed, the first failure, wall, CPU."""
    env = {"ANTHROPIC_API_KEY": api_key, "ANTHROPIC_BASE_URL": base_url}
    errors: list[str] = []

    async def one(i: int) -> None:
        options = thrifty.Options(
            cwd=work, env=env, allowed_tools=["Read"], ledger=ledger, persist_session=False
        )
        result: thrifty.Result | None = None
        try:
            async for message in thrifty.query(f"session {i}: read notes.txt", options):
                if isinstance(message, thrifty.Result):
                    result = message
        except Exception as exc:  # a crash counts as an error of the run
            errors.append(f"{type(exc).__name__}: {exc}"[:300])
            return
        if result is None or result.is_error or result.result != ANSWER:
            errors.append(f"error result: {result and (result.errors or result.result)}"[:300])

    times0, t0 = os.times(), time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(sessions)))
    wall, times1 = time.perf_counter() - t0, os.times()
    cpu = (times1.user - times0.user) + (times1.system - times0.system)
    return {
        "sessions": sessions,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "wall_s": round(wall, 3),
        "cpu_s": round(cpu, 3),
    }


def main(argv: list[str]) -> None:
    base_url, api_key, ledger, sessions, nofile, work = argv
    lower_nofile(int(nofile))
    os.environ["ANTHROPIC_BASE_URL"] = base_url
    result = asyncio.run(run_sessions(base_url, api_key, ledger, int(sessions), Path(work)))
    print(json.dumps(result), flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
