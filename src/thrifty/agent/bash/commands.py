"""What the permission engine knows about particular shell commands.

Three questions are answered here, each for one simple command from :mod:`split`:

* which texts a deny or ask rule should be matched against (wrappers such as ``sudo``, ``env`` or
  ``timeout`` and paths such as ``/bin/rm`` are peeled off, so ``sudo /bin/rm -rf x`` still meets
  ``Bash(rm *)``);
* whether the command is read-only, so it may run without a rule the way Claude Code lets ``ls``
  or ``git status`` through;
* which paths a ``mkdir``/``touch``/``mv``/``cp`` touches, for acceptEdits mode.

The read-only list is deliberately short and every entry names the options that would make it
write or execute (``sort -o``, ``find -exec``, ``rg --pre``). GNU tools and git accept
abbreviated long options (``sort --out=f`` is ``--output``), so forbidden long options match by
prefix.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from thrifty.agent.bash.syntax import SimpleCommand, Word

__all__ = ["allow_texts", "deny_texts", "filesystem_edit_paths", "is_read_only"]

_ASSIGNMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*=")
_KEYWORDS = frozenset({"!", "{", "}", "then", "do", "else", "elif", "if", "while", "until"})


@dataclass(frozen=True)
class _Wrapper:
    #: Options that take a separate argument (``sudo -u root``).
    takes_arg: frozenset[str] = frozenset()
    #: Options that take no argument; used only when stripping strictly.
    flags: frozenset[str] = frozenset()
    #: Positional arguments before the wrapped command (the duration of ``timeout``).
    positionals: int = 0
    #: Safe to look through when deciding *allow*: the wrapped command is exactly what runs.
    transparent: bool = False


_WRAPPERS: dict[str, _Wrapper] = {
    "timeout": _Wrapper(
        takes_arg=frozenset({"-s", "--signal", "-k", "--kill-after"}),
        flags=frozenset({"--preserve-status", "--foreground", "-v", "--verbose"}),
        positionals=1,
        transparent=True,
    ),
    "nice": _Wrapper(takes_arg=frozenset({"-n", "--adjustment"}), transparent=True),
    "time": _Wrapper(flags=frozenset({"-p"}), transparent=True),
    "nohup": _Wrapper(),
    "sudo": _Wrapper(takes_arg=frozenset({"-u", "-g", "-h", "-p", "-C", "-D", "-r", "-t", "-U"})),
    "doas": _Wrapper(takes_arg=frozenset({"-u", "-C"})),
    "env": _Wrapper(takes_arg=frozenset({"-u", "--unset", "-C", "--chdir", "-S", "--split-string"})),
    "command": _Wrapper(),
    "builtin": _Wrapper(),
    "exec": _Wrapper(takes_arg=frozenset({"-a"})),
    "stdbuf": _Wrapper(takes_arg=frozenset({"-i", "-o", "-e"})),
    "xargs": _Wrapper(takes_arg=frozenset({"-n", "-I", "-P", "-d", "-L", "-a", "-s", "-E", "-e"})),
    "nsenter": _Wrapper(),
    "chroot": _Wrapper(positionals=1),
}


def _strip_wrappers(words: Sequence[Word], *, strict: bool) -> int | None:
    """Index of the word that names the command actually run, or None when ``strict`` and unsure.

    Permissive stripping serves deny rules: it may skip too much, which only makes a deny match
    more. Strict stripping serves allow rules and looks only through wrappers whose every option
    it recognises.
    """
    k = 0
    n = len(words)
    while k < n:
        value = words[k].value
        if not strict and (_ASSIGNMENT.match(value) or value in _KEYWORDS):
            k += 1
            continue
        name = value.rsplit("/", 1)[-1] if not strict else value
        wrapper = _WRAPPERS.get(name)
        if wrapper is None or (strict and not wrapper.transparent):
            return k
        k += 1
        positionals = wrapper.positionals
        while k < n:
            arg = words[k].value
            if arg == "--":
                k += 1
                break
            if arg.startswith("-") and len(arg) > 1:
                opt = arg.split("=", 1)[0]
                if opt in wrapper.takes_arg and "=" not in arg:
                    k += 2
                elif (
                    opt in wrapper.takes_arg or opt in wrapper.flags or (name == "nice" and arg[1:].isdigit())
                ):
                    k += 1
                elif strict:
                    return None
                else:
                    k += 1
            elif not strict and name == "env" and _ASSIGNMENT.match(arg):
                k += 1
            elif positionals > 0:
                positionals -= 1
                k += 1
            else:
                break
        if strict and (k >= n or positionals > 0):
            return None
    return k if k < n else None


def deny_texts(cmd: SimpleCommand) -> list[str]:
    """Every text a deny or ask rule is tried against: as written, unquoted, and unwrapped."""
    texts = [cmd.text, " ".join(cmd.argv)]
    start = _strip_wrappers(cmd.words, strict=False)
    if start is not None:
        argv = list(cmd.argv[start:])
        argv[0] = argv[0].rsplit("/", 1)[-1]
        texts.append(" ".join(argv))
        if argv[0] == "find":
            texts.extend(_find_exec_texts(argv))
    return list(dict.fromkeys(texts))


def _find_exec_texts(argv: Sequence[str]) -> list[str]:
    out: list[str] = []
    for k, arg in enumerate(argv):
        if arg in ("-exec", "-execdir", "-ok", "-okdir"):
            rest: list[str] = []
            for a in argv[k + 1 :]:
                if a in (";", "+"):
                    break
                rest.append(a)
            if rest:
                out.append(" ".join([rest[0].rsplit("/", 1)[-1], *rest[1:]]))
    return out


def allow_texts(cmd: SimpleCommand) -> list[str]:
    """Texts an allow rule may match: as written, and with transparent wrappers removed."""
    texts = [cmd.text]
    start = _strip_wrappers(cmd.words, strict=True)
    if start is not None and start > 0:
        texts.append(" ".join(w.text for w in cmd.words[start:]))
    return texts


def _unwrapped(cmd: SimpleCommand) -> tuple[Word, ...] | None:
    """The words after transparent wrappers (``timeout 5 ls`` gives ``ls``), None if unsure."""
    start = _strip_wrappers(cmd.words, strict=True)
    return None if start is None else cmd.words[start:]


# -- read-only commands ------------------------------------------------------------------------


@dataclass(frozen=True)
class _ReadOnly:
    #: Arguments name files to read, so they must stay inside the working directories.
    reads_paths: bool = True
    #: The first positional is a pattern or program, not a path (grep, rg, jq).
    skip_first_positional: bool = False
    forbidden_long: tuple[str, ...] = ()
    forbidden_exact: tuple[str, ...] = ()
    forbidden_short: str = ""
    min_positional: int = 0
    max_positional: int | None = None


_NO_PATHS = _ReadOnly(reads_paths=False)
_READ_ONLY: dict[str, _ReadOnly] = {
    **dict.fromkeys(
        ["echo", "printf", "pwd", "true", "false", "whoami", "id", "uname", "which", "type"], _NO_PATHS
    ),
    **dict.fromkeys(["basename", "dirname", "seq", "sleep", "test", "[", "tr"], _NO_PATHS),
    **dict.fromkeys(
        ["ls", "cat", "head", "tail", "wc", "stat", "du", "df", "diff", "cmp", "cut", "nl"], _ReadOnly()
    ),
    **dict.fromkeys(["realpath", "readlink"], _ReadOnly()),
    **dict.fromkeys(
        ["sha256sum", "sha1sum", "md5sum"], _ReadOnly(forbidden_long=("--check",), forbidden_short="c")
    ),
    # Bare ``cd`` and ``cd -`` go where we cannot see; the caller checks later relative paths
    # against every ``cd`` target of the line as well as the cwd.
    "cd": _ReadOnly(min_positional=1, max_positional=1, forbidden_exact=("-",)),
    "date": _ReadOnly(reads_paths=False, forbidden_long=("--set",), forbidden_short="s"),
    "grep": _ReadOnly(skip_first_positional=True),
    "egrep": _ReadOnly(skip_first_positional=True),
    "fgrep": _ReadOnly(skip_first_positional=True),
    "rg": _ReadOnly(skip_first_positional=True, forbidden_long=("--pre",)),
    "jq": _ReadOnly(skip_first_positional=True),
    "find": _ReadOnly(
        forbidden_exact=(
            "-exec",
            "-execdir",
            "-ok",
            "-okdir",
            "-delete",
            "-fprint",
            "-fprint0",
            "-fprintf",
            "-fls",
        )
    ),
    "sort": _ReadOnly(forbidden_long=("--output", "--compress-program"), forbidden_short="o"),
    "uniq": _ReadOnly(max_positional=1),
    "tree": _ReadOnly(forbidden_short="o"),
    "file": _ReadOnly(forbidden_long=("--compile",), forbidden_short="C"),
}

_GIT_READ_ONLY = frozenset({"status", "diff", "log", "show", "blame", "ls-files", "rev-parse", "describe"})
_GIT_LISTING = {
    "branch": frozenset({"-a", "--all", "-r", "--remotes", "-v", "-vv", "--verbose", "--list", "-l"})
    | frozenset({"--show-current", "--no-color"}),
    "remote": frozenset({"-v", "--verbose"}),
}
_GIT_FORBIDDEN_LONG = ("--output", "--ext-diff", "--open-files-in-pager")


def is_read_only(cmd: SimpleCommand, path_ok: Callable[[str], bool]) -> bool:
    """True when the command can only read, and only paths ``path_ok`` accepts.

    Redirections are judged by the caller; an expansion (``$x``) in the command name, or in any
    argument of a command that reads paths, makes the answer no, because its value is unknown.
    """
    words = _unwrapped(cmd)
    if not words or words[0].expands:
        return False
    name = words[0].value
    args = words[1:]
    if name == "git":
        return _git_read_only(args, path_ok)
    spec = _READ_ONLY.get(name)
    if spec is None:
        return False
    positional = 0
    skip_done = not spec.skip_first_positional
    options_done = False
    for word in args:
        arg = word.value
        if not options_done and arg == "--":
            options_done = True
            continue
        if not options_done and arg.startswith("-") and len(arg) > 1:
            if _forbidden_option(arg, spec.forbidden_long, spec.forbidden_short, spec.forbidden_exact):
                return False
            if spec.reads_paths and not _option_value_ok(word, path_ok):
                return False
            continue
        positional += 1
        if arg in spec.forbidden_exact:
            return False
        if not skip_done:
            skip_done = True
            continue
        if spec.reads_paths and (word.expands or not path_ok(arg)):
            return False
    if positional < spec.min_positional:
        return False
    return spec.max_positional is None or positional <= spec.max_positional


def _git_read_only(args: Sequence[Word], path_ok: Callable[[str], bool]) -> bool:
    values = [w.value for w in args]
    while values and values[0] == "--no-pager":
        values = values[1:]
        args = args[1:]
    if not values:
        return False
    sub, rest = values[0], args[1:]
    if sub in _GIT_LISTING:
        return all(w.value in _GIT_LISTING[sub] for w in rest)
    if sub not in _GIT_READ_ONLY:
        return False
    options_done = False
    for word in rest:
        arg = word.value
        if word.expands:
            return False
        if not options_done and arg == "--":
            options_done = True
        elif not options_done and arg.startswith("-"):
            if _forbidden_option(arg, _GIT_FORBIDDEN_LONG, "", ()) or not _option_value_ok(word, path_ok):
                return False
        elif not path_ok(arg):
            return False
    return True


def _forbidden_option(arg: str, long: Sequence[str], short: str, exact: Sequence[str]) -> bool:
    if arg in exact:
        return True
    if arg.startswith("--"):
        name = arg.split("=", 1)[0]
        return len(name) > 2 and any(f.startswith(name) for f in long)
    return any(letter in arg[1:] for letter in short)


def _option_value_ok(word: Word, path_ok: Callable[[str], bool]) -> bool:
    """``--file=/etc/x`` or ``-f/etc/x`` carry a path too; check what looks like one."""
    arg = word.value
    if word.expands:
        return False
    if arg.startswith("--") and "=" in arg:
        value = arg.split("=", 1)[1]
    elif not arg.startswith("--") and len(arg) > 2:
        value = arg[2:]
    else:
        return True
    return not _looks_like_path(value) or path_ok(value)


def _looks_like_path(value: str) -> bool:
    return value.startswith(("/", "~")) or value == ".." or value.startswith("../") or "/../" in value


# -- acceptEdits filesystem commands -----------------------------------------------------------

_FILESYSTEM_EDITS = frozenset({"mkdir", "touch", "mv", "cp"})


def filesystem_edit_paths(cmd: SimpleCommand) -> list[str] | None:
    """The paths a ``mkdir``/``touch``/``mv``/``cp`` names, or None for any other command.

    Values glued to options (``--target-directory=/x``) count as paths too, and any expansion
    gives None: acceptEdits may only approve what it can see.
    """
    words = _unwrapped(cmd)
    if not words or words[0].value not in _FILESYSTEM_EDITS:
        return None
    paths: list[str] = []
    for word in words[1:]:
        if word.expands:
            return None
        arg = word.value
        if arg.startswith("-") and len(arg) > 1:
            if "=" in arg:
                paths.append(arg.split("=", 1)[1])
            continue
        paths.append(arg)
    return paths
