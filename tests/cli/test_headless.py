"""``thrifty -p`` end to end: a subprocess against the simulator, one test per way a run ends."""

from __future__ import annotations

from pathlib import Path

from tests.cli.conftest import Cli

FINAL = {"text": "All done."}


def test_text_output_prints_the_final_answer(cli: Cli) -> None:
    cli.sim.set_script([{"text": "The answer is 42."}])
    run = cli("-p", "what is the answer?")
    assert run.code == 0 and run.stdout == "The answer is 42.\n" and run.stderr == ""


def test_prompt_from_stdin_is_appended_after_the_argument(cli: Cli) -> None:
    cli.sim.set_script([FINAL])
    assert cli("-p", "ARG_TEXT", stdin="PIPED_TEXT\n").code == 0
    sent = cli.sim.message_requests()[-1].body["messages"][0]["content"]
    text = sent[0]["text"] if isinstance(sent, list) else sent
    assert text == "ARG_TEXT\nPIPED_TEXT\n"


def test_json_result_has_claude_codes_keys_and_types(cli: Cli) -> None:
    (cli.cwd / "notes.txt").write_text("remember the milk\n")
    cli.sim.set_script(
        [
            {"tool_use": {"name": "Read", "input": {"file_path": str(cli.cwd / "notes.txt")}}},
            {"text": "Milk."},
        ]
    )
    run = cli("-p", "read notes", "--output-format", "json")
    assert run.code == 0
    result = run.json
    assert result["type"] == "result" and result["subtype"] == "success" and result["is_error"] is False
    assert result["result"] == "Milk." and result["num_turns"] == 2 and result["stop_reason"] == "end_turn"
    for key, kind in [
        ("duration_ms", int),
        ("duration_api_ms", int),
        ("session_id", str),
        ("total_cost_usd", float),
        ("usage", dict),
        ("modelUsage", dict),
        ("permission_denials", list),
        ("uuid", str),
    ]:
        assert isinstance(result[key], kind), key
    assert result["total_cost_usd"] > 0
    usage = result["usage"]
    logged = [r.usage for r in cli.sim.message_requests()]
    assert usage["output_tokens"] == sum(u["output_tokens"] for u in logged)
    assert usage["cache_read_input_tokens"] == sum(u["cache_read_input_tokens"] for u in logged)
    assert result["modelUsage"]["claude-sonnet-5-5"]["outputTokens"] == usage["output_tokens"]
    # the file content reached the model as the tool result
    second = cli.sim.message_requests()[1].body["messages"][2]["content"][0]
    assert second["type"] == "tool_result" and "remember the milk" in second["content"]


def test_stream_json_needs_verbose(cli: Cli) -> None:
    run = cli("-p", "x", "--output-format", "stream-json")
    assert run.code == 1
    assert run.stderr.strip() == "error: When using --print, --output-format=stream-json requires --verbose"


def test_stream_json_frames_end_with_the_result(cli: Cli) -> None:
    cli.sim.set_script(
        [{"text": "Running.", "tool_use": {"name": "Bash", "input": {"command": "echo hi"}}}, FINAL]
    )
    run = cli("-p", "say hi", "--output-format", "stream-json", "--verbose")
    assert run.code == 0
    frames = run.lines
    assert frames[0]["type"] == "system" and frames[0]["subtype"] == "init"
    assert "Bash" in frames[0]["tools"] and frames[0]["apiKeySource"] == "ANTHROPIC_API_KEY"
    kinds = [f["type"] for f in frames]
    assert kinds == ["system", "assistant", "assistant", "user", "assistant", "result"]
    first, second = frames[1], frames[2]
    assert first["message"]["id"] == second["message"]["id"]  # one frame per block of one response
    assert [b["type"] for b in first["message"]["content"] + second["message"]["content"]] == [
        "text",
        "tool_use",
    ]
    tool_result = frames[3]["message"]["content"][0]
    assert tool_result["type"] == "tool_result" and tool_result["content"].strip() == "hi"
    assert frames[-1]["result"] == "All done."
    assert len({f["session_id"] for f in frames}) == 1


def test_partial_messages_forward_raw_stream_events(cli: Cli) -> None:
    cli.sim.set_script([FINAL])
    run = cli("-p", "x", "--output-format", "stream-json", "--verbose", "--include-partial-messages")
    events = [f["event"]["type"] for f in run.lines if f["type"] == "stream_event"]
    assert events[0] == "message_start" and events[-1] == "message_stop" and "content_block_delta" in events
    assert cli("-p", "x", "--include-partial-messages").code == 1


def test_max_turns_ends_with_error_max_turns(cli: Cli) -> None:
    loop = {"tool_use": {"name": "Bash", "input": {"command": "true"}}}
    cli.sim.set_script([loop, loop, loop, FINAL])
    run = cli("-p", "loop", "--max-turns", "2", "--output-format", "json")
    assert run.code == 1
    result = run.json
    assert result["subtype"] == "error_max_turns" and result["is_error"] is True
    assert result["num_turns"] == 3 and result["errors"] == ["Reached maximum number of turns (2)"]
    assert "result" not in result and result["terminal_reason"] == "max_turns"
    assert len(cli.sim.message_requests()) == 2
    text = cli("-p", "loop", "--max-turns", "1")
    assert text.code == 1 and text.stdout.strip() == "Error: Reached maximum number of turns (1)"


def test_unanswered_ask_is_a_recorded_denial(cli: Cli) -> None:
    target = cli.cwd / "new.txt"
    cli.sim.set_script(
        [{"tool_use": {"name": "Write", "input": {"file_path": str(target), "content": "x"}}}, FINAL]
    )
    run = cli("-p", "write it", "--output-format", "json")
    assert run.code == 0 and not target.exists()
    denial = run.json["permission_denials"]
    assert (
        len(denial) == 1 and denial[0]["tool_name"] == "Write" and denial[0]["tool_input"]["content"] == "x"
    )
    sent = cli.sim.message_requests()[1].body["messages"][2]["content"][0]
    assert sent["is_error"] is True and "haven't granted" in sent["content"]


def test_allowed_tools_let_the_write_happen(cli: Cli) -> None:
    target = cli.cwd / "new.txt"
    cli.sim.set_script(
        [{"tool_use": {"name": "Write", "input": {"file_path": str(target), "content": "x"}}}, FINAL]
    )
    run = cli("-p", "write it", "--allowedTools", "Write", "--output-format", "json")
    assert run.code == 0 and target.read_text() == "x" and run.json["permission_denials"] == []


def test_writes_outside_the_working_directory_are_denied(cli: Cli, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    cli.sim.set_script(
        [{"tool_use": {"name": "Write", "input": {"file_path": str(outside), "content": "x"}}}, FINAL]
    )
    run = cli(
        "-p", "w", "--allowedTools", "Write", "--permission-mode", "acceptEdits", "--output-format", "json"
    )
    assert not outside.exists() and run.json["permission_denials"][0]["tool_name"] == "Write"
    extra = tmp_path / "extra"
    extra.mkdir()
    inside = extra / "ok.txt"
    cli.sim.set_script(
        [{"tool_use": {"name": "Write", "input": {"file_path": str(inside), "content": "x"}}}, FINAL]
    )
    assert cli("-p", "w2", "--allowedTools", "Write", "--add-dir", str(extra)).code == 0
    assert inside.read_text() == "x"


BYPASSES = [
    "git diff; touch pwned",
    "git diff && touch pwned",
    "git diff || touch pwned",
    "git diff | sh -c 'touch pwned'",
    "git diff & touch pwned",
    "git diff $(touch pwned)",
    "git diff `touch pwned`",
    "git diff\ntouch pwned",
]


def test_prefix_rule_cannot_be_bypassed_with_shell_operators(cli: Cli) -> None:
    (cli.cwd / ".git").mkdir()
    for command in BYPASSES:
        cli.sim.set_script([{"tool_use": {"name": "Bash", "input": {"command": command}}}, FINAL])
        run = cli("-p", f"run {command!r}", "--allowedTools", "Bash(git diff:*)", "--output-format", "json")
        assert run.code == 0, command
        assert not (cli.cwd / "pwned").exists(), command
        assert [d["tool_input"]["command"] for d in run.json["permission_denials"]] == [command]


def test_api_error_after_retries_is_an_error_result(cli: Cli) -> None:
    cli.sim.set_script([{"text": "never", "fault": {"kind": "server_error", "times": 0}}])
    run = cli("-p", "x", "--output-format", "json", env=cli.env(THRIFTY_MAX_RETRIES="2"))
    result = run.json
    assert run.code == 1 and result["is_error"] is True and result["subtype"] == "success"
    assert result["terminal_reason"] == "api_error" and result["api_error_status"] == 500
    assert result["result"].startswith("API Error: 500")
    assert len(cli.sim.message_requests()) == 3


def test_mid_stream_error_is_retried_by_the_loop(cli: Cli) -> None:
    cli.sim.set_script([{"text": "made it", "fault": {"kind": "stream_error", "after_events": 3}}])
    run = cli("-p", "x", "--output-format", "stream-json", "--verbose")
    frames = run.lines
    assert run.code == 0 and frames[-1]["result"] == "made it"
    assert [f["attempt"] for f in frames if f.get("subtype") == "api_retry"] == [1]


def test_budget_stops_the_run_before_it_overspends(cli: Cli) -> None:
    loop = {"tool_use": {"name": "Bash", "input": {"command": "true"}}}
    cli.sim.set_script([loop] * 20)
    # The first request's high estimate is about $0.015 (tools and system prompt at the cache-write
    # price): a cap a little above it lets a few calls through, then stops before passing it.
    run = cli("-p", "spend", "--max-budget-usd", "0.025", "--output-format", "json")
    result = run.json
    assert run.code == 1 and result["subtype"] == "error_max_budget_usd"
    assert result["errors"] == ["Reached maximum budget ($0.025)"]
    assert result["total_cost_usd"] <= 0.025
    assert 1 <= len(cli.sim.message_requests()) < 20


def test_missing_key_is_not_logged_in(cli: Cli) -> None:
    env = cli.env()
    del env["ANTHROPIC_API_KEY"]
    run = cli("-p", "x", env=env)
    assert run.code == 1 and run.stdout.startswith("Not logged in")
    assert cli.sim.message_requests() == []


def test_bad_arguments_are_one_line_errors(cli: Cli) -> None:
    for args, needle in [
        (["-p", "x", "--max-budget-usd", "abc"], "--max-budget-usd must be a number greater than 0"),
        (["-p", "x", "--session-id", "nope"], "Invalid session ID"),
        (["-p", "x", "--permission-mode", "yolo"], "invalid choice"),
        (["-p", "x", "--json-schema", "{"], "--json-schema is not a valid JSON Schema"),
        (["-p", "x", "--json-schema", '{"type": 5}'], "--json-schema is not a valid JSON Schema"),
        (["-p", "x", "--tools", "Nope"], "Unknown tool name"),
        (["-p"], "Input must be provided"),
    ]:
        run = cli(*args, stdin="")
        assert run.code == 1, args
        assert len(run.stderr.strip().splitlines()) == 1 and needle in run.stderr, (args, run.stderr)
        assert "Traceback" not in run.stderr


def test_structured_output_is_validated(cli: Cli) -> None:
    schema = '{"type":"object","properties":{"n":{"type":"integer"}},"required":["n"]}'
    cli.sim.set_script(
        [
            {"tool_use": {"name": "StructuredOutput", "input": {"n": "seven"}}},
            {"tool_use": {"name": "StructuredOutput", "input": {"n": 7}}},
        ]
    )
    result = cli("-p", "count", "--json-schema", schema, "--output-format", "json").json
    assert result["structured_output"] == {"n": 7} and result["result"] == '{"n": 7}'
    rejected = cli.sim.message_requests()[1].body["messages"][2]["content"][0]
    assert rejected["is_error"] is True and "schema" in rejected["content"]


def test_bare_offers_three_tools_and_no_memory(cli: Cli) -> None:
    (cli.cwd / "CLAUDE.md").write_text("PROJECT-MEMORY-MARKER")
    cli.sim.set_script([FINAL, FINAL])
    cli("-p", "x")
    normal = cli.sim.message_requests()[-1]
    assert "PROJECT-MEMORY-MARKER" in str(normal.body["system"])
    cli("-p", "y", "--bare")
    bare = cli.sim.message_requests()[-1]
    assert sorted(bare.tools) == ["Bash", "Edit", "Read"]
    assert "PROJECT-MEMORY-MARKER" not in str(bare.body["system"])


def test_requests_carry_cache_breakpoints(cli: Cli) -> None:
    cli.sim.set_script([{"tool_use": {"name": "Bash", "input": {"command": "true"}}}, FINAL])
    cli("-p", "x")
    second = cli.sim.message_requests()[1]
    assert 3 <= second.breakpoints <= 4
    assert second.usage["cache_read_input_tokens"] > 0


def test_pre_tool_use_hook_exit_2_blocks_the_call(cli: Cli) -> None:
    settings = cli.cwd / ".claude"
    settings.mkdir()
    hook = {
        "hooks": {
            "PreToolUse": [
                {"matcher": "Bash", "hooks": [{"type": "command", "command": "echo nope >&2; exit 2"}]}
            ]
        }
    }
    import json

    (settings / "settings.json").write_text(json.dumps(hook))
    cli.sim.set_script([{"tool_use": {"name": "Bash", "input": {"command": "touch made"}}}, FINAL])
    run = cli("-p", "x", "--allowedTools", "Bash", "--output-format", "json")
    assert not (cli.cwd / "made").exists()
    assert run.json["permission_denials"][0]["tool_name"] == "Bash"
    sent = cli.sim.message_requests()[1].body["messages"][2]["content"][0]
    assert "PreToolUse:Bash hook error" in sent["content"] and "nope" in sent["content"]
