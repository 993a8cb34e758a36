"""Entry point of the ``thrifty`` command: subcommands, or headless ``-p`` mode."""

from __future__ import annotations

import sys

from thrifty import __version__
from thrifty.cli import demo, headless, login, sim, status, usage_cmd
from thrifty.cli.crash import EXIT_INTERNAL, report_crash
from thrifty.cli.errors import EXIT_ERROR, EXIT_INTERRUPTED, OneLineParser, UsageError


def build_parser() -> OneLineParser:
    parser = OneLineParser(
        prog="thrifty",
        description="A headless coding agent and Agent SDK that knows who pays for every token.",
    )
    parser.add_argument("-v", "--version", action="version", version=f"{__version__} (thrifty)")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    demo.add_parser(sub)
    status.add_parser(sub)
    usage_cmd.add_parser(sub)
    login.add_parser(sub)
    sim.add_parser(sub)
    return parser


COMMANDS = {
    "demo": demo.run,
    "status": status.run,
    "usage": usage_cmd.run,
    "login": login.run,
    "logout": login.run_logout,
    "sim": sim.run,
}


def main(argv: list[str] | None = None) -> int:
    args_list = sys.argv[1:] if argv is None else argv
    try:
        if args_list and args_list[0] in COMMANDS:
            args = build_parser().parse_args(args_list)
            return COMMANDS[args.command](args)
        if args_list in ([], ["-h"], ["--help"]) and sys.stdin.isatty():
            headless.build_parser().print_help()
            return EXIT_ERROR if not args_list else 0
        if args_list in (["-v"], ["--version"]):
            print(f"{__version__} (thrifty)")
            return 0
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
