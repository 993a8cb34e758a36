"""Every help screen has examples and fits an 80-column terminal, and each ``thrifty usage`` view
has a help screen of its own. Each screen is printed by ``thrifty`` in a subprocess with
``COLUMNS=80``, as a user's terminal would ask for it.
"""

from __future__ import annotations

import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import pytest

from thrifty.cli.commands import COMMANDS
from thrifty.cli.help_text import VIEWS, reflow
from thrifty.usage.reports import VIEWS as GROUPED

SUB_COMMANDS = ["sim serve", "batch submit", "batch status", "batch results", "batch cancel", "fleet run"]
SCREENS = ["", *COMMANDS, *SUB_COMMANDS, *(f"usage {view}" for view in VIEWS)]


def help_of(path: str) -> tuple[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("THRIFTY_", "ANTHROPIC_"))}
    result = subprocess.run(
        [sys.executable, "-m", "thrifty", *path.split(), "--help"],
        env={**env, "COLUMNS": "80"},
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, f"thrifty {path} --help: {result.stderr}"
    return path, result.stdout


@pytest.fixture(scope="module")
def screens() -> dict[str, str]:
    with ThreadPoolExecutor(max_workers=4) as pool:
        return dict(pool.map(help_of, SCREENS))


@pytest.mark.parametrize("path", SCREENS)
def test_every_help_screen_has_examples_and_fits_80_columns(screens: dict[str, str], path: str) -> None:
    text = screens[path]
    wide = [line for line in text.splitlines() if len(line) > 80]
    assert wide == [], f"thrifty {path} --help has lines over 80 columns"
    assert "Examples:" in text
    examples = text.split("Examples:", 1)[1]
    assert f"thrifty {path}".strip() in examples or "thrifty" in examples


def test_each_usage_view_has_its_own_help(screens: dict[str, str]) -> None:
    whole = screens["usage"]
    assert all(view in whole for view in VIEWS)
    pages = {view: screens[f"usage {view}"] for view in VIEWS}
    assert len(set(pages.values())) == len(VIEWS)  # no two alike, and none is the whole
    assert whole not in pages.values()
    for view, page in pages.items():
        assert page.startswith(f"usage: thrifty usage {view} ")
        assert f"thrifty usage {view}" in page.split("Examples:", 1)[1]
    # A view lists the options it takes, not another view's.
    assert "--active" in pages["blocks"] and "--tolerance" not in pages["blocks"]
    assert "--tolerance" in pages["mismatches"] and "--active" not in pages["mismatches"]
    assert "--start-of-week" in pages["weekly"] and "--start-of-week" not in pages["daily"]
    for view in GROUPED:
        assert "--last" in pages[view] and "--csv" in pages[view]
    assert "--last" not in pages["blocks"] and "--csv" not in pages["blocks"]
    for page in pages.values():
        assert "--since" in page and "--json" in page and "--compact" in page


def test_only_a_named_view_gets_its_page(screens: dict[str, str]) -> None:
    """``daily`` is the default view, but ``thrifty usage --help`` did not ask for it."""
    assert screens["usage daily"] != screens["usage"]
    _, flags_only = help_of("usage --mode plan --since 7d")
    assert flags_only == screens["usage"]


def test_reflow_keeps_what_fits_and_wraps_the_rest() -> None:
    fits = "A short line.\n  col    text\n"
    assert reflow(fits, 40) == fits.rstrip("\n")
    text = reflow("  thrifty fleet run jobs.jsonl --concurrency 8 --max-cost-usd 20 --out r.jsonl", 40)
    lines = text.splitlines()
    assert all(len(line) <= 40 for line in lines)
    assert all(line.endswith(" \\") for line in lines[:-1])  # a command still pastes
    row = reflow("  blocks      5-hour blocks, the active one with its projection and plan share", 40)
    assert row.splitlines()[1].startswith(" " * 14)  # continued under the text column
