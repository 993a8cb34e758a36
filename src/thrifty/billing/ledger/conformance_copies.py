"""Conformance cases for copies of one call and for server tool counts (see ``conformance``).

A call can reach the ledger more than once: a retried write, a spool replayed after an outage,
and above all an import, where Claude Code's transcripts hold several copies of one call (one
line per content block, copies in resumed and forked sessions, a subagent's progress mirror),
some of them taken before the response was over. The ledger keeps, per ``request_id``, the most
complete copy (``rows.completeness``) and reports what each write did, so an importer's figures
are the ledger's.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from decimal import Decimal

from thrifty.billing.ledger import Ledger, LedgerRow, Recorded, RowQuery, completeness
from thrifty.billing.ledger.conformance_rows import at, make_row


def _imported(request_id: str, **overrides: object) -> LedgerRow:
    """A row as an import writes it: Claude Code's, complete."""
    values: dict[str, object] = {"source": "claude-code", "mode": "plan", "account": "claude-code"}
    values.update(overrides)
    return make_row(request_id, **values)


def _held(ledger: Ledger, request_id: str) -> LedgerRow:
    [row] = ledger.query(RowQuery(request_id=request_id))
    return row


def a_more_complete_copy_replaces_the_recorded_one(ledger: Ledger) -> None:
    partial = _imported("c1", output_tokens=3, session_id="copy", recorded_at=at(0))
    final = _imported("c1", output_tokens=700, session_id="orig", recorded_at=at(1), web_search_requests=2)
    assert ledger.append(partial) is True
    assert ledger.append(final) is True  # written: it replaced the partial copy
    assert ledger.query(RowQuery()) == [final]  # the whole row is the better copy's
    assert ledger.append(partial) is False  # and a less complete copy never comes back
    assert ledger.append(final) is False
    assert ledger.query(RowQuery()) == [final]


def completeness_is_compared_in_its_documented_order(ledger: Ledger) -> None:
    base = _imported("o1", output_tokens=100, input_tokens=10, web_search_requests=0)
    steps: list[Callable[[LedgerRow], LedgerRow]] = [
        lambda r: replace(r, web_search_requests=1),  # more server tool requests
        lambda r: replace(r, input_tokens=r.input_tokens + 5, web_search_requests=0),  # more tokens
        lambda r: replace(r, output_tokens=r.output_tokens + 1, input_tokens=0),  # more output
    ]
    ledger.append(base)
    row = base
    for step in steps:
        better = step(row)
        assert completeness(better) > completeness(row)
        assert ledger.append(better) is True
        assert _held(ledger, "o1") == better
        row = better
    # A broken attempt never replaces a complete response, whatever its counts.
    broken = replace(row, complete=False, output_tokens=10**6)
    assert ledger.append(broken) is False and _held(ledger, "o1") == row
    fixed = _imported("o2", complete=False, output_tokens=10**6)
    ledger.append(fixed)
    assert ledger.append(replace(fixed, complete=True, output_tokens=1)) is True


def an_import_never_replaces_a_live_metered_row(ledger: Ledger) -> None:
    live = make_row("m1", source="thrifty", output_tokens=40, complete=False)
    assert ledger.append(live) is True
    bigger = _imported("m1", output_tokens=9_000, complete=True, cost_usd=Decimal("9"))
    assert ledger.append(bigger) is False
    assert ledger.record_many([bigger]) == Recorded((), ())
    assert ledger.query(RowQuery()) == [live]
    # The meter's own row replaces an imported copy of the same call (a spool replayed late).
    ledger.append(_imported("m2", output_tokens=9_000))
    metered = make_row("m2", source="thrifty", output_tokens=10)
    assert ledger.append(metered) is True and _held(ledger, "m2") == metered


def record_many_says_what_each_row_did(ledger: Ledger) -> None:
    ledger.append_many([_imported("r1", output_tokens=5), _imported("r2", output_tokens=50)])
    recorded = ledger.record_many(
        [
            _imported("r1", output_tokens=6),  # upgrades
            _imported("r2", output_tokens=49),  # less complete: nothing
            _imported("r3", output_tokens=1),
            _imported("r3", output_tokens=7),  # two copies of a new call: one new row, the larger
            _imported("r3", output_tokens=7, session_id="later"),  # a tie: the first stays
            _imported("r4", output_tokens=1),
        ]
    )
    assert recorded == Recorded(new=("r3", "r4"), upgraded=("r1",))
    held = {r.request_id: r for r in ledger.query(RowQuery())}
    assert {k: v.output_tokens for k, v in held.items()} == {"r1": 6, "r2": 50, "r3": 7, "r4": 1}
    assert held["r3"].session_id == "sess-1"
    assert ledger.record_many([]) == Recorded((), ())
    assert ledger.append_many([_imported("r4", output_tokens=2), _imported("r5")]) == 2


def record_many_is_all_or_nothing(ledger: Ledger) -> None:
    ledger.append(_imported("a1", output_tokens=1))
    bad = _imported("a2", web_search_requests=-1)
    try:
        ledger.record_many([_imported("a1", output_tokens=2), bad])
    except ValueError as exc:
        assert "web_search_requests" in str(exc)
    else:
        raise AssertionError("a negative request count was recorded")
    assert _held(ledger, "a1").output_tokens == 1 and len(ledger.query(RowQuery())) == 1


def server_tool_counts_are_kept_and_summed(ledger: Ledger) -> None:
    rows = [
        make_row("w1", web_search_requests=3, web_fetch_requests=1, recorded_at=at(0)),
        make_row("w2", web_search_requests=10**10, recorded_at=at(1), model="opus"),
        make_row("w3", recorded_at=at(2)),
    ]
    ledger.append_many(rows)
    assert ledger.query(RowQuery()) == rows
    assert rows[0].usage.web_search_requests == 3 and rows[0].usage.web_fetch_requests == 1
    [total] = ledger.aggregate(RowQuery())
    assert (total.web_search_requests, total.web_fetch_requests) == (10**10 + 3, 1)
    assert total.usage.web_search_requests == 10**10 + 3
    by_model = {b.model: b.web_search_requests for b in ledger.aggregate(RowQuery(), by=("model",))}
    assert by_model == {"claude-sonnet-4-5": 3, "opus": 10**10}


def query_finds_one_call_or_one_message(ledger: Ledger) -> None:
    ledger.append_many(
        [
            make_row("q1", message_id="msg_a", recorded_at=at(0)),
            make_row("q2", message_id="msg_a", recorded_at=at(1)),
            make_row("q3", message_id="msg_b", recorded_at=at(2)),
        ]
    )
    assert [r.request_id for r in ledger.query(RowQuery(message_id="msg_a"))] == ["q1", "q2"]
    assert [r.request_id for r in ledger.query(RowQuery(request_id="q3"))] == ["q3"]
    assert ledger.query(RowQuery(request_id="q3", message_id="msg_a")) == []


#: The checks, in order; ``conformance`` registers each as a case.
CHECKS: tuple[Callable[[Ledger], None], ...] = (
    a_more_complete_copy_replaces_the_recorded_one,
    completeness_is_compared_in_its_documented_order,
    an_import_never_replaces_a_live_metered_row,
    record_many_says_what_each_row_did,
    record_many_is_all_or_nothing,
    server_tool_counts_are_kept_and_summed,
    query_finds_one_call_or_one_message,
)
