"""``thrifty fleet run`` as a user runs it: a subprocess against the simulator, a real SQLite
ledger, and a coordinator killed with SIGKILL halfway through and run again."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from tests.cli.conftest import Cli


def write_jobs(cli: Cli, n: int, name: str = "jobs.jsonl") -> Path:
    path = cli.cwd / name
    path.write_text(
        "".join(json.dumps({"id": f"job-{i:02d}", "prompt": f"task {i}"}) + "\n" for i in range(n))
    )
    return path


def rows(cli: Cli, fleet_id: str) -> list[dict[str, Any]]:
    db = sqlite3.connect(cli.ledger_path)
    try:
        found = db.execute("SELECT request_id, session_id, cost_usd, tags FROM thrifty_calls").fetchall()
    finally:
        db.close()
    out = [
        {"request_id": r, "session_id": s, "cost": Decimal(str(c)), "tags": json.loads(t or "{}")}
        for r, s, c, t in found
    ]
    return [row for row in out if row["tags"].get("fleet") == fleet_id]


def reported_total(stderr: str) -> Decimal:
    line = next(line for line in stderr.splitlines() if line.startswith("cost $"))
    return Decimal(line.split()[1].removeprefix("$").rstrip(":"))


def test_killed_mid_fleet_and_rerun_the_totals_are_exact(cli: Cli) -> None:
    # Every call takes 0.1 s, so the kill lands with jobs finished, jobs in flight and jobs not started.
    cli.sim.set_script([{"text": "done", "fault": [{"kind": "slow", "delay": 0.1, "times": 0}]}])
    write_jobs(cli, 40)
    args = [
        sys.executable,
        "-m",
        "thrifty",
        "fleet",
        "run",
        "jobs.jsonl",
        "--fleet-id",
        "k1",
        "--concurrency",
        "4",
    ]
    journal = cli.data_dir / "fleets" / "k1" / "results.jsonl"
    proc = subprocess.Popen(
        [*args, "--out", "first.jsonl"],
        cwd=cli.cwd,
        env=cli.env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if journal.exists() and len(journal.read_text().splitlines()) >= 10:
            break
        assert proc.poll() is None, proc.stderr.read() if proc.stderr else ""
        time.sleep(0.02)
    proc.send_signal(signal.SIGKILL)
    proc.wait(timeout=30)
    if proc.stderr:
        proc.stderr.close()
    finished = {json.loads(line)["id"]: json.loads(line) for line in journal.read_text().splitlines()}
    assert 10 <= len(finished) < 40
    before = rows(cli, "k1")

    done = subprocess.run(
        [*args, "--out", "final.jsonl"],
        cwd=cli.cwd,
        env=cli.env(),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    final = [json.loads(line) for line in (cli.cwd / "final.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in final) == [f"job-{i:02d}" for i in range(40)]
    assert all(r["status"] == "succeeded" for r in final)
    assert f"{len(finished)} skipped" in done.stderr
    assert "ran a job again after an earlier one was cut short" in done.stderr  # the jobs in flight
    after = rows(cli, "k1")
    # Finished jobs were not run again: the same result, and still exactly one row each.
    for job_id, result in finished.items():
        mine = [r for r in after if r["tags"]["job"] == job_id]
        assert [r["session_id"] for r in mine] == [result["session_id"]]
    by_id = {r["id"]: r for r in final}
    assert all(by_id[j]["session_id"] == finished[j]["session_id"] for j in finished)
    # Every row written before the kill is still there once; every job's last session has one row.
    assert {r["request_id"] for r in before} <= {r["request_id"] for r in after}
    assert len(after) == len({r["request_id"] for r in after})
    sessions = {r["session_id"] for r in after}
    assert all(by_id[j]["session_id"] in sessions for j in by_id)
    # Rows are ledger rows of calls the simulator answered, and the total is their exact sum.
    answered = {r.request_id for r in cli.sim.message_requests()}
    assert {r["request_id"] for r in after} <= answered
    assert reported_total(done.stderr) == sum(r["cost"] for r in after)


def test_a_bad_line_is_one_line_and_exit_1(cli: Cli) -> None:
    (cli.cwd / "jobs.jsonl").write_text('{"id": 1, "prompt": "x"}\n{"id": 2}\n')
    run = cli("fleet", "run", "jobs.jsonl")
    assert run.code == 1 and run.stdout == ""
    assert run.stderr.strip() == "error: jobs.jsonl:2: prompt must be a non-empty string"
    assert cli.sim.message_requests() == []


def test_a_failed_job_exits_2_and_stdout_is_the_results(cli: Cli) -> None:
    cli.sim.set_script([{"text": "ok"}])
    (cli.cwd / "jobs.jsonl").write_text(
        '{"id": "good", "prompt": "x"}\n{"id": "lost", "prompt": "y", "cwd": "nowhere"}\n'
    )
    run = cli("fleet", "run", "jobs.jsonl", "--concurrency", "1")
    assert run.code == 2, run.stderr
    statuses = {line["id"]: line["status"] for line in run.lines}
    assert statuses == {"good": "succeeded", "lost": "failed"}
    assert "1 succeeded, 1 failed" in run.stderr
    assert "lost: failed:" in run.stderr


def test_the_fleet_budget_exits_3_and_tags_are_in_the_ledger(cli: Cli) -> None:
    cli.sim.set_script([{"text": "ok"}])
    write_jobs(cli, 6)
    run = cli(
        "fleet", "run", "jobs.jsonl", "--fleet-id", "cap", "--max-cost-usd", "0.0001", "--tag", "team=infra"
    )
    assert run.code == 3, run.stderr
    assert {line["status"] for line in run.lines} == {"budget_exceeded"}
    assert rows(cli, "cap") == []  # the estimate of the first call did not fit: nothing was sent
    summary = json.loads((cli.data_dir / "fleets" / "cap" / "summary.json").read_text())
    assert summary["budget_exceeded"] == 6 and summary["total_cost_usd"] == "0"


def test_fleet_tags_cannot_be_overridden(cli: Cli) -> None:
    write_jobs(cli, 1)
    run = cli("fleet", "run", "jobs.jsonl", "--tag", "fleet=x")
    assert run.code == 1 and "set by the fleet itself" in run.stderr


def test_help_names_the_exit_codes(cli: Cli) -> None:
    run = cli("fleet", "run", "--help")
    assert run.code == 0 and "Exit 0 when every job succeeded" in run.stdout
