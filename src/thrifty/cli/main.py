"""Entry point of the ``thrifty`` command: subcommands, or headless ``-p`` mode.

Each command's module is imported only when that command runs: ``thrifty usage`` should not pay
for importing the agent loop and the ``anthropic`` client.
"""

from __future__ import annotations

import importlib
import os
import sys

from thrifty import __version__
from thrifty.billing.config import ConfigError
from thrifty.cli.commands import COMMANDS
from thrifty.cli.crash import EXIT_INTERNAL, report_crash
from thrifty.cli.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_OK, OneLineParser, UsageError


def run_command(args_list: list[str]) -> int:
    module_name, function = COMMANDS[args_list[0]]
    module = importlib.import_module(f"thrifty.cli.{module_name}")
    parser = OneLineParser(prog="thrifty")
    module.add_parser(parser.add_subparsers(dest="command", metavar="COMMAND"))
    args = parser.parse_args(args_list)
    return int(getattr(module, function)(args))


def _help(topic: list[str]) -> int:
    """``thrifty help [COMMAND]``: the same text as ``--help``, for those who type it as a word."""
    if topic and topic[0] in COMMANDS:
        return run_command([topic[0], "--help"])
    if topic:
        raise UsageError(f"no help for {topic[0]!r}: not a thrifty command (see 'thrifty --help')")
    from thrifty.cli.flags import build_parser

    build_parser().print_help()
    return EXIT_OK


def _silence_stdout() -> None:
    """After the reader closed the pipe, point stdout at /dev/null so the exit flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    try:
        if args_list and args_list[0] in COMMANDS:
            return run_command(args_list)
        if args_list and args_list[0] == "help":
            return _help(args_list[1:])
        if args_list in (["-v"], ["--version"], ["version"]):
            print(f"{__version__} (thrifty)")
            return EXIT_OK
        if args_list in ([], ["-h"], ["--help"]) and sys.stdin.isatty():
            _help([])
            return EXIT_ERROR if not args_list else EXIT_OK
        from thrifty.cli import headless

        return headless.run(args_list)
    except (UsageError, ConfigError) as exc:
        # ConfigError: a config or settings file a command could not use (it names the file).
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # `thrifty usage daily --csv | head -3`: the reader has what it wanted.
        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # our bug, not the user's: no traceback on the terminal
        report_crash(exc)
        return EXIT_INTERNAL


def entry() -> None:
    sys.exit(main())
