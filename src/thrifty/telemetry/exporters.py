"""The metric readers ``OTEL_METRICS_EXPORTER`` asks for, each one failing on its own.

An exporter that cannot start (a missing gRPC package, a Prometheus port in use) is skipped with
one line, and the others still run. A push exporter is wrapped so that its first failed export
says so once, in thrifty's words, naming the endpoint's host and never its headers; the SDK's own
multi-line log records are kept off the terminal (``quiet_sdk_logs``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.metrics import Counter, Histogram, ObservableCounter
from opentelemetry.sdk.metrics.export import (
    AggregationTemporality,
    ConsoleMetricExporter,
    MetricExporter,
    MetricExportResult,
    MetricReader,
    MetricsData,
    PeriodicExportingMetricReader,
)

from thrifty.telemetry.settings import Settings

Warn = Callable[[str], None]


@dataclass
class Readers:
    readers: list[MetricReader] = field(default_factory=list)
    #: Run after the provider's shutdown: servers to stop.
    closers: list[Callable[[], None]] = field(default_factory=list)
    #: ``(host, port)`` the Prometheus endpoint listens on, once started.
    prometheus: tuple[str, int] | None = None


def temporality(preference: str) -> dict[type, AggregationTemporality]:
    """The specification's table for ``OTEL_EXPORTER_OTLP_METRICS_TEMPORALITY_PREFERENCE``; kinds
    left out stay cumulative (the reader's default)."""
    if preference == "cumulative":
        return {}
    delta = AggregationTemporality.DELTA
    chosen: dict[type, AggregationTemporality] = {Counter: delta, Histogram: delta}
    if preference == "delta":
        chosen[ObservableCounter] = delta
    return chosen


class Watched(MetricExporter):
    """Says once that exports fail, instead of letting the SDK log each retry to the terminal."""

    def __init__(
        self, inner: MetricExporter, where: str, warn: Warn, preferred: dict[type, AggregationTemporality]
    ):
        super().__init__(preferred_temporality=preferred)
        self.inner = inner
        self.where = where
        self.warn = warn
        self.failures = 0

    def export(
        self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any
    ) -> MetricExportResult:
        try:
            result = self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        except Exception:  # an exporter bug must not reach the run
            result = MetricExportResult.FAILURE
        if result is not MetricExportResult.SUCCESS:
            self.failures += 1
            if self.failures == 1:
                self.warn(f"telemetry: could not export metrics to {self.where}; the run is not affected")
        return result

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        return self.inner.force_flush(timeout_millis=timeout_millis)

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)


def one_line(data: MetricsData) -> str:
    """One JSON document per export and line, so a script can read stderr line by line."""
    return data.to_json(indent=None) + "\n"


def quiet_sdk_logs() -> None:
    """With no handler anywhere, Python prints an SDK warning and its traceback on stderr; a
    handler here stops that, while an application that configured logging still gets them."""
    logger = logging.getLogger("opentelemetry")
    if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
        logger.addHandler(logging.NullHandler())


def _otlp(
    settings: Settings, preferred: dict[type, AggregationTemporality], warn: Warn
) -> MetricExporter | None:
    timeout_s = settings.timeout_ms / 1000
    if settings.protocol == "grpc":
        try:
            from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import (  # type: ignore[import-not-found,unused-ignore]
                OTLPMetricExporter as GrpcExporter,
            )
        except ImportError:
            warn(
                "telemetry: OTLP over grpc needs: pip install opentelemetry-exporter-otlp-proto-grpc (or set "
                "OTEL_EXPORTER_OTLP_PROTOCOL=http/protobuf); metrics are not sent over OTLP"
            )
            return None
        grpc: MetricExporter = GrpcExporter(
            endpoint=settings.endpoint,
            headers=settings.headers,
            timeout=timeout_s,
            preferred_temporality=preferred,
        )
        return grpc
    from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter

    # http/json goes as protobuf to the same path: an OTLP/HTTP receiver takes both encodings.
    return OTLPMetricExporter(
        endpoint=settings.endpoint,
        headers=settings.headers,
        timeout=timeout_s,
        preferred_temporality=preferred,
    )


def _prometheus(settings: Settings, found: Readers, warn: Warn) -> None:
    from opentelemetry.exporter.prometheus import PrometheusMetricReader
    from prometheus_client import CollectorRegistry, start_http_server

    # A registry of our own: the process's global one may belong to the application (SDK users).
    registry = CollectorRegistry(auto_describe=True)
    host, port = settings.prometheus_host, settings.prometheus_port
    try:
        server, thread = start_http_server(port, addr=host, registry=registry)
    except OSError as exc:
        warn(f"telemetry: cannot serve Prometheus metrics on {host}:{port} ({exc.strerror or exc}); skipped")
        return
    found.readers.append(PrometheusMetricReader(registry=registry))
    found.prometheus = (host, int(server.server_port))

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=1)

    found.closers.append(stop)


def build_readers(settings: Settings, warn: Warn) -> Readers:
    found = Readers()
    preferred = temporality(settings.temporality)
    interval = settings.interval_ms
    for name in settings.exporters:
        exporter: MetricExporter | None
        if name == "prometheus":
            _prometheus(settings, found, warn)
            continue
        if name == "console":
            # stderr, not stdout as in Claude Code: stdout carries the run's json/stream-json.
            exporter = ConsoleMetricExporter(
                out=sys.stderr, formatter=one_line, preferred_temporality=preferred
            )
            where = "stderr"
        else:
            exporter = _otlp(settings, preferred, warn)
            where = settings.where
        if exporter is None:
            continue
        watched = Watched(exporter, where, warn, preferred)
        found.readers.append(
            PeriodicExportingMetricReader(
                watched, export_interval_millis=interval, export_timeout_millis=settings.timeout_ms
            )
        )
    return found
