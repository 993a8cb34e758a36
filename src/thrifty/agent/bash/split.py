"""Split a Bash command line into the simple commands the shell would run.

Permission rules are written per command (``Bash(git diff *)``), but the model sends whole command
lines. If a rule were matched against the raw line, ``git diff; rm -rf x`` would pass as a
``git diff``. So the line is scanned the way Bash tokenizes it: quotes, escapes, operators (``;``
``&&`` ``||`` ``|`` ``&`` newline, parentheses), redirections and here-documents are recognised,
and every simple command comes out on its own.

The scanner follows ``bash -c``, which is how the Bash tool runs commands, and where it might
disagree with Bash it must err towards seeing more commands, never fewer. Comments are the
lesson: ``#`` at the start of a word runs to the end of the line, and a backslash inside a
comment does not continue the line, so a comment ending in a backslash does not swallow the next
line's command. Reading ``#`` as an ordinary character would have glued that command onto the
comment's words, and an allow rule for the first command would have let it through.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from thrifty.agent.bash.syntax import ParsedCommand, Redirect, SimpleCommand, Word

__all__ = ["ParsedCommand", "Redirect", "SimpleCommand", "Word", "split_command"]

# Longest first, so ``&&`` wins over ``&`` and ``>>`` over ``>``.
_OPERATORS: tuple[str, ...] = (";;&", "&>>", "<<<", "<<-", "&&", "||", "|&", ";;", ";&", ">>", ">|", ">&")
_OPERATORS += ("<&", "<>", "<<", "&>", ";", "&", "|", "<", ">", "(", ")")
_REDIRECT_OPS = frozenset({"&>>", "<<<", "<<-", ">>", ">|", ">&", "<&", "<>", "<<", "&>", "<", ">"})
_SHELLS = frozenset({"sh", "bash", "zsh", "dash", "ksh", "mksh", "fish"})
_MAX_DEPTH = 8


def split_command(source: str) -> ParsedCommand:
    return _Scanner(source, depth=0).run()


@dataclass
class _WordBuilder:
    start: int
    value: list[str] = field(default_factory=list)
    expands: bool = False


class _Scanner:
    def __init__(self, source: str, depth: int) -> None:
        self.s = source
        self.n = len(source)
        self.i = 0
        self.depth = depth
        self.commands: list[SimpleCommand] = []
        self.nested: list[SimpleCommand] = []
        self.substitution = False
        self.error: str | None = None
        self.words: list[Word] = []
        self.redirects: list[Redirect] = []
        self.pending: tuple[str, str | None] | None = None
        self.word: _WordBuilder | None = None
        #: Here-documents whose bodies start after the current line: (delimiter, strip_tabs, quoted).
        self.heredocs: list[tuple[str, bool, bool]] = []
        self.heredoc_next = False

    # -- driver ------------------------------------------------------------------------------

    def run(self) -> ParsedCommand:
        if self.depth > _MAX_DEPTH:
            return ParsedCommand(self.s, (), substitution=True, error="nesting too deep")
        if "\x00" in self.s:
            return ParsedCommand(self.s, (), error="NUL byte in command")
        while self.i < self.n and self.error is None:
            self._step()
        self._end_word()
        if self.error is None and self.heredocs:
            self.error = "here-document not terminated"
        self._end_command()
        return ParsedCommand(
            self.s,
            tuple(self.commands + self.nested),
            substitution=self.substitution,
            error=self.error,
        )

    def _step(self) -> None:
        s, i = self.s, self.i
        c = s[i]
        if c in " \t":
            self._end_word()
            self.i += 1
        elif c == "\\" and s.startswith("\n", i + 1):
            self.i += 2  # line continuation: the shell deletes both characters
        elif c == "\n":
            self._end_word()
            self._end_command()
            self.i += 1
            self._read_heredoc_bodies()
        elif c == "#" and self.word is None:
            end = s.find("\n", i)
            self.i = self.n if end < 0 else end  # the newline still ends the command
        elif c in "<>" and s.startswith("(", i + 1):
            self._substitution(i + 1)
        elif c in ";&|<>()":
            self._operator()
        else:
            self._word_char()

    # -- words -------------------------------------------------------------------------------

    def _ensure_word(self) -> _WordBuilder:
        if self.word is None:
            self.word = _WordBuilder(start=self.i)
        return self.word

    def _end_word(self) -> None:
        if self.word is None:
            return
        w = Word(self.s[self.word.start : self.i], "".join(self.word.value), self.word.expands)
        self.word = None
        if self.pending is not None:
            op, fd = self.pending
            self.pending = None
            if op in ("<<", "<<-"):
                quoted = any(q in w.text for q in "'\"\\")
                self.heredocs.append((w.value, op == "<<-", quoted))
            self.redirects.append(Redirect(op, w, fd))
        else:
            self.words.append(w)

    def _end_command(self) -> None:
        if self.pending is not None:
            self.error = f"redirection {self.pending[0]!r} has no target"
            self.pending = None
        if self.words or self.redirects:
            cmd = SimpleCommand(tuple(self.words), tuple(self.redirects), nested=self.depth > 0)
            self.commands.append(cmd)
            self._parse_interpreted(cmd)
        self.words, self.redirects = [], []

    def _word_char(self) -> None:
        s, i = self.s, self.i
        c = s[i]
        w = self._ensure_word()
        if c == "'":
            end = s.find("'", i + 1)
            if end < 0:
                self._fail("unterminated single quote")
                return
            w.value.append(s[i + 1 : end])
            self.i = end + 1
        elif c == '"':
            self._double_quoted()
        elif c == "`":
            self._backtick()
        elif c == "$":
            self._dollar(quoted=False)
        elif c == "\\":
            if i + 1 >= self.n:
                w.value.append("\\")
                self.i += 1
            else:
                w.value.append(s[i + 1])
                self.i += 2
        else:
            w.value.append(c)
            self.i += 1

    def _double_quoted(self) -> None:
        s = self.s
        w = self._ensure_word()
        self.i += 1
        while self.i < self.n and self.error is None:
            c = s[self.i]
            if c == '"':
                self.i += 1
                return
            if c == "\\" and self.i + 1 < self.n:
                nxt = s[self.i + 1]
                if nxt in '$`"\\':
                    w.value.append(nxt)
                elif nxt != "\n":
                    w.value.append("\\" + nxt)
                self.i += 2
            elif c == "`":
                self._backtick()
            elif c == "$":
                self._dollar(quoted=True)
            else:
                w.value.append(c)
                self.i += 1
        if self.error is None:
            self._fail("unterminated double quote")

    def _dollar(self, *, quoted: bool) -> None:
        s, i = self.s, self.i
        w = self._ensure_word()
        nxt = s[i + 1] if i + 1 < self.n else ""
        if nxt == "(":
            self._substitution(i + 1)
        elif nxt == "{":
            close = s.find("}", i + 2)
            inner = s[i + 2 : close]
            if close < 0 or any(ch in inner for ch in "'\"\\`{}()"):
                # Quoting rules inside ${...} differ between shells and contexts; refusing to
                # guess keeps a quote here from hiding a command separator from us.
                self._fail("complex ${...} expansion")
                return
            w.value.append(s[i : close + 1])
            w.expands = True
            self.i = close + 1
        elif nxt == "'" and not quoted:
            end = _find_ansi_c_end(s, i + 2)
            if end is None:
                self._fail("unterminated $'...' quote")
                return
            w.value.append(_ansi_c_value(s[i + 2 : end]))
            self.i = end + 1
        elif nxt == "[":
            # Legacy arithmetic; the text inside is scanned as normal so a $(...) in it is found.
            self.substitution = True
            w.value.append("$")
            w.expands = True
            self.i += 1
        else:
            w.value.append("$")
            w.expands = w.expands or (nxt != "" and (nxt.isalnum() or nxt in '_@*#?$!-"'))
            self.i += 1

    def _substitution(self, open_at: int) -> None:
        """``$(...)``, ``$((...))``, ``<(...)`` or ``>(...)`` starting with ``(`` at ``open_at``.

        Where the substitution ends only matters for deny checks on the commands inside it: the
        line as a whole is flagged and never auto-allowed, wherever the parenthesis closes.
        """
        end = _find_closing_paren(self.s, open_at)
        if end is None:
            self._fail("unterminated substitution")
            return
        self.substitution = True
        w = self._ensure_word()
        w.value.append(self.s[self.i : end + 1])
        w.expands = True
        self._absorb(self.s[open_at + 1 : end])
        self.i = end + 1

    def _backtick(self) -> None:
        s = self.s
        j = self.i + 1
        inner: list[str] = []
        while j < self.n and s[j] != "`":
            if s[j] == "\\" and j + 1 < self.n:
                inner.append(s[j + 1] if s[j + 1] in "`$\\" else s[j : j + 2])
                j += 2
            else:
                inner.append(s[j])
                j += 1
        if j >= self.n:
            self._fail("unterminated backquote")
            return
        self.substitution = True
        w = self._ensure_word()
        w.value.append(s[self.i : j + 1])
        w.expands = True
        self._absorb("".join(inner))
        self.i = j + 1

    def _absorb(self, inner: str) -> None:
        """Parse text the shell will run (or expand) later, keeping its commands for deny checks."""
        sub = _Scanner(inner, self.depth + 1).run()
        self.nested.extend(sub.commands)
        self.substitution = self.substitution or sub.substitution
        if sub.error is not None and self.error is None:
            self.error = f"inside substitution: {sub.error}"

    # -- operators ---------------------------------------------------------------------------

    def _operator(self) -> None:
        s, i = self.s, self.i
        op = next(o for o in _OPERATORS if s.startswith(o, i))
        if op in _REDIRECT_OPS:
            fd: str | None = None
            if self.word is not None and self.word.start < i and s[self.word.start : i].isdigit():
                fd = s[self.word.start : i]
                self.word = None
            else:
                self._end_word()
            if self.pending is not None:
                self._fail(f"unexpected {op!r}")
                return
            self.pending = (op, fd)
        else:
            self._end_word()
            self._end_command()
        self.i = i + len(op)

    def _read_heredoc_bodies(self) -> None:
        s = self.s
        while self.heredocs:
            delimiter, strip_tabs, quoted = self.heredocs.pop(0)
            body: list[str] = []
            while True:
                if self.i >= self.n:
                    self._fail(f"here-document {delimiter!r} not terminated")
                    return
                end = s.find("\n", self.i)
                line = s[self.i : self.n if end < 0 else end]
                self.i = self.n if end < 0 else end + 1
                if (line.lstrip("\t") if strip_tabs else line) == delimiter:
                    break
                if not quoted and (len(line) - len(line.rstrip("\\"))) % 2 == 1:
                    # Bash joins this line with the next before looking for the delimiter, so
                    # the body may end later than it seems; refuse to guess where.
                    self._fail("line continuation in here-document")
                    return
                body.append(line)
            if not quoted:
                # An unquoted delimiter means the body is expanded: $(...) in it runs.
                text = "\n".join(body)
                if "$" in text or "`" in text:
                    probe = _Scanner(_as_double_quoted(text), self.depth + 1)
                    result = probe.run()
                    self.substitution = self.substitution or result.substitution
                    self.nested.extend(probe.nested)  # the body itself is data, not a command
                    if result.error is not None:
                        self._fail(f"in here-document: {result.error}")
                        return

    def _parse_interpreted(self, cmd: SimpleCommand) -> None:
        """``sh -c 'rm x'`` and ``eval 'rm x'`` run a string as a command line: parse it too."""
        argv = cmd.argv
        if not argv:
            return
        name = argv[0].rsplit("/", 1)[-1]
        script: str | None = None
        if name == "eval":
            script = " ".join(argv[1:])
        elif name in _SHELLS:
            for k, arg in enumerate(argv[1:], start=1):
                if arg.startswith("-") and not arg.startswith("--") and "c" in arg[1:]:
                    script = argv[k + 1] if k + 1 < len(argv) else None
                    break
        if script:
            self._absorb(script)

    def _fail(self, message: str) -> None:
        if self.error is None:
            self.error = message
        self.i = self.n


def _find_closing_paren(s: str, open_at: int) -> int | None:
    """Index of the parenthesis closing the one at ``open_at``, skipping quoted text."""
    depth = 0
    j = open_at
    n = len(s)
    while j < n:
        c = s[j]
        if c == "\\":
            j += 2
            continue
        if c == "'":
            end = s.find("'", j + 1)
            if end < 0:
                return None
            j = end + 1
            continue
        if c == '"':
            j += 1
            while j < n and s[j] != '"':
                j += 2 if s[j] == "\\" else 1
            if j >= n:
                return None
            j += 1
            continue
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
            if depth == 0:
                return j
        j += 1
    return None


def _find_ansi_c_end(s: str, start: int) -> int | None:
    j = start
    while j < len(s):
        if s[j] == "\\":
            j += 2
        elif s[j] == "'":
            return j
        else:
            j += 1
    return None


def _ansi_c_value(body: str) -> str:
    simple = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", "'": "'", '"': '"', "a": "\a", "e": "\x1b"}
    out: list[str] = []
    j = 0
    while j < len(body):
        if body[j] == "\\" and j + 1 < len(body):
            out.append(simple.get(body[j + 1], body[j : j + 2]))
            j += 2
        else:
            out.append(body[j])
            j += 1
    return "".join(out)


def _as_double_quoted(text: str) -> str:
    """Wrap here-document text so the scanner applies double-quote rules to it."""
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'
