"""Fleets of agent jobs whose turns go out together as Message Batches (``via="batch"``).

Against the simulator with a processing delay on its manual clock: the pool's ``sleep`` moves
that clock, so a batch ends when the pool has waited long enough, and no test sleeps. The
ledger is a real SQLite file, read back as rows.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import thrifty
from thrifty.batch.fleet_pool import ViaBatch
from thrifty.batch.pool import PoolPolicy
from thrifty.billing.ledger import LedgerRow, RowQuery, open_ledger
from thrifty.billing.prices import bundled_prices
from thrifty.fleet import FleetInputError, FleetSummary, run_fleet
from thrifty.testing import Simulator
from thrifty.testing.clock import ManualClock

PROCESSING_S = 120.0
JOBS = 20
MODEL = "claude-sonnet-5-5"


def script(root: Path, jobs: int) -> dict[str, Any]:
    """Each job reads its own file, then answers: two turns, one tool call run locally."""
    return {
        "conversations": [
            {
                "match": f"job-{i}:",
                "turns": [
                    {"tool_use": {"name": "Read", "input": {"file_path": str(root / f"j{i}" / "notes.txt")}}},
                    {"text": f"finished job {i}"},
                ],
            }
            for i in range(jobs)
        ]
    }


def make_jobs(root: Path, jobs: int) -> list[dict[str, Any]]:
    out = []
    for i in range(jobs):
        folder = root / f"j{i}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "notes.txt").write_text(f"secret word of job {i}: zebra-{i}\n")
        out.append({"id": f"j{i}", "prompt": f"job-{i}: read notes.txt and report", "cwd": str(folder)})
    return out


def on_clock(clock: ManualClock) -> Callable[[float], Awaitable[None]]:
    async def sleep(seconds: float) -> None:
        clock.advance(seconds)
        await asyncio.sleep(0)

    return sleep


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def world(tmp_path: Path, clock: ManualClock) -> Iterator[tuple[Simulator, list[dict[str, Any]]]]:
    jobs = make_jobs(tmp_path / "work", JOBS)
    with Simulator(
        script(tmp_path / "work", JOBS), clock=clock, batch_processing_seconds=PROCESSING_S
    ) as sim:
        yield sim, jobs


def options(sim: Simulator, tmp_path: Path) -> thrifty.Options:
    env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url}
    return thrifty.Options(
        cwd=tmp_path, env=env, ledger=str(tmp_path / "ledger.sqlite3"), model=MODEL, allowed_tools=["Read"]
    )


def via(clock: ManualClock) -> ViaBatch:
    # A gather window no test reaches: batches must go out because every session is waiting.
    return ViaBatch(PoolPolicy(gather_s=600.0, poll_s=10.0, max_poll_s=60.0), sleep=on_clock(clock))


def created_batches(sim: Simulator) -> list[list[dict[str, Any]]]:
    """The requests of every batch created, in order."""
    return [
        r.body["requests"] for r in sim.requests if r.method == "POST" and r.path == "/v1/messages/batches"
    ]


def ledger_rows(tmp_path: Path) -> list[LedgerRow]:
    ledger = open_ledger(str(tmp_path / "ledger.sqlite3"))
    try:
        return ledger.query(RowQuery())
    finally:
        ledger.close()


def billed_by_simulator(sim: Simulator) -> dict[str, dict[str, Any]]:
    """Every succeeded batch result the simulator produced: request id -> its message."""
    out = {}
    for batch in sim.batches.list(sim.accounts.authenticate({"x-api-key": sim.api_key})[0]):
        for item in batch.results:
            if item["result"]["type"] == "succeeded":
                out[f"batch:{batch.id}:{item['custom_id']}"] = item["result"]["message"]
    return out


def assert_ledger_is_the_bill(sim: Simulator, tmp_path: Path, summary: FleetSummary) -> None:
    """Each billed result is exactly one row at exactly half its live price; nothing else."""
    prices = bundled_prices()
    rows = ledger_rows(tmp_path)
    billed = billed_by_simulator(sim)
    assert sorted(r.request_id for r in rows) == sorted(billed)
    for row in rows:
        message = billed[row.request_id]
        assert row.mode == "batch"
        assert row.usage.input_tokens == message["usage"]["input_tokens"]
        assert row.output_tokens == message["usage"]["output_tokens"]
        live = prices.cost(row.model, row.usage)
        assert live is not None and row.cost_usd == live * Decimal("0.5")
        assert row.tags["fleet"] == summary.fleet_id
    assert summary.total_cost_usd == sum((r.cost_usd or Decimal(0) for r in rows), Decimal(0))


def test_a_fleet_sends_each_turn_as_one_batch_at_half_price(
    world: tuple[Simulator, list[dict[str, Any]]], clock: ManualClock, tmp_path: Path
) -> None:
    sim, jobs = world
    summary = asyncio.run(
        run_fleet(jobs, options=options(sim, tmp_path), concurrency=JOBS, via=via(clock), fleet_id="b1")
    )
    assert summary.count("succeeded") == JOBS, [r.to_json() for r in summary.results]
    assert {str(r.id): r.result for r in summary.results} == {
        f"j{i}": f"finished job {i}" for i in range(JOBS)
    }
    # Two turns: two batches of twenty, and not one live call.
    batches = created_batches(sim)
    assert [len(b) for b in batches] == [JOBS, JOBS]
    assert sim.message_requests() == []
    # The tool ran here, between the batches: turn 2 carries each job's own file.
    for request in batches[1]:
        text = json.dumps(request["params"]["messages"])
        job = next(i for i in range(JOBS) if f"job-{i}:" in text)
        assert f"zebra-{job}" in text and "tool_result" in text
    # The bodies are the live ones, cache breakpoints included, so caching goes on working.
    for request in batches[0] + batches[1]:
        params = request["params"]
        assert "stream" not in params
        assert params["system"][-1]["cache_control"] == {"type": "ephemeral"}
        assert params["messages"][-1]["content"][-1]["cache_control"] == {"type": "ephemeral"}
    rows = ledger_rows(tmp_path)
    assert len(rows) == 2 * JOBS
    second = [r for r in rows if any(r.request_id.endswith(f":{b['custom_id']}") for b in batches[1])]
    assert len(second) == JOBS and all(r.cache_read_tokens > 0 for r in second)
    assert {r.session_id for r in rows} == {r.session_id for r in summary.results}
    assert_ledger_is_the_bill(sim, tmp_path, summary)


def test_a_rerun_sends_no_batch_and_adds_no_row(
    world: tuple[Simulator, list[dict[str, Any]]], clock: ManualClock, tmp_path: Path
) -> None:
    sim, jobs = world
    first = asyncio.run(run_fleet(jobs, options=options(sim, tmp_path), concurrency=JOBS, via=via(clock)))
    again = asyncio.run(run_fleet(jobs, options=options(sim, tmp_path), concurrency=JOBS, via=via(clock)))
    assert again.skipped == JOBS and len(created_batches(sim)) == 2
    assert again.total_cost_usd == first.total_cost_usd and len(ledger_rows(tmp_path)) == 2 * JOBS


def test_an_errored_request_is_retried_in_the_next_batch(clock: ManualClock, tmp_path: Path) -> None:
    jobs = make_jobs(tmp_path / "work", 3)
    flaky = script(tmp_path / "work", 3)
    flaky["conversations"][1]["turns"][1]["fault"] = [{"kind": "overloaded", "times": 1}]
    with Simulator(flaky, clock=clock, batch_processing_seconds=PROCESSING_S) as sim:
        summary = asyncio.run(run_fleet(jobs, options=options(sim, tmp_path), concurrency=3, via=via(clock)))
        assert summary.count("succeeded") == 3, [r.to_json() for r in summary.results]
        # Turn 1: three; turn 2: three, one overloaded; its retry alone.
        assert [len(b) for b in created_batches(sim)] == [3, 3, 1]
        assert_ledger_is_the_bill(sim, tmp_path, summary)


def test_a_killed_coordinator_is_rerun_without_resubmitting_its_batch(
    world: tuple[Simulator, list[dict[str, Any]]], clock: ManualClock, tmp_path: Path
) -> None:
    sim, jobs = world
    jobs_file = tmp_path / "jobs.jsonl"
    jobs_file.write_text("".join(json.dumps(j) + "\n" for j in jobs))
    env = {
        **os.environ,
        "ANTHROPIC_API_KEY": sim.api_key,
        "ANTHROPIC_BASE_URL": sim.base_url,
        "THRIFTY_BATCH_POLL_S": "0.05",
    }
    args = [
        sys.executable,
        "-m",
        "thrifty",
        "fleet",
        "run",
        str(jobs_file),
        "--fleet-id",
        "k1",
        "--via",
        "batch",
    ]
    args += ["--concurrency", str(JOBS), "--allowed-tools", "Read", "--model", MODEL]
    args += ["--ledger", str(tmp_path / "ledger.sqlite3"), "--out", str(tmp_path / "first.jsonl")]
    proc = subprocess.Popen(args, cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    journal = Path(os.environ["THRIFTY_DATA_DIR"]) / "fleets" / "k1" / "batches"

    def submitted() -> list[dict[str, Any]]:
        found = [json.loads(p.read_text()) for p in journal.glob("*.json")] if journal.is_dir() else []
        return [r for r in found if r.get("batch_id")]

    def wait_for(batches: int) -> None:
        deadline = time.monotonic() + 120
        while len(submitted()) < batches:
            assert time.monotonic() < deadline, "the coordinator sent no batch"
            assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
            time.sleep(0.02)

    try:
        wait_for(1)
        clock.advance(PROCESSING_S)  # the first batch ends; its sessions run Read and send turn 2
        wait_for(2)
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    in_flight = [r["batch_id"] for r in submitted() if r["state"] == "submitted"]
    assert len(in_flight) == 1 and len(created_batches(sim)) == 2
    assert (
        len(ledger_rows(tmp_path)) == JOBS
    )  # the first batch's rows; the second is billed, not yet recorded

    summary = asyncio.run(
        run_fleet(jobs_file, options=options(sim, tmp_path), concurrency=JOBS, via=via(clock), fleet_id="k1")
    )
    assert summary.count("succeeded") == JOBS and summary.reruns == JOBS
    batches = created_batches(sim)
    # The killed run's batch was polled, not sent again: the rerun's jobs made two new ones.
    assert len(batches) == 4 and [len(b) for b in batches[2:]] == [JOBS, JOBS]
    polled = {r.path.rsplit("/", 2)[-2] for r in sim.requests if r.path.endswith("/results")}
    assert in_flight[0] in polled
    assert {json.loads(p.read_text())["state"] for p in journal.glob("*.json")} == {"collected"}
    assert len(ledger_rows(tmp_path)) == 4 * JOBS
    assert_ledger_is_the_bill(sim, tmp_path, summary)


def test_a_refused_request_fails_its_job_in_the_live_path_s_words(clock: ManualClock, tmp_path: Path) -> None:
    jobs = make_jobs(tmp_path / "work", 2)
    refused = script(tmp_path / "work", 2)
    fault = {"kind": "http_error", "status": 400, "error_type": "invalid_request_error", "times": 0}
    refused["conversations"][0]["turns"][1]["fault"] = [{**fault, "message": "messages: not like that"}]
    with Simulator(refused, clock=clock, batch_processing_seconds=PROCESSING_S) as sim:
        summary = asyncio.run(run_fleet(jobs, options=options(sim, tmp_path), concurrency=2, via=via(clock)))
        by_id = {str(r.id): r for r in summary.results}
        assert by_id["j1"].status == "succeeded"
        assert by_id["j0"].status == "failed"
        assert by_id["j0"].error == "API Error: 400 messages: not like that"
        # Not retried: a 400 is final, live or batched; and an errored request is not billed.
        assert [len(b) for b in created_batches(sim)] == [2, 2]
        assert_ledger_is_the_bill(sim, tmp_path, summary)
        assert len(ledger_rows(tmp_path)) == 3


def test_via_must_be_live_or_batch(tmp_path: Path) -> None:
    with pytest.raises(FleetInputError, match="via must be 'live' or 'batch', not 'mail'"):
        asyncio.run(run_fleet([{"id": 1, "prompt": "hi"}], options=thrifty.Options(cwd=tmp_path), via="mail"))


def test_a_job_can_ask_for_batches_in_a_live_fleet(clock: ManualClock, tmp_path: Path) -> None:
    jobs = make_jobs(tmp_path / "work", 3)
    jobs[0]["via"] = jobs[2]["via"] = "batch"
    with Simulator(script(tmp_path / "work", 3), clock=clock, batch_processing_seconds=PROCESSING_S) as sim:
        some = dataclasses.replace(via(clock), every_job=False)
        summary = asyncio.run(run_fleet(jobs, options=options(sim, tmp_path), concurrency=3, via=some))
        assert summary.count("succeeded") == 3
        assert [len(b) for b in created_batches(sim)] == [2, 2] and len(sim.message_requests()) == 2
        live = asyncio.run(  # the fleet batches, this job's line says live
            run_fleet(
                [{**jobs[0], "via": "live"}],
                options=options(sim, tmp_path),
                fleet_id="live-one",
                via=via(clock),
            )
        )
        assert live.count("succeeded") == 1 and len(sim.message_requests()) == 4
        rows = ledger_rows(tmp_path)
        assert sorted(r.mode for r in rows if r.tags["fleet"] == "live-one") == ["api", "api"]
        assert sorted(r.tags["job"] for r in rows if r.mode == "batch") == ["j0", "j0", "j2", "j2"]
        assert {r.tags["job"] for r in rows if r.mode == "api" and r.tags["fleet"] != "live-one"} == {"j1"}


def test_a_bad_via_in_a_job_line_names_the_line(tmp_path: Path) -> None:
    with pytest.raises(FleetInputError, match="job 1: via must be 'live' or 'batch', got 'slow'"):
        asyncio.run(
            run_fleet([{"id": 1, "prompt": "hi", "via": "slow"}], options=thrifty.Options(cwd=tmp_path))
        )
