"""The table of ``thrifty COMMAND`` names, and what to say when a word is not one of them.

Without ``-p`` a stray word used to be sent to the model as a prompt and billed: ``thrifty staus``
cost money. A word is a prompt only when the user says so (``-p``) or pipes input; otherwise it
has to be a command, and a near miss gets a "did you mean".
"""

from __future__ import annotations

import os
import stat
import sys

#: command -> (module under thrifty.cli, function taking the parsed args)
COMMANDS = {
    "demo": ("demo", "run"),
    "status": ("status", "run"),
    "usage": ("usage", "run"),
    "advise": ("advise_cmd", "run"),
    "dashboard": ("dashboard", "run"),
    "login": ("login", "run"),
    "logout": ("login", "run_logout"),
    "sim": ("sim", "run"),
    "import": ("import_cmd", "run"),
    "reconcile": ("reconcile_cmd", "run"),
    "sessions": ("sessions_cmd", "run"),
    "batch": ("batch_cmd", "run"),
    "fleet": ("fleet_cmd", "run"),
    "completion": ("completion", "run"),
    "statusline": ("statusline", "run"),
}
#: Words people type for something thrifty spells another way.
ALIASES = {"help": "--help", "version": "--version", "config": "status", "whoami": "status", "cost": "usage"}


def suggest(word: str) -> str | None:
    """The command (or flag) a mistyped one-word argument most likely meant, if any is close."""
    import difflib  # here, not at the top: only a mistyped word needs it

    lowered = word.lower()
    if lowered in ALIASES:
        return ALIASES[lowered]
    close = difflib.get_close_matches(lowered, [*COMMANDS, *ALIASES], n=1, cutoff=0.75)
    return ALIASES.get(close[0], close[0]) if close else None


def stdin_is_piped() -> bool:
    """True when stdin is a pipe, socket or file: input someone sent on purpose, not a terminal
    or ``/dev/null``."""
    try:
        mode = os.fstat(sys.stdin.fileno()).st_mode
    except (AttributeError, OSError, ValueError):
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISREG(mode) or stat.S_ISSOCK(mode)


def not_a_prompt(prompt: str, piped: bool) -> str | None:
    """Why a positional argument given without ``-p`` must not be sent to the model, or None.

    A single word close to a command is refused even with piped input (``echo x | thrifty staus``
    is still a typo); anything else without ``-p`` needs piped input to count as a prompt.
    """
    text = prompt.strip()
    shown = text if len(text) <= 40 else text[:37] + "..."
    guess = suggest(text) if text and " " not in text else None
    if guess is not None:
        hint = f"thrifty {guess}"
        return f"'{shown}' is not a thrifty command; did you mean '{hint}'? (to ask the model, use -p)"
    if piped:
        return None
    if text and " " not in text:
        return f"'{shown}' is not a thrifty command (see 'thrifty --help'); to ask the model, use -p"
    return f"thrifty has no interactive mode; to ask the model, use: thrifty -p '{shown}'"
