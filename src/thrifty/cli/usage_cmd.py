"""Placeholder: being written."""

from __future__ import annotations

import argparse
from typing import Any


def add_parser(sub: Any) -> None:
    sub.add_parser("usage", help="(being written)")


def run(args: argparse.Namespace) -> int:
    raise NotImplementedError
