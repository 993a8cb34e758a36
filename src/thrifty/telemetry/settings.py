"""What the environment asks of telemetry, read once into plain values with no OpenTelemetry import.

Claude Code's variables mean what they mean there, so one shell profile configures both tools;
where the Python SDK reads a variable differently from the specification (it takes
``OTEL_EXPORTER_OTLP_TIMEOUT`` in seconds, the specification and Claude Code in milliseconds)
thrifty reads it here and hands the SDK the value, rather than let the same setting wait a
thousand times longer in one tool than in the other. A value that cannot be read becomes a
one-line problem and its default, never a failed run: telemetry is not worth a lost answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote, urlsplit

#: ``OTEL_METRICS_EXPORTER`` values thrifty can serve; ``none`` turns metrics off.
KNOWN_EXPORTERS = ("otlp", "console", "prometheus")
PROTOCOLS = ("http/protobuf", "http/json", "grpc")
TEMPORALITIES = ("delta", "cumulative", "lowmemory")
#: Claude Code sends deltas unless told otherwise (the OpenTelemetry default is cumulative).
DEFAULT_TEMPORALITY = "delta"
DEFAULT_INTERVAL_MS = 60_000.0
#: Shorter than the specification's 10 s: a ``-p`` run waits this long at exit for a dead collector.
DEFAULT_TIMEOUT_MS = 5_000.0
DEFAULT_PROMETHEUS_HOST = "localhost"
DEFAULT_PROMETHEUS_PORT = 9464
DEFAULT_HTTP_ENDPOINT = "http://localhost:4318"
DEFAULT_GRPC_ENDPOINT = "http://localhost:4317"
TRUTHY = ("1", "true", "yes", "on")
FALSY = ("0", "false", "no", "off")


@dataclass(frozen=True)
class Settings:
    exporters: tuple[str, ...] = ()
    protocol: str = "http/protobuf"
    #: The full metrics URL for HTTP (``.../v1/metrics``), the collector address for gRPC.
    endpoint: str = DEFAULT_HTTP_ENDPOINT + "/v1/metrics"
    #: May hold a bearer token: kept out of ``repr`` so no log or error can show it.
    headers: dict[str, str] = field(default_factory=dict, repr=False)
    timeout_ms: float = DEFAULT_TIMEOUT_MS
    interval_ms: float = DEFAULT_INTERVAL_MS
    temporality: str = DEFAULT_TEMPORALITY
    include_session_id: bool = True
    include_version: bool = False
    include_account: bool = True
    resource: dict[str, str] = field(default_factory=dict)
    prometheus_host: str = DEFAULT_PROMETHEUS_HOST
    prometheus_port: int = DEFAULT_PROMETHEUS_PORT
    #: One line each, for stderr: settings that were ignored and why.
    problems: tuple[str, ...] = ()

    @property
    def where(self) -> str:
        """The endpoint as it may be printed: scheme, host and port only (no credentials, path or query)."""
        return printable_endpoint(self.endpoint)


def truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in TRUTHY


def printable_endpoint(url: str) -> str:
    try:
        parts = urlsplit(url)
        host = parts.hostname or "?"
        port = f":{parts.port}" if parts.port else ""
    except ValueError:
        return "the configured endpoint"
    return f"{parts.scheme}://{host}{port}" if parts.scheme else f"{host}{port}"


def _flag(environ: Mapping[str, str], name: str, default: bool, problems: list[str]) -> bool:
    """Claude Code's cardinality switches: unset is the default, else truthy or not."""
    raw = environ.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value not in TRUTHY + FALSY:
        problems.append(f"{name}={raw!r} is not true or false; using {str(default).lower()}")
        return default
    return value in TRUTHY


def _number(environ: Mapping[str, str], names: tuple[str, ...], default: float, problems: list[str]) -> float:
    for name in names:
        raw = (environ.get(name) or "").strip()
        if not raw:
            continue
        try:
            value = float(raw)
        except ValueError:
            value = -1.0
        if value > 0:
            return value
        problems.append(f"{name}={raw!r} is not a positive number of milliseconds; using {default:g}")
        return default
    return default


def _exporters(environ: Mapping[str, str], problems: list[str]) -> tuple[str, ...]:
    names = [part.strip().lower() for part in (environ.get("OTEL_METRICS_EXPORTER") or "").split(",")]
    if "none" in names:
        return ()
    chosen: list[str] = []
    for name in names:
        if not name or name in chosen:
            continue
        if name not in KNOWN_EXPORTERS:
            problems.append(
                f"OTEL_METRICS_EXPORTER: unknown exporter {name!r} skipped (otlp, prometheus, console)"
            )
            continue
        chosen.append(name)
    return tuple(chosen)


def _protocol(environ: Mapping[str, str], problems: list[str]) -> str:
    for name in ("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"):
        raw = (environ.get(name) or "").strip().lower()
        if not raw:
            continue
        if raw in PROTOCOLS:
            return raw
        problems.append(f"{name}={raw!r} is not one of {', '.join(PROTOCOLS)}; using http/protobuf")
        return "http/protobuf"
    return "http/protobuf"


def _endpoint(environ: Mapping[str, str], protocol: str) -> str:
    """The specification's rule: the per-signal variable is used as is, the general one gets the
    signal's path appended (HTTP only: a gRPC endpoint is an address, not a URL path)."""
    metrics = (environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT") or "").strip()
    if metrics:
        return metrics
    grpc = protocol == "grpc"
    base = (environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or "").strip()
    base = base or (DEFAULT_GRPC_ENDPOINT if grpc else DEFAULT_HTTP_ENDPOINT)
    return base if grpc else base.rstrip("/") + "/v1/metrics"


def pairs(raw: str) -> dict[str, str]:
    """``key=value,key2=value2`` with percent-encoded values (``OTEL_RESOURCE_ATTRIBUTES`` and
    ``OTEL_EXPORTER_OTLP_HEADERS``); a part without ``=`` is skipped."""
    found: dict[str, str] = {}
    for part in raw.split(","):
        key, sep, value = part.partition("=")
        if sep and key.strip():
            found[unquote(key.strip())] = unquote(value.strip())
    return found


def _temporality(environ: Mapping[str, str], problems: list[str]) -> str:
    raw = (environ.get("OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE") or "").strip().lower()
    if not raw:
        return DEFAULT_TEMPORALITY
    if raw in TEMPORALITIES:
        return raw
    problems.append(
        f"OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE={raw!r} is not one of "
        f"{', '.join(TEMPORALITIES)}; using {DEFAULT_TEMPORALITY}"
    )
    return DEFAULT_TEMPORALITY


def _port(environ: Mapping[str, str], problems: list[str]) -> int:
    raw = (environ.get("OTEL_EXPORTER_PROMETHEUS_PORT") or "").strip()
    if not raw:
        return DEFAULT_PROMETHEUS_PORT
    if raw.isdigit() and 0 <= int(raw) < 65536:
        return int(raw)
    problems.append(f"OTEL_EXPORTER_PROMETHEUS_PORT={raw!r} is not a port; using {DEFAULT_PROMETHEUS_PORT}")
    return DEFAULT_PROMETHEUS_PORT


def read_settings(environ: Mapping[str, str], *, service_version: str) -> Settings:
    problems: list[str] = []
    protocol = _protocol(environ, problems)
    headers = pairs(
        environ.get("OTEL_EXPORTER_OTLP_METRICS_HEADERS") or environ.get("OTEL_EXPORTER_OTLP_HEADERS") or ""
    )
    # The specification's order: OTEL_SERVICE_NAME over OTEL_RESOURCE_ATTRIBUTES over our own.
    resource = {"service.name": "thrifty", "service.version": service_version}
    resource.update(pairs(environ.get("OTEL_RESOURCE_ATTRIBUTES") or ""))
    if (service := (environ.get("OTEL_SERVICE_NAME") or "").strip()) != "":
        resource["service.name"] = service
    return Settings(
        exporters=_exporters(environ, problems),
        protocol=protocol,
        endpoint=_endpoint(environ, protocol),
        headers={key.lower(): value for key, value in headers.items()},
        timeout_ms=_number(
            environ,
            ("OTEL_EXPORTER_OTLP_METRICS_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT"),
            DEFAULT_TIMEOUT_MS,
            problems,
        ),
        interval_ms=_number(environ, ("OTEL_METRIC_EXPORT_INTERVAL",), DEFAULT_INTERVAL_MS, problems),
        temporality=_temporality(environ, problems),
        include_session_id=_flag(environ, "OTEL_METRICS_INCLUDE_SESSION_ID", True, problems),
        include_version=_flag(environ, "OTEL_METRICS_INCLUDE_VERSION", False, problems),
        include_account=_flag(environ, "OTEL_METRICS_INCLUDE_ACCOUNT_UUID", True, problems),
        resource=resource,
        prometheus_host=(environ.get("OTEL_EXPORTER_PROMETHEUS_HOST") or "").strip()
        or DEFAULT_PROMETHEUS_HOST,
        prometheus_port=_port(environ, problems),
        problems=tuple(problems),
    )
