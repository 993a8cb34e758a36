"""When thrifty itself fails: one line for the user, the traceback in a log file, secrets redacted.

A user's mistake never reaches here (it is a ``UsageError``, a ``SetupError``, or a
``ConfigError`` for a config or settings file, each printed by ``main`` as one ``error:`` line
with exit 1); this is for our bugs. The traceback is worth keeping for a bug report, but it can
hold anything that was in a local variable or an exception message, so every registered secret
(and every credential in the environment) is redacted before it is written, and the terminal only
gets the log's path.
"""

from __future__ import annotations

import os
import sys
import traceback
from datetime import UTC, datetime
from pathlib import Path

from thrifty.billing.paths import data_dir
from thrifty.billing.secret import redact

CREDENTIAL_VARIABLES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN")
#: Documented in the README: an internal error, as distinct from a run that ended in error (1).
EXIT_INTERNAL = 70


def report_crash(exc: BaseException, *, log_dir: Path | None = None) -> Path | None:
    """Write the redacted traceback to a log file and print one line; returns the log path."""
    env_secrets = [v for name in CREDENTIAL_VARIABLES if (v := os.environ.get(name))]
    text = redact("".join(traceback.format_exception(exc)), *env_secrets)
    directory = log_dir or data_dir() / "logs"
    path = directory / f"crash-{datetime.now(UTC):%Y%m%dT%H%M%S%fZ}.log"
    written: Path | None = path
    try:
        directory.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
    except OSError:
        written = None
    where = f"details in {written}" if written else "no log could be written"
    print(
        f"thrifty: internal error ({type(exc).__name__}); {where}. Please report it.",
        file=sys.stderr,
    )
    return written
