"""Startup cost of thrifty's commands, next to Claude Code's and to a bare Python.

    .venv/bin/python bench/startup_bench.py [--runs 7] [--no-claude]

Each command runs in a fresh process, ``--runs`` times, the commands alternating (round-robin),
so a busy machine slows all of them alike; the median of each is printed. Wall time is measured
around the process, CPU time (user + system) from ``wait4``'s resource usage of that child.

Before timing, the package is byte-compiled, as installing it does (a checkout run under
``PYTHONDONTWRITEBYTECODE`` would compile every changed module on each start).

- ``python -I -S -c pass``: the floor, an interpreter that starts and exits.
- ``thrifty --version``, ``thrifty status``, ``thrifty usage daily``: on an empty ledger, with
  a throwaway ``HOME``, ``THRIFTY_CONFIG_DIR`` and ``THRIFTY_DATA_DIR``.
- ``thrifty -p hi``: against ``thrifty sim serve --port 0`` running in another process (started
  once, before timing), with the simulator's API key; each run gets its own data dir, so every
  run starts on an empty ledger.
- ``claude --version`` and ``claude -p hi``: the bundled Claude Code of ``claude_agent_sdk``,
  when present (``--no-claude`` skips it), against the same simulator with a throwaway ``HOME``
  and ``CLAUDE_CONFIG_DIR``.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SIM_KEY = "sk-ant-sim-api-key"


@dataclass
class Case:
    name: str
    argv: list[str]
    env: dict[str, str]
    #: Variables set to a new empty directory for each run (outside the timing).
    fresh: dict[str, str] = field(default_factory=dict)
    #: Exit codes that count as a normal run.
    ok: tuple[int, ...] = (0,)
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)


def run_measured(case: Case, scratch: Path, index: int) -> None:
    env = dict(case.env)
    for key, prefix in case.fresh.items():
        path = scratch / f"{prefix}-{case.name.replace(' ', '_')}-{index}"
        path.mkdir(parents=True)
        env[key] = str(path)
    with tempfile.TemporaryFile() as out_file:
        start = time.perf_counter()
        proc = subprocess.Popen(
            case.argv, env=env, stdin=subprocess.DEVNULL, stdout=out_file, stderr=subprocess.STDOUT
        )
        # wait4, not Popen.wait: the child's own rusage (CPU time), not all children's so far.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        proc.returncode = os.waitstatus_to_exitcode(status)
        if proc.returncode not in case.ok:
            out_file.seek(0)
            text = out_file.read().decode(errors="replace")[-3000:]
            raise SystemExit(f"{case.name}: exit {proc.returncode}\n{text}")
    case.walls.append(wall)
    case.cpus.append(usage.ru_utime + usage.ru_stime)


def start_simulator(env: dict[str, str]) -> tuple[subprocess.Popen[str], str]:
    proc = subprocess.Popen(
        [str(BIN / "thrifty"), "sim", "serve", "--port", "0"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        match = re.search(r"(http://\S+)", line)
        if match:
            return proc, match.group(1)
        if not line and proc.poll() is not None:
            break
    proc.kill()
    raise SystemExit("the simulator did not start")


def bundled_claude() -> Path | None:
    try:
        import claude_agent_sdk
    except ImportError:
        return None
    path = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
    return path.resolve() if path.exists() else None


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7, help="runs per command (median reported)")
    parser.add_argument("--no-claude", action="store_true", help="skip the bundled Claude Code")
    args = parser.parse_args()

    # As an install leaves it: every module compiled. A checkout run with PYTHONDONTWRITEBYTECODE
    # (or just edited) would otherwise compile its changed modules on every start.
    import compileall

    compileall.compile_dir(str(REPO / "src" / "thrifty"), quiet=1)

    scratch = Path(tempfile.mkdtemp(prefix="thrifty-startup-"))
    home = scratch / "home"
    config = scratch / "config"
    data = scratch / "data"
    for path in (home, config, data):
        path.mkdir()
    base_env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("ANTHROPIC_", "CLAUDE_", "THRIFTY_", "SSL_CERT_")) and key != "HOME"
    }
    base_env.update({"HOME": str(home), "THRIFTY_CONFIG_DIR": str(config), "THRIFTY_DATA_DIR": str(data)})
    base_env["TZ"] = "UTC"
    sim, url = start_simulator(base_env)
    try:
        api_env = {**base_env, "ANTHROPIC_BASE_URL": url, "ANTHROPIC_API_KEY": SIM_KEY}
        thrifty = str(BIN / "thrifty")
        cases = [
            Case("python -I -S -c pass", [sys.executable, "-I", "-S", "-c", "pass"], base_env),
            Case("thrifty --version", [thrifty, "--version"], base_env),
            # With the simulator's key (as a user with a key has), and without any (exit 1).
            Case("thrifty status", [thrifty, "status"], api_env),
            Case("thrifty status (no key)", [thrifty, "status"], base_env, ok=(1,)),
            Case("thrifty usage daily", [thrifty, "usage", "daily"], base_env),
            Case("thrifty -p hi", [thrifty, "-p", "hi"], api_env, fresh={"THRIFTY_DATA_DIR": "pdata"}),
        ]
        claude = None if args.no_claude else bundled_claude()
        if claude is not None:
            claude_env = {**api_env, "DISABLE_AUTOUPDATER": "1", "DISABLE_TELEMETRY": "1"}
            claude_env["CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC"] = "1"
            cases += [
                Case("claude --version", [str(claude), "--version"], claude_env),
                Case(
                    "claude -p hi",
                    [str(claude), "-p", "hi"],
                    claude_env,
                    fresh={"HOME": "chome", "CLAUDE_CONFIG_DIR": "cconfig"},
                ),
            ]
        # One untimed round first: page cache, .pyc files, the simulator's first connection.
        for case in cases:
            run_measured(case, scratch / "warmup", 0)
            case.walls.clear()
            case.cpus.clear()
        for index in range(args.runs):
            for case in cases:
                run_measured(case, scratch, index)
    finally:
        sim.terminate()
        sim.wait(timeout=10)
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, median of {args.runs} alternating runs")
    print(f"{'command':<24} {'wall s':>8} {'cpu s':>8}")
    medians: dict[str, tuple[float, float]] = {}
    for case in cases:
        wall, cpu = statistics.median(case.walls), statistics.median(case.cpus)
        medians[case.name] = (wall, cpu)
        print(f"{case.name:<24} {wall:>8.3f} {cpu:>8.3f}")
    pairs = [("thrifty --version", "claude --version"), ("thrifty -p hi", "claude -p hi")]
    for ours, theirs in pairs:
        if ours in medians and theirs in medians:
            (ow, oc), (tw, tc) = medians[ours], medians[theirs]
            print(f"{ours} / {theirs}: wall {ow / tw:.2f}x, cpu {oc / tc:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
