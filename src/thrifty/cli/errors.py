"""User-facing failures: one line on stderr and a documented exit code, never a traceback."""

from __future__ import annotations

import argparse
import re
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
        print(f"error: {did_you_mean(message)} (see '{self.prog} --help')", file=sys.stderr)
        sys.exit(EXIT_ERROR)


_INVALID_CHOICE = re.compile(
    r"^argument (?P<arg>.+?): invalid choice: '(?P<word>.*)' \(choose from (?P<choices>.*)\)$"
)


def did_you_mean(message: str) -> str:
    """argparse's "invalid choice" with the likely choice named instead of all of them listed
    (``thrifty usage dayly``: "did you mean 'daily'?"); any other message as it is."""
    match = _INVALID_CHOICE.match(message)
    if match is None:
        return message
    import difflib  # only a mistyped word needs it

    choices = [c.strip().strip("'") for c in match["choices"].split(",")]
    close = difflib.get_close_matches(match["word"].lower(), choices, n=1, cutoff=0.6)
    if not close:
        return message
    return f"invalid choice '{match['word']}' for {match['arg']}; did you mean '{close[0]}'?"
