"""``thrifty -p --via batch``: a lone headless run whose every turn is a Message Batch of one.

The CLI runs as a subprocess against the simulator, whose batches take ``PROCESSING_S`` on its
manual clock: the test moves the clock once it sees each batch created (the run polls every
0.05 s of real time), so a batch ends when the test says and nothing sleeps for minutes. The
ledger is a real SQLite file.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.batch.test_agent_batches import created_batches, ledger_rows
from tests.billing.test_auth import fake_claude
from thrifty.billing.prices import bundled_prices
from thrifty.testing import Simulator
from thrifty.testing.clock import ManualClock

PROCESSING_S = 90.0
MODEL = "claude-sonnet-5-5"
PROMPT = "read notes.txt and report the word"
STREAM_OUT = ("--output-format", "stream-json", "--verbose")


def script(notes: Path) -> dict[str, Any]:
    return {
        "conversations": [
            {
                "match": "read notes.txt",
                "turns": [
                    {"tool_use": {"name": "Read", "input": {"file_path": str(notes)}}},
                    {"text": "the word is zebra-7"},
                ],
            }
        ]
    }


def setup(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    work.mkdir()
    (work / "notes.txt").write_text("secret word: zebra-7\n")
    return work


def environ(sim: Simulator, tmp_path: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_"))}
    env.update(
        ANTHROPIC_API_KEY=sim.api_key,
        ANTHROPIC_BASE_URL=sim.base_url,
        THRIFTY_BATCH_POLL_S="0.05",
        THRIFTY_KEYRING="0",
        THRIFTY_DATA_DIR=str(tmp_path / "data"),
        THRIFTY_CONFIG_DIR=str(tmp_path / "config"),
        **extra,
    )
    return env


def thrifty_p(
    sim: Simulator, clock: ManualClock | None, tmp_path: Path, work: Path, *flags: str
) -> subprocess.CompletedProcess[str]:
    """Run ``thrifty -p PROMPT FLAGS``; with ``clock``, end each batch it creates (two turns)."""
    args = [sys.executable, "-m", "thrifty", "-p", PROMPT, "--allowedTools", "Read", "--model", MODEL]
    args += ["--ledger", str(tmp_path / "ledger.sqlite3"), *flags]
    proc = subprocess.Popen(
        args, cwd=work, env=environ(sim, tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        for batches in (1, 2) if clock is not None else ():
            deadline = time.monotonic() + 120
            while len(created_batches(sim)) < batches:
                assert proc.poll() is None, proc.communicate()
                assert time.monotonic() < deadline, f"no batch {batches} was created"
                time.sleep(0.02)
            clock.advance(PROCESSING_S)  # type: ignore[union-attr]
        out, err = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    return subprocess.CompletedProcess(args, proc.returncode, out, err)


def test_a_two_turn_run_sends_two_batches_of_one_at_half_price(tmp_path: Path) -> None:
    work = setup(tmp_path)
    clock = ManualClock()
    with Simulator(script(work / "notes.txt"), clock=clock, batch_processing_seconds=PROCESSING_S) as sim:
        done = thrifty_p(sim, clock, tmp_path, work, "--via", "batch", "--output-format", "json")
        batches = created_batches(sim)
        live_calls = sim.message_requests()
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert len(lines) == 1  # nothing on stdout but the result
    result = json.loads(lines[0])
    assert result["type"] == "result" and result["subtype"] == "success" and not result["is_error"]
    assert result["result"] == "the word is zebra-7" and result["num_turns"] == 2
    # Two turns, each a batch of one, and not one streamed call.
    assert [len(b) for b in batches] == [1, 1] and live_calls == []
    assert "stream" not in batches[0][0]["params"]
    second = json.dumps(batches[1][0]["params"]["messages"])
    assert "tool_result" in second and "zebra-7" in second  # the Read ran here, between the batches
    rows = sorted(ledger_rows(tmp_path), key=lambda r: r.recorded_at)
    assert len(rows) == 2 and {r.mode for r in rows} == {"batch"}
    prices = bundled_prices()
    for row in rows:
        assert row.request_id.startswith("batch:")
        live = prices.cost(row.model, row.usage)
        assert live is not None and row.cost_usd == live * Decimal("0.5")
    assert {r.session_id for r in rows} == {result["session_id"]}
    total = sum((r.cost_usd or Decimal(0) for r in rows), Decimal(0))
    assert abs(Decimal(str(result["total_cost_usd"])) - total) < Decimal("1e-9")
    # The run's journal folder goes once every batch is recorded.
    assert list((tmp_path / "data" / "batches" / "runs").iterdir()) == []


def test_stream_json_frames_are_the_live_ones(tmp_path: Path) -> None:
    work = setup(tmp_path)
    flags = ("--output-format", "stream-json", "--verbose")
    with Simulator(script(work / "notes.txt")) as sim:
        live = thrifty_p(sim, None, tmp_path, work, *flags)
    clock = ManualClock()
    with Simulator(script(work / "notes.txt"), clock=clock, batch_processing_seconds=PROCESSING_S) as sim:
        batched = thrifty_p(sim, clock, tmp_path, work, *flags, "--via", "batch")
    assert live.returncode == batched.returncode == 0, batched.stderr

    def shapes(out: str) -> list[tuple[str, str | None, tuple[str, ...]]]:
        frames = [json.loads(line) for line in out.splitlines()]
        return [(f["type"], f.get("subtype"), tuple(sorted(f))) for f in frames]

    assert shapes(batched.stdout) == shapes(live.stdout)
    result = json.loads(batched.stdout.splitlines()[-1])
    live_result = json.loads(live.stdout.splitlines()[-1])
    assert result["result"] == live_result["result"] == "the word is zebra-7"
    assert result["total_cost_usd"] < live_result["total_cost_usd"]


def test_plan_credentials_are_refused_in_one_line(tmp_path: Path) -> None:
    work = setup(tmp_path)
    with Simulator(script(work / "notes.txt")) as sim:
        env = environ(sim, tmp_path)
        del env["ANTHROPIC_API_KEY"]
        claude = fake_claude(tmp_path / "bin")  # logged in: the run would go through it
        env.update(CLAUDE_CODE_OAUTH_TOKEN=sim.plan_token, THRIFTY_CLAUDE_PATH=claude)
        done = subprocess.run(
            [sys.executable, "-m", "thrifty", "-p", PROMPT, "--via", "batch"],
            cwd=work,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert sim.requests == []
    assert done.returncode == 1 and done.stdout == ""
    assert len(done.stderr.strip().splitlines()) == 1, done.stderr
    assert "Message Batches API needs an API credential" in done.stderr
    assert sim.plan_token not in done.stderr


def test_via_batch_takes_no_stream_json_input(tmp_path: Path) -> None:
    work = setup(tmp_path)
    done = subprocess.run(
        [sys.executable, "-m", "thrifty", "--input-format", "stream-json", *STREAM_OUT, "--via", "batch"],
        cwd=work,
        capture_output=True,
        text=True,
        input="",
        timeout=120,
    )
    assert done.returncode != 0 and done.stdout == ""
    assert done.stderr.strip().splitlines() == [
        "error: --via batch runs a -p prompt; it does not take --input-format stream-json"
    ]


def _sent(path: Path) -> bool:
    """Whether a run's journal entry names its batch; a file the run is replacing or removing
    just then reads as not yet."""
    try:
        return bool(json.loads(path.read_text()).get("batch_id"))
    except (OSError, ValueError):
        return False


def test_a_killed_runs_ended_batch_is_recorded_by_the_next_run(tmp_path: Path) -> None:
    work = setup(tmp_path)
    clock = ManualClock()
    two = script(work / "notes.txt")
    two["conversations"].append({"match": "say hello", "turns": [{"text": "hello"}]})
    runs = tmp_path / "data" / "batches" / "runs"
    with Simulator(two, clock=clock, batch_processing_seconds=PROCESSING_S) as sim:
        args = [sys.executable, "-m", "thrifty", "-p", PROMPT, "--via", "batch", "--model", MODEL]
        args += ["--allowedTools", "Read", "--ledger", str(tmp_path / "ledger.sqlite3")]
        proc = subprocess.Popen(
            args, cwd=work, env=environ(sim, tmp_path), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
        )
        try:
            deadline = time.monotonic() + 120
            while not [p for p in runs.glob("*/*.json") if _sent(p)]:
                assert proc.poll() is None and time.monotonic() < deadline, "the run sent no batch"
                time.sleep(0.02)
        finally:
            proc.kill()
            proc.wait()
        assert ledger_rows(tmp_path) == []  # billed by the API, recorded nowhere yet
        clock.advance(PROCESSING_S)  # the killed run's batch ends
        again = subprocess.Popen(
            [*args[:3], "-p", "say hello", "--via", "batch", "--ledger", str(tmp_path / "ledger.sqlite3")],
            cwd=work,
            env=environ(sim, tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        deadline = time.monotonic() + 120
        while len(created_batches(sim)) < 2:
            assert again.poll() is None and time.monotonic() < deadline, again.communicate()
            time.sleep(0.02)
        clock.advance(PROCESSING_S)
        out, err = again.communicate(timeout=120)
        batches = created_batches(sim)
    assert again.returncode == 0, err
    assert out == "hello\n"
    # The killed run's batch was read, not sent again: one batch each.
    assert [len(b) for b in batches] == [1, 1]
    rows = ledger_rows(tmp_path)
    assert len(rows) == 2 and {r.mode for r in rows} == {"batch"} and len({r.session_id for r in rows}) == 2
    assert sorted(r.request_id.split(":")[2] for r in rows) == sorted(b[0]["custom_id"] for b in batches)
    assert list(runs.iterdir()) == []
