"""Conformance cases for budget reservations (``Ledger.reserve``; see ``conformance`` and ``holds``).

A reservation holds a call's estimate against its scopes from the budget check until the call's
row lands (``append(row, settle=...)``), is released, or expires. These cases pin what every
backend must answer: what counts against a cap (known spend of the scope in the window, plus
live holds), what a refusal reports, and that a hold ends exactly once.
"""

from __future__ import annotations

from collections.abc import Callable
from contextlib import closing
from datetime import timedelta
from decimal import Decimal

from thrifty.billing.ledger import CapCheck, Ledger, Refusal, Reservation, ScopeSpend
from thrifty.billing.ledger.conformance_rows import T0, at, make_row

TTL = timedelta(minutes=15)
NOW = at(60)
DAY = at(-60)
API = "mode:api"


def _cap(amount: str, scope: str = API, name: str = "daily") -> CapCheck:
    return CapCheck(scope, DAY, Decimal(amount), name)


def _held(answer: Reservation | Refusal) -> Reservation:
    assert isinstance(answer, Reservation), answer
    return answer


def _refused(answer: Reservation | Refusal) -> Refusal:
    assert isinstance(answer, Refusal), answer
    return answer


def a_reservation_holds_headroom_until_the_cap(ledger: Ledger) -> None:
    ledger.append(make_row("spent", cost_usd=Decimal("0.40"), recorded_at=at(1)))
    first = _held(ledger.reserve([API], Decimal("0.30"), [_cap("1")], ttl=TTL, now=NOW, session_id="s1"))
    assert first.id and first.amount == Decimal("0.30") and first.expires_at == NOW + TTL
    # 0.40 spent + 0.30 held + 0.30 = 1.00: exactly at the cap still fits.
    _held(ledger.reserve([API], Decimal("0.30"), [_cap("1")], ttl=TTL, now=NOW))
    refusal = _refused(ledger.reserve([API], Decimal("0.000001"), [_cap("1")], ttl=TTL, now=NOW))
    assert refusal == Refusal(_cap("1"), Decimal("0.40"), Decimal("0.60"))
    assert ledger.scope_spend(API, since=DAY, now=NOW) == ScopeSpend(Decimal("0.40"), Decimal("0.60"))


def a_scope_at_its_cap_refuses_even_a_free_check(ledger: Ledger) -> None:
    ledger.append(make_row("spent", cost_usd=Decimal("1"), recorded_at=at(1)))
    refusal = _refused(ledger.reserve([API], Decimal(0), [_cap("1")], ttl=TTL, now=NOW))
    assert refusal.spent == Decimal(1) and refusal.reserved == 0
    # Below the cap a zero amount only checks: it holds nothing.
    answer = _held(ledger.reserve([API], Decimal(0), [_cap("2")], ttl=TTL, now=NOW))
    assert answer.id == "" and ledger.scope_spend(API, since=DAY, now=NOW).reserved == 0


def settling_swaps_the_hold_for_the_row(ledger: Ledger) -> None:
    hold = _held(ledger.reserve([API, "project:p"], Decimal("0.50"), [_cap("1")], ttl=TTL, now=NOW))
    assert ledger.append(make_row("call", cost_usd=Decimal("0.20"), recorded_at=at(2)), settle=hold.id)
    for scope in (API, "project:p"):
        assert ledger.scope_spend(scope, since=DAY, now=NOW).reserved == 0
    assert ledger.scope_spend(API, since=DAY, now=NOW).spent == Decimal("0.20")
    # Settling twice (a retried write) changes nothing.
    assert not ledger.append(make_row("call", cost_usd=Decimal("0.20"), recorded_at=at(2)), settle=hold.id)
    assert ledger.spend(mode="api", since=DAY) == Decimal("0.20")


def release_frees_the_headroom(ledger: Ledger) -> None:
    hold = _held(ledger.reserve([API], Decimal("0.90"), [_cap("1")], ttl=TTL, now=NOW))
    _refused(ledger.reserve([API], Decimal("0.20"), [_cap("1")], ttl=TTL, now=NOW))
    ledger.release(hold.id)
    ledger.release(hold.id)  # again: a no-op
    ledger.release("")
    _held(ledger.reserve([API], Decimal("0.20"), [_cap("1")], ttl=TTL, now=NOW))


def replacing_a_hold_releases_it_whatever_the_answer(ledger: Ledger) -> None:
    old = _held(ledger.reserve([API], Decimal("0.60"), [_cap("1")], ttl=TTL, now=NOW))
    new = _held(ledger.reserve([API], Decimal("0.70"), [_cap("1")], ttl=TTL, now=NOW, replaces=old.id))
    assert ledger.scope_spend(API, since=DAY, now=NOW).reserved == Decimal("0.70")
    _refused(ledger.reserve([API], Decimal("5"), [_cap("1")], ttl=TTL, now=NOW, replaces=new.id))
    assert ledger.scope_spend(API, since=DAY, now=NOW).reserved == 0


def an_expired_hold_counts_for_nothing(ledger: Ledger) -> None:
    short = timedelta(seconds=30)
    _held(ledger.reserve([API], Decimal("0.90"), [_cap("1")], ttl=short, now=NOW))
    _refused(ledger.reserve([API], Decimal("0.20"), [_cap("1")], ttl=TTL, now=NOW + timedelta(seconds=29)))
    later = NOW + timedelta(seconds=30)
    assert ledger.scope_spend(API, since=DAY, now=later).reserved == 0
    _held(ledger.reserve([API], Decimal("0.20"), [_cap("1")], ttl=TTL, now=later))


def each_scope_counts_only_its_own_calls(ledger: Ledger) -> None:
    rows = [
        make_row("pay", project="payments", tags={"team": "infra"}, cost_usd=Decimal("3"), recorded_at=at(1)),
        make_row("web", project="web", tags={"team": "web"}, cost_usd=Decimal("5"), recorded_at=at(2)),
        make_row("plan", mode="plan", project="payments", account="login:max", cost_usd=Decimal("7")),
        make_row("old", project="payments", cost_usd=Decimal("100"), recorded_at=at(-61)),
        make_row("unpriced", project="payments", cost_usd=None, recorded_at=at(3)),
    ]
    ledger.append_many(rows)
    expected = {
        "project:payments": Decimal("10"),
        "project:web": Decimal("5"),
        "tag:team=infra": Decimal("3"),
        "tag:team=web": Decimal("5"),
        "tag:ticket=ABC-1": Decimal("7"),
        "tag:team=nobody": Decimal(0),
        "account:login:max": Decimal("7"),
        "account:ANTHROPIC_API_KEY": Decimal("8"),
        "mode:api": Decimal("8"),
        "mode:plan": Decimal("7"),
    }
    for scope, spent in expected.items():
        assert ledger.scope_spend(scope, since=DAY, now=NOW).spent == spent, scope
    # A hold counts in each of its scopes and no other.
    hold = _held(ledger.reserve(["project:web", "tag:team=web"], Decimal("1"), [], ttl=TTL, now=NOW))
    assert ledger.scope_spend("tag:team=web", since=DAY, now=NOW).reserved == 1
    assert ledger.scope_spend("project:payments", since=DAY, now=NOW).reserved == 0
    refusal = _refused(
        ledger.reserve(
            ["project:web"],
            Decimal("2"),
            [_cap("20", "project:payments"), _cap("7.5", "project:web", "monthly")],
            ttl=TTL,
            now=NOW,
        )
    )
    assert refusal == Refusal(_cap("7.5", "project:web", "monthly"), Decimal("5"), Decimal("1"))
    ledger.release(hold.id)


def the_window_starts_at_the_checks_since(ledger: Ledger) -> None:
    ledger.append(make_row("yesterday", cost_usd=Decimal("0.9"), recorded_at=T0 - timedelta(days=1)))
    _held(ledger.reserve([API], Decimal("0.5"), [_cap("1")], ttl=TTL, now=NOW))
    month = CapCheck(API, T0 - timedelta(days=2), Decimal(1), "monthly")
    _refused(ledger.reserve([API], Decimal("0.01"), [month], ttl=TTL, now=NOW))


def malformed_requests_are_refused_before_anything_is_held(ledger: Ledger) -> None:
    bad: list[Callable[[], object]] = [
        lambda: ledger.reserve(["team=infra"], Decimal(1), [], ttl=TTL, now=NOW),
        lambda: ledger.reserve(["tag:team"], Decimal(1), [], ttl=TTL, now=NOW),
        lambda: ledger.reserve([API], Decimal(-1), [], ttl=TTL, now=NOW),
        lambda: ledger.reserve([API], Decimal("NaN"), [], ttl=TTL, now=NOW),
        lambda: ledger.reserve([API], Decimal(1), [], ttl=timedelta(0), now=NOW),
        lambda: ledger.reserve([API], Decimal(1), [], ttl=TTL, now=NOW.replace(tzinfo=None)),
    ]
    for attempt in bad:
        try:
            attempt()
        except ValueError:
            continue
        raise AssertionError("a malformed reserve was accepted")
    assert ledger.scope_spend(API, since=DAY, now=NOW) == ScopeSpend(Decimal(0), Decimal(0))


CHECKS: tuple[Callable[[Ledger], None], ...] = (
    a_reservation_holds_headroom_until_the_cap,
    a_scope_at_its_cap_refuses_even_a_free_check,
    settling_swaps_the_hold_for_the_row,
    release_frees_the_headroom,
    replacing_a_hold_releases_it_whatever_the_answer,
    an_expired_hold_counts_for_nothing,
    each_scope_counts_only_its_own_calls,
    the_window_starts_at_the_checks_since,
    malformed_requests_are_refused_before_anything_is_held,
)


def holds_are_seen_by_every_handle_on_the_store(open_ledger: Callable[[], Ledger]) -> None:
    """Two handles (two workers): one's hold counts against the other's check, and its settle frees it."""
    with closing(open_ledger()) as one, closing(open_ledger()) as two:
        hold = _held(one.reserve([API], Decimal("0.80"), [_cap("1")], ttl=TTL, now=NOW))
        _refused(two.reserve([API], Decimal("0.30"), [_cap("1")], ttl=TTL, now=NOW))
        one.append(make_row("done", cost_usd=Decimal("0.10"), recorded_at=at(5)), settle=hold.id)
        _held(two.reserve([API], Decimal("0.30"), [_cap("1")], ttl=TTL, now=NOW))
