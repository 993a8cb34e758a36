"""Transcripts survive a crash, resume from anywhere, and never hold a secret."""

from __future__ import annotations

import json
import os
import stat
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from thrifty import __version__
from thrifty.agent.transcripts import (
    INTERRUPTED,
    TranscriptWriter,
    find_transcript,
    fork_transcript,
    latest_session,
    list_sessions,
    load_messages,
    project_dir,
)
from thrifty.billing.paths import data_dir
from thrifty.billing.secret import Secret


def new_id() -> str:
    return str(uuid.uuid4())


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def write(cwd: Path, session_id: str, *messages: dict[str, Any]) -> Path:
    with TranscriptWriter.open(cwd, session_id) as writer:
        for message in messages:
            writer.record(message)
        return writer.path


def test_project_dir_sanitizes_like_claude_code() -> None:
    root = data_dir() / "projects"
    assert project_dir(Path("/a/b")) == root / "-a-b"
    assert project_dir(Path("/a/b.c_d e")).name == "-a-b-c-d-e"


def test_long_cwd_is_truncated_and_hashed_stably() -> None:
    one, two = Path("/" + "x" * 250 + "/one"), Path("/" + "x" * 250 + "/two")
    name = project_dir(one).name
    assert name.startswith("-" + "x" * 199 + "-")
    assert 200 < len(name) <= 200 + 1 + 13
    assert name[201:].isalnum() and name[201:].islower()
    assert project_dir(one).name == name  # stable across calls
    assert project_dir(two).name != name  # same prefix, different dir


def test_roundtrip_and_line_format(tmp_path: Path) -> None:
    sid = new_id()
    messages = [
        {"role": "user", "content": "hello\u2028world"},  # U+2028 must not split a line
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "Read", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "ok"}]},
        {"role": "assistant", "content": [{"type": "text", "text": "done"}]},
    ]
    with TranscriptWriter.open(tmp_path, sid) as writer:
        ids = [writer.record(m, requestId=f"req{i}", model="m") for i, m in enumerate(messages)]
        path = writer.path
    assert path == project_dir(tmp_path) / f"{sid}.jsonl"
    assert load_messages(path) == messages
    entries = lines(path)
    assert [e["uuid"] for e in entries] == ids
    assert [e["parentUuid"] for e in entries] == [None, *ids[:-1]]
    first = entries[0]
    assert first["type"] == "user" and first["sessionId"] == sid
    assert first["cwd"] == str(tmp_path.resolve()) and first["version"] == __version__
    assert first["requestId"] == "req0" and first["model"] == "m"
    assert first["timestamp"].endswith("Z")
    assert datetime.fromisoformat(first["timestamp"].replace("Z", "+00:00")).utcoffset().total_seconds() == 0


def test_record_returns_given_uuid_and_rejects_bad_input(tmp_path: Path) -> None:
    with TranscriptWriter.open(tmp_path, new_id()) as writer:
        assert writer.record({"role": "user", "content": "x"}, uuid="u-1") == "u-1"
        with pytest.raises(ValueError, match="role"):
            writer.record({"role": "system", "content": "x"})
        with pytest.raises(ValueError, match="reserved"):
            writer.record({"role": "user", "content": "x"}, sessionId="other")
    with pytest.raises(ValueError, match="closed"):
        writer.record({"role": "user", "content": "x"})


def test_parent_chain_continues_after_reopen(tmp_path: Path) -> None:
    sid = new_id()
    with TranscriptWriter.open(tmp_path, sid) as writer:
        writer.record({"role": "user", "content": "a"})
        second = writer.record({"role": "assistant", "content": "b"})
    with TranscriptWriter.open(tmp_path, sid) as writer:
        third = writer.record({"role": "user", "content": "c"})
    entries = lines(writer.path)
    assert [e["uuid"] for e in entries][-2:] == [second, third]
    assert entries[-1]["parentUuid"] == second


def test_torn_last_line_is_skipped_and_appending_still_works(tmp_path: Path) -> None:
    sid = new_id()
    path = write(tmp_path, sid, {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"})
    with path.open("a") as f:
        f.write('{"type":"user","message":{"role":"us')  # killed mid-write
    assert load_messages(path) == [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]
    write(tmp_path, sid, {"role": "user", "content": "c"})
    assert load_messages(path)[-1] == {"role": "user", "content": "c"}


def test_unknown_types_and_blank_lines_are_ignored(tmp_path: Path) -> None:
    path = write(tmp_path, new_id(), {"role": "user", "content": "a"})
    with path.open("a") as f:
        f.write('\n\n{"type":"summary","summary":"s"}\n[1,2]\n{"type":"assistant","message":"nope"}\n')
    assert load_messages(path) == [{"role": "user", "content": "a"}]


def test_dangling_tool_use_gets_an_error_result(tmp_path: Path) -> None:
    call = {"type": "tool_use", "id": "t1", "name": "Bash", "input": {"command": "sleep 99"}}
    path = write(
        tmp_path, new_id(), {"role": "user", "content": "go"}, {"role": "assistant", "content": [call]}
    )
    messages = load_messages(path)
    assert messages[-1] == {
        "role": "user",
        "content": [{"type": "tool_result", "tool_use_id": "t1", "content": INTERRUPTED, "is_error": True}],
    }
    assert INTERRUPTED == "[Request interrupted by user for tool use]"


def test_dangling_tool_use_in_the_middle_is_answered_before_the_next_prompt(tmp_path: Path) -> None:
    call = {"type": "tool_use", "id": "t1", "name": "Bash", "input": {}}
    path = write(
        tmp_path,
        new_id(),
        {"role": "user", "content": "go"},
        {"role": "assistant", "content": [call]},
        {"role": "user", "content": "resumed"},
    )
    assert load_messages(path)[-1]["content"] == [
        {"type": "tool_result", "tool_use_id": "t1", "content": INTERRUPTED, "is_error": True},
        {"type": "text", "text": "resumed"},
    ]


def test_consecutive_messages_merge_and_history_starts_with_user(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        new_id(),
        {"role": "assistant", "content": "stray"},
        {"role": "user", "content": "one"},
        {"role": "user", "content": [{"type": "text", "text": "two"}]},
        {"role": "assistant", "content": "three"},
    )
    assert load_messages(path) == [
        {"role": "user", "content": [{"type": "text", "text": "one"}, {"type": "text", "text": "two"}]},
        {"role": "assistant", "content": "three"},
    ]


def test_orphan_tool_results_are_dropped(tmp_path: Path) -> None:
    orphan = {"type": "tool_result", "tool_use_id": "gone", "content": "x"}
    path = write(
        tmp_path,
        new_id(),
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": "a"},
        {"role": "user", "content": [orphan]},
        {"role": "assistant", "content": "b"},
    )
    assert load_messages(path) == [
        {"role": "user", "content": "hi"},
        {"role": "assistant", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
    ]


def test_latest_session_is_the_newest_by_mtime(tmp_path: Path) -> None:
    assert latest_session(tmp_path) is None
    old, new, mid = new_id(), new_id(), new_id()
    for sid, mtime in ((old, 1_000_000), (new, 3_000_000), (mid, 2_000_000)):
        path = write(tmp_path, sid, {"role": "user", "content": sid})
        os.utime(path, (mtime, mtime))
    assert latest_session(tmp_path) == new
    write(tmp_path / "elsewhere", new_id(), {"role": "user", "content": "x"})  # other project, newer
    assert latest_session(tmp_path) == new


def test_find_transcript_from_another_cwd(tmp_path: Path) -> None:
    sid = new_id()
    path = write(tmp_path / "project", sid, {"role": "user", "content": "x"})
    assert find_transcript(sid, tmp_path / "project") == path
    assert find_transcript(sid, tmp_path / "somewhere-else") == path
    assert find_transcript(new_id(), tmp_path / "project") is None


def test_list_sessions_newest_first_with_first_prompt(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a", tmp_path / "b", new_id()
    s1, s2 = new_id(), new_id()
    long_prompt = "word\n  " * 100
    p1 = write(a, s1, {"role": "user", "content": long_prompt}, {"role": "assistant", "content": "ok"})
    p2 = write(a, s2, {"role": "user", "content": [{"type": "text", "text": "second"}]})
    p3 = write(b, c, {"role": "user", "content": "other project"})
    for path, mtime in ((p1, 2_000_000), (p2, 1_000_000), (p3, 3_000_000)):
        os.utime(path, (mtime, mtime))
    here = list_sessions(a)
    assert [s.session_id for s in here] == [s1, s2]
    assert here[0].first_prompt == ("word " * 40)[:200] and len(here[0].first_prompt) == 200
    assert here[0].message_count == 2 and here[1].message_count == 1
    assert here[0].cwd == str(a.resolve()) and here[0].path == p1
    assert here[0].modified.timestamp() == 2_000_000 and here[0].modified.utcoffset().total_seconds() == 0
    assert here[1].first_prompt == "second"
    assert [s.session_id for s in list_sessions()] == [c, s1, s2]
    assert list_sessions(tmp_path / "empty") == []


def test_fork_rewrites_session_id(tmp_path: Path) -> None:
    old, new = new_id(), new_id()
    source = write(tmp_path, old, {"role": "user", "content": "a"}, {"role": "assistant", "content": "b"})
    before = source.read_bytes()
    forked = fork_transcript(source, new, tmp_path / "fork-here")
    assert forked == project_dir(tmp_path / "fork-here") / f"{new}.jsonl"
    assert {e["sessionId"] for e in lines(forked)} == {new}
    assert load_messages(forked) == load_messages(source)
    assert source.read_bytes() == before
    assert stat.S_IMODE(forked.stat().st_mode) == 0o600
    with pytest.raises(FileExistsError):
        fork_transcript(source, new, tmp_path / "fork-here")
    with TranscriptWriter.open(tmp_path / "fork-here", new) as writer:  # the fork goes on from the copy
        writer.record({"role": "user", "content": "c"})
    assert lines(forked)[-1]["parentUuid"] == lines(source)[-1]["uuid"]


@pytest.mark.parametrize("bad", ["../x", "..", "a/b", "", "not-a-uuid", str(uuid.uuid4()) + "/../x"])
def test_invalid_session_ids_are_rejected(tmp_path: Path, bad: str) -> None:
    source = write(tmp_path, new_id(), {"role": "user", "content": "a"})
    with pytest.raises(ValueError, match="invalid session id"):
        find_transcript(bad, tmp_path)
    with pytest.raises(ValueError, match="invalid session id"):
        fork_transcript(source, bad, tmp_path)
    with pytest.raises(ValueError, match="invalid session id"):
        TranscriptWriter.open(tmp_path, bad)


def test_files_are_private(tmp_path: Path) -> None:
    path = write(tmp_path, new_id(), {"role": "user", "content": "a"})
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(path.parent.parent.stat().st_mode) == 0o700


def test_registered_secret_never_reaches_the_file(tmp_path: Path) -> None:
    value = "sk-ant-api03-" + "T" * 30 + "Zq"
    Secret(value)  # registers it, as reading a credential does
    call = {"type": "tool_use", "id": "t", "name": "Bash", "input": {value: value}}
    path = write(
        tmp_path,
        new_id(),
        {"role": "user", "content": f"my key is {value}"},
        {"role": "assistant", "content": [call]},
    )
    text = path.read_text()
    assert value not in text
    assert "sk-ant-…Zq" in text
    assert len(load_messages(path)) == 3  # still valid JSON after redaction


def test_secret_that_json_would_escape_is_still_redacted(tmp_path: Path) -> None:
    value = 'pa"ss\\word-' + "R" * 20  # quote and backslash: its JSON form differs from the value
    Secret(value)
    path = write(tmp_path, new_id(), {"role": "user", "content": f"password={value}"})
    assert value not in load_messages(path)[0]["content"]
    assert json.dumps(value)[1:-1] not in path.read_text()
