"""Entry point of the ``thrifty`` command: subcommands, or headless ``-p`` mode.

Each command's module is imported only when that command runs: ``thrifty usage`` should not pay
for importing the agent loop and the ``anthropic`` client, and ``thrifty --version`` imports
nothing but this module and ``thrifty.cli.commands`` (``tests/cli/test_light_commands.py``).
"""

from __future__ import annotations

import os
import sys

from thrifty import __version__
from thrifty.cli.commands import COMMANDS

VERSION_ARGS = (["-v"], ["--version"], ["version"])


def run_command(args_list: list[str]) -> int:
    import importlib

    from thrifty.cli.errors import OneLineParser

    module_name, function = COMMANDS[args_list[0]]
    module = importlib.import_module(f"thrifty.cli.{module_name}")
    parser = OneLineParser(prog="thrifty")
    module.add_parser(parser.add_subparsers(dest="command", metavar="COMMAND"))
    if "-h" in args_list or "--help" in args_list:  # examples, views and reflowed text
        from thrifty.cli.help_text import polish

        polish(parser, argv=args_list)
    args = parser.parse_args(args_list)
    return int(getattr(module, function)(args))


def _help(topic: list[str]) -> int:
    """``thrifty help [COMMAND]``: the same text as ``--help``, for those who type it as a word."""
    if topic and topic[0] in COMMANDS:
        return run_command([topic[0], "--help"])
    from thrifty.cli.errors import EXIT_OK, UsageError
    from thrifty.cli.flags import build_parser

    if topic:
        raise UsageError(f"no help for {topic[0]!r}: not a thrifty command (see 'thrifty --help')")
    build_parser().print_help()
    return EXIT_OK


def _silence_stdout() -> None:
    """After the reader closed the pipe, point stdout at /dev/null so the exit flush is quiet."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


def _user_error(exc: Exception) -> bool:
    """A ``UsageError`` or ``ConfigError`` (a config or settings file a command could not use; it
    names the file). Looked up in ``sys.modules``, not imported: a module that raised one is
    loaded, and ``thrifty --version`` should not load them."""
    kinds = [
        getattr(sys.modules.get(module), name, None)
        for module, name in (("thrifty.cli.errors", "UsageError"), ("thrifty.billing.config", "ConfigError"))
    ]
    return any(isinstance(kind, type) and isinstance(exc, kind) for kind in kinds)


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    try:
        if args_list and args_list[0] in COMMANDS:
            return run_command(args_list)
        if args_list and args_list[0] == "help":
            return _help(args_list[1:])
        if args_list in VERSION_ARGS:
            print(f"{__version__} (thrifty)")
            return 0  # EXIT_OK, without importing thrifty.cli.errors (and argparse) for it
        from thrifty.cli.errors import EXIT_ERROR, EXIT_OK

        if args_list in ([], ["-h"], ["--help"]) and sys.stdin.isatty():
            _help([])
            return EXIT_ERROR if not args_list else EXIT_OK
        from thrifty.cli import headless

        return headless.run(args_list)
    except BrokenPipeError:
        # `thrifty usage daily --csv | head -3`: the reader has what it wanted.
        from thrifty.cli.errors import EXIT_OK

        _silence_stdout()
        return EXIT_OK
    except KeyboardInterrupt:
        from thrifty.cli.errors import EXIT_INTERRUPTED

        return EXIT_INTERRUPTED
    except Exception as exc:
        if _user_error(exc):
            from thrifty.cli.errors import EXIT_ERROR

            print(f"error: {exc}", file=sys.stderr)
            return EXIT_ERROR
        # Our bug, not the user's: no traceback on the terminal.
        from thrifty.cli.crash import EXIT_INTERNAL, report_crash

        report_crash(exc)
        return EXIT_INTERNAL


def entry() -> None:
    sys.exit(main())
