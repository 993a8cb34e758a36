"""``thrifty dashboard`` and ``thrifty usage --html`` as a user runs them: a subprocess against a
SQLite ledger filled here, the page read back as text.

The page's embedded data must carry the very figures ``thrifty usage --json`` and ``thrifty
advise --json`` print for the same ledger, and nothing a project is called may escape into the
markup. The browser test (``test_dashboard_browser.py``) then checks what a browser draws.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from tests.ledger_sandbox import LedgerSandbox
from tests.usage.rows import make_row
from thrifty.billing.ledger import LedgerRow

SONNET, OPUS, HAIKU = "claude-sonnet-4-5", "claude-opus-4-1", "claude-haiku-4-5"
HOSTILE = "</script><script>alert(1)</script><b onmouseover=x>&amp;\"'"
DAY0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)
#: The period every command is asked about, so the advisor sees exactly these rows.
SPAN = ("--since", "2026-11-20", "--until", "2026-11-23", "--timezone", "UTC")


def sample_rows() -> list[LedgerRow]:
    """Four days, three models, two projects (one hostile), api and plan, cache reads."""
    rows = []
    for d in range(4):
        at = DAY0 + timedelta(days=d)
        sonnet = f"{Decimal('1.25') + d * Decimal('0.1')}"
        hour = timedelta(hours=1)
        rows += [
            make_row(at=at, model=SONNET, cost=sonnet, project="/work/app", cr=20_000),
            make_row(at=at + hour, model=OPUS, cost="3.5", project=HOSTILE, cr=5_000, cw5=1_000),
            make_row(at=at + 2 * hour, mode="plan", model=SONNET, cost="0.75", project="/work/app", cr=800),
        ]
    rows.append(make_row(at=DAY0 + timedelta(hours=3), model=HAIKU, cost="0.0000123", project="/work/app"))
    rows.append(
        make_row(at=DAY0 + timedelta(days=1, hours=5), mode="plan", model=HAIKU, cost="0.02", project=HOSTILE)
    )
    return rows


class Sandbox(LedgerSandbox):
    """A project folder, a home, and a ledger of known rows; ``thrifty`` runs as a subprocess."""

    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp, COLUMNS="100")

    def ok(self, *args: str, **env: str) -> str:
        result = self.run(*args, **env)
        assert result.code == 0, result.stderr
        assert "Traceback" not in result.stderr
        return result.stdout

    def json(self, *args: str) -> Any:
        return json.loads(self.ok(*args, "--json"))

    def page(self, *args: str) -> tuple[str, dict[str, Any]]:
        """Write the dashboard to a file and read it back, with its data blob parsed."""
        out = self.tmp / "dash.html"
        result = self.run("dashboard", "--output", str(out), *args)
        assert result.code == 0, result.stderr
        assert result.stdout == ""
        text = out.read_text("utf-8")
        return text, blob(text)


def blob(page: str) -> dict[str, Any]:
    found = re.search(r'<script type="application/json" id="thrifty-data">(.*?)</script>', page, re.S)
    assert found, "no data blob"
    data: dict[str, Any] = json.loads(found.group(1))
    return data


@pytest.fixture
def sandbox(tmp_path: Path) -> Sandbox:
    box = Sandbox(tmp_path)
    box.fill(sample_rows())
    return box


FIGURES = (
    "calls",
    "input_tokens",
    "output_tokens",
    "cache_write_tokens",
    "cache_read_tokens",
    "total_tokens",
)


def test_the_data_blob_carries_the_usage_reports_figures(sandbox: Sandbox) -> None:
    _, data = sandbox.page(*SPAN)
    daily = sandbox.json("usage", "daily", *SPAN)
    by_model = sandbox.json("usage", "model", *SPAN)
    assert set(daily["totals"]) == set(data["modes"]) == {"api", "plan", "batch"}
    for mode, total in daily["totals"].items():
        mine = data["modes"][mode]
        for key in (*FIGURES, "cost", "cost_complete", "unpriced_calls"):
            assert mine["total"][key] == total[key], (mode, key)
        days = {row["key"]: row for row in daily["rows"] if row["mode"] == mode}
        assert [d["day"] for d in mine["days"]] == sorted(days)
        for day in mine["days"]:
            assert day["cost"] == days[day["day"]]["cost"]
            assert sum(Decimal(c) for c in day["by_model"].values()) == Decimal(day["cost"])
            assert sum(Decimal(c) for c in day["by_project"].values()) == Decimal(day["cost"])
        models = {row["key"]: row["cost"] for row in by_model["rows"] if row["mode"] == mode}
        assert {m["model"]: m["cost"] for m in mine["models"]} == models
    assert data["modes"]["api"]["total"]["cost"] == "19.6000123"  # 1.25+1.35+1.45+1.55, 4x3.5, haiku
    assert data["modes"]["plan"]["total"]["cost"] == "3.02"
    assert data["models"] == [HAIKU, OPUS, SONNET]
    assert data["projects"] == sorted(["/work/app", HOSTILE])


def test_cache_savings_and_verdict_are_the_advisors(sandbox: Sandbox) -> None:
    _, data = sandbox.page(*SPAN)
    advice = sandbox.json("advise", *SPAN)
    for mode in ("api", "plan"):
        cache = data["modes"][mode]["cache"]
        assert cache["saving"] == advice["by_mode"][mode]["cache_saving"]
        assert cache["no_cache_cost"] == advice["by_mode"][mode]["no_cache_cost"]
        assert Decimal(cache["saving"]) > 0  # the reads saved more than the writes cost here
    assert data["advice"]["verdict"] == advice["verdict"]
    assert data["advice"]["options"] == advice["options"]


class Texts(HTMLParser):
    """The page's text nodes and attribute values, unescaped, outside the data blob."""

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.texts.extend(v for _, v in attrs if v)

    def handle_data(self, data: str) -> None:
        self.texts.append(data)


def test_hostile_project_names_are_escaped(sandbox: Sandbox) -> None:
    page, data = sandbox.page(*SPAN)
    assert HOSTILE not in page
    assert "<b onmouseover" not in page
    # Exactly one page script besides the blob, and the name survives as text and as data.
    assert page.count("<script") == 2
    parser = Texts()
    parser.feed(page)
    assert "b" not in parser.tags
    assert any(HOSTILE in text for text in parser.texts)
    assert HOSTILE in data["projects"]


def test_usage_html_writes_the_same_page(sandbox: Sandbox) -> None:
    out = sandbox.tmp / "usage.html"
    result = sandbox.run("usage", "--html", str(out), *SPAN)
    assert result.code == 0, result.stderr
    assert str(out) in result.stderr
    _, data = sandbox.page(*SPAN)
    mine = blob(out.read_text("utf-8"))
    mine.pop("generated_at"), data.pop("generated_at")
    assert mine == data
    stdout = sandbox.ok("usage", "--html", "-", *SPAN, "--mode", "plan")
    assert list(blob(stdout)["modes"]) == ["plan"]


def test_default_output_is_in_the_data_directory(sandbox: Sandbox) -> None:
    result = sandbox.run("dashboard", *SPAN)
    assert result.code == 0, result.stderr
    assert (sandbox.data / "dashboard.html").is_file()


def test_filters_narrow_the_page(sandbox: Sandbox) -> None:
    _, data = sandbox.page(*SPAN, "--project", "/work/app", "--mode", "api")
    assert list(data["modes"]) == ["api"]
    assert data["projects"] == ["/work/app"]
    assert data["modes"]["api"]["total"]["cost"] == "5.6000123"


def test_an_empty_ledger_gives_a_page_that_says_so(tmp_path: Path) -> None:
    box = Sandbox(tmp_path)
    page, data = box.page()
    assert 'id="no-usage"' in page
    assert data["advice"]["error"].startswith("No usage")
    assert data["plan"] is None


def test_a_configured_plan_shows_its_windows(sandbox: Sandbox) -> None:
    limits = ("--five-hour-tokens", "1000", "--weekly-tokens", "50000", "--monthly-fee", "100")
    sandbox.ok("login", "--plan", "custom", *limits)
    now = datetime.now(UTC).replace(microsecond=0)
    sandbox.fill([make_row(at=now - timedelta(minutes=30), mode="plan", inp=700, out=50, cost="0.01")])
    page, data = sandbox.page("--timezone", "UTC")
    plan = data["plan"]
    assert plan["name"] == "custom" and plan["five_hour_limit"] == 1000
    assert plan["blocks"][-1]["active"] is True
    assert plan["blocks"][-1]["weighted_tokens"] == 750
    assert plan["blocks"][-1]["share"] == "0.7500"
    five = next(w for w in plan["now"] if w["window"].startswith("5-hour"))
    assert five["used"] == "0.7500"
    assert 'data-share="0.7500"' in page


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["dashboard", "--output", "."], "is a directory"),
        (["dashboard", "--output", "no/such/folder/x.html"], "cannot write"),
        (["dashboard", "--output", "-", "--open"], "--open needs a file"),
        (["dashboard", "--since", "tomorrowish"], "--since"),
        (["usage", "--html", "x.html", "--json"], "not allowed with"),
    ],
)
def test_mistakes_are_one_line(sandbox: Sandbox, args: list[str], message: str) -> None:
    result = sandbox.run(*args)
    assert result.code != 0
    assert "Traceback" not in result.stderr
    assert message in result.stderr
    assert len(result.stderr.strip().splitlines()) <= 2  # argparse adds its usage line


def test_an_unknown_price_is_never_zero(tmp_path: Path) -> None:
    box = Sandbox(tmp_path)
    box.fill([make_row(at=DAY0, model="acme-1", cost=None), make_row(at=DAY0, model=SONNET, cost="0.5")])
    page, data = box.page(*SPAN)
    total = data["modes"]["api"]["total"]
    assert (total["cost"], total["cost_complete"], total["unpriced_calls"]) == ("0.5", False, 1)
    assert data["modes"]["api"]["days"][0]["by_model"] == {"acme-1": None, SONNET: "0.5"}
    assert "≥ $0.50" in page
    assert 'data-series="acme-1" data-cost=""' in page
    chart = box.ok("usage", "daily", "--chart", *SPAN)
    assert "acme-1  unknown" in chart
    assert "  Total  ≥ $0.50" in chart
