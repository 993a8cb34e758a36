"""How the environment is read: Claude Code's variables, the OpenTelemetry specification's
rules, and one line for each value that cannot be used."""

from __future__ import annotations

import pytest

from thrifty import telemetry
from thrifty.telemetry.settings import DEFAULT_TIMEOUT_MS, printable_endpoint, read_settings


@pytest.mark.parametrize("value", ["1", "true", "TRUE", " yes ", "on"])
def test_either_switch_turns_it_on(value: str) -> None:
    assert telemetry.enabled({"THRIFTY_ENABLE_TELEMETRY": value})
    assert telemetry.enabled({"CLAUDE_CODE_ENABLE_TELEMETRY": value})


@pytest.mark.parametrize("value", ["", "0", "false", "off", "2"])
def test_anything_else_leaves_it_off(value: str) -> None:
    assert not telemetry.enabled({"THRIFTY_ENABLE_TELEMETRY": value, "CLAUDE_CODE_ENABLE_TELEMETRY": value})
    assert not telemetry.enabled({})


def test_exporters_are_a_comma_separated_list() -> None:
    s = read_settings({"OTEL_METRICS_EXPORTER": " otlp, console,otlp ,"}, service_version="1")
    assert s.exporters == ("otlp", "console") and s.problems == ()
    assert read_settings({}, service_version="1").exporters == ()
    assert read_settings({"OTEL_METRICS_EXPORTER": "console,none"}, service_version="1").exporters == ()


def test_an_unknown_exporter_is_skipped_with_a_line() -> None:
    s = read_settings({"OTEL_METRICS_EXPORTER": "jaeger,console"}, service_version="1")
    assert s.exporters == ("console",)
    assert len(s.problems) == 1 and "'jaeger'" in s.problems[0]


def test_the_general_endpoint_gets_the_metrics_path_and_the_signal_one_is_kept() -> None:
    base = read_settings({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318/"}, service_version="1")
    assert base.endpoint == "http://collector:4318/v1/metrics"
    both = read_settings(
        {
            "OTEL_EXPORTER_OTLP_ENDPOINT": "http://collector:4318",
            "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": "https://m.example/custom",
        },
        service_version="1",
    )
    assert both.endpoint == "https://m.example/custom"
    assert read_settings({}, service_version="1").endpoint == "http://localhost:4318/v1/metrics"
    grpc = read_settings({"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, service_version="1")
    assert (grpc.protocol, grpc.endpoint) == ("grpc", "http://localhost:4317")
    signal = read_settings(
        {"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL": "http/json"},
        service_version="1",
    )
    assert signal.protocol == "http/json"


def test_timeouts_and_intervals_are_milliseconds_as_in_claude_code() -> None:
    s = read_settings(
        {"OTEL_EXPORTER_OTLP_TIMEOUT": "1500", "OTEL_METRIC_EXPORT_INTERVAL": "10000"}, service_version="1"
    )
    assert (s.timeout_ms, s.interval_ms) == (1500.0, 10000.0)
    signal = read_settings(
        {"OTEL_EXPORTER_OTLP_TIMEOUT": "1500", "OTEL_EXPORTER_OTLP_METRICS_TIMEOUT": "700"},
        service_version="1",
    )
    assert signal.timeout_ms == 700.0
    bad = read_settings({"OTEL_EXPORTER_OTLP_TIMEOUT": "soon"}, service_version="1")
    assert bad.timeout_ms == DEFAULT_TIMEOUT_MS and "OTEL_EXPORTER_OTLP_TIMEOUT" in bad.problems[0]


def test_temporality_defaults_to_delta_as_in_claude_code() -> None:
    assert read_settings({}, service_version="1").temporality == "delta"
    cumulative = {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "Cumulative"}
    assert read_settings(cumulative, service_version="1").temporality == "cumulative"
    odd = read_settings(
        {"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE": "sideways"}, service_version="1"
    )
    assert odd.temporality == "delta" and len(odd.problems) == 1


def test_headers_are_parsed_and_never_shown() -> None:
    s = read_settings(
        {"OTEL_EXPORTER_OTLP_HEADERS": "Authorization=Bearer%20sk-secret-1,X-Team=a"}, service_version="1"
    )
    assert s.headers == {"authorization": "Bearer sk-secret-1", "x-team": "a"}
    assert "sk-secret-1" not in repr(s)
    signal = read_settings(
        {"OTEL_EXPORTER_OTLP_HEADERS": "a=1", "OTEL_EXPORTER_OTLP_METRICS_HEADERS": "b=2"},
        service_version="1",
    )
    assert signal.headers == {"b": "2"}


def test_a_printed_endpoint_has_no_credentials_path_or_query() -> None:
    assert printable_endpoint("https://user:pw@collector.example:4318/v1/metrics?token=x") == (
        "https://collector.example:4318"
    )
    s = read_settings({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://u:p@h:1"}, service_version="1")
    assert s.where == "http://h:1"


def test_cardinality_switches_have_claude_codes_defaults() -> None:
    s = read_settings({}, service_version="1")
    assert (s.include_session_id, s.include_version, s.include_account) == (True, False, True)
    flipped = read_settings(
        {
            "OTEL_METRICS_INCLUDE_SESSION_ID": "false",
            "OTEL_METRICS_INCLUDE_VERSION": "1",
            "OTEL_METRICS_INCLUDE_ACCOUNT_UUID": "no",
        },
        service_version="1",
    )
    assert (flipped.include_session_id, flipped.include_version, flipped.include_account) == (
        False,
        True,
        False,
    )
    odd = read_settings({"OTEL_METRICS_INCLUDE_VERSION": "maybe"}, service_version="1")
    assert odd.include_version is False and len(odd.problems) == 1


def test_prometheus_host_and_port() -> None:
    s = read_settings({}, service_version="1")
    assert (s.prometheus_host, s.prometheus_port) == ("localhost", 9464)
    s = read_settings(
        {"OTEL_EXPORTER_PROMETHEUS_HOST": "0.0.0.0", "OTEL_EXPORTER_PROMETHEUS_PORT": "9000"},
        service_version="1",
    )
    assert (s.prometheus_host, s.prometheus_port) == ("0.0.0.0", 9000)
    bad = read_settings({"OTEL_EXPORTER_PROMETHEUS_PORT": "99999"}, service_version="1")
    assert bad.prometheus_port == 9464 and len(bad.problems) == 1
