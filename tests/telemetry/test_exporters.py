"""The Prometheus endpoint serves the counters, and an exporter that cannot start costs one line."""

from __future__ import annotations

import socket
import urllib.request
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from thrifty import telemetry
from thrifty.billing.ledger import LedgerRow


def row() -> LedgerRow:
    return LedgerRow(
        request_id="req_1",
        session_id="s-1",
        mode="plan",
        account="claude-code",
        model="claude-sonnet-5-5",
        input_tokens=10,
        output_tokens=5,
        cache_write_5m_tokens=0,
        cache_write_1h_tokens=0,
        cache_read_tokens=0,
        cost_usd=Decimal("0.125"),
        price_version="test",
        project="demo",
        recorded_at=datetime.now(UTC),
        tags={"team": "infra"},
    )


def test_prometheus_serves_the_counters_on_its_port() -> None:
    env = {
        "OTEL_METRICS_EXPORTER": "prometheus",
        "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
        "OTEL_EXPORTER_PROMETHEUS_PORT": "0",
    }
    started = telemetry.start(env)
    assert started is not None and started.prometheus is not None
    host, port = started.prometheus
    telemetry.record_call(row())
    with urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=5) as response:
        text = response.read().decode()
    cost = [line for line in text.splitlines() if line.startswith("claude_code_cost_usage")]
    assert len(cost) == 1, text
    assert (
        'model="claude-sonnet-5-5"' in cost[0] and 'mode="plan"' in cost[0] and 'tag_team="infra"' in cost[0]
    )
    assert cost[0].rsplit(" ", 1)[1] == "0.125"
    tokens = [
        line
        for line in text.splitlines()
        if line.startswith("claude_code_token_usage") and 'type="output"' in line
    ]
    assert len(tokens) == 1 and tokens[0].rsplit(" ", 1)[1] == "5.0"
    telemetry.stop()
    with pytest.raises(OSError):  # the server stopped with telemetry
        urllib.request.urlopen(f"http://{host}:{port}/metrics", timeout=2)


def test_a_port_in_use_is_one_line_and_the_rest_still_runs(capsys: pytest.CaptureFixture[str]) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {
            "OTEL_METRICS_EXPORTER": "prometheus,console",
            "OTEL_EXPORTER_PROMETHEUS_HOST": "127.0.0.1",
            "OTEL_EXPORTER_PROMETHEUS_PORT": str(port),
        }
        started = telemetry.start(env)
    assert started is not None and started.prometheus is None
    telemetry.record_call(row())
    telemetry.stop()
    err = capsys.readouterr().err.splitlines()
    assert [line for line in err if line.startswith("thrifty:")] == [
        line for line in err if "cannot serve Prometheus metrics on 127.0.0.1" in line
    ]
    assert any('"claude_code.cost.usage"' in line for line in err)  # console still exported


def test_grpc_without_its_package_is_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    try:
        import opentelemetry.exporter.otlp.proto.grpc  # type: ignore[import-not-found,unused-ignore]  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("the gRPC exporter is installed here")
    started = telemetry.start({"OTEL_METRICS_EXPORTER": "otlp", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"})
    assert started is not None and started.provider is not None
    (line,) = capsys.readouterr().err.splitlines()
    assert "pip install opentelemetry-exporter-otlp-proto-grpc" in line
