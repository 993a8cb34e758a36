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

``--agents`` adds the same prompts as one-turn agent jobs of a fleet (``thrifty.fleet.run_fleet``,
every job a full session with the default tools and system prompt), ``via="batch"`` and then
live, each at ``--agent-concurrency`` sessions at once: the batches sent, the ledger's rows and
cost, and each batch row's cost over the live price of its own usage (exactly 0.5). The two
fleets' costs differ by what each read from the prompt cache, so they are not compared.
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
    await client.close()
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
    await client.close()
    ledger.close()
    return elapsed


async def run_agents(
    items: list[dict[str, Any]], via: str, base_url: str, work: Path, env: dict[str, str], concurrency: int
) -> tuple[float, Any]:
    from thrifty.batch.fleet_pool import ViaBatch
    from thrifty.batch.pool import PoolPolicy
    from thrifty.fleet import run_fleet

    jobs = [{"id": item["id"], "prompt": item["prompt"]} for item in items]
    creds = {"ANTHROPIC_API_KEY": DEFAULT_API_KEY, "ANTHROPIC_BASE_URL": base_url}
    options = thrifty.Options(
        cwd=work, env={**env, **creds}, model=MODEL, ledger=str(work / "data" / "ledger.sqlite3")
    )
    how: Any = ViaBatch(PoolPolicy(poll_s=0.05, max_poll_s=0.2)) if via == "batch" else "live"
    started = time.perf_counter()
    summary = await run_fleet(
        jobs, options=options, concurrency=concurrency, via=how, fleet_id=f"bench-{via}"
    )
    elapsed = time.perf_counter() - started
    assert summary.count("succeeded") == len(items), summary.to_json()
    return elapsed, summary


def report_agents(n: int, ledger_path: Path, timed: dict[str, tuple[float, Any]], concurrency: int) -> bool:
    from thrifty.billing.prices import bundled_prices

    prices = bundled_prices()
    ledger = shared_ledger(str(ledger_path))
    rows = {
        via: [r for r in ledger.query(RowQuery()) if r.tags.get("fleet") == f"bench-{via}"] for via in timed
    }
    ledger.close()
    live_of_batch = sum((prices.cost(r.model, r.usage) or Decimal(0) for r in rows["batch"]), Decimal(0))
    ok = True
    for via, (elapsed, summary) in timed.items():
        cost = summary.total_cost_usd
        batches = len({r.request_id.split(":")[1] for r in rows[via] if r.request_id.startswith("batch:")})
        print(
            f"agents {via}: {len(rows[via])} ledger rows ({', '.join(sorted({r.mode for r in rows[via]}))}), "
            f"${cost:f}, wall {elapsed:.2f}s ({n / elapsed:.0f} jobs/s, {concurrency} sessions at once)"
            + (f", {batches} batch(es)" if via == "batch" else "")
        )
        ok = ok and len(rows[via]) == n
    ratio = timed["batch"][1].total_cost_usd / live_of_batch
    print(f"agents batch cost / live price of the same usage: {ratio:.4f} (exact: {ratio})")
    return ok and ratio == Decimal("0.5")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--prompts", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=32)
    parser.add_argument("--agents", action="store_true", help="also run the prompts as fleet jobs")
    parser.add_argument("--agent-concurrency", type=int, default=1000)
    args = parser.parse_args()
    agents: dict[str, tuple[float, Any]] = {}
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
            if args.agents:
                for via in ("batch", "live"):
                    agents[via] = asyncio.run(
                        run_agents(items, via, base_url, work, env, args.agent_concurrency)
                    )
        finally:
            proc.terminate()
            proc.wait()
        ledger = shared_ledger(str(ledger_path))
        batch_rows = [r for r in ledger.query(RowQuery(mode="batch")) if "fleet" not in r.tags]
        live_rows = [r for r in ledger.query(RowQuery(mode="api")) if "fleet" not in r.tags]
        ledger.close()
        agents_ok = not agents or report_agents(args.prompts, ledger_path, agents, args.agent_concurrency)
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
    if len(batch_rows) != n or len(live_rows) != n or ratio != Decimal("0.5") or not agents_ok:
        sys.exit("FAIL: expected one row per prompt on each path and a ratio of exactly 0.5")


if __name__ == "__main__":
    main()
