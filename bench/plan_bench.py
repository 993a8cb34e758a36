"""What a plan run through thrifty costs on top of the ``claude`` it drives.

    .venv/bin/python bench/plan_bench.py [--runs 7] [--claude PATH]

A plan run is ``claude -p`` underneath (thrifty never sends a plan token), so the peer is the same
``claude`` run directly, on the same simulator, in the same run, alternating: thrifty's overhead is
its own start, the ``claude auth status`` check, reading the frames and metering each call into the
ledger. Two workloads: one turn (``hi``), and a turn of three calls (two Bash tool uses). The
``claude`` defaults to the one bundled with claude-agent-sdk.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from thrifty.testing import DEFAULT_PLAN_TOKEN, Simulator

LOOP = {"tool_use": {"name": "Bash", "input": {"command": "echo hi"}}}


def bundled_claude() -> str | None:
    try:
        import claude_agent_sdk
    except ImportError:
        return None
    path = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    return str(path) if path.exists() else None


def child_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def once(cmd: list[str], env: dict[str, str], cwd: Path) -> tuple[float, float]:
    cpu0, t0 = child_cpu(), time.perf_counter()
    proc = subprocess.run(cmd, env=env, cwd=cwd, capture_output=True, text=True, timeout=300)
    if proc.returncode != 0:
        raise SystemExit(f"{cmd[0]} failed ({proc.returncode}): {proc.stderr[-500:]}")
    return time.perf_counter() - t0, child_cpu() - cpu0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--claude", default=bundled_claude())
    args = parser.parse_args()
    if not args.claude:
        raise SystemExit("no claude binary: install claude-agent-sdk or pass --claude")
    version = subprocess.run([args.claude, "--version"], capture_output=True, text=True).stdout.strip()
    work = Path(tempfile.mkdtemp(prefix="thrifty-plan-bench-"))
    thrifty = [sys.executable, "-m", "thrifty", "--billing-mode", "plan"]
    workloads: dict[str, tuple[list[dict[str, Any]], list[str]]] = {
        "one turn": ([{"text": "hello"}], []),
        "3 calls, 2 tools": ([LOOP, LOOP, {"text": "done"}], ["--allowedTools", "Bash"]),
    }
    print(f"machine: {os.cpu_count()} cores; claude {version}; {args.runs} alternating pairs, medians")
    print(
        "| workload | claude wall | thrifty plan wall | claude CPU | thrifty plan CPU (incl. claude) "
        "| overhead wall / CPU |"
    )
    print("| --- | --- | --- | --- | --- | --- |")
    with Simulator() as sim:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_", "THRIFTY_"))}
        env |= {
            "ANTHROPIC_BASE_URL": sim.base_url,
            "CLAUDE_CODE_OAUTH_TOKEN": DEFAULT_PLAN_TOKEN,
            "HOME": str(work),
            "CLAUDE_CONFIG_DIR": str(work / ".claude"),
            "THRIFTY_CONFIG_DIR": str(work / "thrifty-config"),
            "THRIFTY_DATA_DIR": str(work / "thrifty-data"),
            "THRIFTY_CLAUDE_PATH": args.claude,
        }
        for name, (script, flags) in workloads.items():
            times: dict[str, list[tuple[float, float]]] = {"claude": [], "thrifty": []}
            for _ in range(args.runs):
                for who, base in (("claude", [args.claude]), ("thrifty", thrifty)):
                    sim.set_script(script)
                    times[who].append(once([*base, "-p", "hi", "--output-format", "json", *flags], env, work))
            c_wall = statistics.median(t[0] for t in times["claude"])
            c_cpu = statistics.median(t[1] for t in times["claude"])
            t_wall = statistics.median(t[0] for t in times["thrifty"])
            t_cpu = statistics.median(t[1] for t in times["thrifty"])
            print(
                f"| {name} | {c_wall:.2f} s | {t_wall:.2f} s | {c_cpu:.2f} s | {t_cpu:.2f} s | "
                f"+{t_wall - c_wall:.2f} s / +{t_cpu - c_cpu:.2f} s |"
            )


if __name__ == "__main__":
    main()
