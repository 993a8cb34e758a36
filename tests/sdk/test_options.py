"""Option checks (one line, before any request) and the public surface of ``import thrifty``."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from typing import Any

import pytest

import thrifty
from thrifty.sdk.options import build


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"permission_mode": "yolo"}, "Unknown permission mode 'yolo'"),
        ({"max_budget_usd": 0}, "max_budget_usd must be a number greater than 0"),
        ({"max_budget_usd": "lots"}, "max_budget_usd must be a number greater than 0"),
        ({"max_turns": -1}, "max_turns must be 0"),
        ({"output_format": {"type": "json_schema"}}, "needs a 'schema'"),
        ({"output_format": {"type": "text"}}, "output_format must be"),
        ({"permission_prompt_tool_name": "stdio", "can_use_tool": print}, "cannot be used together"),
        ({"permission_prompt_tool_name": "mcp__x__ask"}, "use can_use_tool"),
        ({"session_id": "not-a-uuid"}, "session_id 'not-a-uuid' is not a valid UUID"),
        ({"resume": "6f1d2c1e-0000-4000-8000-000000000000", "continue_conversation": True}, "together"),
        ({"fork_session": True}, "fork_session only works with resume"),
        ({"billing_mode": "free"}, "billing_mode must be 'api' or 'plan'"),
        ({"ledger": "x.db", "record_usage": False}, "cannot be used together"),
        ({"setting_sources": ["user", "team"]}, "unknown source 'team'"),
        ({"system_prompt": {"type": "preset", "preset": "other"}}, "system_prompt must be"),
        ({"tools": "Read"}, "tools must be a list"),
        ({"max_thinking_tokens": 100}, "thinking budget must be at least 1024"),
        ({"thinking": {"type": "adaptive"}}, "thinking must be"),
        ({"structured_output_retries": -1}, "structured_output_retries must be 0 or more"),
    ],
)
def test_invalid_options_fail_at_construction_with_one_line(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(thrifty.SetupError, match=message) as info:
        thrifty.Options(**fields)
    assert "\n" not in str(info.value) and isinstance(info.value, ValueError)


def test_fields_changed_after_construction_are_checked_again() -> None:
    options = thrifty.Options()
    options.permission_mode = "nope"  # type: ignore[assignment]
    with pytest.raises(thrifty.SetupError, match="Unknown permission mode"):
        build(options)


def test_unsupported_official_fields_do_not_exist() -> None:
    for name in ("sandbox", "cli_path", "fallback_model", "extra_args"):
        with pytest.raises(TypeError, match=name):
            thrifty.Options(**{name: None})


def test_conversion_to_the_loops_options(tmp_path: Any) -> None:
    options = thrifty.ClaudeAgentOptions(
        cwd=tmp_path,
        model="opus",
        max_budget_usd=0.25,
        max_turns=0,
        env={"ANTHROPIC_API_KEY": "k"},
        tools={"type": "preset", "preset": "claude_code"},
        thinking={"type": "enabled", "budget_tokens": 2048},
        system_prompt={"type": "custom", "prompt": "Be brief."},
    )
    agent = build(options).agent
    assert agent.cwd == tmp_path and agent.model == "opus" and agent.tools is None
    assert agent.max_budget_usd == Decimal("0.25") and agent.max_turns is None
    assert agent.environ["ANTHROPIC_API_KEY"] == "k" and "PATH" in agent.environ
    assert agent.thinking_budget == 2048 and agent.system_prompt == "Be brief."


def test_import_thrifty_is_cheap_and_exports_the_sdk() -> None:
    code = (
        "import sys, thrifty; "
        "assert 'anthropic' not in sys.modules and 'thrifty.sdk' not in sys.modules; "
        "print(thrifty.__version__); "
        "assert thrifty.ResultMessage is thrifty.Result and thrifty.ClaudeSDKClient is thrifty.Client; "
        "assert 'thrifty.sdk' in sys.modules; "
        "from thrifty import testing; import thrifty.testing"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == thrifty.__version__
    for name in thrifty.__all__:
        assert getattr(thrifty, name) is not None, name
    with pytest.raises(AttributeError, match="no_such_name"):
        thrifty.no_such_name  # type: ignore[attr-defined]  # noqa: B018


def test_a_malformed_permission_rule_stops_the_run_before_any_request(sim: Any, options: Any) -> None:
    sim.set_script([{"text": "never"}])
    for field in ("allowed_tools", "disallowed_tools"):
        with pytest.raises(thrifty.SetupError, match=r"Malformed permission rule 'Bash\(git diff:\*'"):
            thrifty.run_sync("hi", options(**{field: ["Bash(git diff:*"]}))
    assert sim.message_requests() == []
