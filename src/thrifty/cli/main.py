"""Entry point of the ``thrifty`` command (placeholder until the CLI lands)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("thrifty", file=sys.stderr)
    return 0


def entry() -> None:
    sys.exit(main())
