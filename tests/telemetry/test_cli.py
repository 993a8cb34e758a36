"""``thrifty -p`` with telemetry, as a user runs it: the counters leave the process at exit (to a
real OTLP/HTTP receiver, or to stderr), stdout stays the run's own, a dead collector costs one
line and never the exit code, and with telemetry off OpenTelemetry is never imported."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from collections import defaultdict

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest

from tests.cli.conftest import Cli
from tests.telemetry.conftest import Receiver

TOKEN = "sk-telemetry-secret-7f3a"


def sums(requests: list[ExportMetricsServiceRequest]) -> dict[tuple[str, str], float]:
    """(metric, token type or unit) -> the sum of its data points over every request."""
    found: dict[tuple[str, str], float] = defaultdict(float)
    for request in requests:
        for resource in request.resource_metrics:
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    for point in metric.sum.data_points:
                        attrs = {kv.key: kv.value.string_value for kv in point.attributes}
                        value = point.as_double if point.HasField("as_double") else point.as_int
                        found[(metric.name, attrs.get("type", metric.unit))] += value
    return found


def test_otlp_receives_the_runs_counters_at_exit(cli: Cli, receiver: Receiver) -> None:
    env = cli.env(
        CLAUDE_CODE_ENABLE_TELEMETRY="1",
        OTEL_METRICS_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_PROTOCOL="http/protobuf",
        OTEL_EXPORTER_OTLP_ENDPOINT=receiver.endpoint,
        OTEL_EXPORTER_OTLP_HEADERS=f"Authorization=Bearer {TOKEN}",
    )
    run = cli("-p", "hi", "--output-format", "json", "--tag", "team=infra", env=env)
    assert run.code == 0, run.stderr
    result = run.json  # stdout is the result alone
    assert receiver.posts, run.stderr
    assert all(headers["authorization"] == f"Bearer {TOKEN}" for _, headers, _ in receiver.posts)
    assert all(headers["content-type"] == "application/x-protobuf" for _, headers, _ in receiver.posts)
    requests = receiver.requests()
    got = sums(requests)
    assert got[("claude_code.cost.usage", "USD")] == pytest.approx(result["total_cost_usd"])
    usage = result["usage"]
    assert got[("claude_code.token.usage", "input")] == usage["input_tokens"]
    assert got[("claude_code.token.usage", "output")] == usage["output_tokens"] > 0
    assert got[("claude_code.token.usage", "cacheRead")] == usage["cache_read_input_tokens"]
    assert got[("claude_code.token.usage", "cacheCreation")] == usage["cache_creation_input_tokens"]
    assert got[("claude_code.session.count", "count")] == 1
    point = requests[0].resource_metrics[0].scope_metrics[0].metrics[0].sum.data_points[0]
    attrs = {kv.key: kv.value.string_value for kv in point.attributes}
    assert (
        attrs["session.id"] == result["session_id"]
        and attrs["tag.team"] == "infra"
        and attrs["mode"] == "api"
    )
    resource = {kv.key: kv.value.string_value for kv in requests[0].resource_metrics[0].resource.attributes}
    assert resource["service.name"] == "thrifty"
    assert TOKEN not in run.stdout + run.stderr


def test_console_metrics_go_to_stderr_and_stdout_stays_json(cli: Cli) -> None:
    env = cli.env(THRIFTY_ENABLE_TELEMETRY="1", OTEL_METRICS_EXPORTER="console")
    run = cli("-p", "hi", "--output-format", "json", env=env)
    assert run.code == 0, run.stderr
    result = run.json
    documents = [json.loads(line) for line in run.stderr.splitlines() if line.startswith("{")]
    assert documents, run.stderr
    metrics = {
        m["name"]: m
        for doc in documents
        for resource in doc["resource_metrics"]
        for scope in resource["scope_metrics"]
        for m in scope["metrics"]
    }
    cost = metrics["claude_code.cost.usage"]
    assert cost["unit"] == "USD"
    assert sum(p["value"] for p in cost["data"]["data_points"]) == pytest.approx(result["total_cost_usd"])


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_dead_collector_costs_one_line_and_not_the_exit_code(cli: Cli) -> None:
    env = cli.env(
        THRIFTY_ENABLE_TELEMETRY="1",
        OTEL_METRICS_EXPORTER="otlp",
        OTEL_EXPORTER_OTLP_ENDPOINT=f"http://user:pw@127.0.0.1:{closed_port()}",
        OTEL_EXPORTER_OTLP_HEADERS=f"authorization=Bearer {TOKEN}",
        OTEL_EXPORTER_OTLP_TIMEOUT="1500",
    )
    began = time.monotonic()
    run = cli("-p", "hi", "--output-format", "json", env=env)
    elapsed = time.monotonic() - began
    assert run.code == 0, run.stderr
    assert run.json["is_error"] is False
    lines = [line for line in run.stderr.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith(
        "thrifty: telemetry: could not export metrics to http://127.0.0.1:"
    ), lines
    assert TOKEN not in run.stdout + run.stderr and "pw" not in run.stderr
    assert elapsed < 30  # the 1.5 s bound, plus a cold start under a loaded test machine


PROBE = """
import atexit, runpy, sys
out = sys.argv[1]
if sys.argv[2] == "no-extra":
    sys.modules["opentelemetry"] = None  # as if `thrifty[telemetry]` were not installed
atexit.register(lambda: open(out, "w").write("\\n".join(sorted(sys.modules))))
sys.argv = ["thrifty", *sys.argv[3:]]
runpy.run_module("thrifty", run_name="__main__", alter_sys=True)
"""


def probe(cli: Cli, mode: str, **env: str) -> tuple[subprocess.CompletedProcess[str], set[str]]:
    out = cli.home / "modules.txt"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), mode, "-p", "hi", "--output-format", "json"],
        cwd=cli.cwd,
        env=cli.env(**env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return result, set(out.read_text().splitlines())


def test_with_telemetry_off_opentelemetry_is_never_imported(cli: Cli) -> None:
    result, modules = probe(cli, "plain", OTEL_METRICS_EXPORTER="otlp")
    assert result.returncode == 0, result.stderr
    assert "thrifty.billing.meter" in modules and "thrifty.telemetry" in modules  # the hook ran
    assert sorted(m for m in modules if m.split(".")[0] in ("opentelemetry", "prometheus_client")) == []
    assert "thrifty.telemetry.metrics" not in modules


def test_with_telemetry_on_it_is(cli: Cli) -> None:
    """The probe above would pass if nothing ever loaded it: this one shows it can see the import."""
    result, modules = probe(cli, "plain", THRIFTY_ENABLE_TELEMETRY="1", OTEL_METRICS_EXPORTER="none")
    assert result.returncode == 0, result.stderr
    assert {"thrifty.telemetry.metrics", "opentelemetry.sdk.metrics"} <= modules


def test_without_the_extra_the_run_goes_on_with_one_line(cli: Cli) -> None:
    result, modules = probe(cli, "no-extra", THRIFTY_ENABLE_TELEMETRY="1", OTEL_METRICS_EXPORTER="otlp")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["is_error"] is False
    assert result.stderr.splitlines() == ["thrifty: telemetry needs: pip install 'thrifty[telemetry]'"]
    assert "opentelemetry.sdk.metrics" not in modules
