from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from thrifty.testing import Simulator


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    @property
    def json(self) -> Any:
        return json.loads(self.stdout)

    @property
    def lines(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


def run_thrifty(*args: str, cwd: Path, env: dict[str, str], stdin: str | None = None) -> Run:
    """``thrifty ARGS`` as a subprocess in ``cwd``; ``stdin=None``: no input at all (``/dev/null``),
    as in CI; a string is piped."""
    result = subprocess.run(
        [sys.executable, "-m", "thrifty", *args],
        cwd=cwd,
        env=env,
        input=stdin,
        stdin=subprocess.DEVNULL if stdin is None else None,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return Run(result.returncode, result.stdout, result.stderr)


class Cli:
    """Runs ``thrifty`` as a user would: a subprocess in a project directory, against the simulator."""

    def __init__(self, sim: Simulator, cwd: Path, home: Path) -> None:
        self.sim = sim
        self.cwd = cwd
        self.home = home
        self.config_dir = home / ".thrifty-config"
        self.data_dir = home / ".thrifty-data"

    @property
    def ledger_path(self) -> Path:
        return self.data_dir / "ledger.sqlite3"

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("ANTHROPIC_", "CLAUDE_", "THRIFTY_"))}
        env.update(
            ANTHROPIC_BASE_URL=self.sim.base_url,
            ANTHROPIC_API_KEY=self.sim.api_key,
            HOME=str(self.home),
            THRIFTY_CONFIG_DIR=str(self.config_dir),
            THRIFTY_DATA_DIR=str(self.data_dir),
            THRIFTY_KEYRING="0",
            PYTHONUNBUFFERED="1",
        )
        env.update(extra)
        return env

    def __call__(self, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> Run:
        """``stdin=None``: no input at all (``/dev/null``), as in CI; a string is piped."""
        return run_thrifty(*args, cwd=self.cwd, env=env or self.env(), stdin=stdin)


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    project = tmp_path / "project"
    home = tmp_path / "home"
    project.mkdir()
    home.mkdir()
    with Simulator() as sim:
        yield Cli(sim, project, home)


@pytest.fixture
def make_options(cli: Cli, tmp_path: Path) -> Any:
    """``ClaudeAgentOptions`` for the official Agent SDK with ``cli_path`` pointing at thrifty."""
    from claude_agent_sdk import ClaudeAgentOptions

    wrapper = tmp_path / "thrifty-cli"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m thrifty "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)

    def make(**overrides: Any) -> ClaudeAgentOptions:
        values: dict[str, Any] = {"cli_path": str(wrapper), "cwd": str(cli.cwd), "env": cli.env()}
        return ClaudeAgentOptions(**{**values, **overrides})

    return make
