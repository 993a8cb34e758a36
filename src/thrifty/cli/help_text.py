"""What ``--help`` shows beyond argparse's defaults: examples for every command, text that fits
the terminal, and a help screen of its own for each ``thrifty usage`` view.

The examples live here, not in each command's module, so that a help screen can be checked for
them in one place and the modules stay about what they do. ``polish`` is applied to the parser
tree after the commands have built it: the commands keep their own descriptions, hand-wrapped
at any width, and ``Formatter`` re-flows only the paragraphs that would not fit.
"""

from __future__ import annotations

import argparse
import re
import sys
import textwrap
from collections.abc import Sequence
from typing import Any

#: (what it does, the command), by command path ("" is ``thrifty`` itself).
EXAMPLES: dict[str, list[tuple[str, str]]] = {
    "": [
        (
            "ask about the project, read-only",
            'thrifty -p "What does this project do?" --allowedTools Read Grep',
        ),
        (
            "review a diff as JSON, spending at most 50 cents",
            'git diff | thrifty -p "Review this diff" --output-format json --max-budget-usd 0.50',
        ),
        ("go on with the newest session in this directory", 'thrifty -p "Now add tests" --continue'),
        ("half price, minutes of latency: each turn a batch", 'thrifty -p "Write the changelog" --via batch'),
        ("what the ledger recorded this week", "thrifty usage daily -s 7d"),
        ("plan or API key?", "thrifty advise"),
    ],
    "demo": [("a simulated agent run, offline and free", "thrifty demo")],
    "status": [
        ("which credential pays and what is spent", "thrifty status"),
        ("the same as JSON, as a plan run would see it", "thrifty status --json --billing-mode plan"),
    ],
    "usage": [
        ("one row per day, the last week", "thrifty usage daily -s 7d"),
        ("the last five sessions", "thrifty usage session --last 5"),
        ("newest month first, as JSON", "thrifty usage monthly --order desc -j"),
        ("the active 5-hour block against your plan", "thrifty usage blocks --active"),
        ("help for one view", "thrifty usage blocks --help"),
    ],
    "advise": [
        ("the last 30 days", "thrifty advise"),
        (
            "March only, against two plans",
            "thrifty advise -s 2026-03-01 --until 2026-03-31 --plan pro max-5x",
        ),
        ("every number as JSON", "thrifty advise --days 90 -j"),
    ],
    "login": [
        ("record your plan", "thrifty login --plan max-5x --cycle-day 14 --credit-claimed"),
        ("your own limits", "thrifty login --plan custom --five-hour-tokens 2000000 --monthly-fee 50"),
    ],
    "logout": [("forget the recorded plan", "thrifty logout")],
    "sim": [("serve the simulator on port 8787", "thrifty sim serve")],
    "sim serve": [
        ("a free port, with a script of turns", "thrifty sim serve --port 0 --script turns.yaml"),
        ("one request in ten fails", "thrifty sim serve --chaos-rate 0.1 --chaos-seed 7"),
    ],
    "import": [
        ("import ~/.claude's history, then look at it", "thrifty import && thrifty usage"),
        ("another config dir, as JSON", "thrifty import --claude-dir ~/work/.claude --json"),
    ],
    "reconcile": [
        ("the ledger against the bill since a date", "thrifty reconcile -s 2026-11-01"),
        ("allow 5 cents of difference, as JSON", "thrifty reconcile --tolerance 0.05 --json"),
    ],
    "sessions": [
        ("this directory's sessions", "thrifty sessions"),
        ("every session, as JSON", "thrifty sessions --all --json"),
    ],
    "batch": [
        ("estimate only, send nothing", "thrifty batch submit prompts.jsonl --dry-run"),
        ("wait for the results", "thrifty batch results BATCH_ID --wait -o out.jsonl"),
    ],
    "batch submit": [("submit under a cap", "thrifty batch submit prompts.jsonl --max-cost-usd 5")],
    "batch status": [("poll until it ends", "thrifty batch status BATCH_ID --wait")],
    "batch results": [("write the results to a file", "thrifty batch results BATCH_ID -o out.jsonl")],
    "batch cancel": [("stop a batch", "thrifty batch cancel BATCH_ID")],
    "fleet": [("eight jobs at a time, $20 in all", "thrifty fleet run jobs.jsonl --max-cost-usd 20")],
    "fleet run": [
        (
            "eight jobs at a time, $20 in all",
            "thrifty fleet run jobs.jsonl --max-cost-usd 20 -o results.jsonl",
        ),
        ("run the failed jobs again", "thrifty fleet run jobs.jsonl --retry-failed"),
    ],
    "statusline": [
        (
            "in ~/.claude/settings.json",
            '{"statusLine": {"type": "command", "command": "thrifty statusline"}}',
        ),
        ("try it by hand", "echo '{}' | thrifty statusline --no-color"),
    ],
    "completion": [
        ("bash, for this shell", 'eval "$(thrifty completion bash)"'),
        ("zsh, for every shell", 'thrifty completion zsh > "${fpath[1]}/_thrifty"'),
        ("fish", "thrifty completion fish > ~/.config/fish/completions/thrifty.fish"),
    ],
}

#: Per-view help for ``thrifty usage VIEW --help``: what the view shows, then its examples.
VIEWS: dict[str, tuple[str, list[tuple[str, str]]]] = {
    "daily": (
        "One row per calendar day (in --timezone), per billing mode.",
        [
            ("the last week", "thrifty usage daily -s 7d"),
            ("the last 3 days, newest first", "thrifty usage daily --last 3 --order desc"),
        ],
    ),
    "weekly": (
        "One row per week, keyed by its first day (--start-of-week, default monday).",
        [("weeks starting on Sunday", "thrifty usage weekly --start-of-week sunday")],
    ),
    "monthly": (
        "One row per month (YYYY-MM, in --timezone).",
        [("this year, as CSV", "thrifty usage monthly -s 2026-01-01 --csv")],
    ),
    "session": (
        "One row per session: project, first and last call, models used. Session ids are never "
        "wrapped, so they paste into `thrifty -p ... --resume ID`.",
        [
            ("the last 10 sessions", "thrifty usage session --last 10"),
            ("this project's", "thrifty usage session --project ."),
        ],
    ),
    "model": (
        "One row per model.",
        [("per model, the last 30 days", "thrifty usage model -s 30d")],
    ),
    "blocks": (
        "5-hour blocks (as ccusage draws them); the active one with its projection. With a plan "
        "(--plan, or the one stored by `thrifty login`), the share of its 5-hour limit.",
        [
            ("the active block", "thrifty usage blocks --active"),
            ("against a plan", "thrifty usage blocks --plan max-5x"),
        ],
    ),
    "mismatches": (
        "Calls whose logged cost differs from thrifty's calculated cost by more than --tolerance.",
        [("differences over a cent", "thrifty usage mismatches --tolerance 0.01")],
    ),
}
#: ``thrifty usage`` options that only some views take, when their help does not say so itself
#: ("blocks view: ..." does: see ``_views_of``).
ONLY = {"--csv": ("daily", "weekly", "monthly", "session", "model")}
_VIEW_PREFIX = re.compile(r"^([a-z]+(?:(?:, | and | or )[a-z]+)*)(?: views?)?:")
#: Choices longer than this are shown as a name in the usage line and listed in the help.
LONG_CHOICES = 40
#: "  name   what it is": a row of a two-column list; the text column is where the gap ends.
_COLUMNED = re.compile(r"^(\s+\S+(?: \S+)*?)(\s{2,})\S")


def examples_block(items: Sequence[tuple[str, str]]) -> str:
    return "Examples:\n" + "\n".join(f"  # {what}\n  {command}" for what, command in items)


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keeps hand-wrapped text as written while it fits; a paragraph or row that would pass the
    terminal's width is re-flowed (a two-column row under its text column, a command with
    ``\\`` continuations so it still pastes), so no help line is wider than the terminal."""

    def __init__(self, prog: str, **kwargs: Any) -> None:
        kwargs.setdefault("max_help_position", 30)
        super().__init__(prog, **kwargs)

    def _metavar_formatter(self, action: argparse.Action, default_metavar: str) -> Any:
        if action.metavar is None and action.choices is not None and _long(action):
            name = action.dest.upper()
            return lambda size: (name,) * size if isinstance(size, int) else (name,)
        return super()._metavar_formatter(action, default_metavar)

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = super()._get_help_string(action)
        if action.metavar is None and action.choices is not None and _long(action) and text:
            text += f"; one of: {', '.join(map(str, action.choices))}"
        return text

    def _fill_text(self, text: str, width: int, indent: str) -> str:
        return "\n".join(indent + line for line in reflow(text, max(width, 20)).splitlines())


def _long(action: argparse.Action) -> bool:
    return len(",".join(map(str, action.choices or ()))) > LONG_CHOICES


def reflow(text: str, width: int) -> str:
    """``text`` with each block that has a line wider than ``width`` re-wrapped to ``width``."""
    lines, out, i = text.splitlines(), [], 0
    while i < len(lines):
        line = lines[i]
        depth = len(line) - len(line.lstrip())
        block = [line]
        i += 1
        while line.strip() and i < len(lines) and lines[i].strip():
            nxt = len(lines[i]) - len(lines[i].lstrip())
            if (depth == 0 and nxt == 0) or (depth > 0 and nxt > depth):
                block.append(lines[i])
                i += 1
            else:
                break
        out.extend(block if all(len(b) <= width for b in block) else _wrap(block, width))
    return "\n".join(out)


def _wrap(block: list[str], width: int) -> list[str]:
    first = block[0]
    depth = len(first) - len(first.lstrip())
    words = " ".join(b.strip() for b in block)
    if first.lstrip().startswith(("thrifty ", "git ", "eval ")) and not _COLUMNED.match(first):
        return _wrap_command(first[:depth], words, width)
    column = _COLUMNED.match(first)
    if column and len(column.group(1) + column.group(2)) <= width // 2:
        head = column.group(1) + column.group(2)
        body = " ".join([first[len(head) :].strip(), *(b.strip() for b in block[1:])])
        return textwrap.wrap(
            body, width, initial_indent=head, subsequent_indent=" " * len(head), break_on_hyphens=False
        )
    hang = " " * (depth + 2 * bool(depth))
    return textwrap.wrap(
        words, width, initial_indent=first[:depth], subsequent_indent=hang, break_on_hyphens=False
    )


def _wrap_command(indent: str, command: str, width: int) -> list[str]:
    lines = textwrap.wrap(
        command,
        width - 2,
        initial_indent=indent,
        subsequent_indent=indent + "    ",
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [line + " \\" for line in lines[:-1]] + lines[-1:]


def polish(parser: argparse.ArgumentParser, path: str = "", argv: Sequence[str] = ()) -> None:
    """Give ``parser`` and every parser under it the re-flowing formatter and their examples;
    the usage command's help also learns its views. ``argv`` is the command line being parsed."""
    parser.formatter_class = Formatter
    if path in EXAMPLES and "examples:" not in (parser.epilog or "").lower():
        parser.epilog = "\n\n".join(filter(None, [parser.epilog, examples_block(EXAMPLES[path])]))
    if path == "usage":
        _install_view_help(parser, argv)
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                polish(sub, f"{path} {name}".strip(), argv)


class _ViewHelp(argparse._HelpAction):
    """``thrifty usage VIEW --help``: that view's help; ``thrifty usage --help``: the whole."""

    argv: Sequence[str] = ()

    def __call__(self, parser: argparse.ArgumentParser, namespace: argparse.Namespace, *_: Any) -> None:
        view = getattr(namespace, "view", None)
        # The positional is parsed before --help when it comes first; a view that was only the
        # default ("daily") was not asked for, so the argv must name it.
        if view in VIEWS and view in self.argv:
            sys.stdout.write(view_help(parser, view))
            parser.exit()
        super().__call__(parser, namespace, None)


def _install_view_help(parser: argparse.ArgumentParser, argv: Sequence[str]) -> None:
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction):
            action.__class__ = _ViewHelp
            action.argv = tuple(argv)  # type: ignore[attr-defined]


def _views_of(action: argparse.Action, parser_flags: dict[str, argparse.Action]) -> tuple[str, ...] | None:
    """The views an option belongs to (None: all), from ``ONLY``, its help's "X view:", or the
    views of the flag its help says it goes "with"."""
    for flag in action.option_strings:
        if flag in ONLY:
            return ONLY[flag]
    with_flag = re.match(r"^with (--[a-z-]+)", action.help or "")
    if with_flag and with_flag.group(1) in parser_flags:
        return _views_of(parser_flags[with_flag.group(1)], parser_flags)
    match = _VIEW_PREFIX.match(action.help or "")
    named = tuple(re.split(r", | and | or ", match.group(1))) if match else ()
    return named if named and all(v in VIEWS for v in named) else None


def view_help(parser: argparse.ArgumentParser, view: str) -> str:
    """One view's help: what it shows, the options it takes, and examples."""
    description, items = VIEWS[view]
    actions = [
        a
        for a in parser._actions
        if a.option_strings
        and a.help != argparse.SUPPRESS
        and view in (_views_of(a, parser._option_string_actions) or (view,))
    ]
    formatter = Formatter(prog=f"{parser.prog} {view}")
    formatter.add_usage(None, actions, [])
    formatter.add_text(description + " The other views: thrifty usage --help.")
    formatter.start_section("options")
    formatter.add_arguments(actions)
    formatter.end_section()
    formatter.add_text(examples_block(items))
    return formatter.format_help()
