"""Generate, or check, the stored definitions of the built-in tools (``data/definitions.json``).

The request's ``tools`` array is read from that file so that startup never imports pydantic; the
pydantic input models stay the source of truth, and this regenerates the file from them::

    python -m thrifty.tools.definitions --write   # after changing a tool's model or description
    python -m thrifty.tools.definitions           # exit 1 when the stored file is out of date
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from thrifty.tools.registry import DEFINITIONS_FILE, SPECS, load_tool

REGENERATE = "python -m thrifty.tools.definitions --write"


def build() -> dict[str, dict[str, Any]]:
    """Each built-in tool's ``Tool.definition()``, by name, in the registry's order."""
    return {name: load_tool(name).definition() for name in SPECS}


def render(definitions: dict[str, dict[str, Any]]) -> str:
    """The file's text: key order kept (the request carries it), non-ASCII as is."""
    return json.dumps(definitions, indent=2, ensure_ascii=False) + "\n"


def stored_path() -> Path:
    return Path(__file__).parent / DEFINITIONS_FILE


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m thrifty.tools.definitions", description=__doc__)
    parser.add_argument("--write", action="store_true", help="rewrite the stored file from the models")
    args = parser.parse_args(argv)
    text, path = render(build()), stored_path()
    if args.write:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return 0
    if not path.is_file() or path.read_text(encoding="utf-8") != text:
        print(f"{path} is out of date; regenerate it: {REGENERATE}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
