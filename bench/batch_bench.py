"""1,000 single-turn prompts through a Message Batch and live, against the simulator: cost and time.

    .venv/bin/python bench/batch_bench.py [--prompts 1000] [--concurrency 32]

The simulator runs in its own process (``thrifty sim serve``). Both paths send the same requests
and write one SQLite ledger (temp dir):

- ``batch``: ``thrifty.submit_batch`` then ``thrifty.batch_results(wait=True)``, which records a
  ``batch`` row per result at the batch price;
- ``live``: the official SDK's ``messages.create`` for each prompt, at most ``--concurrency`` at a
  time, each metered by thrifty's ``Meter`` as a live (``api``) row.

Printed: wall time of each path, and the cost ratio batch / live read back from the ledger (the
acceptance figure: exactly 0.5000, since the simulator's usage is the same for the same request).
The simulator ends a batch at once, so the batch time is the harness (create, poll, results,
ledger writes), not the up-to-24-hours a real batch may take.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import anthropic

import thrifty
from thrifty.batch.input import api_requests, build_items
from thrifty.billing.ledger import RowQuery, shared_ledger
from thrifty.billing.meter import Meter, MeterContext
from thrifty.core.events import ApiUsage
from thrifty.core.usage import Usage
from thrifty.testing import DEFAULT_API_KEY

MODEL = "claude-sonnet-5-5"


def prompts(n: int) -> list[dict[str, Any]]:
    return [
        {"id": f"p{i:04d}", "prompt": f"Prompt {i}: summarise item {i} " + "in a few words " * (i % 5)}
        for i in range(n)
    ]


def serve(work: Path) -> tuple[subprocess.Popen[str], str]:
    cmd = [sys.executable, "-m", "thrifty", "sim", "serve", "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, cwd=work)
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    return proc, line.split()[-1]


async def run_batch(items: list[dict[str, Any]], base_url: str, work: Path, env: dict[str, str]) -> float:
    client = anthropic.AsyncAnthropic(base_url=base_url, api_key=DEFAULT_API_KEY)
    started = time.perf_counter()
    done = await thrifty.submit_batch(items, model=MODEL, client=client, cwd=work, env=env)
    assert done.batch_id is not None
    results = await thrifty.batch_results(
        done.batch_id, wait=True, poll_interval=0.2, client=client, cwd=work, env=env
    )
    elapsed = time.perf_counter() - started
    failed = [line for line in results.lines if line["status"] != "succeeded"]
    assert not failed and results.recorded == len(items), (len(failed), results.recorded)
    return elapsed


async def run_live(items: list[dict[str, Any]], base_url: str, ledger_path: Path, concurrency: int) -> float:
    client = anthropic.AsyncAnthropic(base_url=base_url, api_key=DEFAULT_API_KEY, max_retries=2)
    ledger = shared_ledger(str(ledger_path))
    meter = Meter(MeterContext("bench-live", "api", "bench", "bench"), ledger)
    gate = asyncio.Semaphore(concurrency)
    requests = api_requests(build_items([(r["id"], r) for r in items], default_model=MODEL))

    async def one(params: dict[str, Any]) -> None:
        async with gate:
            raw = await client.messages.with_raw_response.create(**params)
            message = await raw.parse()
            usage = Usage.from_api(message.usage.to_dict())
            event = ApiUsage("bench-live", raw.request_id, message.id, message.model, usage, 0, True, 0)
            await meter.record_async(event)

    started = time.perf_counter()
    await asyncio.gather(*(one(r["params"]) for r in requests))
    elapsed = time.perf_counter() - started
    ledger.close()
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="thrifty-batch-bench-") as tmp:
        work = Path(tmp)
        env = {
            **{k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "THRIFTY_"))},
            "THRIFTY_DATA_DIR": str(work / "data"),
            "THRIFTY_CONFIG_DIR": str(work / "config"),
            "THRIFTY_KEYRING": "0",
        }
        ledger_path = work / "data" / "ledger.sqlite3"
        proc, base_url = serve(work)
        try:
            items = prompts(args.prompts)
            batch_s = asyncio.run(run_batch(items, base_url, work, env))
            live_s = asyncio.run(run_live(items, base_url, ledger_path, args.concurrency))
        finally:
            proc.terminate()
            proc.wait()
        ledger = shared_ledger(str(ledger_path))
        batch_rows = ledger.query(RowQuery(mode="batch"))
        live_rows = ledger.query(RowQuery(mode="api"))
        ledger.close()
    batch_cost = sum((r.cost_usd or Decimal(0) for r in batch_rows), Decimal(0))
    live_cost = sum((r.cost_usd or Decimal(0) for r in live_rows), Decimal(0))
    n = args.prompts
    print(f"prompts: {n} single-turn, model {MODEL}, simulator in its own process")
    print(f"batch: {len(batch_rows)} ledger rows, ${batch_cost:f}, wall {batch_s:.2f}s ({n / batch_s:.0f}/s)")
    print(
        f"live:  {len(live_rows)} ledger rows, ${live_cost:f}, wall {live_s:.2f}s ({n / live_s:.0f}/s, "
        f"concurrency {args.concurrency})"
    )
    ratio = batch_cost / live_cost
    print(f"cost ratio batch/live: {ratio:.4f} (exact: {ratio})")
    if len(batch_rows) != n or len(live_rows) != n or ratio != Decimal("0.5"):
        sys.exit("FAIL: expected one row per prompt on each path and a ratio of exactly 0.5")


if __name__ == "__main__":
    main()
