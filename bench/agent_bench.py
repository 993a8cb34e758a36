"""Agent harness figures against the simulator: cold start, CPU per turn, first-request tokens.

    .venv/bin/python bench/agent_bench.py [--runs 5] [--turns 20] [--claude PATH]

Everything runs against one in-process simulator, so the model costs nothing and takes no time:
what is left is the harness. If a ``claude`` binary is found (PATH, --claude, or the npm package
in ``bench/.claude-code``), it runs the same workload against the same simulator in the same run
and the ratios are printed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
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


def measure(
    name: str, base_cmd: list[str], sim: Simulator, runs: int, turns: int, extra_env: dict[str, str]
) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix="thrifty-bench-"))
    (work / "notes.txt").write_text("bench\n")
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_"))}
    env.update(ANTHROPIC_BASE_URL=sim.base_url, ANTHROPIC_API_KEY=sim.api_key, HOME=str(work), **extra_env)
    one_turn = [*base_cmd, "-p", "hi", "--output-format", "json"]
    sim.set_script([{"text": "hello"}])
    sim.reset()
    walls, cpus = [], []
    for _ in range(runs):
        wall, cpu, code = run_once(one_turn, env, work)
        if code != 0:
            raise SystemExit(f"{name}: one-turn run failed (exit {code})")
        walls.append(wall)
        cpus.append(cpu)
    first = sim.message_requests()[0]
    u = first.usage or {}
    first_tokens = (
        u.get("input_tokens", 0)
        + u.get("cache_creation_input_tokens", 0)
        + u.get("cache_read_input_tokens", 0)
    )
    read = {"tool_use": {"name": "Read", "input": {"file_path": str(work / "notes.txt")}}}
    many = [
        *base_cmd,
        "-p",
        "loop",
        "--output-format",
        "json",
        "--allowedTools",
        "Read",
        "--max-turns",
        str(turns + 1),
    ]
    # Medians on both sides: one many-turn run against the median of the one-turn runs let the
    # start-up noise (a few hundred ms) swamp the per-turn figure, even below zero.
    many_cpus = []
    for _ in range(runs):
        sim.set_script([read] * (turns - 1) + [{"text": "done"}])
        _, cpu_many, code = run_once(many, env, work)
        if code != 0:
            raise SystemExit(f"{name}: {turns}-turn run failed (exit {code})")
        many_cpus.append(cpu_many)
    per_turn = (statistics.median(many_cpus) - statistics.median(cpus)) / (turns - 1)
    shutil.rmtree(work, ignore_errors=True)
    return {
        "name": name,
        "cold_start_wall_s_median": round(statistics.median(walls), 3),
        "cold_start_wall_s_min": round(min(walls), 3),
        "one_turn_cpu_s_median": round(statistics.median(cpus), 3),
        "cpu_ms_per_extra_turn": round(per_turn * 1000, 1),
        "first_request_input_tokens": first_tokens,
        "first_request_tools": len(first.tools),
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
    args = ap.parse_args()
    results = []
    with Simulator() as sim:
        results.append(measure("thrifty", [sys.executable, "-m", "thrifty"], sim, args.runs, args.turns, {}))
        claude = find_claude(args.claude)
        if claude:
            extra = {
                "DISABLE_TELEMETRY": "1",
                "DISABLE_AUTOUPDATER": "1",
                "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
            }
            try:
                results.append(measure("claude", [claude], sim, args.runs, args.turns, extra))
            except SystemExit as exc:
                print(f"claude comparison skipped: {exc}", file=sys.stderr)
        else:
            print("claude comparison skipped: no claude binary found", file=sys.stderr)
    for r in results:
        print(json.dumps(r))
    if len(results) == 2:
        t, c = results
        for key in ("cold_start_wall_s_median", "cpu_ms_per_extra_turn", "first_request_input_tokens"):
            if c[key]:
                print(f"ratio thrifty/claude {key}: {t[key] / c[key]:.2f}")


if __name__ == "__main__":
    main()
