"""The dashboard in a real browser: Debian's Chromium, headless, driven by Playwright.

The page is written by the CLI (a subprocess, as a user runs it) and opened from ``file://``.
It must load without a console error or a failed request and make no request but its own
file; and what the browser draws must be the ledger's numbers: every bar's ``data-cost``,
read back from the rendered DOM, adds up to the totals ``thrifty usage --json`` prints.

Chromium comes from ``scripts/ensure-packages.sh`` (the Makefile's check target runs it).
Without it the test skips on a developer's machine and fails in CI (``CI=true``), where a
skip would hide that the check never ran.
"""

from __future__ import annotations

import os
from collections import defaultdict
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.usage.test_dashboard import HOSTILE, OPUS, SPAN, Sandbox, sample_rows

CHROMIUM = Path("/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def _unavailable(why: str) -> None:
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"{why}; CI must run the browser test (scripts/ensure-packages.sh installs Chromium)")
    pytest.skip(f"{why}; run scripts/ensure-packages.sh to install it")


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _unavailable(f"no Chromium at {CHROMIUM}")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _unavailable("the playwright package is not installed")
    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


class Loaded:
    """A page opened in the browser, with everything it asked for and complained about."""

    def __init__(self, browser: Any, path: Path) -> None:
        self.page = browser.new_page()
        self.requests: list[str] = []
        self.failed: list[str] = []
        self.console: list[str] = []
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("requestfailed", lambda r: self.failed.append(r.url))
        self.page.on("console", lambda m: self.console.append(f"{m.type}: {m.text}"))
        self.page.on("pageerror", lambda e: self.console.append(f"pageerror: {e}"))
        self.url = path.as_uri()
        self.page.goto(self.url, wait_until="load")
        self.page.wait_for_function("document.documentElement.dataset.ready === 'true'", timeout=10_000)

    def attrs(self, selector: str, *names: str) -> list[dict[str, str]]:
        result: list[dict[str, str]] = self.page.eval_on_selector_all(
            selector,
            "(els, names) => els.map(e => Object.fromEntries(names.map(n => [n, e.getAttribute(n)])))",
            list(names),
        )
        return result


@pytest.fixture(scope="module")
def shown(browser: Any, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Loaded, Sandbox]]:
    box = Sandbox(tmp_path_factory.mktemp("dash"))
    box.fill(sample_rows())
    out = box.tmp / "dashboard.html"
    box.ok("dashboard", "--output", str(out), *SPAN)
    loaded = Loaded(browser, out)
    try:
        yield loaded, box
    finally:
        loaded.page.close()


def test_no_errors_and_no_requests(shown: tuple[Loaded, Sandbox]) -> None:
    loaded, _ = shown
    assert loaded.console == []
    assert loaded.failed == []
    assert loaded.requests == [loaded.url]  # the page itself, and nothing else


def test_totals_shown_are_the_ledgers(shown: tuple[Loaded, Sandbox]) -> None:
    loaded, box = shown
    totals = box.json("usage", "daily", *SPAN)["totals"]
    shown_totals = {t["data-mode"]: t for t in loaded.attrs(".mode-total", "data-mode", "data-cost")}
    assert set(shown_totals) == {mode for mode, t in totals.items() if t["calls"]}
    for mode, total in shown_totals.items():
        assert total["data-cost"] == totals[mode]["cost"]
        text = loaded.page.inner_text(f'.mode-total[data-mode="{mode}"]')
        assert text == f"${Decimal(totals[mode]['cost']).quantize(Decimal('0.01')):,}"


def test_bars_add_up_to_each_day_and_model(shown: tuple[Loaded, Sandbox]) -> None:
    loaded, box = shown
    daily = box.json("usage", "daily", "--breakdown", *SPAN)
    segs = loaded.attrs("rect.seg", "data-mode", "data-key", "data-series", "data-cost", "height")
    assert segs and all(float(s["height"]) >= 0 for s in segs)
    # Each day is drawn twice (by model, by project); the model chart's series are the models.
    models = {sub["key"] for row in daily["rows"] for sub in row["breakdown"]}
    per_day: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    per_model: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    for s in segs:
        if s["data-series"] in models:
            per_day[(s["data-mode"], s["data-key"])] += Decimal(s["data-cost"])
            per_model[(s["data-mode"], s["data-series"])] += Decimal(s["data-cost"])
    assert per_day == {(row["mode"], row["key"]): Decimal(row["cost"]) for row in daily["rows"]}
    expected = {
        (mode, sub["key"]): Decimal(sub["cost"])
        for mode, t in daily["totals"].items()
        for sub in t["breakdown"]
    }
    assert per_model == expected
    columns = loaded.attrs("g.column", "data-mode", "data-key", "data-cost")
    assert {(c["data-mode"], c["data-key"], c["data-cost"]) for c in columns} == {
        (row["mode"], row["key"], row["cost"]) for row in daily["rows"]
    }


def test_project_bars_are_the_ledgers(shown: tuple[Loaded, Sandbox]) -> None:
    loaded, box = shown
    expected: dict[tuple[str, str], Decimal] = {}
    for project in ("/work/app", HOSTILE):
        totals = box.json("usage", "daily", "--project", project, *SPAN)["totals"]
        expected.update({(mode, project): Decimal(t["cost"]) for mode, t in totals.items() if t["calls"]})
    bars = loaded.attrs("svg.chart rect.bar[data-mode]", "data-mode", "data-series", "data-cost")
    found = {
        (b["data-mode"], b["data-series"]): Decimal(b["data-cost"])
        for b in bars
        if b["data-series"] in ("/work/app", HOSTILE)
    }
    assert found == expected
    assert len(expected) == 4  # two projects in each of api and plan


def test_pointing_at_a_bar_shows_its_exact_cost(shown: tuple[Loaded, Sandbox]) -> None:
    loaded, _ = shown
    seg = loaded.page.locator(f'rect.seg[data-mode="api"][data-series="{OPUS}"]').first
    seg.hover()
    cost = seg.get_attribute("data-cost")
    assert cost
    assert loaded.page.inner_text("#detail").endswith(f"${cost}")
