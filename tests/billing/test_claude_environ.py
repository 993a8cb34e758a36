"""The environment a plan run hands ``claude``: its own login, and no second count of the calls."""

from __future__ import annotations

from thrifty.billing.claude_cli import claude_environ


def test_api_credentials_stay_behind_and_a_plan_token_goes_through() -> None:
    env = claude_environ(
        {
            "ANTHROPIC_API_KEY": "sk-ant-api-secret",
            "ANTHROPIC_AUTH_TOKEN": "sk-ant-oat-plan",
            "PATH": "/usr/bin",
        }
    )
    assert "ANTHROPIC_API_KEY" not in env
    assert env["ANTHROPIC_AUTH_TOKEN"] == "sk-ant-oat-plan"
    assert env["PATH"] == "/usr/bin"
    assert "ANTHROPIC_AUTH_TOKEN" not in claude_environ({"ANTHROPIC_AUTH_TOKEN": "gateway-token"})


def test_claude_does_not_export_telemetry_thrifty_exports_for_it() -> None:
    """thrifty meters each call claude reports and exports it under Claude Code's metric names;
    claude exporting too would double every counter."""
    env = claude_environ({"CLAUDE_CODE_ENABLE_TELEMETRY": "1", "OTEL_METRICS_EXPORTER": "otlp"})
    assert "CLAUDE_CODE_ENABLE_TELEMETRY" not in env
    assert env["OTEL_METRICS_EXPORTER"] == "otlp"
