"""``thrifty advise`` as a user runs it: a subprocess over a SQLite ledger holding a generated history.

The verdict is rebuilt here from the JSON numbers alone, by the rule as docs/usage.md states it,
so a verdict that does not follow from what was printed fails.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Run
from tests.ledger_sandbox import LedgerSandbox
from tests.usage.history import START, Profile, generate
from tests.usage.rows import make_row

PERIOD = ["--since", "2025-03-03", "--until", "2025-03-30", "--timezone", "UTC"]  # 28 whole days


class Advise(LedgerSandbox):
    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp, COLUMNS="200")

    def __call__(self, *args: str, command: str = "advise", stdin: str | None = None) -> Run:
        return self.run(command, *args, stdin=stdin)


@pytest.fixture
def adv(tmp_path: Path) -> Advise:
    return Advise(tmp_path)


HISTORY = generate(seed=11, profile=Profile(days=28))


@pytest.fixture
def filled(adv: Advise) -> Advise:
    adv.fill(HISTORY.rows)
    return adv


def ok(run: Run) -> Run:
    assert run.code == 0, run.stderr
    assert "Traceback" not in run.stderr
    return run


def one_line_error(run: Run, code: int = 1) -> str:
    assert run.code == code, (run.stdout, run.stderr)
    assert run.stdout == ""
    assert "Traceback" not in run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    return lines[0]


def rule(doc: dict[str, Any]) -> tuple[str, str | None, Decimal]:
    """docs/usage.md's verdict rule over the JSON numbers: cheapest eligible option; ties go to
    the API key, then a plan, then a hybrid; between plans the lower fee, then the name."""
    usage = doc["usage"]
    api = Decimal(usage["all"]["monthly_cost"])
    automated = Decimal(usage["automated"]["monthly_cost"])
    both = usage["automated"]["calls"] > 0 and usage["interactive"]["calls"] > 0
    options: list[tuple[Decimal, int, Decimal, str]] = [(api, 0, Decimal(0), "")]
    for p in doc["plans"]:
        fee = Decimal(p["monthly_fee"])
        if p["five_hour_over"] == 0 and p["weekly_over"] == 0:
            options.append((fee, 1, fee, p["name"]))
        if both and p["interactive_five_hour_over"] == 0 and p["interactive_weekly_over"] == 0:
            options.append((fee + automated, 2, fee, p["name"]))
    cost, kind, _, name = min(options)
    return ("api", "plan", "hybrid")[kind], name or None, cost


def test_json_has_every_number_and_the_verdict_follows(filled: Advise) -> None:
    doc = ok(filled(*PERIOD, "--json")).json
    period = doc["period"]
    assert (period["days"], period["month_days"], period["active_days"]) == ("28", 30, 28)
    rows = HISTORY.rows
    cost = sum((r.cost_usd for r in rows if r.cost_usd is not None), Decimal(0))
    all_ = doc["usage"]["all"]
    assert (all_["calls"], Decimal(all_["cost"])) == (len(rows), cost)
    assert all_["unpriced_calls"] == sum(1 for r in rows if r.cost_usd is None) > 0
    assert all_["cost_complete"] is False
    assert Decimal(all_["monthly_cost"]) == (cost * 30 / 28).quantize(Decimal("0.01"), ROUND_HALF_UP)
    assert Decimal(all_["no_cache_cost"]) - Decimal(all_["cost"]) == Decimal(all_["cache_saving"]) > 0
    auto, inter = doc["usage"]["automated"], doc["usage"]["interactive"]
    assert auto["calls"] + inter["calls"] == all_["calls"]
    assert Decimal(auto["cost"]) + Decimal(inter["cost"]) == cost
    assert sum(Decimal(s["cost"]) for s in doc["by_mode"].values()) == cost
    assert set(doc["by_mode"]) == {"api", "plan", "batch"}
    share = Decimal(doc["automated_share"]["cost"])
    assert share == (Decimal(auto["cost"]) / cost).quantize(Decimal("0.0001"), ROUND_HALF_UP)
    assert [p["name"] for p in doc["plans"]] == ["pro", "max-5x", "max-20x", "team"]
    assert all(p["limits_are_estimates"] for p in doc["plans"])
    assert doc["windows"]["five_hour"]["count"] >= 28 and doc["windows"]["weekly"]["count"] == 4
    assert (
        doc["windows"]["five_hour"]["interactive_peak_weighted_tokens"]
        <= doc["windows"]["five_hour"]["peak_weighted_tokens"]
    )
    kind, plan, monthly = rule(doc)
    assert (doc["verdict"]["kind"], doc["verdict"]["plan"], Decimal(doc["verdict"]["monthly_cost"])) == (
        kind,
        plan,
        monthly,
    )
    first = doc["options"][0]
    assert (first["kind"], first["plan"], first["eligible"]) == (kind, plan, True)
    assert "cheapest eligible option" in doc["rule"]


def test_text_shows_the_numbers_the_verdict_is_made_of(filled: Advise) -> None:
    doc = ok(filled(*PERIOD, "--json")).json
    out = ok(filled(*PERIOD)).stdout
    assert f"Verdict: {doc['verdict']['text']}" in " ".join(out.split("\n"))
    assert "Rule: the cheapest eligible option wins" in out
    assert f"${Decimal(doc['usage']['all']['monthly_cost']):,.2f}" in out
    for p in doc["plans"]:
        assert p["label"] in out and f"${Decimal(p['monthly_fee']):,.2f}" in out
    assert "limits marked * are estimates" in out
    assert "Moving only it to an API key costs" in out
    assert "Period: 2025-03-03 00:00 to 2025-03-31 00:00 (28.00 days" in out


def test_plan_selection_and_repeats(filled: Advise) -> None:
    doc = ok(filled(*PERIOD, "--json", "--plan", "pro", "team", "--plan", "pro")).json
    assert [p["name"] for p in doc["plans"]] == ["pro", "team"]
    assert {o["plan"] for o in doc["options"]} == {None, "pro", "team"}


def test_days_counts_back_from_until(filled: Advise) -> None:
    doc = ok(filled("--until", "2025-03-16", "--days", "7", "--timezone", "UTC", "--json")).json
    assert (doc["period"]["since"], doc["period"]["until"], doc["period"]["days"]) == (
        "2025-03-10T00:00:00+00:00",
        "2025-03-17T00:00:00+00:00",
        "7",
    )
    week = [
        r
        for r in HISTORY.rows
        if datetime(2025, 3, 10, tzinfo=UTC) <= r.recorded_at < datetime(2025, 3, 17, tzinfo=UTC)
    ]
    assert doc["usage"]["all"]["calls"] == len(week)


def test_since_with_days_counts_forward(filled: Advise) -> None:
    doc = ok(filled("--since", "2025-03-03", "--days", "14", "--timezone", "UTC", "--json")).json
    assert doc["period"]["until"] == "2025-03-17T00:00:00+00:00"


def test_default_period_is_the_last_30_days(adv: Advise) -> None:
    start = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=20)
    recent = generate(seed=4, profile=Profile(days=14), start=start)
    old = [
        replace(r, request_id=f"old-{r.request_id}", recorded_at=r.recorded_at - timedelta(days=60))
        for r in recent.rows
    ]
    adv.fill(recent.rows + old)
    doc = ok(adv("--json")).json
    assert doc["period"]["days"] == "30"
    assert doc["usage"]["all"]["calls"] == len(recent.rows)


def test_source_filter(filled: Advise) -> None:
    doc = ok(filled(*PERIOD, "--json", "--source", "claude-code")).json
    assert doc["usage"]["all"]["calls"] == sum(1 for r in HISTORY.rows if r.source == "claude-code")
    assert set(doc["by_mode"]) == {"plan"}


def test_hybrid_with_a_custom_plan_stored_by_login(adv: Advise) -> None:
    rows = []
    for d in range(28):
        day = START + timedelta(days=d)
        rows.append(
            make_row(n=9000 + 2 * d, at=day + timedelta(hours=10), mode="plan", cost="5", inp=2000, out=1000)
        )
        auto = make_row(
            n=9001 + 2 * d, at=day + timedelta(hours=11), mode="plan", cost="0.50", inp=8000, out=1000
        )
        rows.append(replace(auto, source="claude-code", tags={"entrypoint": "sdk-cli"}))
    rows = [
        replace(r, source="claude-code", tags={"entrypoint": "cli"}) if r.source == "thrifty" else r
        for r in rows
    ]
    adv.fill(rows)
    login = adv(
        "--plan", "custom", "--five-hour-tokens", "5000", "--weekly-tokens", "100000", "--monthly-fee", "20",
        command="login",
        stdin="sk-ant-oat01-advise-test-token-" + "K" * 20 + "\n",
    )  # fmt: skip
    assert login.code == 0, login.stderr
    doc = ok(adv(*PERIOD, "--json")).json
    assert [p["name"] for p in doc["plans"]] == ["pro", "max-5x", "max-20x", "team", "custom"]
    custom = doc["plans"][-1]
    assert (
        custom["five_hour_over"],
        custom["interactive_five_hour_over"],
        custom["limits_are_estimates"],
    ) == (
        28,
        0,
        False,
    )
    assert doc["usage"]["automated"]["monthly_cost"] == "15.00"  # 28 x $0.50 x 30 / 28
    assert doc["usage"]["all"]["monthly_cost"] == "165.00"
    # Pro's (estimated) limits hold all of it, and $20 beats the $35 hybrid.
    assert (doc["verdict"]["kind"], doc["verdict"]["plan"]) == ("plan", "pro")
    assert rule(doc) == ("plan", "pro", Decimal("20"))
    only = ok(adv(*PERIOD, "--json", "--plan", "login")).json
    assert [p["name"] for p in only["plans"]] == ["custom"]
    assert only["verdict"]["kind"] == "hybrid" and only["verdict"]["plan"] == "custom"
    assert only["verdict"]["text"] == (
        "Hybrid: keep plan Custom plan for interactive, API for automation: $20.00 + $15.00 = $35.00/mo "
        "vs $165.00/mo API only"
    )
    assert rule(only) == ("hybrid", "custom", Decimal("35.00"))


def test_empty_period_exits_2_with_one_line(filled: Advise) -> None:
    line = one_line_error(
        filled("--since", "2030-01-01", "--until", "2030-01-31", "--timezone", "UTC"), code=2
    )
    assert line.startswith(f"error: no usage in {filled.ledger} from 2030-01-01 00:00 to 2030-02-01 00:00")
    assert "nothing to advise on" in line
    assert one_line_error(filled("--since", "2030-01-01", "--until", "2030-01-31", "--json"), code=2)


def test_missing_ledger_is_no_usage_and_not_created(adv: Advise) -> None:
    assert "nothing to advise on" in one_line_error(adv(), code=2)
    assert not adv.ledger.exists()


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--days", "0"], "--days must be a whole number of days from 1 to 36500"),
        (["--days", "99999999999"], "--days must be a whole number of days from 1 to 36500"),
        (["--days", "x"], "invalid int value"),
        (["--since", "soon"], "--since: cannot read 'soon'"),
        (["--since", "2025-03-01", "--until", "2025-03-05", "--days", "3"], "--days goes with at most one"),
        (["--since", "2025-03-05", "--until", "2025-03-01"], "--since must be before --until"),
        (["--plan", "gold"], "--plan must be one of pro, max-5x, max-20x, team, team-premium, enterprise, "),
        (["--plan", "login"], "--plan login: no plan is "),
        (["--timezone", "Moon/Base"], "--timezone: unknown zone"),
        (["--source", "cursor"], "invalid choice"),
    ],
)
def test_bad_arguments_are_one_line(filled: Advise, args: list[str], needle: str) -> None:
    assert needle in one_line_error(filled(*args))


def test_help_names_the_rule_and_the_exit_codes(adv: Advise) -> None:
    out = ok(adv("--help")).stdout
    assert "--days" in out and "--plan" in out and "2 when the period holds no usage" in out
