"""Plan window limits in ``thrifty advise`` and ``thrifty status``, run as a user runs them.

Anthropic publishes no window sizes: the output must say so for every plan, use the limits the
server's utilisation headers imply (calibrated from a real SQLite ledger) for the user's plan,
and let limits the user set win, naming whose number each is.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Run
from tests.cli.test_advise_cli import Advise
from tests.usage.test_calibrate import FIVE_LIMIT, WEEK_LIMIT, Server, busy_week

PERIOD = ["--since", "2026-03-01", "--until", "2026-03-29", "--timezone", "UTC"]
START = datetime(2026, 3, 2, 8, 0, tzinfo=UTC).timestamp()  # before the Agent SDK credit


class Thrifty(Advise):
    """``Advise``'s sandbox, any command (``thrifty("status", ...)``), with a plan block to write."""

    def __init__(self, tmp: Path) -> None:
        super().__init__(tmp)
        self.env["COLUMNS"] = "250"

    def plan(self, block: dict[str, Any]) -> None:
        self.config.mkdir(exist_ok=True)
        (self.config / "config.json").write_text(json.dumps({"plan": block}))

    def __call__(self, command: str, *args: str, stdin: str | None = None) -> Run:  # type: ignore[override]
        return super().__call__(*args, command=command, stdin=stdin)


@pytest.fixture
def thrifty(tmp_path: Path) -> Thrifty:
    server = Server(START)
    busy_week(server)
    tool = Thrifty(tmp_path)
    tool.fill(server.rows)
    return tool


def plans_by_name(run: Run) -> dict[str, dict[str, Any]]:
    assert run.code == 0, run.stderr
    return {p["name"]: p for p in run.json["plans"]}


def test_every_plan_says_its_limits_are_not_published(thrifty: Thrifty) -> None:
    text = thrifty("advise", *PERIOD)
    assert text.code == 0, text.stderr
    for label, five, week in (
        ("Pro", "1,000,000", "10,000,000"),
        ("Max 5x", "5,000,000", "35,000,000"),
        ("Max 20x", "20,000,000", "60,000,000"),
        ("Team (standard)", "1,250,000", "12,500,000"),
    ):
        assert (
            f"{label} limits not published by Anthropic: 5-hour {five} estimated by thrifty, weekly {week} "
            "estimated by thrifty (weighted tokens); set your own with plan.limits in the config."
            in text.stdout
        )
    doc = plans_by_name(thrifty("advise", *PERIOD, "--json"))
    for plan in doc.values():
        limits = plan["limits"]
        assert limits["published"] is False and "not published" in limits["text"]
        assert limits["five_hour"]["source"] == limits["weekly"]["source"] == "estimate"
        assert limits["sources"] and all(s["source"].startswith("https://") for s in limits["sources"])


def test_the_users_plan_is_calibrated_from_the_recorded_headers(thrifty: Thrifty) -> None:
    thrifty.plan({"name": "pro"})
    doc = plans_by_name(thrifty("advise", *PERIOD, "--json"))
    pro = doc["pro"]
    five, week = pro["limits"]["five_hour"], pro["limits"]["weekly"]
    assert five["source"] == week["source"] == "calibrated"
    assert abs(five["tokens"] - FIVE_LIMIT) / FIVE_LIMIT < 0.002 and pro["five_hour_limit"] == five["tokens"]
    assert abs(week["tokens"] - WEEK_LIMIT) / WEEK_LIMIT < 0.002
    assert (five["readings"], five["windows"], week["readings"], week["windows"]) == (36, 3, 26, 1)
    assert pro["limits_are_estimates"] is False
    # The busiest 5-hour window (~1.04M weighted tokens) passes Pro's estimate, not the calibrated limit.
    assert pro["five_hour_over"] == 0
    assert doc["max-5x"]["limits"]["five_hour"]["source"] == "estimate"  # the headers are Pro's
    text = thrifty("advise", *PERIOD).stdout
    assert (
        "Pro limits not published by Anthropic: 5-hour 3,000,000 calibrated from 36 server readings in 3"
        in text
    )
    assert "Pro ~" in text


def test_limits_the_user_set_win_and_are_named(thrifty: Thrifty) -> None:
    thrifty.plan({"name": "pro", "limits": {"fiveHourTokens": 900_000}})
    doc = plans_by_name(thrifty("advise", *PERIOD, "--json"))
    limits = doc["pro"]["limits"]
    assert (limits["five_hour"]["tokens"], limits["five_hour"]["source"]) == (900_000, "user")
    assert limits["weekly"]["source"] == "calibrated"
    assert doc["pro"]["five_hour_over"] == 3  # every busy window passes the user's 900,000
    text = thrifty("advise", *PERIOD).stdout
    assert "Pro limits not published by Anthropic: 5-hour 900,000 set by you, weekly 40,0" in text


def test_a_bad_limit_is_a_one_line_error(thrifty: Thrifty) -> None:
    thrifty.plan({"name": "pro", "limits": {"fiveHourTokens": -5}})
    run = thrifty("advise", *PERIOD)
    assert run.code == 1 and run.stdout == ""
    [line] = run.stderr.strip().splitlines()
    assert "plan.limits.fiveHourTokens must be a positive whole number of weighted tokens, got -5" in line
