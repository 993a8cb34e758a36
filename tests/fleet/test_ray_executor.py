"""Fleets on Ray (``RayExecutor``, ``thrifty fleet run --ray-address``) against the simulator.

The module starts a local Ray instance of its own (2 CPUs, no dashboard, its session files in a
temp dir removed after), so CI needs nothing running. The workers are real Ray worker processes:
they reach the simulator over HTTP and write the SQLite ledger themselves, which is read back
with ``sqlite3`` directly, so the totals checked are the rows.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import thrifty
from tests.fleet.test_fleet import base_options, fleet_rows
from thrifty.fleet import run_fleet
from thrifty.fleet.ray_executor import NEEDS_RAY, RayExecutor
from thrifty.testing import Simulator

#: The local Ray instance's folder (its logs included), while the module runs.
RAY_TEMP: list[Path] = []


@pytest.fixture(scope="module")
def ray_address() -> Iterator[str]:
    """A local Ray instance for the module; its address, for coordinators in other processes."""
    import ray

    # Short and ours: Ray's socket paths live under it (a unix socket path has ~107 bytes).
    temp = tempfile.mkdtemp(prefix="thrifty-ray-")
    RAY_TEMP[:] = [Path(temp)]
    context = ray.init(
        num_cpus=2,
        include_dashboard=False,
        _temp_dir=temp,
        log_to_driver=False,
        logging_level=logging.WARNING,
    )
    try:
        yield str(context.address_info["gcs_address"])
    finally:
        ray.shutdown()
        shutil.rmtree(temp, ignore_errors=True)


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator([{"text": "done"}]) as s:
        yield s


def cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "thrifty", "fleet", "run", *args],
        cwd=cwd,
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def write_jobs(path: Path, jobs: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(j) + "\n" for j in jobs))
    return path


def result_lines(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text().splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:  # cut short by the kill
            continue
    return out


@pytest.mark.slow
def test_two_hundred_jobs_on_ray_write_each_row_once(
    ray_address: str, sim: Simulator, tmp_path: Path
) -> None:
    jobs = [{"id": f"r{i:03d}", "prompt": f"ray job {i}"} for i in range(200)]
    summary = asyncio.run(
        run_fleet(
            jobs,
            options=base_options(sim, tmp_path),
            fleet_id="on-ray",
            executor=RayExecutor("auto", 8),  # the module's connection is used, and left open
            state_dir=tmp_path / "st",
        )
    )
    assert summary.count("succeeded") == 200 and summary.ok
    rows = fleet_rows(tmp_path, "on-ray")
    # Every job's row, once: none lost, none doubled, and each a call the simulator answered.
    assert len(rows) == 200 == len({r["request_id"] for r in rows}) == len(sim.message_requests())
    assert sorted(r["tags"]["job"] for r in rows) == [j["id"] for j in jobs]
    assert summary.ledger_rows == 200
    assert summary.total_cost_usd == sum(r["cost"] for r in rows) == sum(summary.job_cost_usd.values())
    by_session = {r["session_id"]: r for r in rows}
    assert {r.session_id for r in summary.results} == set(
        by_session
    )  # the workers ran the journal's sessions


@pytest.mark.slow
def test_credentials_reach_the_workers_and_no_ray_log(
    ray_address: str, sim: Simulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key and the ledger come from the coordinator's environment, as with `thrifty fleet
    run` (the workers were started before it was set); Ray logs every runtime_env it creates,
    so neither may travel in one."""
    ledger = str(tmp_path / "ledger.sqlite3")
    monkeypatch.setenv("ANTHROPIC_API_KEY", sim.api_key)
    monkeypatch.setenv("ANTHROPIC_BASE_URL", sim.base_url)
    monkeypatch.setenv("THRIFTY_LEDGER", ledger)
    jobs = [{"id": f"e{i}", "prompt": f"env job {i}"} for i in range(4)]
    summary = asyncio.run(
        run_fleet(
            jobs,
            options=thrifty.Options(cwd=tmp_path),
            fleet_id="env",
            executor=RayExecutor("auto", 2),
            state_dir=tmp_path / "st",
        )
    )
    assert summary.ok and summary.ledger == ledger
    assert len(fleet_rows(tmp_path, "env")) == 4 == len(sim.message_requests())
    assert all(r.account for r in sim.message_requests())  # each call authenticated with the key
    for path in RAY_TEMP[0].rglob("*"):
        if path.is_file() and not path.is_symlink():
            text = path.read_bytes()
            assert sim.api_key.encode() not in text, path
            assert ledger.encode() not in text, path


@pytest.mark.slow
def test_a_worker_that_dies_is_a_lost_failure_and_a_rerun_runs_it_again(
    ray_address: str, sim: Simulator, tmp_path: Path
) -> None:
    # The job's one command kills the Ray worker running it (bash's parent), mid-session.
    die = {"tool_use": {"name": "Bash", "input": {"command": "kill -9 $PPID"}}}
    sim.set_script(
        {
            "conversations": [
                {"match": "die", "turns": [die, {"text": "survived"}]},
                {"turns": [{"text": "ok"}]},
            ]
        }
    )
    jobs = [
        {"id": "dies", "prompt": "die now", "allowed_tools": ["Bash"]},
        {"id": "fine", "prompt": "hello"},
    ]
    options = base_options(sim, tmp_path)
    first = asyncio.run(
        run_fleet(
            jobs, options=options, fleet_id="dying", executor=RayExecutor("auto", 2), state_dir=tmp_path
        )
    )
    dies, fine = first.results
    assert fine.status == "succeeded"
    assert dies.status == "failed" and dies.lost is True and dies.attempt == 1
    assert dies.error and "Ray worker" in dies.error and "\n" not in dies.error
    journal = result_lines(tmp_path / "dying" / "results.jsonl")
    assert [line for line in journal if line["id"] == "dies"][-1]["lost"] is True
    # The call before the kill is in the ledger: the fleet's total counts it.
    rows = fleet_rows(tmp_path, "dying")
    assert [r["tags"]["job"] for r in rows].count("dies") == 1
    assert first.total_cost_usd == sum(r["cost"] for r in rows)

    sim.set_script([{"text": "ok"}])
    again = asyncio.run(
        run_fleet(
            jobs, options=options, fleet_id="dying", executor=RayExecutor("auto", 2), state_dir=tmp_path
        )
    )
    assert again.ok and again.skipped == 1 and again.reruns == 1
    assert again.results[0].attempt == 2
    rows = fleet_rows(tmp_path, "dying")
    assert len(rows) == 3 == len({r["request_id"] for r in rows})
    assert again.total_cost_usd == sum(r["cost"] for r in rows)


@pytest.mark.slow
def test_the_fleet_budget_holds_across_ray_workers(ray_address: str, sim: Simulator, tmp_path: Path) -> None:
    """The workers reserve each call's estimate in the one ledger, as in-process sessions do."""
    jobs = [{"id": f"b{i:02d}", "prompt": f"budget job {i}"} for i in range(30)]
    options = base_options(sim, tmp_path, tools=[], system_prompt="Be brief.")
    cap = Decimal("0.009")
    summary = asyncio.run(
        run_fleet(
            jobs,
            options=options,
            fleet_id="capped-ray",
            max_cost_usd=cap,
            executor=RayExecutor("auto", 4),
            state_dir=tmp_path,
        )
    )
    stopped = [r for r in summary.results if r.status == "budget_exceeded"]
    assert stopped and all(r.budget == "shared" for r in stopped)
    assert summary.count("succeeded") >= 1 and summary.count("succeeded") + len(stopped) == 30
    rows = fleet_rows(tmp_path, "capped-ray")
    spent = sum(r["cost"] for r in rows)
    assert spent == summary.total_cost_usd
    assert spent <= cap + max(r["cost"] for r in rows)  # at most the one call the estimate let through


@pytest.mark.slow
def test_a_killed_coordinator_on_ray_resumes_with_exact_totals(
    ray_address: str, sim: Simulator, tmp_path: Path
) -> None:
    sim.set_script([{"text": "slow done", "fault": [{"kind": "slow", "delay": 0.2, "times": 0}]}])
    jobs = [{"id": f"k{i:02d}", "prompt": f"kill job {i}"} for i in range(40)]
    write_jobs(tmp_path / "jobs.jsonl", jobs)
    ledger = tmp_path / "ledger.sqlite3"
    env = {
        "ANTHROPIC_API_KEY": sim.api_key,
        "ANTHROPIC_BASE_URL": sim.base_url,
        "THRIFTY_DATA_DIR": str(tmp_path / "data"),
        "THRIFTY_CONFIG_DIR": str(tmp_path / "config"),
    }
    args = [
        "jobs.jsonl",
        "--fleet-id",
        "killed",
        "--ledger",
        str(ledger),
        "--concurrency",
        "4",
        "--no-progress",
    ]
    journal = tmp_path / "data" / "fleets" / "killed" / "results.jsonl"
    # A coordinator on the module's cluster, SIGKILLed once some jobs have finished.
    first = cli([*args, "--ray-address", ray_address, "--out", "first.jsonl"], env, tmp_path)
    deadline = time.monotonic() + 120
    while len(result_lines(journal)) < 6 and first.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    first.kill()
    first.communicate()
    assert first.returncode == -signal.SIGKILL
    finished = {line["id"] for line in result_lines(journal) if line["status"] == "succeeded"}
    assert 6 <= len(finished) < 40

    # The rerun starts a Ray instance of its own (`local`), its files in a temp dir of the test's.
    ray_tmp = tempfile.mkdtemp(prefix="thrifty-ray-")
    try:
        second = cli(
            [*args, "--ray-address", "local", "--out", "second.jsonl"],
            {**env, "RAY_TMPDIR": ray_tmp},
            tmp_path,
        )
        _, err = second.communicate(timeout=300)
    finally:
        shutil.rmtree(ray_tmp, ignore_errors=True)
    assert second.returncode == 0, err[-2000:]
    assert f"{len(finished)} jobs finished by an earlier run are skipped" in err
    summary = json.loads((tmp_path / "data" / "fleets" / "killed" / "summary.json").read_text())
    assert summary["succeeded"] == 40 and summary["skipped"] == len(finished)
    rows = fleet_rows(tmp_path, "killed")
    assert len(rows) == len({r["request_id"] for r in rows})  # no row written twice
    assert Decimal(summary["total_cost_usd"]) == sum(r["cost"] for r in rows)
    per_job = {j["id"]: [r for r in rows if r["tags"]["job"] == j["id"]] for j in jobs}
    assert all(len(per_job[job]) == 1 for job in finished)  # finished jobs were not run again
    assert all(per_job[j["id"]] for j in jobs)  # and every other job ran
    results = [json.loads(line) for line in (tmp_path / "second.jsonl").read_text().splitlines()]
    assert sorted(r["id"] for r in results) == sorted(j["id"] for j in jobs)


def test_without_ray_the_flag_is_one_line_and_exit_1(sim: Simulator, tmp_path: Path) -> None:
    write_jobs(tmp_path / "jobs.jsonl", [{"id": 1, "prompt": "x"}])
    code = (
        "import sys; sys.modules['ray'] = None\n"  # what `import ray` meets when it is not installed
        "from thrifty.cli.main import main\n"
        "sys.exit(main(['fleet', 'run', 'jobs.jsonl', '--ray-address', 'local']))\n"
    )
    env = {**os.environ, "ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 1
    assert done.stderr == f"error: {NEEDS_RAY}\n"
    assert sim.message_requests() == []


def test_a_fleet_without_the_flag_never_imports_ray(sim: Simulator, tmp_path: Path) -> None:
    write_jobs(tmp_path / "jobs.jsonl", [{"id": 1, "prompt": "x"}, {"id": 2, "prompt": "y"}])
    code = (
        "import sys\n"
        "from thrifty.cli.main import main\n"
        "rc = main(['fleet', 'run', 'jobs.jsonl', '--ledger', 'l.sqlite3', '--no-progress'])\n"
        "print('ray' in sys.modules, file=sys.stderr)\n"
        "sys.exit(rc)\n"
    )
    env = {**os.environ, "ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url}
    done = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines()[-1] == "False"
    assert len(sim.message_requests()) == 2
