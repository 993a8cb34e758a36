"""``-d/--debug [filter]`` and ``--debug-file PATH``: thrifty's debug log, as Claude Code spells it.

commander lets ``--debug`` take an optional value, so ``claude -p --debug api hi`` means filter
``api``, prompt ``hi``. argparse's ``nargs='?'`` would also swallow a prompt (``--debug "fix
it"``), so the value is decided here, before parsing: it is a filter only if it looks like one
(comma-separated category words, ``!`` to exclude); anything else stays where it was.

The log may hold request bodies, so a debug file is created (or narrowed to) mode 0600, and
every record passes secret redaction on its way out.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
from pathlib import Path

from thrifty.billing.secret import RedactingFilter
from thrifty.cli.errors import UsageError

_FILTER = re.compile(r"^!?[A-Za-z0-9_.-]+(?:,!?[A-Za-z0-9_.-]+)*$")
#: Every message: what ``--debug`` means with no filter.
ALL = "all"
_FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


def normalize_argv(argv: list[str]) -> list[str]:
    """Rewrite ``-d``/``--debug [filter]`` as ``--debug=FILTER`` so argparse reads it one way only."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        arg = argv[i]
        if arg == "--":
            out.extend(argv[i:])
            break
        if arg in ("-d", "--debug"):
            nxt = argv[i + 1] if i + 1 < len(argv) else None
            if nxt is not None and not nxt.startswith("-") and _FILTER.match(nxt):
                out.append(f"--debug={nxt}")
                i += 2
                continue
            out.append(f"--debug={ALL}")
        else:
            out.append(arg)
        i += 1
    return out


class CategoryFilter(logging.Filter):
    """Claude Code's filter syntax over thrifty's logger names: ``api,hooks`` keeps records whose
    logger name has one of those parts; ``!stream`` drops them."""

    def __init__(self, spec: str) -> None:
        super().__init__()
        words = [w for w in spec.split(",") if w and w != ALL]
        self.exclude = {w[1:].lower() for w in words if w.startswith("!")}
        self.include = {w.lower() for w in words if not w.startswith("!")}

    def filter(self, record: logging.LogRecord) -> bool:
        parts = set(record.name.lower().split("."))
        if parts & self.exclude:
            return False
        return not self.include or bool(parts & self.include)


def _private_stream(path: Path) -> logging.Handler:
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    except OSError as exc:
        raise UsageError(f"--debug-file: cannot open {path}: {exc.strerror}") from exc
    with contextlib.suppress(OSError):
        os.fchmod(fd, 0o600)  # an existing file keeps its mode through O_CREAT
    return logging.StreamHandler(os.fdopen(fd, "a", encoding="utf-8"))


def configure(spec: str | None, path: Path | None) -> None:
    """Send thrifty's DEBUG log to stderr (``--debug``), to a file (``--debug-file``), or both."""
    handlers: list[logging.Handler] = []
    if path is not None:
        handlers.append(_private_stream(path))
    if spec is not None:
        handlers.append(logging.StreamHandler(sys.stderr))
    if not handlers:
        return
    root = logging.getLogger("thrifty")
    for handler in handlers:
        handler.setFormatter(logging.Formatter(_FORMAT))
        handler.addFilter(RedactingFilter())  # no record leaves with a registered secret in it
        if spec is not None:
            handler.addFilter(CategoryFilter(spec))
        root.addHandler(handler)
    root.setLevel(logging.DEBUG)
