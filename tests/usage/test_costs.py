"""Cost modes (auto / calculate / display) and the logged-vs-calculated mismatch list."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.usage.history import Profile, generate
from tests.usage.rows import make_row
from thrifty.billing.ledger.rows import LedgerRow
from thrifty.usage.costs import apply_cost_mode, cost_in_mode, find_mismatches, logged_cost
from thrifty.usage.reports import build_report

T = datetime(2025, 3, 1, 12, tzinfo=UTC)


def cc(cost: str | None, logged: str | None = None, **kw: object) -> LedgerRow:
    """A Claude Code row as the importer writes it: mode plan, logged cost in a tag when there is one."""
    row = make_row(mode="plan", cost=cost, **kw)  # type: ignore[arg-type]
    tags = {"entrypoint": "cli", "sidechain": "false"}
    if logged is not None:
        tags["logged_cost_usd"] = logged
    return replace(row, source="claude-code", account="claude-code", tags=tags)


@pytest.mark.parametrize(
    ("row", "auto", "calculate", "display"),
    [
        # Claude Code logged a cost different from ours: auto and display trust the log.
        (cc("0.10", "0.12"), "0.12", "0.10", "0.12"),
        # No logged cost: auto falls back to ours; display has nothing.
        (cc("0.10"), "0.10", "0.10", None),
        # Logged for a model we cannot price: calculate has nothing.
        (cc(None, "0.07"), "0.07", None, "0.07"),
        (cc(None), None, None, None),
        # An unreadable tag counts as no logged cost.
        (cc("0.10", "n/a"), "0.10", "0.10", None),
        (cc("0.10", "NaN"), "0.10", "0.10", None),
        # thrifty's own rows: the cost thrifty logged at the call is its calculated cost.
        (make_row(cost="0.30"), "0.30", "0.30", "0.30"),
        (make_row(cost=None), None, None, None),
    ],
)
def test_cost_modes_per_row(
    row: LedgerRow, auto: str | None, calculate: str | None, display: str | None
) -> None:
    def dec(text: str | None) -> Decimal | None:
        return None if text is None else Decimal(text)

    assert cost_in_mode(row, "auto") == dec(auto)
    assert cost_in_mode(row, "calculate") == dec(calculate)
    assert cost_in_mode(row, "display") == dec(display)


def test_logged_cost_of_a_thrifty_row_with_a_tag_is_the_tag() -> None:
    row = replace(make_row(cost="0.30"), tags={"logged_cost_usd": "0.25"})
    assert logged_cost(row) == Decimal("0.25")


def test_unknown_cost_mode_is_rejected() -> None:
    with pytest.raises(ValueError, match="unknown cost mode"):
        apply_cost_mode([make_row()], "guess")
    with pytest.raises(ValueError, match="unknown cost mode"):
        cost_in_mode(make_row(), "guess")


def test_apply_cost_mode_changes_only_the_cost() -> None:
    row = cc("0.10", "0.12", inp=5, out=7)
    (auto,) = apply_cost_mode([row], "auto")
    assert auto.cost_usd == Decimal("0.12")
    assert replace(auto, cost_usd=row.cost_usd) == row
    (same,) = apply_cost_mode([row], "calculate")
    assert same is row


def test_display_mode_counts_rows_without_a_log_as_unpriced_not_free() -> None:
    rows = [cc("1.00", "1.50"), cc("2.00"), cc("4.00", "4.00")]
    totals = {
        mode: build_report("daily", apply_cost_mode(rows, mode), tz=UTC).totals["plan"]
        for mode in ("auto", "calculate", "display")
    }
    assert (totals["auto"].cost_usd, totals["auto"].unpriced_calls) == (Decimal("7.50"), 0)
    assert (totals["calculate"].cost_usd, totals["calculate"].unpriced_calls) == (Decimal("7.00"), 0)
    # ccusage's display figure is 5.50 (0 for the unlogged call); we show it as "at least 5.50".
    assert (totals["display"].cost_usd, totals["display"].unpriced_calls) == (Decimal("5.50"), 1)
    assert not totals["display"].cost_complete


def test_mismatches_use_a_strict_absolute_tolerance() -> None:
    rows = [
        cc("1.000", "1.001", at=T),  # exactly the tolerance: not a mismatch
        cc("1.000", "1.0011", at=T + timedelta(minutes=2)),  # just above
        cc("2.000", "1.500", at=T + timedelta(minutes=1)),  # logged less than calculated
        cc("0.500", "0.500", at=T + timedelta(minutes=3)),
        cc(None, "0.900", at=T + timedelta(minutes=4)),  # cannot be compared
        cc("3.000", at=T + timedelta(minutes=5)),  # nothing logged
        make_row(cost="9.99", at=T),  # thrifty's own: never compared
    ]
    report = find_mismatches(rows, Decimal("0.001"))
    assert (report.compared, report.not_comparable) == (4, 1)
    assert [(m.logged, m.calculated, m.difference) for m in report.mismatches] == [
        (Decimal("1.500"), Decimal("2.000"), Decimal("-0.500")),  # oldest first
        (Decimal("1.0011"), Decimal("1.000"), Decimal("0.0011")),
    ]
    assert report.logged_total == Decimal("4.0021")
    assert report.calculated_total == Decimal("4.500")
    assert len(find_mismatches(rows, Decimal(0)).mismatches) == 3
    assert len(find_mismatches(rows, Decimal("1")).mismatches) == 0


def test_negative_tolerance_is_rejected() -> None:
    with pytest.raises(ValueError, match="non-negative"):
        find_mismatches([], Decimal("-0.01"))


def test_generated_history_cost_modes_and_mismatches() -> None:
    history = generate(seed=7, profile=Profile(days=14, logged_share=0.6, logged_off_share=0.1))
    rows = history.rows
    assert history.off_by, "the generator should have injected some mismatches"

    def total(mode: str) -> tuple[Decimal, int]:
        report = build_report("monthly", apply_cost_mode(rows, mode), tz=UTC)
        return (
            sum((t.cost_usd for t in report.totals.values()), Decimal(0)),
            sum(t.unpriced_calls for t in report.totals.values()),
        )

    calculated = sum((r.cost_usd for r in rows if r.cost_usd is not None), Decimal(0))
    assert total("calculate") == (calculated, sum(1 for r in rows if r.cost_usd is None))
    # auto = calculated + what the injected mismatches added + logged costs of unpriceable calls.
    logged_unpriced = [r for r in rows if r.cost_usd is None and "logged_cost_usd" in r.tags]
    extra = sum(history.off_by.values(), Decimal(0))
    auto_cost, auto_unpriced = total("auto")
    assert auto_cost == calculated + extra + sum(Decimal(r.tags["logged_cost_usd"]) for r in logged_unpriced)
    assert auto_unpriced == sum(1 for r in rows if r.cost_usd is None) - len(logged_unpriced)
    _, display_unpriced = total("display")
    assert display_unpriced == sum(
        1 for r in rows if r.source == "claude-code" and "logged_cost_usd" not in r.tags
    )

    report = find_mismatches(rows)
    assert {m.row.request_id: m.difference for m in report.mismatches} == history.off_by
    assert report.not_comparable == len(logged_unpriced)
    assert report.logged_total - report.calculated_total == extra
