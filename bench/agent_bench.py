"""Agent harness figures against the simulator: cold start, CPU per turn, first-request tokens.

    .venv/bin/python bench/agent_bench.py [--runs 5] [--turns 20] [--session-turns 210]
                                          [--claude PATH] [--no-subprocess] [--think-ms 40]

Everything runs against a simulator, so the model costs nothing and takes no time: what is left
is the harness. Two kinds of figure:

* In process (thrifty only): a ``Session`` in this process runs ``--session-turns`` requests
  (one Read of a small file each, then a text answer) against a simulator in a child process
  (once with answers at once, once with ``--think-ms`` before each, for cold caches),
  and ``time.process_time()`` is read at each assistant message. One turn's CPU is the time
  between two of them: the tool run, the transcript, the request and its budget estimate, the
  client's round trip and the metering. The simulator's CPU is not in it. Printed: the median at
  turns 1-10, at turns 190-200 (the last ten, if fewer), and their ratio, which shows whether
  per-turn work grows with the history.
* Subprocess, side by side with ``claude`` if a binary is found (PATH, --claude, or the npm
  package in ``bench/.claude-code``): cold start, and CPU per extra turn as the difference of the
  medians of one-turn and ``--turns``-turn runs (whole processes, so start-up noise is in it).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import multiprocessing
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from decimal import Decimal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from thrifty.testing import Simulator

REPO = Path(__file__).resolve().parent.parent


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_once(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float, int]:
    cpu0, t0 = child_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    return time.perf_counter() - t0, child_cpu() - cpu0, proc.returncode


@dataclass
class Side:
    """One program under test: its command, environment, scratch directory and samples."""

    name: str
    base_cmd: list[str]
    env: dict[str, str]
    work: Path
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    many_cpus: list[float] = field(default_factory=list)
    first_tokens: int = 0
    first_tools: int = 0


def make_side(name: str, base_cmd: list[str], sim: Simulator, extra_env: dict[str, str]) -> Side:
    work = Path(tempfile.mkdtemp(prefix="thrifty-bench-"))
    (work / "notes.txt").write_text("bench\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_"))}
    env.update(ANTHROPIC_BASE_URL=sim.base_url, ANTHROPIC_API_KEY=sim.api_key, HOME=str(work), **extra_env)
    return Side(name, base_cmd, env, work)


def one_turn(side: Side, sim: Simulator) -> None:
    sim.set_script([{"text": "hello"}])
    sim.reset()
    wall, cpu, code = run_once([*side.base_cmd, "-p", "hi", "--output-format", "json"], side.env, side.work)
    if code != 0:
        raise SystemExit(f"{side.name}: one-turn run failed (exit {code})")
    side.walls.append(wall)
    side.cpus.append(cpu)
    if len(side.walls) == 1:
        first = sim.message_requests()[0]
        u = first.usage or {}
        side.first_tokens = sum(
            u.get(k, 0) for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
        )
        side.first_tools = len(first.tools)


def many_turns(side: Side, sim: Simulator, turns: int) -> None:
    read = {"tool_use": {"name": "Read", "input": {"file_path": str(side.work / "notes.txt")}}}
    sim.set_script([read] * (turns - 1) + [{"text": "done"}])
    cmd = [*side.base_cmd, "-p", "loop", "--output-format", "json", "--allowedTools", "Read"]
    _, cpu, code = run_once([*cmd, "--max-turns", str(turns + 1)], side.env, side.work)
    if code != 0:
        raise SystemExit(f"{side.name}: {turns}-turn run failed (exit {code})")
    side.many_cpus.append(cpu)


def measure(sides: list[Side], sim: Simulator, runs: int, turns: int) -> list[dict[str, Any]]:
    """Alternating runs (A B A B ...), so load that comes and goes falls on both sides alike.

    Medians on both sides: one many-turn run against the median of the one-turn runs let the
    start-up noise (a few hundred ms) swamp the per-turn figure, even below zero.
    """
    for _ in range(runs):
        for side in sides:
            one_turn(side, sim)
    for _ in range(runs):
        for side in sides:
            many_turns(side, sim, turns)
    out = []
    for side in sides:
        per_turn = (statistics.median(side.many_cpus) - statistics.median(side.cpus)) / (turns - 1)
        shutil.rmtree(side.work, ignore_errors=True)
        out.append(
            {
                "name": side.name,
                "cold_start_wall_s_median": round(statistics.median(side.walls), 3),
                "cold_start_wall_s_min": round(min(side.walls), 3),
                "one_turn_cpu_s_median": round(statistics.median(side.cpus), 3),
                "cpu_ms_per_extra_turn": round(per_turn * 1000, 1),
                "first_request_input_tokens": side.first_tokens,
                "first_request_tools": side.first_tools,
            }
        )
    return out


def _serve(script: list[dict[str, Any]], conn: Connection) -> None:
    """The child process: a simulator until the parent says stop (or goes away)."""
    with Simulator(script) as sim:
        conn.send((sim.base_url, sim.api_key))
        with contextlib.suppress(EOFError):
            conn.recv()


async def _session_turns(base_url: str, api_key: str, work: Path, turns: int) -> list[float]:
    """CPU seconds of this process between consecutive assistant messages of one session."""
    from thrifty.agent.options import AgentOptions
    from thrifty.agent.session import Session
    from thrifty.core.events import AssistantMessage, Result

    env = {
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": api_key,
        "THRIFTY_KEYRING": "0",
        "THRIFTY_CONFIG_DIR": str(work / "config"),
        "THRIFTY_DATA_DIR": str(work / "data"),
        "HOME": str(work),
    }
    options = AgentOptions(
        cwd=work,
        environ=env,
        ledger=str(work / "ledger.sqlite3"),
        allowed_tools=["Read"],
        max_turns=turns + 1,
        # A cap, so the budget check (and its estimate of the next request) runs every turn.
        max_budget_usd=Decimal("1000"),
    )
    marks: list[float] = []
    result: Result | None = None
    async with Session(options) as session:
        async for event in session.turn("loop"):
            if isinstance(event, AssistantMessage):
                marks.append(time.process_time())
            elif isinstance(event, Result):
                result = event
    if result is None or result.is_error or len(marks) != turns + 1:
        raise SystemExit(f"in-process session failed: {result and result.errors}, {len(marks)} replies")
    return [b - a for a, b in itertools.pairwise(marks)]


def measure_in_process(turns: int, think_ms: float = 0.0) -> dict[str, Any]:
    """Per-turn harness CPU of a Session in this process; the simulator runs in a child.

    ``think_ms``: every answer starts that long after its request, as a model's would. The
    process then sits idle between turns, and each turn starts with caches other work has
    evicted (a real model takes seconds), so this is the figure a real session sees."""
    work = Path(tempfile.mkdtemp(prefix="thrifty-bench-"))
    (work / "notes.txt").write_text("bench\n")
    read: dict[str, Any] = {"tool_use": {"name": "Read", "input": {"file_path": str(work / "notes.txt")}}}
    done: dict[str, Any] = {"text": "done"}
    if think_ms:
        think = {"fault": {"kind": "slow", "delay": think_ms / 1000, "times": 0}}
        read, done = {**read, **think}, {**done, **think}
    script = [read] * turns + [done]
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_serve, args=(script, child), daemon=True)
    proc.start()
    try:
        base_url, api_key = parent.recv()
        cpu = asyncio.run(_session_turns(base_url, api_key, work, turns))
    finally:
        parent.send("stop")
        proc.join(10)
        shutil.rmtree(work, ignore_errors=True)
    last = min(200, len(cpu))
    early = statistics.median(cpu[:10])
    late = statistics.median(cpu[max(0, last - 10) : last])
    return {
        "name": "thrifty in process"
        + (f", answers after {think_ms:g} ms" if think_ms else ", answers at once"),
        "turns": len(cpu),
        "cpu_ms_per_turn_p50_turns_1_10": round(early * 1000, 2),
        f"cpu_ms_per_turn_p50_turns_{max(1, last - 10)}_{last}": round(late * 1000, 2),
        "cpu_ms_per_turn_p50_all": round(statistics.median(cpu) * 1000, 2),
        "late_over_early": round(late / early, 2),
    }


def find_claude(explicit: str | None) -> str | None:
    for candidate in (
        explicit,
        shutil.which("claude"),
        str(REPO / "bench/.claude-code/node_modules/.bin/claude"),
    ):
        if candidate and Path(candidate).exists():
            return candidate
    return None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--turns", type=int, default=20)
    ap.add_argument("--claude", help="path to a claude binary to compare against")
    ap.add_argument(
        "--session-turns", type=int, default=210, help="requests of the in-process session (0: skip it)"
    )
    ap.add_argument("--no-subprocess", action="store_true", help="only the in-process figures")
    ap.add_argument(
        "--think-ms",
        type=float,
        default=40.0,
        help="a second in-process session whose answers each come this late, so every turn starts "
        "cold as with a real model (0: skip it)",
    )
    args = ap.parse_args()
    # As an install leaves it: every module compiled (startup_bench does the same). A checkout
    # run with PYTHONDONTWRITEBYTECODE would otherwise compile its changed modules on each start.
    import compileall

    compileall.compile_dir(str(REPO / "src" / "thrifty"), quiet=1)
    if args.session_turns:
        print(json.dumps(measure_in_process(args.session_turns)), flush=True)
        if args.think_ms:
            print(json.dumps(measure_in_process(args.session_turns, args.think_ms)), flush=True)
    if args.no_subprocess:
        return
    with Simulator() as sim:
        sides = [make_side("thrifty", [sys.executable, "-m", "thrifty"], sim, {})]
        claude = find_claude(args.claude)
        if claude:
            extra = {
                "DISABLE_TELEMETRY": "1",
                "DISABLE_AUTOUPDATER": "1",
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            }
            sides.append(make_side("claude", [claude], sim, extra))
        else:
            print("claude comparison skipped: no claude binary found", file=sys.stderr)
        results = measure(sides, sim, args.runs, args.turns)
    for r in results:
        print(json.dumps(r))
    if len(results) == 2:
        t, c = results
        for key in ("cold_start_wall_s_median", "cpu_ms_per_extra_turn", "first_request_input_tokens"):
            if c[key]:
                print(f"ratio thrifty/claude {key}: {t[key] / c[key]:.2f}")


if __name__ == "__main__":
    main()
