"""What :mod:`split` produces: words, redirections, simple commands, and the parsed line.

Kept apart from the scanner so the code that judges commands (:mod:`commands`) depends on
these plain values only, not on how they were scanned.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ParsedCommand", "Redirect", "SimpleCommand", "Word"]

_OUTPUT_OPS = frozenset({">", ">>", ">|", "&>", "&>>", "<>"})


@dataclass(frozen=True)
class Word:
    """One shell word: ``text`` as written (quotes kept), ``value`` with quotes removed.

    ``expands`` is true when the word holds a ``$`` expansion outside single quotes, meaning its
    runtime value is unknown to us.
    """

    text: str
    value: str
    expands: bool = False


@dataclass(frozen=True)
class Redirect:
    op: str
    target: Word | None
    fd: str | None = None

    @property
    def writes_file(self) -> bool:
        """True when the redirect opens a file for writing (``>&2`` only duplicates a descriptor)."""
        if self.op in _OUTPUT_OPS:
            return True
        if self.op == ">&" and self.target is not None:
            return not (self.target.value.isdigit() or self.target.value == "-")
        return False

    @property
    def reads_file(self) -> bool:
        return self.op in ("<", "<>")


@dataclass(frozen=True)
class SimpleCommand:
    words: tuple[Word, ...]
    redirects: tuple[Redirect, ...] = ()
    #: Found inside ``$(...)``, backticks, process substitution or an ``sh -c`` / ``eval`` string.
    nested: bool = False

    @property
    def text(self) -> str:
        """The command as written, without redirections, words joined by one space."""
        return " ".join(w.text for w in self.words)

    @property
    def argv(self) -> tuple[str, ...]:
        return tuple(w.value for w in self.words)


@dataclass(frozen=True)
class ParsedCommand:
    source: str
    commands: tuple[SimpleCommand, ...]
    #: Command, process or arithmetic substitution somewhere outside single quotes.
    substitution: bool = False
    #: Why the line could not be parsed (unterminated quote, dangling redirect...), if it could not.
    error: str | None = None

    @property
    def top_level(self) -> tuple[SimpleCommand, ...]:
        return tuple(c for c in self.commands if not c.nested)
