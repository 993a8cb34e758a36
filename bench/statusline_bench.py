"""How long ``thrifty statusline`` takes as Claude Code runs it, next to ccusage's statusline.

    .venv/bin/python bench/statusline_bench.py [--runs 7] [--size-mb 100] [--ccusage 20.0.24]

Claude Code starts the status line command after each message, so what counts is a cold process:
each command below runs in a fresh process with the status line JSON on stdin, ``--runs`` times,
the commands alternating (round-robin) so a busy machine slows all of them alike; the median and
the spread of each are printed.

- ``python -I -S -c pass``: the floor, an interpreter that starts and exits;
- ``thrifty --version``: thrifty's own floor (it imports almost nothing);
- ``thrifty statusline``: on a ledger holding the Claude Code history's calls, imported once
  before timing (``thrifty import``; its time is printed, not part of the figure), and on a
  synthetic ledger of ``--rows`` plan calls spread evenly over the last 30 days ending now (no
  5-hour gap anywhere, so the active block is placed from the whole history), with ``--plan
  max-5x`` and no ``rate_limits`` in the JSON, so the weekly window is rebuilt from the ledger:
  the slowest path;
- ``ccusage statusline --no-cache``: the same JSON and the same history files, read afresh (its
  default caches its output for ``--refresh-interval`` seconds between runs; that one is timed
  too, as ``ccusage statusline (cached)``). Skipped with ``--no-ccusage`` or when it cannot run.

The history is ``bench/usage_bench.py``'s (``tests/usage/cc_history.py``, seed 7, cached under
``bench/.cache``); ``--size-mb 100`` is about 11,000 calls. Before timing, the package is
byte-compiled, as installing it does.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))
sys.path.insert(0, str(REPO))

import usage_bench  # noqa: E402 - bench/ must be on the path first
from thrifty.billing.ledger import LedgerRow, open_ledger  # noqa: E402


@dataclass
class Case:
    name: str
    argv: list[str]
    env: dict[str, str]
    stdin: bytes
    walls: list[float] = field(default_factory=list)
    cpus: list[float] = field(default_factory=list)
    line: str = ""


def measure(case: Case) -> None:
    with tempfile.TemporaryFile() as stdin, tempfile.TemporaryFile() as out:
        stdin.write(case.stdin)
        stdin.seek(0)
        start = time.perf_counter()
        proc = subprocess.Popen(case.argv, env=case.env, stdin=stdin, stdout=out, stderr=subprocess.STDOUT)
        # wait4, not Popen.wait: the child's own CPU time, which a busy machine inflates less.
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        out.seek(0)
        text = out.read().decode(errors="replace")
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        raise SystemExit(f"{case.name}: exit {code}\n{text[-2000:]}")
    case.walls.append(wall)
    case.cpus.append(usage.ru_utime + usage.ru_stime)
    case.line = text.strip().splitlines()[-1] if text.strip() else ""


def synthetic_rows(count: int, now: datetime) -> list[LedgerRow]:
    """``count`` plan calls spread evenly over the 30 days before ``now``, the last minutes ago."""
    step = timedelta(days=30) / count
    return [
        LedgerRow(
            request_id=f"req_bench_{i}",
            session_id=f"bench-session-{i // 200}",
            mode="plan",
            account="claude-code",
            model="claude-sonnet-4-5",
            input_tokens=2_000,
            output_tokens=400,
            cache_write_5m_tokens=1_000,
            cache_write_1h_tokens=0,
            cache_read_tokens=20_000,
            cost_usd=Decimal("0.0195"),
            price_version="bench",
            project="/work/app",
            recorded_at=now - step * (count - i),
            source="claude-code",
        )
        for i in range(count)
    ]


def latest_session(config_dir: Path) -> str:
    files = sorted((config_dir / "projects").rglob("*.jsonl"), key=lambda p: p.stat().st_mtime)
    main_files = [p for p in files if "subagents" not in p.parts]
    return main_files[-1].stem if main_files else "no-session"


def status_json(session: str, cwd: str) -> bytes:
    doc = {
        "session_id": session,
        "transcript_path": "",
        "cwd": cwd,
        "model": {"id": "claude-sonnet-4-5", "display_name": "Sonnet 4.5"},
        "workspace": {"current_dir": cwd, "project_dir": cwd},
        "version": "2.1.90",
        "cost": {"total_cost_usd": 1.23, "total_duration_ms": 60000},
        "exceeds_200k_tokens": False,
    }
    return json.dumps(doc).encode()


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=7, help="runs per command (median reported; at least 5)")
    parser.add_argument("--size-mb", type=float, default=100, help="size of the Claude Code history")
    parser.add_argument("--rows", type=int, default=10_000, help="rows in the synthetic ledger")
    parser.add_argument("--ccusage", default="20.0.24", help="ccusage version to compare with")
    parser.add_argument("--no-ccusage", action="store_true", help="do not run ccusage")
    args = parser.parse_args()
    runs = max(5, args.runs)

    import compileall

    compileall.compile_dir(str(REPO / "src" / "thrifty"), quiet=1)
    py = sys.executable
    config_dir, truth = usage_bench.history(args.size_mb, 7, False, "counting")
    with tempfile.TemporaryDirectory(prefix="statusline-bench-") as tmp_text:
        tmp = Path(tmp_text)
        base = {
            k: v for k, v in os.environ.items() if not k.startswith(("THRIFTY_", "ANTHROPIC_", "CLAUDE_"))
        }
        base.pop("PYTHONDONTWRITEBYTECODE", None)
        env = base | {
            "HOME": str(tmp / "home"),
            "THRIFTY_CONFIG_DIR": str(tmp / "config"),
            "THRIFTY_DATA_DIR": str(tmp / "data"),
            "CLAUDE_CONFIG_DIR": str(config_dir),
            "THRIFTY_KEYRING": "0",
        }
        (tmp / "home").mkdir()
        began = time.perf_counter()
        subprocess.run(
            [py, "-m", "thrifty", "import", "--no-progress"], env=env, check=True, stdout=subprocess.DEVNULL
        )
        print(f"thrifty import of {truth['calls']:,} calls ({truth['bytes'] / 1e6:.0f} MB): "
              f"{time.perf_counter() - began:.1f} s (once, not timed below)")  # fmt: skip
        synthetic = tmp / "synthetic.sqlite3"
        ledger = open_ledger(str(synthetic))
        try:
            ledger.append_many(synthetic_rows(args.rows, datetime.now(UTC)))
        finally:
            ledger.close()

        payload = status_json(latest_session(config_dir), str(REPO))
        thrifty = [py, "-m", "thrifty"]
        cases = [
            Case("python -I -S -c pass", [py, "-I", "-S", "-c", "pass"], env, b""),
            Case("thrifty --version", [*thrifty, "--version"], env, b""),
            Case("thrifty statusline (imported history)", [*thrifty, "statusline"], env, payload),
            Case(
                f"thrifty statusline ({args.rows:,} rows, plan, weekly from ledger)",
                [*thrifty, "statusline", "--plan", "max-5x", "--ledger", str(synthetic)],
                env,
                status_json("bench-session-49", str(REPO)),
            ),
        ]
        if not args.no_ccusage:
            try:
                cc = usage_bench.ccusage(args.ccusage)
            except (SystemExit, subprocess.CalledProcessError, OSError) as exc:
                print(f"ccusage {args.ccusage} cannot run here ({exc}); compared with the floors only")
            else:
                cc_env = env | {"CCUSAGE_CACHE_DIR": str(tmp / "cc-cache")}
                statusline = [*cc, "statusline", "--offline"]
                cases.append(
                    Case(
                        f"ccusage {args.ccusage} statusline --no-cache",
                        [*statusline, "--no-cache"],
                        cc_env,
                        payload,
                    )
                )
                cached = f"ccusage {args.ccusage} statusline (cached)"
                cases.append(Case(cached, statusline, cc_env, payload))
        for case in cases:  # one untimed run each: npm/OS caches warm, and the line to show
            measure(case)
            case.walls.clear()
            case.cpus.clear()
        for _ in range(runs):
            for case in cases:
                measure(case)

    width = max(len(c.name) for c in cases)
    print(f"\nmedian of {runs} cold runs, alternating; {os.cpu_count()} CPUs; {datetime.now(UTC):%Y-%m-%d}")
    print(f"{'command':<{width}}  wall median (min-max)   CPU median")
    for case in cases:
        walls, cpu = case.walls, statistics.median(case.cpus) * 1000
        print(f"{case.name:<{width}}  {statistics.median(walls) * 1000:5.0f} ms ({min(walls) * 1000:4.0f}-"
              f"{max(walls) * 1000:4.0f})   {cpu:5.0f} ms")  # fmt: skip
    print("\nlines printed:")
    for case in cases[2:]:
        print(f"  {case.name}: {case.line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
