"""Where thrifty keeps its files. Environment overrides come first so tests and CI stay hermetic.

- config (``config.json``, stored logins): ``THRIFTY_CONFIG_DIR``, else the platform config dir;
- data (the SQLite ledger, logs): ``THRIFTY_DATA_DIR``, else the platform data dir.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

import platformdirs

APP = "thrifty"


def config_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    override = env.get("THRIFTY_CONFIG_DIR")
    return Path(override) if override else platformdirs.user_config_path(APP)


def data_dir(environ: Mapping[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    override = env.get("THRIFTY_DATA_DIR")
    return Path(override) if override else platformdirs.user_data_path(APP)


def default_ledger_path(environ: Mapping[str, str] | None = None) -> Path:
    return data_dir(environ) / "ledger.sqlite3"
