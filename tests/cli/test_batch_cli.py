"""``thrifty batch`` as a user runs it: a subprocess against the simulator (batches take
``PROCESSING_S`` on its manual clock), recording into a real SQLite ledger."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from tests.cli.test_light_commands import heavy, imported
from thrifty.billing.ledger import LedgerRow, RowQuery, open_ledger
from thrifty.billing.ledger.dialect import TABLE
from thrifty.billing.prices import bundled_prices
from thrifty.testing import Simulator
from thrifty.testing.clock import ManualClock

PROCESSING_S = 60.0
MODEL = "claude-sonnet-5-5"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def bcli(tmp_path: Path, clock: ManualClock) -> Iterator[Cli]:
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    with Simulator(clock=clock, batch_processing_seconds=PROCESSING_S) as sim:
        yield Cli(sim, project, home)


def write(cli: Cli, lines: list[object], name: str = "prompts.jsonl") -> str:
    (cli.cwd / name).write_text("".join(json.dumps(line) + "\n" for line in lines))
    return name


def batch_posts(cli: Cli) -> int:
    return sum(1 for r in cli.sim.requests if r.method == "POST" and r.path == "/v1/messages/batches")


def ledger_rows(cli: Cli) -> list[LedgerRow]:
    if not cli.ledger_path.exists():
        return []
    ledger = open_ledger(str(cli.ledger_path))
    try:
        return list(ledger.query(RowQuery(mode="batch")))
    finally:
        ledger.close()


PROMPTS = [{"id": f"p{i}", "prompt": f"Question number {i}?"} for i in range(5)]


def test_dry_run_prints_the_estimate_and_the_cap_refuses_without_a_request(bcli: Cli) -> None:
    name = write(bcli, PROMPTS)
    dry = bcli("batch", "submit", name, "--dry-run")
    assert dry.code == 0, dry.stderr
    assert "estimate: 5 requests" in dry.stderr and "at batch prices" in dry.stderr
    assert dry.stdout == ""
    refused = bcli("batch", "submit", name, "--max-cost-usd", "0.0001")
    assert refused.code == 2
    assert "estimate: 5 requests" in refused.stderr
    assert refused.stderr.strip().splitlines()[-1].startswith("error: refused: the high estimate")
    assert bcli.sim.requests == []
    assert bcli("batch", "submit", name, "--max-cost-usd", "lots").code == 1


def test_submit_status_results_and_the_ledger(bcli: Cli, clock: ManualClock) -> None:
    name = write(bcli, PROMPTS)
    submitted = bcli("batch", "submit", name, "--json")
    assert submitted.code == 0, submitted.stderr
    batch_id = submitted.json["batch_id"]
    assert submitted.json["how"] == "created"
    status = bcli("batch", "status", batch_id, "--json")
    assert status.json["processing_status"] == "in_progress"
    assert status.json["request_counts"]["processing"] == 5
    early = bcli("batch", "results", batch_id)
    assert early.code == 75 and "in_progress" in early.stderr
    clock.advance(PROCESSING_S)
    assert bcli("batch", "status", batch_id, "--json").json["processing_status"] == "ended"
    results = bcli("batch", "results", batch_id)
    assert results.code == 0, results.stderr
    lines = results.lines
    assert [line["id"] for line in lines] == [p["id"] for p in PROMPTS]
    assert {line["status"] for line in lines} == {"succeeded"}
    assert all(line["text"] and line["usage"] for line in lines)
    assert "5 ledger rows recorded, 0 already there" in results.stderr
    rows = ledger_rows(bcli)
    assert len(rows) == 5
    prices = bundled_prices()
    by_id = {line["id"]: line for line in lines}
    for row in rows:
        assert row.mode == "batch" and row.request_id.startswith(f"batch:{batch_id}:")
        live = prices.cost(MODEL, row.usage)
        assert live is not None and row.cost_usd is not None and row.cost_usd * 2 == live
        assert Decimal(by_id[row.tags["item_id"]]["cost_usd"]) == row.cost_usd
    # Reruns: nothing submitted or recorded twice.
    again = bcli("batch", "submit", name)
    assert again.code == 0 and again.stdout.strip() == batch_id and "already submitted" in again.stderr
    rerun = bcli("batch", "results", batch_id, "--output", "out.jsonl")
    assert rerun.code == 0 and "0 ledger rows recorded, 5 already there" in rerun.stderr
    assert (bcli.cwd / "out.jsonl").read_text() == results.stdout
    assert batch_posts(bcli) == 1 and len(ledger_rows(bcli)) == 5


def test_a_poller_killed_while_waiting_then_rerun_records_exactly_once(bcli: Cli, clock: ManualClock) -> None:
    name = write(bcli, PROMPTS)
    batch_id = bcli("batch", "submit", name).stdout.strip()
    poller = subprocess.Popen(
        [sys.executable, "-m", "thrifty", "batch", "results", batch_id, "--wait", "--poll-interval", "0.05"],
        cwd=bcli.cwd,
        env=bcli.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        path = f"/v1/messages/batches/{batch_id}"
        while sum(1 for r in bcli.sim.requests if r.path == path) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert poller.poll() is None  # still polling
    finally:
        poller.send_signal(signal.SIGKILL)
        poller.wait()
    assert ledger_rows(bcli) == []
    clock.advance(PROCESSING_S)
    assert bcli("batch", "results", batch_id).code == 0
    assert bcli("batch", "results", batch_id).code == 0
    assert len(ledger_rows(bcli)) == 5 and batch_posts(bcli) == 1


def test_a_poller_killed_while_recording_then_rerun_gives_exact_totals(bcli: Cli, clock: ManualClock) -> None:
    many = [{"id": f"r{i}", "prompt": f"Prompt {i} " + "word " * (i % 7)} for i in range(600)]
    name = write(bcli, many)
    batch_id = bcli("batch", "submit", name).stdout.strip()
    clock.advance(PROCESSING_S)
    poller = subprocess.Popen(
        [sys.executable, "-m", "thrifty", "batch", "results", batch_id],
        cwd=bcli.cwd,
        env=bcli.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while poller.poll() is None and time.monotonic() < deadline:
        try:
            with sqlite3.connect(bcli.ledger_path, timeout=5) as db:
                if db.execute(f"SELECT count(*) FROM {TABLE}").fetchone()[0] > 0:
                    break
        except sqlite3.Error:
            pass
        time.sleep(0.005)
    poller.send_signal(signal.SIGKILL)
    poller.wait()
    rerun = bcli("batch", "results", batch_id)
    assert rerun.code == 0, rerun.stderr
    rows = ledger_rows(bcli)
    assert len(rows) == 600 and len({r.request_id for r in rows}) == 600
    expected = sum(Decimal(line["cost_usd"]) for line in rerun.lines)
    assert sum(r.cost_usd or 0 for r in rows) == expected
    assert bcli("batch", "results", batch_id).stderr.count("0 ledger rows recorded, 600 already there") == 1


def test_cancel(bcli: Cli) -> None:
    batch_id = bcli("batch", "submit", write(bcli, PROMPTS)).stdout.strip()
    canceled = bcli("batch", "cancel", batch_id)
    assert (
        canceled.code == 0
        and canceled.stdout.startswith(f"{batch_id}: ended")
        and "canceled 5" in canceled.stdout
    )
    results = bcli("batch", "results", batch_id)
    assert results.code == 0 and {line["status"] for line in results.lines} == {"canceled"}
    assert ledger_rows(bcli) == []
    missing = bcli("batch", "status", "msgbatch_nope")
    assert missing.code == 1 and "404" in missing.stderr


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ('{"id": "a", "prompt": "x"}\nnot json\n', "line 2: not valid JSON"),
        (
            '{"id": "a", "prompt": "x"}\n\n{"id": "a", "prompt": "y"}\n',
            "line 3: duplicate id 'a' (first on line 1)",
        ),
        ('{"prompt": "x"}\n', "line 1: 'id' must be a non-empty string or an integer"),
        ('{"id": 1}\n', "line 1: give exactly one of 'prompt' or 'messages'"),
        ('{"id": 1, "prompt": "x", "max_tokens": 0}\n', "line 1: 'max_tokens' must be a positive integer"),
        ('{"id": 1, "prompt": "x", "temperature": 1}\n', "line 1: unknown key 'temperature'"),
        ('{"id": 1, "prompt": "x", "json_schema": {"type": 5}}\n', "line 1: json_schema:"),
        ("[1, 2]\n", "line 1: expected a JSON object"),
        ("\n\n", "the input holds no items"),
    ],
)
def test_bad_lines_are_refused_with_their_line_number(bcli: Cli, content: str, message: str) -> None:
    (bcli.cwd / "bad.jsonl").write_text(content)
    run = bcli("batch", "submit", "bad.jsonl", "--dry-run")
    assert run.code == 1
    assert len(run.stderr.strip().splitlines()) == 1 and message in run.stderr, run.stderr
    assert bcli.sim.requests == []


def test_model_default_and_plan_credentials(bcli: Cli) -> None:
    name = write(bcli, [{"id": 1, "prompt": "x"}, {"id": 2, "prompt": "y", "model": "claude-haiku-5-5"}])
    run = bcli("batch", "submit", name, "--model", "opus")
    assert run.code == 0, run.stderr
    sent = next(r for r in bcli.sim.requests if r.path == "/v1/messages/batches")
    assert [req["params"]["model"] for req in sent.body["requests"]] == [
        "claude-opus-5-5",
        "claude-haiku-5-5",
    ]
    plan = bcli.env(
        ANTHROPIC_API_KEY="",
        ANTHROPIC_AUTH_TOKEN=bcli.sim.plan_token,
        THRIFTY_CLAUDE_PATH=str(bcli.home / "none"),
    )
    refused = bcli("batch", "submit", name, "--new", env=plan)
    assert refused.code == 1 and "plan" in refused.stderr and len(refused.stderr.strip().splitlines()) == 1
    assert bcli.sim.plan_token not in refused.stderr + refused.stdout
    assert batch_posts(bcli) == 1
    missing = bcli("batch", "submit", "nope.jsonl")
    assert missing.code == 1 and "no such file" in missing.stderr


def test_help_and_a_dry_run_load_no_client(bcli: Cli) -> None:
    """Estimating (and refusing) needs neither ``anthropic`` nor a credential."""
    assert heavy(imported(bcli, "batch", "--help")) == []
    name = write(bcli, PROMPTS)
    assert "anthropic" not in {n.split(".")[0] for n in imported(bcli, "batch", "submit", name, "--dry-run")}


def test_two_submits_of_one_input_at_once_make_one_batch(bcli: Cli) -> None:
    name = write(bcli, PROMPTS)
    command = [sys.executable, "-m", "thrifty", "batch", "submit", name]
    procs = [
        subprocess.Popen(
            command, cwd=bcli.cwd, env=bcli.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    outs = [proc.communicate(timeout=120) for proc in procs]
    assert [proc.returncode for proc in procs] == [0, 0, 0], [err for _, err in outs]
    assert len({out.strip() for out, _ in outs}) == 1
    assert batch_posts(bcli) == 1
