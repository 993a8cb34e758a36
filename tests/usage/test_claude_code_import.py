"""Importing Claude Code transcripts: every call once, priced, tagged; again, only new bytes.

Histories come from ``tests/usage/cc_history.py``, which writes them the way Claude Code does
and returns the calls they hold, so every figure here is checked against what was written.
The ledger is a real SQLite file.
"""

from __future__ import annotations

import json
import os
from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.billing.conftest import pg_server, pg_url  # noqa: F401 - the throwaway PostgreSQL server
from tests.usage import cc_history
from tests.usage.cc_history import TEST_PROFILE, History, generate
from thrifty.billing.ledger import Ledger, LedgerRow, RowQuery, open_ledger
from thrifty.billing.prices import bundled_prices
from thrifty.core.usage import Usage
from thrifty.usage import importer
from thrifty.usage.claude_code import (
    SKIP_REASONS,
    decode_project_folder,
    discover,
    file_context,
    transcript_files,
)
from thrifty.usage.import_state import state_path
from thrifty.usage.importer import ImportSummary, import_claude_code

#: A seed whose history holds every kind of record the generator writes (checked below).
SEED = 6


@pytest.fixture
def history(tmp_path: Path) -> History:
    return generate(tmp_path / "claude", seed=SEED, min_sessions=12, profile=TEST_PROFILE)


def run(ledger: Ledger, config_dir: Path, **kwargs: Any) -> ImportSummary:
    """Import the files as they are now (just written: nothing is held back)."""
    return import_claude_code(ledger, discover([str(config_dir)]).dirs, **kwargs)


def rows_by_id(ledger: Ledger) -> dict[str, LedgerRow]:
    return {row.request_id: row for row in ledger.query(RowQuery())}


def line(**fields: Any) -> str:
    """An assistant line as Claude Code writes it, with overridable fields."""
    entry: dict[str, Any] = {
        "parentUuid": None,
        "isSidechain": False,
        "userType": "external",
        "entrypoint": "cli",
        "cwd": "/home/dev/app",
        "sessionId": "s-1",
        "version": "2.1.331",
        "message": {
            "id": "msg_1",
            "type": "message",
            "role": "assistant",
            "model": "claude-sonnet-4-6",
            "content": [{"type": "text", "text": "hi"}],
            "usage": {
                "input_tokens": 10,
                "cache_creation_input_tokens": 100,
                "cache_read_input_tokens": 1000,
                "output_tokens": 50,
            },
        },
        "requestId": "req_1",
        "type": "assistant",
        "uuid": "u-1",
        "timestamp": "2026-10-01T12:00:00.000Z",
    }
    for key, value in fields.items():
        if key.startswith("message_"):
            entry["message"][key.removeprefix("message_")] = value
        elif key.startswith("usage_"):
            entry["message"]["usage"][key.removeprefix("usage_")] = value
        else:
            entry[key] = value
    return json.dumps(entry)


def write(config_dir: Path, rel: str, *lines: str, end: str = "\n") -> Path:
    path = config_dir / "projects" / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + end)
    return path


# -- the generator itself ---------------------------------------------------------------------


def test_generated_history_holds_every_kind_of_record(history: History) -> None:
    text = b"".join(f.read_bytes() for f in history.files)
    calls = list(history.calls.values())
    assert any("/subagents/" in str(f) for f in history.files)
    for marker in (b'"type":"summary"', b'"type":"system"', b'"type":"progress"', b'"toolUseResult"'):
        assert marker in text
    assert history.skipped["malformed"] and history.skipped["synthetic"] and history.skipped["api_error"]
    assert history.forked and history.duplicates > len(calls)
    assert any(c.request_id is None for c in calls) and any(c.logged_cost for c in calls)
    assert any(c.sidechain for c in calls) and any(c.cache_write_1h for c in calls)
    assert any(not c.split for c in calls) and any(c.model == cc_history.UNKNOWN_MODEL for c in calls)
    assert any(c.input_tokens + c.cache_write + c.cache_read > 200_000 for c in calls)
    assert {c.entrypoint for c in calls} >= {"cli", "sdk-py", None}
    days = sorted({c.day for c in calls})
    assert len(days) >= 8 and (datetime.fromisoformat(days[-1]) - datetime.fromisoformat(days[0])).days >= 21
    assert len({c.model for c in calls}) >= 5
    assert any(not f.read_bytes().endswith(b"\n") for f in history.files)  # being written


def test_generator_is_deterministic(tmp_path: Path) -> None:
    a = generate(tmp_path / "a", seed=9, min_sessions=3)
    b = generate(tmp_path / "b", seed=9, min_sessions=3)
    assert a.calls == b.calls
    assert [f.relative_to(tmp_path / "a") for f in a.files] == [
        f.relative_to(tmp_path / "b") for f in b.files
    ]


# -- a full import ----------------------------------------------------------------------------


def test_import_records_every_call_once_as_generated(history: History, ledger: Ledger) -> None:
    summary = run(ledger, history.config_dir)

    assert summary.files_total == summary.files_read == len(history.files)
    assert summary.bytes_total == summary.bytes_read == history.size
    assert summary.lines == history.lines
    assert summary.usage_lines == history.usage_lines
    assert summary.calls_imported == len(history.calls)
    assert summary.duplicates == history.duplicates
    assert summary.skipped == history.skipped
    assert summary.unpriced_calls == sum(c.model == cc_history.UNKNOWN_MODEL for c in history.calls.values())

    rows = rows_by_id(ledger)
    assert len(rows) == len(history.calls)
    prices = bundled_prices()
    for call in history.calls.values():
        row = rows[call.ledger_request_id]
        assert (row.source, row.mode, row.account) == ("claude-code", "plan", "claude-code")
        assert row.message_id == call.message_id
        assert row.model == call.model
        assert (row.input_tokens, row.output_tokens, row.cache_read_tokens) == (
            call.input_tokens,
            call.output_tokens,
            call.cache_read,
        )
        assert (row.cache_write_5m_tokens, row.cache_write_1h_tokens) == (
            call.cache_write_5m,
            call.cache_write_1h,
        )
        assert row.cost_usd == prices.cost(call.model, Usage.from_api(call.usage()), at=call.at)
        assert row.price_version == prices.version
        assert row.recorded_at == call.at
        assert row.project == call.project
        if call.key not in history.forked:  # a forked copy may be read first, under its own id
            assert row.session_id == call.session_id
        expected = {"sidechain": "true" if call.sidechain else "false", "version": call.version}
        if call.entrypoint:
            expected["entrypoint"] = call.entrypoint
        if call.logged_cost:
            expected["logged_cost_usd"] = call.logged_cost
        assert row.tags == expected


def test_totals_by_day_and_model_match_the_history(history: History, ledger: Ledger) -> None:
    run(ledger, history.config_dir)
    rows = ledger.query(RowQuery(source="claude-code"))

    def group(key: Any) -> dict[str, tuple[int, int, int, int, int]]:
        out: dict[str, list[int]] = {}
        for row in rows:
            t = out.setdefault(key(row), [0, 0, 0, 0, 0])
            writes = row.cache_write_5m_tokens + row.cache_write_1h_tokens
            for i, n in enumerate((1, row.input_tokens, row.output_tokens, writes, row.cache_read_tokens)):
                t[i] += n
        return {k: (v[0], v[1], v[2], v[3], v[4]) for k, v in out.items()}

    def fields(t: cc_history.Totals) -> tuple[int, int, int, int, int]:
        return (t.calls, t.input_tokens, t.output_tokens, t.cache_write_tokens, t.cache_read_tokens)

    assert group(lambda r: r.recorded_at.astimezone(UTC).date().isoformat()) == {
        day: fields(t) for day, t in history.by_day().items()
    }
    assert group(lambda r: r.model) == {model: fields(t) for model, t in history.by_model().items()}


def test_mode_api_records_api_rows_at_the_same_prices(history: History, ledger: Ledger) -> None:
    run(ledger, history.config_dir, mode="api")
    rows = ledger.query(RowQuery())
    assert {row.mode for row in rows} == {"api"}
    prices = bundled_prices()
    call = next(c for c in history.calls.values() if c.model != cc_history.UNKNOWN_MODEL)
    assert rows_by_id(ledger)[call.ledger_request_id].cost_usd == prices.cost(
        call.model, Usage.from_api(call.usage()), at=call.at
    )


def test_worker_processes_import_exactly_what_one_process_does(history: History, tmp_path: Path) -> None:
    results = []
    for workers in (0, 2):
        led = open_ledger(str(tmp_path / f"w{workers}.sqlite3"))
        try:
            summary = run(led, history.config_dir, workers=workers)
            results.append(
                (summary.to_json() | {"ledger": "", "elapsed_s": 0, "workers": 0}, rows_by_id(led))
            )
        finally:
            led.close()
    assert results[0] == results[1]
    assert results[0][0]["calls_imported"] == len(history.calls)


def test_a_team_postgres_ledger_gets_the_same_rows(
    history: History, ledger: Ledger, request: pytest.FixtureRequest
) -> None:
    team = open_ledger(request.getfixturevalue("pg_url"))  # skips where PostgreSQL is missing
    try:
        summary = run(team, history.config_dir)
        assert summary.calls_imported == len(history.calls)
        run(ledger, history.config_dir)
        assert rows_by_id(team) == rows_by_id(ledger)
        assert run(team, history.config_dir).bytes_read == 0
    finally:
        team.close()


# -- incremental import -----------------------------------------------------------------------


def test_reimport_reads_nothing_and_records_nothing(history: History, ledger: Ledger) -> None:
    run(ledger, history.config_dir)
    again = run(ledger, history.config_dir)
    assert (again.files_read, again.bytes_read, again.lines, again.calls_imported) == (0, 0, 0, 0)
    assert again.files_total == len(history.files) and not again.full
    assert len(ledger.query(RowQuery())) == len(history.calls)


def test_full_reimport_reads_everything_and_still_counts_each_call_once(
    history: History, ledger: Ledger
) -> None:
    run(ledger, history.config_dir)
    again = run(ledger, history.config_dir, full=True)
    assert again.full and again.bytes_read == history.size
    assert again.calls_imported == 0 and again.duplicates == history.usage_lines
    assert len(ledger.query(RowQuery())) == len(history.calls)


def test_appended_bytes_are_all_a_second_import_reads(
    history: History, ledger: Ledger, tmp_path: Path
) -> None:
    # Hold back the second half of the biggest session, as if Claude Code had not written it yet.
    biggest = max((f for f in history.files if "subagents" not in str(f)), key=lambda f: f.stat().st_size)
    data = biggest.read_bytes()
    cut = data.index(b"\n", len(data) // 2) + 1
    biggest.write_bytes(data[:cut])
    first = run(ledger, history.config_dir)

    with biggest.open("ab") as f:
        f.write(data[cut:])
    second = run(ledger, history.config_dir)
    assert second.files_read == 1 and second.files_reset == 0
    assert second.bytes_read == len(data) - cut
    assert first.calls_imported + second.calls_imported == len(history.calls)
    assert first.lines + second.lines == history.lines

    reference = open_ledger(str(tmp_path / "reference.sqlite3"))
    try:
        run(reference, history.config_dir)
        assert rows_by_id(ledger) == rows_by_id(reference)
    finally:
        reference.close()


def test_a_line_being_written_is_recorded_once_it_is_complete(tmp_path: Path, ledger: Ledger) -> None:
    config = tmp_path / "claude"
    first = line(requestId="req_a", message_id="msg_a")
    second = line(requestId="req_b", message_id="msg_b", uuid="u-2")
    path = write(config, "-home-dev-app/s-1.jsonl", first, second[:40], end="")

    s1 = run(ledger, config)
    assert (s1.calls_imported, s1.pending_lines, dict(s1.skipped)) == (1, 1, {})

    with path.open("a") as f:
        f.write(second[40:] + "\n")
    s2 = run(ledger, config)
    assert (s2.calls_imported, s2.pending_lines, s2.files_reset) == (1, 0, 0)
    assert s2.bytes_read == len(second.encode()) + 1  # the tail again, nothing before it
    assert set(rows_by_id(ledger)) == {"req_a", "req_b"}


def test_a_response_still_being_logged_is_recorded_now_and_upgraded_by_the_next_import(
    tmp_path: Path, ledger: Ledger
) -> None:
    config = tmp_path / "claude"
    prompt = json.dumps({"type": "user", "message": {"role": "user", "content": "go on"}})
    path = write(
        config,
        "-home-dev-app/s-1.jsonl",
        line(requestId="req_0", message_id="msg_0"),
        prompt,
        line(usage_output_tokens=3),  # the response's first block, written a moment ago
    )
    first = run(ledger, config)
    assert (first.calls_imported, first.calls_upgraded, first.pending_lines) == (2, 0, 0)
    assert rows_by_id(ledger)["req_1"].output_tokens == 3  # counted now, as far as it is written

    result = json.dumps({"type": "user", "message": {"role": "user", "content": [{"type": "tool_result"}]}})
    with path.open("a") as f:
        f.write(line(usage_output_tokens=700, uuid="u-2", usage_server_tool_use={"web_search_requests": 2}))
        f.write("\n" + result + "\n")
    second = run(ledger, config)
    assert (second.calls_imported, second.calls_upgraded, second.duplicates) == (0, 1, 0)
    row = rows_by_id(ledger)["req_1"]
    assert (row.output_tokens, row.web_search_requests) == (700, 2)  # not the 3 logged first
    assert len(rows_by_id(ledger)) == 2

    # Read again from the start, the partial line changes nothing: the ledger keeps the larger.
    again = run(ledger, config, full=True)
    assert (again.calls_imported, again.calls_upgraded, again.duplicates) == (0, 0, 3)
    assert rows_by_id(ledger)["req_1"].output_tokens == 700


def test_a_whole_last_line_without_newline_counts_now_and_once(tmp_path: Path, ledger: Ledger) -> None:
    config = tmp_path / "claude"
    path = write(config, "-home-dev-app/s-1.jsonl", line(), end="")
    assert run(ledger, config).calls_imported == 1
    with path.open("a") as f:
        f.write("\n")
    again = run(ledger, config)
    assert (again.calls_imported, again.duplicates) == (0, 1)


def test_a_replaced_or_shrunk_file_is_read_again_from_the_start(tmp_path: Path, ledger: Ledger) -> None:
    config = tmp_path / "claude"
    path = write(config, "-home-dev-app/s-1.jsonl", line(), line(requestId="req_2", message_id="msg_2"))
    run(ledger, config)

    replacement = path.with_suffix(".tmp")
    replacement.write_text(line(requestId="req_3", message_id="msg_3") + "\n")
    os.replace(replacement, path)  # smaller and another inode
    s = run(ledger, config)
    assert (s.files_reset, s.bytes_read, s.calls_imported) == (1, path.stat().st_size, 1)

    # Same inode, grown, but the bytes already read were rewritten: read from 0 as well.
    path.write_text(
        line(requestId="req_4", message_id="msg_4")
        + "\n"
        + line(requestId="req_5", message_id="msg_5")
        + "\n"
    )
    s = run(ledger, config)
    assert (s.files_reset, s.calls_imported) == (1, 2)
    assert set(rows_by_id(ledger)) == {"req_1", "req_2", "req_3", "req_4", "req_5"}


def test_a_new_ledger_gets_everything_even_with_state_from_an_old_one(
    history: History, tmp_path: Path
) -> None:
    path = tmp_path / "ledger.sqlite3"
    led = open_ledger(str(path))
    run(led, history.config_dir)
    led.close()
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)

    led = open_ledger(str(path))
    try:
        again = run(led, history.config_dir)
        assert again.full and again.calls_imported == len(history.calls)
    finally:
        led.close()


def test_state_is_per_ledger_and_a_corrupt_state_only_costs_a_reread(
    history: History, tmp_path: Path
) -> None:
    a, b = open_ledger(str(tmp_path / "a.sqlite3")), open_ledger(str(tmp_path / "b.sqlite3"))
    try:
        run(a, history.config_dir)
        assert run(b, history.config_dir).calls_imported == len(history.calls)
        state_path(a.location, "claude-code").write_text("{not json")
        again = run(a, history.config_dir)
        assert again.bytes_read == history.size and again.calls_imported == 0
    finally:
        a.close()
        b.close()


def test_an_interrupted_import_keeps_what_it_committed_and_finishes_later(
    history: History, ledger: Ledger, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(importer, "BATCH", 50)
    seen = 0

    def interrupt(n: int) -> None:
        nonlocal seen
        seen += n
        if seen > history.size // 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(ledger, history.config_dir, workers=0, on_bytes=interrupt)
    committed = len(ledger.query(RowQuery()))
    assert 0 < committed < len(history.calls)

    rest = run(ledger, history.config_dir)
    assert 0 < rest.bytes_read < history.size
    assert committed + rest.calls_imported == len(history.calls)


def test_transcripts_deleted_by_claude_code_are_forgotten(history: History, ledger: Ledger) -> None:
    run(ledger, history.config_dir)
    gone = history.files[0]
    gone.unlink()
    run(ledger, history.config_dir)
    saved = json.loads(state_path(ledger.location, "claude-code").read_text())
    assert str(gone) not in saved["files"] and len(saved["files"]) == len(history.files) - 1
    assert len(ledger.query(RowQuery())) == len(history.calls)  # rows stay: they were billed


# -- lines ------------------------------------------------------------------------------------


def test_bad_lines_are_skipped_and_counted_never_a_crash(tmp_path: Path, ledger: Ledger) -> None:
    config = tmp_path / "claude"
    bad = [
        line(requestId="req_ok", message_id="msg_ok"),
        line(requestId="req_x")[:-30],  # torn
        '{"type":"assistant","message":{"usage":{"input_tokens":1}}, oops}',
        '\xff\xfe not utf-8 but mentions "usage"',
        "[" * 100_000 + '"usage"',  # nests deeper than the decoder allows
        '"usage"',
        line(requestId="req_s", usage_input_tokens="12"),
        line(requestId="req_n", usage_output_tokens=-1),
        line(requestId="req_b", usage_input_tokens=True),
        line(requestId="req_c", usage_cache_read_input_tokens=1.5),
        line(requestId="req_w", usage_cache_creation={"ephemeral_5m_input_tokens": "x"}),
        line(requestId="req_t", timestamp="yesterday"),
        line(requestId="req_t2", timestamp=None),
        line(requestId="req_m", message_model=7),
        line(requestId="", message_id="msg_e"),
        line(requestId="req_i", message_id=None),
        line(requestId="req_i2", message_id=42),
        line(requestId="req_y", message_model="<synthetic>"),
        line(requestId="req_z", isApiErrorMessage=True, message_model="<synthetic>"),
        line(requestId="req_u", usage_input_tokens=None),
        line(requestId="req_big", usage_cache_read_input_tokens=10**30),
        line(requestId="req_ws", usage_server_tool_use={"web_search_requests": "3"}),
        line(requestId="req_ws2", usage_server_tool_use=[1]),
        line(requestId="req_nan", costUSD=float("nan"), message_id="msg_nan"),
        json.dumps(
            {"type": "user", "toolUseResult": {"usage": {"input_tokens": 5}}, "message": {"role": "user"}}
        ),
        json.dumps({"type": "assistant", "message": {"usage": None}}),
        json.dumps({"type": "progress", "data": {"message": "not an object"}, "usage": 1}),
        "",
        "   ",
    ]
    path = write(config, "-home-dev-app/s-1.jsonl", *bad)
    raw = path.read_bytes().replace("\xff\xfe".encode(), b"\xff\xfe")
    path.write_bytes(raw)

    s = run(ledger, config)
    rows = rows_by_id(ledger)
    assert s.calls_imported == 2 and set(rows) == {"req_ok", "req_nan"}
    assert "logged_cost_usd" not in rows["req_nan"].tags  # NaN is no cost
    assert s.skipped == Counter(malformed=4, invalid=14, no_id=1, synthetic=1, api_error=1)
    assert set(s.skipped) <= set(SKIP_REASONS)


def test_content_block_lines_collapse_to_the_one_with_the_most_tokens(tmp_path: Path, ledger: Ledger) -> None:
    config = tmp_path / "claude"
    write(
        config,
        "-home-dev-app/s-1.jsonl",
        line(usage_output_tokens=3, uuid="a"),
        line(usage_output_tokens=500, uuid="b"),
        line(usage_output_tokens=500, uuid="c"),
        line(requestId="req_2", message_id="msg_2", usage_output_tokens=900),
        line(requestId="req_2", message_id="msg_2", usage_output_tokens=4),
    )
    s = run(ledger, config)
    rows = rows_by_id(ledger)
    assert (rows["req_1"].output_tokens, rows["req_2"].output_tokens) == (500, 900)
    assert (s.usage_lines, s.calls_imported, s.duplicates) == (5, 2, 3)


def test_a_call_logged_without_request_id_is_keyed_by_its_message(tmp_path: Path, ledger: Ledger) -> None:
    config = tmp_path / "claude"
    write(config, "-home-dev-app/s-1.jsonl", line(requestId=None), line(requestId=None, uuid="2"))
    write(config, "-home-dev-app/s-2.jsonl", line(requestId=None, sessionId="s-2"))
    s = run(ledger, config)
    assert s.calls_imported == 1 and list(rows_by_id(ledger)) == ["msg:msg_1"]


def test_subagent_calls_are_sidechains_counted_once_with_their_progress_mirror(
    tmp_path: Path, ledger: Ledger
) -> None:
    config = tmp_path / "claude"
    sub = json.loads(line(requestId="req_sub", message_id="msg_sub", isSidechain=True, agentId="ab12"))
    progress = {
        "parentUuid": None,
        "isSidechain": False,
        "cwd": "/home/dev/app",
        "sessionId": "s-1",
        "version": "2.1.331",
        "entrypoint": "sdk-py",
        "type": "progress",
        "data": {
            "type": "agent_progress",
            "message": {k: sub[k] for k in ("type", "message", "requestId", "timestamp")},
        },
        "timestamp": "2026-10-01T12:00:09.000Z",
    }
    write(config, "-home-dev-app/s-1.jsonl", line(), json.dumps(progress))
    write(config, "-home-dev-app/s-1/subagents/agent-ab12.jsonl", json.dumps(sub))
    s = run(ledger, config)
    rows = rows_by_id(ledger)
    assert (s.calls_imported, s.usage_lines) == (2, 3)
    assert rows["req_sub"].tags["sidechain"] == "true" and rows["req_1"].tags["sidechain"] == "false"
    assert rows["req_sub"].recorded_at == datetime(2026, 10, 1, 12, tzinfo=UTC)  # the call's own time
    assert rows["req_sub"].tags["entrypoint"] == "sdk-py"


def test_logged_cost_and_cache_write_split_are_kept(tmp_path: Path, ledger: Ledger) -> None:
    config = tmp_path / "claude"
    split = {"ephemeral_5m_input_tokens": 30, "ephemeral_1h_input_tokens": 70}
    write(
        config,
        "-home-dev-app/s-1.jsonl",
        line(costUSD=0.0123, usage_cache_creation=split),
        line(requestId="req_2", message_id="msg_2", costUSD=2),
    )
    run(ledger, config)
    rows = rows_by_id(ledger)
    assert rows["req_1"].tags["logged_cost_usd"] == "0.0123"
    assert (rows["req_1"].cache_write_5m_tokens, rows["req_1"].cache_write_1h_tokens) == (30, 70)
    assert rows["req_2"].tags["logged_cost_usd"] == "2"
    assert (rows["req_2"].cache_write_5m_tokens, rows["req_2"].cache_write_1h_tokens) == (100, 0)


def test_lines_without_cwd_or_session_fall_back_to_the_path(tmp_path: Path, ledger: Ledger) -> None:
    config = tmp_path / "claude"
    real = tmp_path / "src" / "my-app"
    real.mkdir(parents=True)
    folder = cc_history.sanitize(str(real))
    entry = json.loads(line())
    del entry["cwd"], entry["sessionId"]
    write(config, f"{folder}/sess-9.jsonl", json.dumps(entry))
    run(ledger, config)
    row = rows_by_id(ledger)["req_1"]
    assert (row.project, row.session_id) == (str(real), "sess-9")


# -- discovery --------------------------------------------------------------------------------


def test_discovery_order_and_forms(tmp_path: Path) -> None:
    a, b, xdg, home = tmp_path / "a", tmp_path / "b", tmp_path / "xdg", tmp_path / "home"
    for d in (a / "projects", b / "projects", xdg / "claude" / "projects", home / ".claude" / "projects"):
        d.mkdir(parents=True)
    env = {"CLAUDE_CONFIG_DIR": f" {a} , {b / 'projects'},{tmp_path / 'missing'},{a}", "HOME": str(home)}
    found = discover(None, env)
    assert (found.dirs, found.origin) == ((a, b), "CLAUDE_CONFIG_DIR")
    assert tmp_path / "missing" in found.searched

    found = discover(None, {"HOME": str(home), "XDG_CONFIG_HOME": str(xdg)})
    assert (found.dirs, found.origin) == ((xdg / "claude", home / ".claude"), "default")
    found = discover([str(b)], env)
    assert (found.dirs, found.origin) == ((b,), "--claude-dir")
    assert discover(None, {"HOME": str(tmp_path / "nobody")}).dirs == ()


def test_transcript_files_include_subagents_and_skip_repeats(tmp_path: Path) -> None:
    config = tmp_path / "claude"
    main = write(config, "-p/s.jsonl", line())
    sub = write(config, "-p/s/subagents/agent-1.jsonl", line())
    write(config, "-p/notes.txt", "x")
    (tmp_path / "alias").symlink_to(config)
    assert transcript_files([config, tmp_path / "alias"]) == [main, sub]


def test_file_context_from_paths(tmp_path: Path) -> None:
    root = tmp_path / "claude" / "projects"
    ctx = file_context(root / "-x-y" / "abc.jsonl")
    assert (ctx.session_id, ctx.subagent) == ("abc", False)
    ctx = file_context(root / "-x-y" / "abc" / "subagents" / "agent-1.jsonl")
    assert (ctx.session_id, ctx.subagent) == ("abc", True)
    for name in ("my-app.v2/sub_dir", "my-app", "my"):
        (tmp_path / name).mkdir(parents=True)
    # Whatever "-" stood for, an existing directory is found, the longest name first.
    for name in ("my-app.v2/sub_dir", "my-app"):
        assert decode_project_folder(cc_history.sanitize(str(tmp_path / name))) == str(tmp_path / name)
    assert decode_project_folder(cc_history.sanitize(str(tmp_path / "my-app" / "gone-too"))) == str(
        tmp_path / "my-app" / "gone" / "too"
    )
    assert decode_project_folder("-nowhere-a-b") == "/nowhere/a/b"
    assert decode_project_folder("plain") == "plain"
