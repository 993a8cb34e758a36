"""Reservations, written once for both SQL stores: what ``Ledger.reserve`` does inside its lock.

A budget cap shared by many workers holds only if each worker's check and its claim on the
headroom are one atomic step: otherwise sixteen workers each see the same headroom and all
send a call. So a check runs in a transaction that serialises every other check of the same
scopes (SQLite: ``BEGIN IMMEDIATE``, the store's one write lock; PostgreSQL: an advisory
transaction lock per scope, taken in sorted order), reads the scope's known spend and its live
reservations, and only then inserts the new reservation, one row per scope. The call's usage
row deletes it in the transaction that appends the row (``append(row, settle=...)``), so at
every instant a call counts once: held, then recorded. A worker that dies leaves its hold until
``expires_at``; an expired hold counts for nothing and the next check deletes it.

The hold itself need not survive a power cut (the call it stands for dies with the machine), so
a backend may commit it without waiting for the disk: then a reservation adds no fsync per call.
"""

from __future__ import annotations

import random
import uuid
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from thrifty.billing.ledger.contract import CapCheck, Refusal, Reservation, ScopeSpend, scope_parts
from thrifty.billing.ledger.dialect import INDEXED_TAGS, RESERVATIONS, TABLE, Dialect, utc

#: A ``since`` at or before this is a ``total`` (whole-life) cap: the scope's every row counts,
#: so the time index is not asked. Walking it would visit every row anyway, each by a lookup:
#: on SQLite twice as slow as the plain scan (200,000 rows: 114 ms against 51 ms per check).
WHOLE_LIFE = datetime(1970, 1, 1, tzinfo=UTC)
#: The share of ``reserve`` calls that also delete expired holds.
SWEEP_SHARE = 1 / 32
#: Runs one statement in the open transaction; its rows (none for a statement without results).
Run = Callable[[str, Sequence[Any]], list[Sequence[Any]]]
#: The exact sum of stored amounts (as the store spells them; NULLs add nothing).
Sum = Callable[[Iterable[Any]], Decimal]


def scope_where(scope: str, d: Dialect) -> tuple[str, list[Any]]:
    """SQL true for the ``thrifty_calls`` rows in ``scope``, and its parameters."""
    kind, key, value = scope_parts(scope)
    if kind == "tag" and key in INDEXED_TAGS:  # a constant, never the caller's text
        return f"{d.tag_literal.format(key)} = {d.ph}", [value]
    if kind == "tag":
        return f"{d.tag_value.format(d.ph)} = {d.ph}", [key, value]
    return f"{kind} = {d.ph}", [value]


def delete_sql(d: Dialect) -> str:
    return f"DELETE FROM {RESERVATIONS} WHERE id = {d.ph}"  # noqa: S608 - constants only


def _sums(run: Run, d: Dialect, scope: str, since: datetime, now: datetime, total: Sum) -> ScopeSpend:
    where, params = scope_where(scope, d)
    since = utc(since, "since")
    if since > WHOLE_LIFE:
        where, params = f"{where} AND recorded_at >= {d.ph}", [*params, d.encode_time(since)]
    spent_sql = f"FROM {TABLE} WHERE {where} AND cost_usd IS NOT NULL"
    held_sql = f"FROM {RESERVATIONS} WHERE scope = {d.ph} AND expires_at > {d.ph}"
    spent_params = params
    held_params = [scope, d.encode_time(now)]
    if d.sum_in_store:
        # One statement, so one snapshot: a settle (row in, hold out) is seen whole or not at all.
        [(spent, held)] = run(
            f"SELECT (SELECT SUM(cost_usd) {spent_sql}), (SELECT SUM(amount) {held_sql})",
            [*spent_params, *held_params],
        )
        return ScopeSpend(spent or Decimal(0), held or Decimal(0))
    # SQLite: the costs are exact text, summed here; the write lock is held, so nothing moves.
    spent_rows = run(f"SELECT cost_usd {spent_sql}", spent_params)
    held_rows = run(f"SELECT amount {held_sql}", held_params)
    return ScopeSpend(total(r[0] for r in spent_rows), total(r[0] for r in held_rows))


def scope_spend(run: Run, d: Dialect, scope: str, since: datetime, now: datetime, total: Sum) -> ScopeSpend:
    return _sums(run, d, scope, since, utc(now, "now"), total)


def reserve(
    run: Run,
    d: Dialect,
    total: Sum,
    *,
    scopes: Sequence[str],
    amount: Decimal,
    checks: Sequence[CapCheck],
    ttl: timedelta,
    now: datetime,
    session_id: str,
    replaces: str | None,
) -> Reservation | Refusal:
    """The body of ``Ledger.reserve``, run inside the backend's serialising transaction."""
    now = utc(now, "now")
    expires = now + ttl
    if replaces:
        run(delete_sql(d), [replaces])
    if random.random() < SWEEP_SHARE:
        # Holds of workers that died count for nothing already; dropped now and then so the
        # table stays small, without a statement on every call.
        run(f"DELETE FROM {RESERVATIONS} WHERE expires_at <= {d.ph}", [d.encode_time(now)])  # noqa: S608
    for check in checks:
        found = _sums(run, d, check.scope, check.since, now, total)
        held = found.spent + found.reserved
        if held >= check.cap or held + amount > check.cap:
            return Refusal(check, found.spent, found.reserved)
    if amount <= 0:
        return Reservation("", Decimal(0), expires)
    rid = f"hold-{uuid.uuid4()}"
    holding = sorted(set(scopes))
    if not holding:
        return Reservation("", Decimal(0), expires)
    # One statement for every scope: a round trip per row would cost more than the check.
    one = f"({', '.join([d.ph] * 6)})"
    insert = (
        f"INSERT INTO {RESERVATIONS} (id, scope, amount, created_at, expires_at, session_id) "  # noqa: S608
        f"VALUES {', '.join([one] * len(holding))}"
    )
    cost, created, until = d.encode_cost(amount), d.encode_time(now), d.encode_time(expires)
    run(insert, [item for scope in holding for item in (rid, scope, cost, created, until, session_id)])
    return Reservation(rid, amount, expires)


def check_arguments(
    scopes: Sequence[str], amount: Decimal, checks: Sequence[CapCheck], ttl: timedelta
) -> None:
    """Refuse a malformed request before any transaction opens."""
    for scope in (*scopes, *(c.scope for c in checks)):
        scope_parts(scope)
    if not amount.is_finite() or amount < 0:
        raise ValueError(f"reserve: amount must be a finite amount >= 0, got {amount}")
    if ttl <= timedelta(0):
        raise ValueError(f"reserve: ttl must be positive, got {ttl}")
