"""Sessions from the command line: every run leaves a transcript that ``--resume``, ``--continue``
and ``--fork-session`` pick up, with the conversation (and so the prompt cache) intact."""

from __future__ import annotations

import uuid
from pathlib import Path

from tests.cli.conftest import Cli

SCRIPT = [
    {"tool_use": {"name": "Bash", "input": {"command": "echo first-run-output"}}},
    {"text": "First answer."},
    {"text": "Second answer."},
    {"text": "Third answer."},
]


def _first(cli: Cli, *extra: str) -> str:
    cli.sim.set_script(SCRIPT)
    run = cli(
        "-p", "remember the word MARMALADE", "--allowedTools", "Bash", "--output-format", "json", *extra
    )
    assert run.code == 0, run.stderr
    assert run.json["result"] == "First answer."
    return str(run.json["session_id"])


def _transcripts(cli: Cli) -> list[Path]:
    return sorted((cli.data_dir / "projects").rglob("*.jsonl"))


def test_resume_continues_the_conversation_with_the_cache_warm(cli: Cli) -> None:
    session = _first(cli)
    before = len(cli.sim.message_requests())
    run = cli("-p", "what was the word?", "--resume", session, "--output-format", "json")
    assert run.code == 0, run.stderr
    assert run.json["session_id"] == session and run.json["result"] == "Second answer."
    resumed = cli.sim.message_requests()[before]
    messages = resumed.body["messages"]
    assert "MARMALADE" in str(messages[0]["content"])
    assert "first-run-output" in str(messages[2]["content"])  # the tool result came back from disk
    assert messages[-1]["role"] == "user" and "what was the word?" in str(messages[-1]["content"])
    # same system prompt, tools and history: the prefix the first run wrote is read back, and it
    # reaches past the first request's whole prompt (system, tools, first prompt) into the history
    first = cli.sim.message_requests()[0].usage
    first_prompt = sum(
        first[k] for k in ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")
    )
    assert resumed.usage["cache_read_input_tokens"] > first_prompt


def test_resume_in_equals_form_as_the_agent_sdk_passes_it(cli: Cli) -> None:
    session = _first(cli)
    run = cli("-p", "again", f"--resume={session}", "--output-format", "json")
    assert run.code == 0 and run.json["session_id"] == session


def test_continue_picks_the_newest_session_in_this_directory(cli: Cli) -> None:
    _first(cli)
    newest = _first(cli)
    run = cli("-p", "go on", "--continue", "--output-format", "json")
    assert run.code == 0, run.stderr
    assert run.json["session_id"] == newest


def test_fork_session_leaves_the_original_untouched(cli: Cli) -> None:
    session = _first(cli)
    [original] = _transcripts(cli)
    lines_before = original.read_text().count("\n")
    run = cli("-p", "branch off", "--resume", session, "--fork-session", "--output-format", "json")
    assert run.code == 0, run.stderr
    forked = run.json["session_id"]
    assert forked != session
    assert original.read_text().count("\n") == lines_before
    assert any(p.stem == forked for p in _transcripts(cli))
    # the fork still remembers the original's history
    assert "MARMALADE" in str(cli.sim.message_requests()[-1].body["messages"][0]["content"])


def test_unknown_session_is_a_one_line_error_before_any_request(cli: Cli) -> None:
    missing = str(uuid.uuid4())
    run = cli("-p", "x", "--resume", missing)
    assert run.code == 1
    assert run.stderr == f"error: No conversation found with session ID: {missing}\n"
    assert cli.sim.message_requests() == []


def test_a_resume_id_that_is_not_a_uuid_is_refused(cli: Cli) -> None:
    run = cli("-p", "x", "--resume", "../../etc/passwd")
    assert run.code == 1 and "Must be a valid UUID" in run.stderr and run.stderr.count("\n") == 1


def test_continue_with_no_session_here_says_so(cli: Cli) -> None:
    run = cli("-p", "x", "--continue")
    assert run.code == 1 and run.stderr.startswith("error: No conversation found to continue")


def test_session_id_of_an_existing_session_is_refused(cli: Cli) -> None:
    session = _first(cli)
    run = cli("-p", "x", "--session-id", session)
    assert run.code == 1 and "already in use" in run.stderr


def test_no_session_persistence_writes_no_transcript(cli: Cli) -> None:
    session = _first(cli, "--no-session-persistence")
    assert _transcripts(cli) == []
    run = cli("-p", "x", "--resume", session)
    assert run.code == 1 and "No conversation found" in run.stderr


def test_transcript_is_private_and_holds_the_exchange(cli: Cli) -> None:
    session = _first(cli)
    [path] = _transcripts(cli)
    assert path.stem == session
    assert path.stat().st_mode & 0o777 == 0o600
    text = path.read_text()
    assert "MARMALADE" in text and "First answer." in text


def test_sessions_lists_what_resume_can_pick_up(cli: Cli) -> None:
    assert cli("sessions").stdout == "No stored sessions for this directory (try --all).\n"
    older = _first(cli)
    newer = _first(cli)
    listed = cli("sessions", "--json")
    assert listed.code == 0
    rows = listed.json
    assert [r["session_id"] for r in rows] == [newer, older]
    assert rows[0]["first_prompt"] == "remember the word MARMALADE" and rows[0]["message_count"] >= 4
    text = cli("sessions", "--limit", "1")
    assert text.code == 0 and newer in text.stdout and older not in text.stdout and "1 more" in text.stdout
