"""Entry point of the ``thrifty`` command: subcommands, or headless ``-p`` mode.

Each command's module is imported only when that command runs: ``thrifty usage`` should not pay
for importing the agent loop and the ``anthropic`` client.
"""

from __future__ import annotations

import importlib
import sys

from thrifty import __version__
from thrifty.cli.crash import EXIT_INTERNAL, report_crash
from thrifty.cli.errors import EXIT_ERROR, EXIT_INTERRUPTED, OneLineParser, UsageError

#: command -> (module under thrifty.cli, function taking the parsed args)
COMMANDS = {
    "demo": ("demo", "run"),
    "status": ("status", "run"),
    "usage": ("usage_cmd", "run"),
    "advise": ("advise_cmd", "run"),
    "login": ("login", "run"),
    "logout": ("login", "run_logout"),
    "sim": ("sim", "run"),
    "import": ("import_cmd", "run"),
    "sessions": ("sessions_cmd", "run"),
}


def run_command(args_list: list[str]) -> int:
    module_name, function = COMMANDS[args_list[0]]
    module = importlib.import_module(f"thrifty.cli.{module_name}")
    parser = OneLineParser(prog="thrifty")
    module.add_parser(parser.add_subparsers(dest="command", metavar="COMMAND"))
    args = parser.parse_args(args_list)
    return int(getattr(module, function)(args))


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    try:
        if args_list and args_list[0] in COMMANDS:
            return run_command(args_list)
        if args_list in (["-v"], ["--version"]):
            print(f"{__version__} (thrifty)")
            return 0
        from thrifty.cli import headless

        if args_list in ([], ["-h"], ["--help"]) and sys.stdin.isatty():
            headless.build_parser().print_help()
            return EXIT_ERROR if not args_list else 0
        return headless.run(args_list)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    except Exception as exc:  # our bug, not the user's: no traceback on the terminal
        report_crash(exc)
        return EXIT_INTERNAL


def entry() -> None:
    sys.exit(main())
