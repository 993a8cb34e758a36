"""In-process SDK throughput: many concurrent ``thrifty.query`` sessions against the simulator.

    .venv/bin/python bench/sdk_bench.py [--sessions 200] [--peer-sessions 20] [--no-peer]
                                        [--sim process|thread]

Each session is two model turns: a Read tool call, then a text answer. The simulator answers at
once, so what is measured is the harness: session setup, the loop, tool calls, metering. By
default the simulator runs in its own process (``thrifty sim serve``), so its CPU and its threads
do not compete with the sessions for this process's GIL; ``--sim thread`` runs it in-process.

Variants, all in the same run against one simulator:

- ``thrifty-sdk+ledger``: ``thrifty.query`` with every call written to a SQLite ledger (temp dir);
- ``thrifty-sdk``: the same with ``record_usage=False``;
- ``thrifty-sdk+shared-client``: ledger on, one ``anthropic.AsyncAnthropic`` for all sessions;
- ``claude-agent-sdk->thrifty-cli`` (the peer): the same workload through the official
  ``claude_agent_sdk`` driving the ``thrifty`` CLI as a subprocess (``cli_path``), fewer
  sessions since each one is a process. Skipped with a message if it cannot be imported.

Printed per variant: errors (goal 0), sessions/s, p50/p95 session latency, and the CPU seconds
of this process and its children (the peer's CLI processes; not an out-of-process simulator).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anthropic

import thrifty
from thrifty.testing import DEFAULT_API_KEY, Simulator

ANSWER = "The notes say: bench."


@dataclass
class Endpoint:
    base_url: str
    api_key: str
    pid: int | None = None

    def cpu_s(self) -> float | None:
        """CPU seconds of an out-of-process simulator so far (Linux), to see who is the bottleneck."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def async_client(self) -> anthropic.AsyncAnthropic:
        return anthropic.AsyncAnthropic(base_url=self.base_url, api_key=self.api_key)


@contextlib.contextmanager
def serve(script: list[dict[str, Any]], mode: str, work: Path) -> Iterator[Endpoint]:
    if mode == "thread":
        with Simulator(script) as sim:
            yield Endpoint(sim.base_url, sim.api_key)
        return
    path = work / "script.json"
    path.write_text(json.dumps(script))
    cmd = [sys.executable, "-m", "thrifty", "sim", "serve", "--port", "0", "--script", str(path)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().strip()
        url = line.split()[-1] if line else ""
        if not url.startswith("http"):
            raise SystemExit(f"the simulator did not start (printed {line!r})")
        yield Endpoint(url, DEFAULT_API_KEY, proc.pid)
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    if not ordered:
        return 0.0
    index = min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))
    return ordered[index]


def cpu_seconds() -> float:
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


async def measure(
    name: str, sessions: int, one: Callable[[int], Awaitable[bool]], sim: Endpoint
) -> dict[str, Any]:
    latencies: list[float] = []
    errors: list[str] = []

    async def timed(i: int) -> None:
        t0 = time.perf_counter()
        try:
            ok = await one(i)
        except Exception as exc:  # a crash is an error of the variant, not of the bench
            errors.append(f"{type(exc).__name__}: {exc}"[:200])
            return
        latencies.append(time.perf_counter() - t0)
        if not ok:
            errors.append("wrong or error result")

    cpu0, sim0, t0 = cpu_seconds(), sim.cpu_s(), time.perf_counter()
    await asyncio.gather(*(timed(i) for i in range(sessions)))
    wall, cpu, sim1 = time.perf_counter() - t0, cpu_seconds() - cpu0, sim.cpu_s()
    return {
        "name": name,
        "sessions": sessions,
        "errors": len(errors),
        "first_error": errors[0] if errors else None,
        "wall_s": round(wall, 3),
        "sessions_per_s": round(sessions / wall, 1),
        "p50_ms": round(percentile(latencies, 0.50) * 1000, 1),
        "p95_ms": round(percentile(latencies, 0.95) * 1000, 1),
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_session": round(cpu / sessions * 1000, 1),
        "sim_cpu_s": round(sim1 - sim0, 2) if sim0 is not None and sim1 is not None else None,
    }


def thrifty_variant(
    sim: Endpoint, work: Path, *, ledger: Path | None, client: Any = None
) -> Callable[[int], Awaitable[bool]]:
    env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url}

    async def one(i: int) -> bool:
        options = thrifty.Options(
            cwd=work,
            env=env,
            allowed_tools=["Read"],
            ledger=str(ledger) if ledger else None,
            record_usage=ledger is not None,
            persist_session=False,
            client=client,
        )
        result: thrifty.Result | None = None
        async for message in thrifty.query(f"session {i}: read notes.txt", options):
            if isinstance(message, thrifty.Result):
                result = message
        return result is not None and not result.is_error and result.result == ANSWER

    return one


def peer_variant(sim: Endpoint, work: Path) -> Callable[[int], Awaitable[bool]] | str:
    try:
        import claude_agent_sdk as official
    except ImportError as exc:
        return f"claude_agent_sdk is not importable ({exc})"
    wrapper = work / "thrifty-cli"
    wrapper.write_text(f'#!/bin/sh\nexec {sys.executable} -m thrifty "$@"\n')
    wrapper.chmod(0o755)
    env = {
        "ANTHROPIC_API_KEY": sim.api_key,
        "ANTHROPIC_BASE_URL": sim.base_url,
        "THRIFTY_LEDGER": str(work / "peer-ledger.sqlite3"),
    }

    async def one(i: int) -> bool:
        options = official.ClaudeAgentOptions(
            cli_path=str(wrapper), cwd=str(work), env=env, allowed_tools=["Read"]
        )
        result = None
        async for message in official.query(prompt=f"session {i}: read notes.txt", options=options):
            if isinstance(message, official.ResultMessage):
                result = message
        return result is not None and not result.is_error and result.result == ANSWER

    return one


async def main_async(args: argparse.Namespace) -> list[dict[str, Any]]:
    work = Path(tempfile.mkdtemp(prefix="thrifty-sdk-bench-"))
    os.environ["THRIFTY_DATA_DIR"] = str(work / "data")  # never the user's ledger or config
    os.environ["THRIFTY_CONFIG_DIR"] = str(work / "config")
    os.environ["THRIFTY_KEYRING"] = "0"
    (work / "notes.txt").write_text("bench\n")
    script: list[dict[str, Any]] = [
        {"tool_use": {"name": "Read", "input": {"file_path": str(work / "notes.txt")}}},
        {"text": ANSWER},
    ]
    results: list[dict[str, Any]] = []
    try:
        with serve(script, args.sim, work) as sim:
            await measure("warm-up", 5, thrifty_variant(sim, work, ledger=None), sim)
            ledger = work / "ledger.sqlite3"
            results.append(
                await measure(
                    "thrifty-sdk+ledger", args.sessions, thrifty_variant(sim, work, ledger=ledger), sim
                )
            )
            rows = _ledger_rows(ledger)
            results[-1]["ledger_rows"] = rows
            results.append(
                await measure("thrifty-sdk", args.sessions, thrifty_variant(sim, work, ledger=None), sim)
            )
            shared = sim.async_client()
            try:
                one = thrifty_variant(sim, work, ledger=work / "shared.sqlite3", client=shared)
                results.append(await measure("thrifty-sdk+shared-client", args.sessions, one, sim))
            finally:
                await shared.close()
            if args.no_peer:
                print("peer skipped: --no-peer", file=sys.stderr)
            else:
                peer = peer_variant(sim, work)
                if isinstance(peer, str):
                    print(f"peer skipped: {peer}", file=sys.stderr)
                else:
                    results.append(
                        await measure("claude-agent-sdk->thrifty-cli", args.peer_sessions, peer, sim)
                    )
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return results


def _ledger_rows(path: Path) -> int:
    from thrifty.billing.ledger import RowQuery, open_ledger

    ledger = open_ledger(str(path))
    try:
        return len(ledger.query(RowQuery()))
    finally:
        ledger.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--sessions", type=int, default=200, help="concurrent in-process sessions")
    ap.add_argument("--peer-sessions", type=int, default=20, help="concurrent sessions of the peer")
    ap.add_argument("--no-peer", action="store_true", help="skip the claude_agent_sdk comparison")
    ap.add_argument(
        "--sim", choices=["process", "thread"], default="process", help="where the simulator runs"
    )
    args = ap.parse_args()
    results = asyncio.run(main_async(args))
    for r in results:
        print(json.dumps(r))
    by_name = {r["name"]: r for r in results}
    ours, peer = by_name.get("thrifty-sdk+ledger"), by_name.get("claude-agent-sdk->thrifty-cli")
    if ours and peer and peer["sessions_per_s"]:
        ratio = ours["sessions_per_s"] / peer["sessions_per_s"]
        print(f"ratio sessions/s thrifty-sdk+ledger / peer: {ratio:.1f}")
        if ours["cpu_ms_per_session"]:
            cpu = peer["cpu_ms_per_session"] / ours["cpu_ms_per_session"]
            print(f"ratio CPU per session peer / thrifty-sdk+ledger: {cpu:.1f}")
    if any(r["errors"] for r in results):
        raise SystemExit("errors: see the 'errors' figures above")


if __name__ == "__main__":
    main()
