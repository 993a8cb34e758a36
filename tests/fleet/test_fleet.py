"""``thrifty.fleet.run_fleet`` against the simulator, with a real SQLite ledger and git.

The ledger is read back with ``sqlite3`` directly, not through thrifty, so the totals checked
are the rows themselves.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
import subprocess
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import thrifty
from thrifty.fleet import FleetEvents, FleetInputError, Job, JobResult, read_jobs, run_fleet
from thrifty.testing import Simulator


@pytest.fixture
def sim() -> Any:
    with Simulator([{"text": "done"}]) as s:
        yield s


def base_options(sim: Simulator, tmp_path: Path, **extra: Any) -> thrifty.Options:
    env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url}
    return thrifty.Options(cwd=tmp_path, env=env, ledger=str(tmp_path / "ledger.sqlite3"), **extra)


def fleet_rows(tmp_path: Path, fleet_id: str) -> list[dict[str, Any]]:
    db = sqlite3.connect(tmp_path / "ledger.sqlite3")
    try:
        found = db.execute("SELECT request_id, session_id, cost_usd, tags FROM thrifty_calls").fetchall()
    finally:
        db.close()
    rows = [
        {"request_id": r, "session_id": s, "cost": Decimal(str(c)), "tags": json.loads(t or "{}")}
        for r, s, c, t in found
    ]
    return [row for row in rows if row["tags"].get("fleet") == fleet_id]


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_two_hundred_jobs_write_exactly_two_hundred_rows(sim: Simulator, tmp_path: Path) -> None:
    jobs = [{"id": f"j{i:03d}", "prompt": f"job {i}"} for i in range(200)]
    summary = run(
        run_fleet(
            jobs, options=base_options(sim, tmp_path), fleet_id="two-hundred", state_dir=tmp_path / "st"
        )
    )
    assert summary.count("succeeded") == 200 and summary.ok
    rows = fleet_rows(tmp_path, "two-hundred")
    assert len(rows) == 200 == len({r["request_id"] for r in rows}) == len(sim.message_requests())
    assert sorted(r["tags"]["job"] for r in rows) == [j["id"] for j in jobs]
    assert summary.ledger_rows == 200
    assert summary.total_cost_usd == sum(r["cost"] for r in rows) == sum(summary.job_cost_usd.values())
    lines = (tmp_path / "st" / "two-hundred" / "results.jsonl").read_text().splitlines()
    assert len(lines) == 200
    by_session = {r["session_id"]: r for r in rows}
    for result in summary.results:
        assert result.session_id in by_session
        assert Decimal(str(result.cost_usd)) == pytest.approx(by_session[result.session_id]["cost"])


def test_a_rerun_skips_finished_jobs_and_adds_no_row(sim: Simulator, tmp_path: Path) -> None:
    jobs = [{"id": i, "prompt": f"job {i}"} for i in range(5)]
    options = base_options(sim, tmp_path)
    first = run(run_fleet(jobs, options=options, state_dir=tmp_path / "st"))
    second = run(run_fleet(jobs, options=options, state_dir=tmp_path / "st"))
    assert first.fleet_id == second.fleet_id and second.skipped == 5
    assert [r.id for r in second.results] == [0, 1, 2, 3, 4]  # integer ids come back as given
    assert len(sim.message_requests()) == 5 == len(fleet_rows(tmp_path, first.fleet_id))
    assert second.total_cost_usd == first.total_cost_usd


def test_concurrency_is_a_limit(sim: Simulator, tmp_path: Path) -> None:
    sim.set_script([{"text": "slow", "fault": [{"kind": "slow", "delay": 0.05, "times": 0}]}])

    class Count(FleetEvents):
        def __init__(self) -> None:
            self.now = self.most = 0

        def started(self, job: Job) -> None:
            self.now += 1
            self.most = max(self.most, self.now)

        def finished(self, result: JobResult) -> None:
            self.now -= 1

    seen = Count()
    jobs = [{"id": f"c{i}", "prompt": "x"} for i in range(12)]
    summary = run(
        run_fleet(jobs, options=base_options(sim, tmp_path), concurrency=3, events=seen, state_dir=tmp_path)
    )
    assert summary.ok and seen.most == 3


def test_the_fleet_budget_stops_the_remaining_jobs_and_a_rerun_goes_on(
    sim: Simulator, tmp_path: Path
) -> None:
    jobs = [{"id": f"b{i:02d}", "prompt": f"budget job {i}"} for i in range(30)]
    # Small calls (no tools, a short prompt): each estimate is mostly its 512 output tokens.
    options = base_options(sim, tmp_path, tools=[], system_prompt="Be brief.")
    cap = Decimal("0.009")
    summary = run(
        run_fleet(
            jobs, options=options, fleet_id="capped", concurrency=2, max_cost_usd=cap, state_dir=tmp_path
        )
    )
    stopped = [r for r in summary.results if r.status == "budget_exceeded"]
    assert stopped and all(r.budget == "shared" for r in stopped)
    assert summary.count("succeeded") >= 1
    assert summary.count("succeeded") + len(stopped) == 30
    rows = fleet_rows(tmp_path, "capped")
    spent = sum(r["cost"] for r in rows)
    assert spent == summary.total_cost_usd
    assert spent <= cap + max(r["cost"] for r in rows)  # at most the one call the estimate let through
    # A larger budget: the stopped jobs run, the finished ones are skipped.
    again = run(run_fleet(jobs, options=options, fleet_id="capped", max_cost_usd="10", state_dir=tmp_path))
    assert again.ok and again.skipped == summary.count("succeeded")
    assert len(fleet_rows(tmp_path, "capped")) == len(sim.message_requests())
    assert again.total_cost_usd == sum(r["cost"] for r in fleet_rows(tmp_path, "capped"))


def test_a_job_budget_stops_that_job_only(sim: Simulator, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("notes\n")
    read = {"tool_use": {"name": "Read", "input": {"file_path": str(tmp_path / "notes.txt")}}}
    sim.set_script(
        {
            "conversations": [
                {"match": "read", "turns": [read, {"text": "read it"}]},
                {"turns": [{"text": "ok"}]},
            ]
        }
    )
    jobs = [
        {"id": "tight", "prompt": "read the notes", "max_budget_usd": "0.000001"},
        {"id": "free", "prompt": "hello"},
    ]
    summary = run(run_fleet(jobs, options=base_options(sim, tmp_path), state_dir=tmp_path))
    tight, free = summary.results
    assert (
        tight.status == "budget_exceeded"
        and tight.budget == "job"
        and "maximum budget" in (tight.error or "")
    )
    assert free.status == "succeeded"
    again = run(run_fleet(jobs, options=base_options(sim, tmp_path), state_dir=tmp_path))
    assert again.skipped == 2  # a job's own budget is its end; it is not run again


def test_a_failed_job_is_a_result_and_retry_failed_runs_it_again(sim: Simulator, tmp_path: Path) -> None:
    jobs = [{"id": "lost", "prompt": "x", "cwd": "does-not-exist"}, {"id": "fine", "prompt": "y"}]
    options = base_options(sim, tmp_path)
    summary = run(run_fleet(jobs, options=options, state_dir=tmp_path))
    lost = summary.results[0]
    assert lost.status == "failed" and lost.error and "does-not-exist" in lost.error
    assert summary.results[1].status == "succeeded" and not summary.ok
    assert run(run_fleet(jobs, options=options, state_dir=tmp_path)).skipped == 2
    retried = run(run_fleet(jobs, options=options, state_dir=tmp_path, retry_failed=True))
    assert retried.skipped == 1 and retried.results[0].attempt == 2


def git(*args: str, cwd: Path) -> str:
    env = {
        "GIT_AUTHOR_NAME": "t",
        "GIT_AUTHOR_EMAIL": "t@t",
        "GIT_COMMITTER_NAME": "t",
        "GIT_COMMITTER_EMAIL": "t@t",
    }
    done = subprocess.run(
        ["git", *args], cwd=cwd, env={**os.environ, **env}, capture_output=True, text=True, check=True
    )
    return done.stdout.strip()


def test_a_job_runs_in_a_checkout_of_a_local_repository_at_a_ref(sim: Simulator, tmp_path: Path) -> None:
    repo = tmp_path / "repo"
    (repo / "src").mkdir(parents=True)
    git("init", "-q", "-b", "main", cwd=repo)
    (repo / "src" / "version.txt").write_text("one\n")
    git("add", ".", cwd=repo)
    git("commit", "-q", "-m", "one", cwd=repo)
    git("tag", "v1", cwd=repo)
    first = git("rev-parse", "HEAD", cwd=repo)
    (repo / "src" / "version.txt").write_text("two\n")
    git("commit", "-q", "-am", "two", cwd=repo)
    jobs_file = tmp_path / "jobs.jsonl"
    jobs_file.write_text(
        json.dumps({"id": "old", "prompt": "look", "repo": "repo", "ref": "v1", "cwd": "src"})
        + "\n"
        + json.dumps({"id": "new", "prompt": "look", "repo": "repo"})
        + "\n"
        + json.dumps({"id": "bad", "prompt": "look", "repo": "repo", "ref": "no-such-ref"})
        + "\n"
    )
    summary = run(
        run_fleet(jobs_file, options=base_options(sim, tmp_path), fleet_id="git", state_dir=tmp_path / "st")
    )
    old, new, bad = summary.results
    assert old.status == "succeeded" and old.commit == first
    work = tmp_path / "st" / "git" / "work"
    assert (work / "old" / "src" / "version.txt").read_text() == "one\n"
    assert (work / "new" / "src" / "version.txt").read_text() == "two\n"
    assert new.commit == git("rev-parse", "HEAD", cwd=repo)
    assert bad.status == "failed" and "no-such-ref" in (bad.error or "")
    # The session ran in the checkout's src folder: its system prompt names that directory.
    systems = [json.dumps(r.body.get("system")) for r in sim.message_requests()]
    assert any(str(work / "old" / "src") in s for s in systems)


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("not json", "jobs.jsonl:2: not JSON"),
        ('{"id": "a", "prompt": "x"}', "jobs.jsonl:2: id 'a' already used at jobs.jsonl:1"),
        ('{"id": "b"}', "jobs.jsonl:2: prompt must be a non-empty string"),
        ('{"id": "b", "prompt": "x", "colour": 1}', "jobs.jsonl:2: unknown key 'colour'"),
        ('{"id": "b", "prompt": "x", "ref": "main"}', "jobs.jsonl:2: ref needs a repo"),
        ('{"id": "b", "prompt": "x", "max_turns": 0}', "jobs.jsonl:2: max_turns must be a positive integer"),
        ('{"id": "b", "prompt": "x", "max_budget_usd": "-1"}', "jobs.jsonl:2: max_budget_usd must be"),
        ('{"id": true, "prompt": "x"}', "jobs.jsonl:2: id must be"),
        ('["a"]', "jobs.jsonl:2: each line must be a JSON object"),
    ],
)
def test_bad_lines_are_one_line_errors_naming_the_line(tmp_path: Path, line: str, message: str) -> None:
    path = tmp_path / "jobs.jsonl"
    path.write_text('{"id": "a", "prompt": "x"}\n' + line + "\n")
    with pytest.raises(FleetInputError) as caught:
        read_jobs(path)
    assert str(caught.value).startswith(message) and "\n" not in str(caught.value)


def test_a_job_option_the_session_would_refuse_is_refused_before_any_job_runs(
    sim: Simulator, tmp_path: Path
) -> None:
    jobs = [{"id": "ok", "prompt": "x"}, {"id": "odd", "prompt": "x", "permission_mode": "sideways"}]
    with pytest.raises(FleetInputError, match=r"^job 2: "):
        run(run_fleet(jobs, options=base_options(sim, tmp_path), state_dir=tmp_path))
    assert sim.message_requests() == []


def test_the_fleet_budget_counts_what_the_fleet_spent_in_earlier_months(
    sim: Simulator, tmp_path: Path
) -> None:
    """The per-call check is a monthly cap; the coordinator lowers it by the fleet's earlier spend."""
    from datetime import timedelta

    from thrifty.billing.budget import month_start
    from thrifty.billing.ledger import open_ledger
    from thrifty.billing.ledger.conformance import make_row

    last_month = month_start(datetime.now(UTC)) - timedelta(days=2)
    db = open_ledger(str(tmp_path / "ledger.sqlite3"))
    try:
        db.append(make_row("req-old", cost_usd=Decimal("1"), recorded_at=last_month, tags={"fleet": "old"}))
    finally:
        db.close()
    options = base_options(sim, tmp_path, tools=[], system_prompt="Be brief.")
    jobs = [{"id": f"m{i:02d}", "prompt": f"month job {i}"} for i in range(30)]
    spent_out = run(run_fleet(jobs, options=options, fleet_id="old", max_cost_usd="1", state_dir=tmp_path))
    assert spent_out.count("budget_exceeded") == 30 and sim.message_requests() == []
    summary = run(run_fleet(jobs, options=options, fleet_id="old", max_cost_usd="1.009", state_dir=tmp_path))
    assert summary.count("succeeded") >= 1 and summary.count("budget_exceeded") >= 1
    new = [r["cost"] for r in fleet_rows(tmp_path, "old") if r["request_id"] != "req-old"]
    assert sum(new) <= Decimal("0.009") + max(new)
    assert summary.total_cost_usd == Decimal("1") + sum(new)
