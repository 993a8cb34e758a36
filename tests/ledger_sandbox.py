"""A project, a home and a ledger of rows a test puts in, with no model endpoint: the reporting
commands (``usage``, ``advise``, ``dashboard``, ...) run as a user runs them, as a subprocess."""

from __future__ import annotations

import os
from pathlib import Path

from tests.cli.conftest import Run, run_thrifty
from thrifty.billing.ledger import LedgerRow, open_ledger


class LedgerSandbox:
    def __init__(self, tmp: Path, **env: str) -> None:
        """``env``: extra variables for every run (``COLUMNS``, say)."""
        self.tmp = tmp
        self.project = tmp / "project"
        self.home = tmp / "home"
        self.data = tmp / "data"
        self.config = tmp / "config"
        self.ledger = self.data / "ledger.sqlite3"
        for folder in (self.project, self.home, self.data):
            folder.mkdir(parents=True, exist_ok=True)
        # The developer's credentials, Claude Code settings and colour wishes stay out.
        drop = ("THRIFTY_", "ANTHROPIC_", "CLAUDE_")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(drop) and k != "FORCE_COLOR"}
        self.env.update(
            HOME=str(self.home),
            THRIFTY_CONFIG_DIR=str(self.config),
            THRIFTY_DATA_DIR=str(self.data),
            THRIFTY_KEYRING="0",
            **env,
        )

    def fill(self, rows: list[LedgerRow]) -> None:
        ledger = open_ledger(str(self.ledger))
        try:
            assert ledger.append_many(rows) == len(rows)
        finally:
            ledger.close()

    def run(self, *args: str, stdin: str | None = None, **env: str) -> Run:
        """``stdin=None``: no input at all (``/dev/null``); a string is piped."""
        return run_thrifty(*args, cwd=self.project, env={**self.env, **env}, stdin=stdin)
