"""User-facing failures: one line on stderr and a documented exit code, never a traceback."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

#: Exit codes, documented in the README. 1 matches Claude Code for every error result and for
#: bad arguments, so scripts written for ``claude -p`` read thrifty's codes the same way.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_INTERRUPTED = 130


class UsageError(Exception):
    """A mistake by the user: printed as ``error: <message>`` and exit 1."""


class OneLineParser(argparse.ArgumentParser):
    """argparse prints usage plus a message and exits 2; we want one line and exit 1.

    Prefix matching is off: with it, ``--debug api`` became ``--debug-file api`` and
    ``--max-b 0.5`` passed for ``--max-budget-usd``. A flag is spelled out or it is an error.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("allow_abbrev", False)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        print(f"error: {message} (see '{self.prog} --help')", file=sys.stderr)
        sys.exit(EXIT_ERROR)
