"""The CI examples (docs/ci.md): the GitHub Actions workflow parses and does what the docs say,
the Dockerfile's instructions hold together against this repository, and, where a Docker engine
answers, the image builds and runs ``thrifty --version``.
"""

from __future__ import annotations

import fnmatch
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from thrifty import __version__

ROOT = Path(__file__).resolve().parents[1]
WORKFLOW = ROOT / "examples" / "github-actions" / "thrifty-review.yml"
DOCKERFILE = ROOT / "examples" / "docker" / "Dockerfile"
IGNORE = ROOT / "examples" / "docker" / "Dockerfile.dockerignore"


@pytest.fixture(scope="module")
def workflow() -> dict[Any, Any]:
    doc = yaml.safe_load(WORKFLOW.read_text())
    assert isinstance(doc, dict)
    return doc


def steps(workflow: dict[Any, Any]) -> list[dict[str, Any]]:
    return list(workflow["jobs"]["review"]["steps"])


def test_workflow_runs_on_pull_requests_with_read_only_permissions(workflow: dict[Any, Any]) -> None:
    triggers = workflow.get("on", workflow.get(True))  # YAML 1.1 reads a bare `on` as true
    assert isinstance(triggers, dict) and "pull_request" in triggers
    assert workflow["permissions"] == {"contents": "read"}
    job = workflow["jobs"]["review"]
    assert job["env"]["ANTHROPIC_API_KEY"] == "${{ secrets.ANTHROPIC_API_KEY }}"
    assert "timeout-minutes" in job


def test_workflow_reviews_under_a_budget_and_keeps_the_cost(workflow: dict[Any, Any]) -> None:
    by_name = {step.get("name"): step for step in steps(workflow)}
    uses = [step.get("uses", "") for step in steps(workflow)]
    assert any(u.startswith("actions/checkout@") for u in uses)
    checkout = next(s for s in steps(workflow) if s.get("uses", "").startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0  # the base branch must be there to diff against
    review = by_name["Review the diff"]["run"]
    assert "thrifty -p" in review and "--max-budget-usd" in review
    assert "--output-format json" in review and "--allowedTools Read Grep Glob" in review
    assert "${{" not in review  # untrusted values reach the script through env, not inlined
    usage = by_name["Usage report"]
    assert usage["if"] == "always()" and "thrifty usage session --json > usage.json" in usage["run"]
    upload = next(s for s in steps(workflow) if s.get("uses", "").startswith("actions/upload-artifact@"))
    assert upload["if"] == "always()"
    paths = upload["with"]["path"].split()
    assert {"review.json", "usage.json"} <= set(paths)
    assert any(p.endswith("ledger.sqlite3") for p in paths)


def test_workflow_scripts_are_valid_bash(workflow: dict[Any, Any], tmp_path: Path) -> None:
    for n, step in enumerate(s for s in steps(workflow) if "run" in s):
        script = tmp_path / f"step{n}.sh"
        script.write_text(re.sub(r"\$\{\{[^}]*\}\}", "X", step["run"]))
        result = subprocess.run(["bash", "-n", str(script)], capture_output=True, text=True)
        assert result.returncode == 0, (step.get("name"), result.stderr)


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile as (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), " ".join(rest.split())))
    return out


def ignored(path: str) -> bool:
    """Whether the Dockerfile's ignore file leaves ``path`` out of the context (last rule wins)."""
    out = False
    for rule in IGNORE.read_text().splitlines():
        rule = rule.strip()
        if not rule or rule.startswith("#"):
            continue
        negate, pattern = rule.startswith("!"), rule.lstrip("!").rstrip("/")
        if fnmatch.fnmatch(path, pattern) or path.startswith(pattern + "/"):
            out = not negate
    return out


def test_dockerfile_holds_together_with_the_repository() -> None:
    steps = instructions()
    assert steps[0][0] == "FROM" and re.fullmatch(r"python:3\.1[1-9]-slim", steps[0][1])
    for word, args in steps:
        if word == "COPY":
            *sources, _ = args.split()
            for source in sources:
                assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
                assert not ignored(source), f"COPY {source}: left out by {IGNORE.name}"
    assert ignored(".venv") and ignored("tests") and not ignored("src")
    # The uv the Makefile pins, installing from the lock.
    pinned = re.search(r"^UV_VERSION := (\S+)$", (ROOT / "Makefile").read_text(), re.M)
    assert pinned is not None
    runs = " ".join(args for word, args in steps if word == "RUN")
    assert f"uv=={pinned.group(1)}" in runs and "uv sync --frozen --no-dev" in runs
    words = [word for word, _ in steps]
    user = [args for word, args in steps if word == "USER"]
    assert user and user[-1] not in ("root", "0")
    assert words.index("USER") < words.index("ENTRYPOINT")
    entrypoint = dict(steps)["ENTRYPOINT"]
    assert json.loads(entrypoint) == ["thrifty"]


def test_docs_describe_both_examples() -> None:
    text = (ROOT / "docs" / "ci.md").read_text()
    for needle in ("thrifty-review.yml", "examples/docker/Dockerfile", "--max-budget-usd", "docker build"):
        assert needle in text


def _docker_answers() -> str | None:
    """None when a Docker engine answers, else why not."""
    if shutil.which("docker") is None:
        return "no docker client on PATH"
    try:
        result = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30)
    except subprocess.TimeoutExpired:
        return "docker info timed out"
    if result.returncode != 0:
        return "no Docker engine answers `docker info` here"
    return None


def test_dockerfile_builds_and_runs_thrifty() -> None:
    why = _docker_answers()
    if why is not None:
        pytest.skip(why)
    tag = "thrifty-example-test:latest"
    build = subprocess.run(
        ["docker", "build", "-f", str(DOCKERFILE), "-t", tag, str(ROOT)],
        capture_output=True,
        text=True,
        timeout=1800,
        env={**os.environ, "DOCKER_BUILDKIT": "1"},
    )
    assert build.returncode == 0, build.stderr[-3000:]
    try:
        run = subprocess.run(
            ["docker", "run", "--rm", tag, "--version"], capture_output=True, text=True, timeout=300
        )
        assert run.returncode == 0, run.stderr
        assert run.stdout.strip() == f"{__version__} (thrifty)"
        who = subprocess.run(
            ["docker", "run", "--rm", "--entrypoint", "id", tag, "-u"],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert who.stdout.strip() != "0"
    finally:
        subprocess.run(["docker", "image", "rm", "-f", tag], capture_output=True, timeout=300)


def test_workflow_scripts_run_against_the_simulator(workflow: dict[Any, Any], tmp_path: Path) -> None:
    """The review and usage steps, run by bash as the runner would (a pull request branch, a
    GITHUB_STEP_SUMMARY file), with ``thrifty`` answering from the simulator: every flag the
    workflow passes is one thrifty takes, and the files it uploads exist."""
    from thrifty.testing import Simulator

    if shutil.which("jq") is None or shutil.which("git") is None:
        pytest.skip("the workflow's scripts need jq and git")
    repo, bin_dir, data = tmp_path / "repo", tmp_path / "bin", tmp_path / "data"
    for folder in (repo, bin_dir):
        folder.mkdir()
    wrapper = bin_dir / "thrifty"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m thrifty "$@"\n')
    wrapper.chmod(0o755)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com", "-C", str(repo)]
    subprocess.run(["git", "init", "-q", "-b", "main", str(repo)], check=True)
    (repo / "app.py").write_text("print('hi')\n")
    subprocess.run([*git, "add", "."], check=True)
    subprocess.run([*git, "commit", "-qm", "base"], check=True)
    subprocess.run([*git, "update-ref", "refs/remotes/origin/main", "HEAD"], check=True)
    (repo / "app.py").write_text("print('hello')\n")
    subprocess.run([*git, "commit", "-qam", "change"], check=True)
    by_name = {step.get("name"): step for step in steps(workflow)}
    summary = tmp_path / "summary.md"
    with Simulator() as sim:
        sim.set_script([{"text": "Looks fine: one greeting changed."}])
        env = {k: v for k, v in os.environ.items() if not k.startswith(("THRIFTY_", "ANTHROPIC_", "CLAUDE_"))}
        env.update(
            {k: str(v) for k, v in workflow["jobs"]["review"]["env"].items() if "${{" not in str(v)},
            PATH=f"{bin_dir}{os.pathsep}{env['PATH']}",
            HOME=str(tmp_path),
            THRIFTY_DATA_DIR=str(data),
            THRIFTY_KEYRING="0",
            ANTHROPIC_API_KEY=sim.api_key,
            ANTHROPIC_BASE_URL=sim.base_url,
            BASE_REF="main",
            PR_NUMBER="7",
            GITHUB_REPOSITORY="acme/app",
            GITHUB_STEP_SUMMARY=str(summary),
        )
        for name in ("Review the diff", "Usage report"):
            result = subprocess.run(
                ["bash", "-e", "-c", by_name[name]["run"]],
                cwd=repo,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert result.returncode == 0, (name, result.stderr[-2000:])
        sent = sim.message_requests()[0].body
    assert "print('hello')" in json.dumps(sent["messages"])  # the diff reached the model
    review = json.loads((repo / "review.json").read_text())
    assert review["result"] == "Looks fine: one greeting changed." and not review["is_error"]
    usage = json.loads((repo / "usage.json").read_text())
    assert usage["totals"]["api"]["calls"] == 1 and usage["rows"][0]["project"] == "acme/app"
    assert (data / "ledger.sqlite3").exists()
    assert "Looks fine" in summary.read_text() and "Cost: $" in summary.read_text()
