"""Issue 15's counting cases against the generator's own truth: every call once, its most
complete copy, nothing held back, and an import summary that says what the ledger holds.

The history comes from ``tests/usage/cc_history.py`` (``TEST_PROFILE``), whose files hold the
cases on purpose: synced copies taken mid-response in a folder an import reads first, parent
files whose progress mirror of a subagent call stops early, ``/btw`` replays, turns ending with
an answer (so a just-written file ends with a call's lines), web search and fetch requests,
dated and older model ids. The ledger is a real SQLite file (and a real PostgreSQL server where
one is installed).
"""

from __future__ import annotations

import json
from dataclasses import replace
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.billing.conftest import pg_server, pg_url  # noqa: F401 - the throwaway PostgreSQL server
from tests.usage.cc_history import TEST_PROFILE, History, generate
from tests.usage.ccusage_model import CAUSES, expected_differences
from thrifty.billing.ledger import Ledger, LedgerRow, RowQuery, open_ledger
from thrifty.billing.prices import bundled_prices
from thrifty.core.usage import Usage
from thrifty.usage import importer
from thrifty.usage.claude_code import discover
from thrifty.usage.importer import ImportSummary, import_claude_code

SEED = 6


@pytest.fixture(scope="module")
def history(tmp_path_factory: pytest.TempPathFactory) -> History:
    return generate(
        tmp_path_factory.mktemp("cc") / "claude", seed=SEED, min_sessions=12, profile=TEST_PROFILE
    )


def run(ledger: Ledger, config_dir: Path, **kwargs: Any) -> ImportSummary:
    """``thrifty import`` as a user runs it: defaults, on files written a moment ago."""
    return import_claude_code(ledger, discover([str(config_dir)]).dirs, **kwargs)


Figures = tuple[int, int, int, int, int, int, int]


def ledger_figures(rows: list[LedgerRow]) -> Figures:
    """(calls, input, output, cache writes, cache reads, web searches, web fetches)."""
    return (
        len(rows),
        sum(r.input_tokens for r in rows),
        sum(r.output_tokens for r in rows),
        sum(r.cache_write_5m_tokens + r.cache_write_1h_tokens for r in rows),
        sum(r.cache_read_tokens for r in rows),
        sum(r.web_search_requests for r in rows),
        sum(r.web_fetch_requests for r in rows),
    )


def truth_figures(history: History) -> Figures:
    t = history.totals()
    return (
        t.calls,
        t.input_tokens,
        t.output_tokens,
        t.cache_write_tokens,
        t.cache_read_tokens,
        t.web_search_requests,
        t.web_fetch_requests,
    )


def test_the_history_holds_every_counting_case(history: History) -> None:
    calls = history.calls.values()
    assert history.partial_first  # a partial copy read before every complete one
    assert any("/-Users-" in str(f) for f in history.files)  # the synced copies
    assert len(history.partial_copies) > len(history.partial_first)  # partial mirrors too
    assert history.replays and all(original in history.calls for _, original in history.replays)
    assert all(replay not in history.calls for replay, _ in history.replays)
    assert history.ends_with_call  # files whose last complete line is a call
    assert sum(c.web_search for c in calls) and sum(c.web_fetch for c in calls)
    models = {c.model for c in calls}
    assert {"claude-opus-4-6-20260205", "claude-sonnet-4-20250514"} <= models


def test_an_import_right_after_the_sessions_equals_the_generators_truth(
    history: History, ledger: Ledger
) -> None:
    summary = run(ledger, history.config_dir)
    rows = ledger.query(RowQuery())
    assert ledger_figures(rows) == truth_figures(history)
    by_id = {r.request_id: r for r in rows}
    prices = bundled_prices()
    for call in history.calls.values():
        row = by_id[call.ledger_request_id]
        assert (row.output_tokens, row.web_search_requests, row.web_fetch_requests) == (
            call.output_tokens,
            call.web_search,
            call.web_fetch,
        )
        assert row.model == call.model
        usage = Usage.from_api(call.usage())
        assert row.usage == replace(usage, service_tier=None)  # the ledger keeps no service tier
        assert row.cost_usd == prices.cost(call.model, usage, at=call.at)
    truth_cost = sum(
        (
            c
            for c in (
                prices.cost(k.model, Usage.from_api(k.usage()), at=k.at) for k in history.calls.values()
            )
            if c
        ),
        Decimal(0),
    )
    assert sum((r.cost_usd for r in rows if r.cost_usd is not None), Decimal(0)) == truth_cost
    # The summary is the ledger's account of what it did.
    assert summary.calls_imported == len(history.calls) and summary.calls_upgraded == 0
    assert summary.replays == len({replay for replay, _ in history.replays})
    assert summary.unpriced_calls == sum(r.cost_usd is None for r in rows)
    assert summary.duplicates == history.usage_lines - len(history.calls)
    # The same sums from the store's aggregate, server tool requests included.
    [total] = ledger.aggregate(RowQuery(), logged=False, times=False)
    assert (total.calls, total.web_search_requests, total.web_fetch_requests) == (
        len(history.calls),
        sum(c.web_search for c in history.calls.values()),
        sum(c.web_fetch for c in history.calls.values()),
    )


def test_a_partial_copy_read_first_is_replaced_by_the_complete_one(
    history: History, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One file per batch: the complete copy reaches the ledger after the partial one is committed.
    monkeypatch.setattr(importer, "BATCH", 1)
    summary = run(ledger, history.config_dir, workers=0)
    assert summary.calls_upgraded >= len(history.partial_first)
    assert summary.calls_imported == len(history.calls)
    by_id = {r.request_id: r for r in ledger.query(RowQuery())}
    short = {
        key: by_id[history.calls[key].ledger_request_id].output_tokens
        for key in history.partial_first
        if by_id[history.calls[key].ledger_request_id].output_tokens != history.calls[key].output_tokens
    }
    assert short == {}


def test_imports_made_while_the_files_grow_end_with_the_truth_and_say_what_they_did(
    history: History, tmp_path: Path
) -> None:
    """Every file cut in two mid-way (often mid-response), imported, completed, imported again:
    the ledger ends where a single import does, the first import's partial calls upgraded, and
    the summaries add up to what the ledger holds."""
    config = tmp_path / "claude"
    halves: list[tuple[Path, bytes]] = []
    for f in history.files:
        data = f.read_bytes()
        copy = config / f.relative_to(history.config_dir)
        copy.parent.mkdir(parents=True, exist_ok=True)
        cut = data.find(b"\n", len(data) // 2) + 1 or len(data)
        copy.write_bytes(data[:cut])
        halves.append((copy, data[cut:]))
    led = open_ledger(str(tmp_path / "grown.sqlite3"))
    try:
        first = run(led, config)
        for path, rest in halves:
            with path.open("ab") as out:
                out.write(rest)
        second = run(led, config)
        rows = led.query(RowQuery())
        assert ledger_figures(rows) == truth_figures(history)
        assert first.calls_imported + second.calls_imported == len(rows) == len(history.calls)
        assert second.calls_upgraded > 0  # responses cut mid-way, recorded, then completed
        assert first.unpriced_calls + second.unpriced_calls == sum(r.cost_usd is None for r in rows)
        # Each import counts the replays it met (a copy of one may be met by both).
        assert first.replays + second.replays >= len({replay for replay, _ in history.replays})
        again = run(led, config, full=True)
        assert (again.calls_imported, again.calls_upgraded, again.unpriced_calls) == (0, 0, 0)
    finally:
        led.close()


def test_a_team_postgres_ledger_gets_the_same_truth(
    history: History, ledger: Ledger, request: pytest.FixtureRequest
) -> None:
    team = open_ledger(request.getfixturevalue("pg_url"))  # skips where PostgreSQL is missing
    try:
        summary = run(team, history.config_dir)
        run(ledger, history.config_dir)
        assert ledger_figures(team.query(RowQuery())) == truth_figures(history)
        assert {r.request_id: r for r in team.query(RowQuery())} == {
            r.request_id: r for r in ledger.query(RowQuery())
        }
        assert summary.unpriced_calls == sum(r.cost_usd is None for r in team.query(RowQuery()))
    finally:
        team.close()


def test_the_ccusage_model_books_each_case_to_its_cause(history: History) -> None:
    causes = expected_differences(history, session_in_key=False)  # ccusage 19.x
    assert set(causes) == {"btw_replay"}  # partial copies, 1.0.x lines, forks: each counted once
    assert causes["btw_replay"][0] == len({replay for replay, _ in history.replays})
    by_session = expected_differences(history, session_in_key=True)  # 20.x
    assert set(by_session) <= set(CAUSES) and by_session["btw_replay"] == causes["btw_replay"]
    assert by_session["partial_mirror"][2] < 0 and by_session["fork_copy"][0] > 0


# -- /btw replays, by hand -------------------------------------------------------------------------


def _answer(request_id: str, *, output: int = 50, searches: int = 0, at: str = "12:00:00") -> str:
    usage: dict[str, Any] = {
        "input_tokens": 10,
        "cache_creation_input_tokens": 100,
        "cache_read_input_tokens": 1000,
        "output_tokens": output,
        "server_tool_use": {"web_search_requests": searches, "web_fetch_requests": 0},
    }
    return json.dumps(
        {
            "type": "assistant",
            "sessionId": "s-1",
            "cwd": "/home/dev/app",
            "version": "2.1.331",
            "message": {"id": "msg_1", "model": "claude-sonnet-4-6", "content": [], "usage": usage},
            "requestId": request_id,
            "uuid": f"u-{request_id}-{output}",
            "timestamp": f"2026-10-01T{at}.000Z",
        }
    )


def test_a_btw_replay_is_not_a_call_even_when_a_later_import_reads_it(tmp_path: Path, ledger: Ledger) -> None:
    config = tmp_path / "claude"
    path = config / "projects" / "-home-dev-app" / "s-1.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text(_answer("req_1", searches=1) + "\n")
    assert run(ledger, config).calls_imported == 1

    with path.open("a") as f:  # the side question replays the answer under its own request id
        f.write(_answer("req_btw", searches=1, at="12:05:00") + "\n")
    later = run(ledger, config)
    assert (later.calls_imported, later.replays, later.duplicates) == (0, 1, 1)
    assert [r.request_id for r in ledger.query(RowQuery())] == ["req_1"]

    # Read from the start, the replay is told apart in memory, and still not counted.
    again = run(ledger, config, full=True)
    assert (again.calls_imported, again.calls_upgraded, again.replays) == (0, 0, 1)

    # The same message id with other usage is another call (the API has reused message ids).
    with path.open("a") as f:
        f.write(_answer("req_2", output=77, at="12:09:00") + "\n")
    assert run(ledger, config).calls_imported == 1
    assert sorted(r.request_id for r in ledger.query(RowQuery())) == ["req_1", "req_2"]
