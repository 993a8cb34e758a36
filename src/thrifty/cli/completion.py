"""``thrifty completion bash|zsh|fish``: a shell completion script built from the parsers.

The script is generated from the same argparse tree ``thrifty`` parses with (every command,
sub-command, view, flag and flag choice), so it cannot fall behind a new flag. The shells share
one idea: walk the words typed so far to the deepest command "node" (``usage``, ``batch
submit``), then offer that node's flags after a dash, the choices of a flag right after it, and
otherwise its sub-commands or positional choices (views, shells), falling back to file names.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from dataclasses import dataclass, field
from typing import Any

from thrifty.cli.errors import EXIT_OK

SHELLS = ("bash", "zsh", "fish")


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "completion",
        help="print a shell completion script (bash, zsh or fish)",
        description="Print a completion script for commands, usage views, flags and their choices. "
        "Load it in your shell's startup file; it is generated from thrifty's own parsers.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("shell", choices=SHELLS, help="the shell to complete in")


@dataclass
class Node:
    """One command level: what may follow it."""

    words: list[str] = field(default_factory=list)
    flags: list[str] = field(default_factory=list)
    #: flag -> its choices
    values: dict[str, list[str]] = field(default_factory=dict)
    #: (the flag's names, a short help, its choices), for shells that describe flags
    described: list[tuple[list[str], str, list[str]]] = field(default_factory=list)


def tree() -> dict[str, Node]:
    """Every command path ("" is ``thrifty`` itself) and what may follow it."""
    from thrifty.cli.commands import COMMANDS
    from thrifty.cli.errors import OneLineParser
    from thrifty.cli.flags import build_parser

    nodes: dict[str, Node] = {}
    _walk(build_parser(()), "", nodes)
    nodes[""].words = [*COMMANDS, "help"]
    top = OneLineParser(prog="thrifty")
    subs = top.add_subparsers(dest="command")
    for module in dict.fromkeys(module for module, _ in COMMANDS.values()):
        importlib.import_module(f"thrifty.cli.{module}").add_parser(subs)
    for name, parser in subs.choices.items():
        if name in COMMANDS:
            _walk(parser, name, nodes)
    return nodes


def _walk(parser: argparse.ArgumentParser, path: str, nodes: dict[str, Node]) -> None:
    node = nodes.setdefault(path, Node())
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                node.words.append(name)
                _walk(sub, f"{path} {name}".strip(), nodes)
        elif not action.option_strings:
            node.words += [str(c) for c in action.choices or ()]
        elif action.help != argparse.SUPPRESS:
            node.flags += action.option_strings
            choices = [str(c) for c in action.choices or ()]
            if choices:
                for flag in action.option_strings:
                    node.values[flag] = choices
            node.described.append((list(action.option_strings), _short_help(action), choices))


def _short_help(action: argparse.Action) -> str:
    text = (action.help or "").split(";")[0].split(". ")[0]
    text = text.replace("%%", "%").replace("'", "").replace('"', "")
    return text if len(text) <= 60 else text[:57] + "..."


def _case(name: str, entries: dict[str, str], otherwise: str = "") -> str:
    lines = [f"{name}() {{", '    case "$1" in']
    for key, body in entries.items():
        lines.append(f'        "{key}") {body} ;;')
    if otherwise:
        lines.append(f"        *) {otherwise} ;;")
    lines += ["    esac", "}"]
    return "\n".join(lines)


def _helpers(nodes: dict[str, Node]) -> str:
    """The lookup functions bash and zsh share (plain POSIX ``case``)."""
    values = {f"{path} {flag}": " ".join(v) for path, n in nodes.items() for flag, v in n.values.items()}
    return "\n\n".join(
        [
            _case("_thrifty_node", dict.fromkeys(nodes, "return 0"), "return 1"),
            _case("_thrifty_words", {p: f"echo '{' '.join(n.words)}'" for p, n in nodes.items()}),
            _case("_thrifty_flags", {p: f"echo '{' '.join(n.flags)}'" for p, n in nodes.items()}),
            _case("_thrifty_values", {k: f"echo '{v}'" for k, v in values.items()}),
        ]
    )


BASH = r"""
_thrifty() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="" node="" word values i
    if [ "$COMP_CWORD" -gt 0 ]; then prev="${COMP_WORDS[COMP_CWORD-1]}"; fi
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${COMP_WORDS[i]}"
        case "$word" in -*) continue ;; esac
        if _thrifty_node "${node:+$node }$word"; then node="${node:+$node }$word"; fi
    done
    case "$prev" in
        -*)
            values="$(_thrifty_values "$node $prev")"
            if [ -n "$values" ]; then
                COMPREPLY=($(compgen -W "$values" -- "$cur"))
                return 0
            fi
            ;;
    esac
    case "$cur" in
        -*) COMPREPLY=($(compgen -W "$(_thrifty_flags "$node")" -- "$cur")) ;;
        *) COMPREPLY=($(compgen -W "$(_thrifty_words "$node")" -- "$cur")) ;;
    esac
}
complete -o default -F _thrifty thrifty
"""

ZSH = r"""
_thrifty() {
    local node="" word values i
    local prev="${words[CURRENT-1]}" cur="${words[CURRENT]}"
    for (( i = 2; i < CURRENT; i++ )); do
        word="${words[i]}"
        [[ "$word" == -* ]] && continue
        _thrifty_node "${node:+$node }$word" && node="${node:+$node }$word"
    done
    if [[ "$prev" == -* ]]; then
        values="$(_thrifty_values "$node $prev")"
        if [[ -n "$values" ]]; then
            compadd -- ${=values}
            return
        fi
    fi
    if [[ "$cur" == -* ]]; then
        compadd -- $(_thrifty_flags "$node")
    else
        compadd -- $(_thrifty_words "$node")
        _files
    fi
}

if [ "$funcstack[1]" = "_thrifty" ]; then
    _thrifty "$@"
else
    compdef _thrifty thrifty
fi
"""


def bash(nodes: dict[str, Node]) -> str:
    head = "# bash completion for thrifty; generated by `thrifty completion bash`.\n"
    return head + "\n" + _helpers(nodes) + "\n" + BASH


def zsh(nodes: dict[str, Node]) -> str:
    head = "#compdef thrifty\n# zsh completion for thrifty; generated by `thrifty completion zsh`.\n"
    return head + "\n" + _helpers(nodes) + "\n" + ZSH


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fish(nodes: dict[str, Node]) -> str:
    known = " ".join(_fish_quote(path) for path in nodes)
    lines = [
        "# fish completion for thrifty; generated by `thrifty completion fish`.",
        "function __thrifty_node",
        "    set -l node ''",
        "    for word in (commandline -opc)[2..-1]",
        "        string match -q -- '-*' $word; and continue",
        '        set -l next (string trim -- "$node $word")',
        f"        contains -- $next {known}; and set node $next",
        "    end",
        '    echo "$node"',
        "end",
        "function __thrifty_at",
        "    set -l node (__thrifty_node)",
        '    test "$node" = "$argv[1]"',
        "end",
    ]
    for path, node in nodes.items():
        at = f"-n {_fish_quote('__thrifty_at ' + _fish_quote(path))}"
        if node.words:
            lines.append(f"complete -c thrifty {at} -a {_fish_quote(' '.join(node.words))}")
        for flags, text, choices in node.described:
            names = " ".join(
                f"-l {f[2:]}" if f.startswith("--") else f"-s {f[1:]}" if len(f) == 2 else f"-o {f[1:]}"
                for f in flags
            )
            extra = f" -x -a {_fish_quote(' '.join(choices))}" if choices else ""
            lines.append(f"complete -c thrifty {at} {names} -d {_fish_quote(text)}{extra}")
    return "\n".join(lines) + "\n"


def run(args: argparse.Namespace) -> int:
    script = {"bash": bash, "zsh": zsh, "fish": fish}[args.shell](tree())
    sys.stdout.write(script)
    return EXIT_OK
