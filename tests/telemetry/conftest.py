"""Telemetry on, read through the SDK's ``InMemoryMetricReader``: the reader a test hands
``thrifty.telemetry.start``, so the counters are the ones the real provider made."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, MetricsData

import thrifty
from tests.cli.conftest import cli  # noqa: F401  (the subprocess tests' fixture)
from thrifty import telemetry
from thrifty.testing import Simulator

MakeOptions = Callable[..., thrifty.Options]


@dataclass(frozen=True)
class Point:
    value: float
    attributes: dict[str, Any]


@dataclass(frozen=True)
class Series:
    unit: str
    points: list[Point]


def metrics_of(data: MetricsData | None) -> dict[str, Series]:
    """Every metric by name, with its unit and data points (one scope: thrifty's)."""
    found: dict[str, Series] = {}
    for resource in data.resource_metrics if data is not None else ():
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                points = [Point(p.value, dict(p.attributes or {})) for p in metric.data.data_points]  # type: ignore[union-attr]
                found[metric.name] = Series(metric.unit or "", points)
    return found


@dataclass
class Receiver:
    """A loopback OTLP/HTTP metrics receiver: what a collector would have been sent."""

    port: int
    posts: list[tuple[str, dict[str, str], bytes]] = field(default_factory=list)

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def requests(self) -> list[ExportMetricsServiceRequest]:
        decoded = []
        for path, _, body in self.posts:
            assert path == "/v1/metrics"
            request = ExportMetricsServiceRequest()
            request.ParseFromString(body)
            decoded.append(request)
        return decoded


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    got = Receiver(0)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            got.posts.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            self.send_response(200)
            self.send_header("Content-Type", "application/x-protobuf")
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, format: str, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    got.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield got
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(autouse=True)
def _telemetry_off(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """No test inherits a switch from the developer's shell, nor leaves telemetry on for the next."""
    for name in telemetry.SWITCHES:
        monkeypatch.delenv(name, raising=False)
    yield
    telemetry.stop()


@pytest.fixture
def reader() -> InMemoryMetricReader:
    """Telemetry on with no exporter of its own: only this reader sees the counters."""
    memory = InMemoryMetricReader()
    assert telemetry.start({"OTEL_METRICS_EXPORTER": "none"}, readers=[memory]) is not None
    return memory


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as s:
        yield s


@pytest.fixture
def options(sim: Simulator, tmp_path: Path) -> MakeOptions:
    project = tmp_path / "project"
    project.mkdir()

    def make(**overrides: Any) -> thrifty.Options:
        env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url}
        values: dict[str, Any] = {
            "cwd": project,
            "env": env,
            "ledger": str(tmp_path / "ledger.sqlite3"),
            **overrides,
        }
        return thrifty.Options(**values)

    return make
