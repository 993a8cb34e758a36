"""``thrifty usage daily --chart`` as a user runs it: a subprocess against a SQLite ledger of known
rows. Each figure is the usage report's own (``--json``), and each bar's length is worked out by
hand from the costs and the terminal width."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.usage.test_dashboard import HAIKU, OPUS, SONNET, SPAN, Sandbox, sample_rows

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def box(tmp_path: Path) -> Sandbox:
    sandbox = Sandbox(tmp_path)
    sandbox.fill(sample_rows())
    return sandbox


def sections(text: str) -> dict[str, list[str]]:
    """The chart's lines under each mode's title."""
    out: dict[str, list[str]] = {}
    current: list[str] = []
    for line in text.splitlines():
        if line.startswith(("API (", "Plan (", "Batch (")):
            current = out.setdefault(line.split(" ")[0].lower(), [])
        elif line.strip():
            current.append(line)
    return out


def money(cost: str) -> str:
    return f"${float(cost):,.2f}"


def test_chart_names_each_model_with_the_reports_totals(box: Sandbox) -> None:
    text = box.ok("usage", "daily", "--chart", *SPAN)
    assert not ANSI.search(text)  # piped: plain text
    report = box.json("usage", "daily", "--breakdown", *SPAN)
    charts = sections(text)
    assert set(charts) == {"api", "plan"}  # batch has no calls: no chart
    for mode, lines in charts.items():
        total = report["totals"][mode]
        assert f"  Total  {money(total['cost'])}" in lines
        for sub in total["breakdown"]:
            legend = [
                line for line in lines if line.rstrip().endswith(f" {sub['key']}  {money(sub['cost'])}")
            ]
            assert len(legend) == 1, (mode, sub["key"], lines)
        days = [row for row in report["rows"] if row["mode"] == mode]
        bars = [line for line in lines if re.match(r"\d{4}-\d{2}-\d{2} ", line)]
        assert [line[:10] for line in bars] == [row["key"] for row in days]
        for line, row in zip(bars, days, strict=True):
            assert line.endswith(money(row["cost"]))
    assert {HAIKU, OPUS, SONNET} <= {m for m in (HAIKU, OPUS, SONNET) if m in text}


def test_bars_are_stacked_by_model_in_proportion(box: Sandbox) -> None:
    text = box.ok("usage", "daily", "--chart", "--mode", "api", *SPAN)
    lines = sections(text)["api"]
    glyph = {
        line.split()[0][0]: line.split()[1] for line in lines if line.startswith("  ") and "Total" not in line
    }
    by_model = {model: g for g, model in glyph.items()}
    assert len(set(glyph)) == 3  # one glyph per model
    # COLUMNS=100; labels 10 wide; costs at most "$4.85" (5); so bars are 100 - 10 - 5 - 3 = 82 long.
    # The widest day, 2026-11-23 ($1.55 + $3.50 = $5.05, "$5.05") sets the scale.
    last = next(line for line in lines if line.startswith("2026-11-23"))
    assert last.count(by_model[OPUS]) == 57  # round(3.50 / 5.05 * 82) = 56.8
    assert last.count(by_model[SONNET]) == 82 - 57
    first = next(line for line in lines if line.startswith("2026-11-20"))
    # $1.25 sonnet + $3.50 opus + $0.0000123 haiku = $4.7500123: opus first, then haiku (adds nothing
    # visible), then sonnet; the bar ends at round(4.7500123 / 5.05 * 82) = 77.
    assert first.count(by_model[OPUS]) + first.count(by_model[SONNET]) == 77
    assert first.count(by_model[HAIKU]) == 0


def test_a_terminal_gets_one_colour_per_model(box: Sandbox) -> None:
    text = box.ok("usage", "daily", "--chart", "--mode", "api", *SPAN, FORCE_COLOR="1", TERM="xterm-256color")
    colours = set(ANSI.findall(text)) - {"\x1b[0m", "\x1b[1m"}
    assert len(colours) >= 3


def test_weekly_and_filters(box: Sandbox) -> None:
    text = box.ok("usage", "weekly", "--chart", "--project", "/work/app", *SPAN)
    charts = sections(text)
    report = box.json("usage", "weekly", "--project", "/work/app", *SPAN)
    assert f"  Total  {money(report['totals']['api']['cost'])}" in charts["api"]
    assert OPUS not in text  # only /work/app's calls


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["usage", "session", "--chart"], "--chart goes with the daily, weekly, monthly views"),
        (["usage", "daily", "--chart", "--json"], "not allowed with"),
    ],
)
def test_chart_mistakes(box: Sandbox, args: list[str], message: str) -> None:
    result = box.run(*args)
    assert result.code != 0
    assert message in result.stderr
    assert "Traceback" not in result.stderr


def test_empty_ledger(tmp_path: Path) -> None:
    text = Sandbox(tmp_path).ok("usage", "daily", "--chart")
    assert text.startswith("No usage recorded yet in ")
