"""Calibrating plan window limits from the utilisation headers the ledger keeps.

The headers come from the simulator's own plan accounts (``thrifty.testing.accounts``), recorded
the way the server sends them (after the call's usage is counted), written to a real SQLite
ledger and read back: calibration must recover the limits the simulated account was given.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.usage.rows import make_row
from thrifty.billing.calibrate import (
    CALIBRATED,
    ESTIMATE,
    USER,
    calibrate,
    readings,
    resolve_limits,
)
from thrifty.billing.ledger import LedgerRow, RowQuery, open_ledger
from thrifty.billing.plan_presets import PRESETS, custom_plan
from thrifty.testing.accounts import Accounts
from thrifty.testing.clock import ManualClock
from thrifty.testing.script import AccountSpec

FIVE_LIMIT = 3_000_000
WEEK_LIMIT = 40_000_000
BEFORE_CREDIT = datetime(2026, 3, 2, 8, 0, tzinfo=UTC).timestamp()
AFTER_CREDIT = datetime(2026, 11, 2, 8, 0, tzinfo=UTC).timestamp()


class Server:
    """One simulated plan account and the rows a ledger records for its calls."""

    def __init__(self, start: float) -> None:
        self.clock = ManualClock(start)
        spec = AccountSpec(key="k", mode="plan", five_hour_limit=FIVE_LIMIT, weekly_limit=WEEK_LIMIT)
        self.accounts = Accounts([spec], self.clock)
        self.account, _ = self.accounts.authenticate({"x-api-key": "k"})
        self.rows: list[LedgerRow] = []

    def call(
        self, inp: int, out: int, *, cr: int = 0, source: str = "thrifty", counted: bool = True
    ) -> LedgerRow:
        """A call: the server counts it (``counted``), answers with its headers; the ledger records it."""
        if counted:
            self.accounts.record(self.account, {"input_tokens": inp, "output_tokens": out})
        headers = self.accounts.headers(self.account)
        at = datetime.fromtimestamp(self.clock.now(), UTC)
        row = replace(
            make_row(mode="plan", at=at, inp=inp, out=out, cr=cr),
            source=source,
            tags={"entrypoint": "cli"} if source == "claude-code" else {},
            rate_limits=headers if source == "thrifty" else None,
        )
        self.rows.append(row)
        return row

    def stored(self, tmp_path: Path) -> list[LedgerRow]:
        """The rows written to a SQLite ledger and read back, as ``thrifty advise`` reads them."""
        ledger = open_ledger(str(tmp_path / "ledger.sqlite3"))
        try:
            assert ledger.append_many(self.rows) == len(self.rows)
            stored = ledger.query(RowQuery(mode="plan"))
        finally:
            ledger.close()
        assert any(r.rate_limits for r in stored)
        return stored


def busy_week(server: Server) -> None:
    """Three busy 5-hour windows over two days, each call 60k-110k weighted tokens."""
    for _day in range(2):
        for _window in range(2 if _day else 1):
            for i in range(12):
                server.call(50_000 + 4_000 * i, 10_000, cr=200_000)  # cache reads are free
                server.clock.advance(600)
            server.clock.advance(6 * 3600)  # past the 5-hour window: the next call opens one
        server.clock.advance(20 * 3600)


def test_calibration_recovers_the_simulated_limits_from_a_real_ledger(tmp_path: Path) -> None:
    server = Server(BEFORE_CREDIT)
    busy_week(server)
    cal = calibrate(server.stored(tmp_path))

    five, week = cal["five_hour"], cal["seven_day"]
    assert abs(five.limit - FIVE_LIMIT) / FIVE_LIMIT < 0.002
    assert abs(week.limit - WEEK_LIMIT) / WEEK_LIMIT < 0.002
    assert five.windows == 3 and week.windows == 1
    # Every reading at or above 2% counts: each call is over 2% of the 5-hour window, while the
    # week's first ten readings are under 2% of it (rounding, not measurement).
    assert five.readings == 36 and week.readings == 26
    assert five.low <= five.limit <= five.high


def test_each_reading_is_the_ledger_use_over_the_reported_fraction(tmp_path: Path) -> None:
    server = Server(BEFORE_CREDIT)
    for _ in range(3):
        server.call(100_000, 20_000)
        server.clock.advance(60)
    found = readings(server.stored(tmp_path))
    assert [r.window for r in found] == ["five_hour"] * 3  # the week's 0.9% is too little to read
    last = found[-1]
    assert last.used == 360_000
    assert last.utilization == pytest.approx(360_000 / FIVE_LIMIT, abs=1e-4)
    assert last.implied_limit == pytest.approx(FIVE_LIMIT, rel=1e-3)


def test_from_the_credit_date_only_interactive_calls_fill_the_windows(tmp_path: Path) -> None:
    """Headless calls draw the Agent SDK credit: the server's fraction is the interactive use,
    which the ledger holds from Claude Code's history; thrifty's own calls carry the headers."""
    server = Server(AFTER_CREDIT)
    for i in range(10):
        server.call(150_000 + 10_000 * i, 20_000, source="claude-code")
        server.call(400_000, 50_000, counted=False)  # thrifty, headless: not in the windows
        server.clock.advance(300)
    cal = calibrate(server.stored(tmp_path))
    assert cal["five_hour"].limit == pytest.approx(FIVE_LIMIT, rel=0.002)
    # Counting the headless calls too would have made the limit look far larger.
    everything = calibrate(server.rows, counts=lambda r: r.mode == "plan")
    assert everything["five_hour"].limit > 2 * FIVE_LIMIT


def test_no_readings_no_calibration_and_capped_readings_are_skipped(tmp_path: Path) -> None:
    server = Server(BEFORE_CREDIT)
    server.call(1_000, 100)  # 0.04% of the window: rounding, not a measurement
    assert calibrate(server.stored(tmp_path)) == {}
    full = replace(
        server.rows[0],
        request_id="full",
        rate_limits={
            "anthropic-ratelimit-unified-5h-utilization": "1.0000",
            "anthropic-ratelimit-unified-5h-reset": str(int(BEFORE_CREDIT) + 18_000),
        },
    )
    assert readings([full]) == []
    assert calibrate([make_row(mode="plan")]) == {}


def test_user_limits_win_over_calibrated_over_estimates(tmp_path: Path) -> None:
    server = Server(BEFORE_CREDIT)
    busy_week(server)
    cal = calibrate(server.stored(tmp_path))
    pro = PRESETS["pro"]

    estimated = resolve_limits(pro)
    assert [lim.source for lim in estimated.limits] == [ESTIMATE, ESTIMATE]
    assert estimated.five_hour.tokens == pro.five_hour_tokens
    assert "Pro limits not published by Anthropic: 5-hour 1,000,000 estimated by thrifty" in estimated.line()

    calibrated = resolve_limits(pro, calibration=cal)
    assert [lim.source for lim in calibrated.limits] == [CALIBRATED, CALIBRATED]
    assert calibrated.five_hour.tokens == cal["five_hour"].limit
    text = calibrated.line()
    assert text.startswith("Pro limits not published by Anthropic: 5-hour ")
    assert f"calibrated from {cal['five_hour'].readings} server readings in 3 windows" in text
    assert "weekly 40,0" in text and "in 1 window " in text

    mixed = resolve_limits(pro, user={"five_hour": 2_500_000}, calibration=cal)
    assert (mixed.five_hour.tokens, mixed.five_hour.source) == (2_500_000, USER)
    assert mixed.weekly.source == CALIBRATED
    assert "5-hour 2,500,000 set by you" in mixed.line() and "not published" in mixed.line()

    own = custom_plan(five_hour_tokens=10, weekly_tokens=20, monthly_fee_usd=5, label="Mine")
    mine = resolve_limits(own, calibration=cal)
    assert mine.all_user and mine.line() == (
        "Mine limits: 5-hour 10 set by you, weekly 20 set by you (weighted tokens)."
    )
