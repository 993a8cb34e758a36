"""A real agent turn against the simulator, with telemetry on: the counters it exports are the
ledger's numbers, under Claude Code's names and units, carrying the row's labels."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import thrifty
from tests.telemetry.conftest import MakeOptions, Receiver, Series, metrics_of
from thrifty import telemetry
from thrifty.billing.ledger import LedgerRow, RowQuery, open_ledger
from thrifty.testing import Simulator
from thrifty.testing.models import ModelCatalog, ModelSpec

pytestmark = pytest.mark.anyio

TYPES: dict[str, Callable[[LedgerRow], int]] = {
    "input": lambda r: r.input_tokens,
    "output": lambda r: r.output_tokens,
    "cacheRead": lambda r: r.cache_read_tokens,
    "cacheCreation": lambda r: r.cache_write_5m_tokens + r.cache_write_1h_tokens,
}


def ledger_rows(path: Path) -> list[LedgerRow]:
    db = open_ledger(str(path))
    try:
        return list(db.query(RowQuery()))
    finally:
        db.close()


def exported(reader: InMemoryMetricReader) -> dict[str, Series]:
    return metrics_of(reader.get_metrics_data())


async def run(prompt: str, options: thrifty.Options) -> list[Any]:
    return [message async for message in thrifty.query(prompt, options)]


async def test_a_turn_exports_the_ledger_cost_and_tokens(
    reader: InMemoryMetricReader, sim: Simulator, options: MakeOptions, tmp_path: Path
) -> None:
    sim.set_script([{"tool_use": {"name": "Bash", "input": {"command": "true"}}}, {"text": "done"}])
    messages = await run("go", options(allowed_tools=["Bash"], project="demo", tags={"team": "infra"}))
    result = messages[-1]
    assert isinstance(result, thrifty.ResultMessage) and not result.is_error
    rows = ledger_rows(tmp_path / "ledger.sqlite3")
    assert len(rows) == 2 and all(row.cost_usd for row in rows)
    (session,) = {row.session_id for row in rows}
    metrics = exported(reader)

    cost = metrics["claude_code.cost.usage"]
    assert cost.unit == "USD"
    assert sum(p.value for p in cost.points) == pytest.approx(float(sum(r.cost_usd or 0 for r in rows)))
    assert sum(p.value for p in cost.points) == pytest.approx(result.total_cost_usd)
    for point in cost.points:
        attrs = point.attributes
        assert attrs["model"] == rows[0].model and attrs["session.id"] == session
        assert (attrs["mode"], attrs["project"], attrs["tag.team"]) == ("api", "demo", "infra")
        assert attrs["account"] == rows[0].account and "type" not in attrs

    tokens = metrics["claude_code.token.usage"]
    assert tokens.unit == "tokens"
    by_type: dict[str, float] = defaultdict(float)
    for point in tokens.points:
        assert point.attributes["model"] == rows[0].model and point.attributes["tag.team"] == "infra"
        by_type[point.attributes["type"]] += point.value
    assert by_type == {kind: sum(count(r) for r in rows) for kind, count in TYPES.items()}
    assert by_type["output"] > 0 and by_type["cacheCreation"] + by_type["cacheRead"] > 0, by_type

    sessions = metrics["claude_code.session.count"]
    assert sessions.unit == "count"
    assert [(p.value, p.attributes["session.id"]) for p in sessions.points] == [(1, session)]


def subagent_script() -> dict[str, Any]:
    call = {"description": "Count words", "prompt": "Count the words please", "subagent_type": "counter"}
    return {
        "conversations": [
            {
                "match": "delegate",
                "turns": [{"tool_use": {"name": "Agent", "input": call}}, {"text": "Three."}],
            },
            {"match": "Count the words", "turns": [{"text": "There are three words."}]},
        ]
    }


async def test_a_subagents_calls_carry_its_tags_and_model(
    reader: InMemoryMetricReader, sim: Simulator, options: MakeOptions, tmp_path: Path
) -> None:
    """Subagent rows get their tags through ``Meter.with_tags``; the counters must split the same way."""
    sim.set_script(subagent_script())
    agent = {"description": "Counts words", "prompt": "You count words.", "tools": [], "model": "haiku"}
    await run("delegate this", options(agents={"counter": agent}, tags={"run": "r1"}))
    rows = ledger_rows(tmp_path / "ledger.sqlite3")
    assert len({row.model for row in rows}) == 2
    tagged = [row for row in rows if row.tags.get("sidechain") == "true"]
    assert tagged, [row.tags for row in rows]
    cost = exported(reader)["claude_code.cost.usage"].points
    for row in rows:
        wanted = {"model": row.model, **{f"tag.{k}": v for k, v in row.tags.items()}}
        matching = [p for p in cost if p.attributes.items() >= wanted.items()]
        assert len(matching) == 1, (wanted, [p.attributes for p in cost])
        # A parent call has no sidechain tag, so it never lands in the subagent's series.
        assert ("tag.sidechain" in matching[0].attributes) == ("sidechain" in row.tags)
        same = [r for r in rows if r.model == row.model and r.tags == row.tags]
        assert matching[0].value == pytest.approx(float(sum(r.cost_usd or 0 for r in same)))
    assert {p.attributes["tag.run"] for p in cost} == {"r1"}


UNKNOWN = "acme-model-1"


@pytest.fixture
def unknown_model_sim() -> Iterator[Simulator]:
    catalog = ModelCatalog([*ModelCatalog.load().specs, ModelSpec(UNKNOWN, "Acme 1", "2026-01-01T00:00:00Z")])
    with Simulator(catalog=catalog) as s:
        yield s


async def test_an_unpriced_call_adds_tokens_but_no_cost(
    reader: InMemoryMetricReader, unknown_model_sim: Simulator, tmp_path: Path
) -> None:
    """An unknown price is None in the ledger; exported as 0 it would sum into a wrong total."""
    sim = unknown_model_sim
    sim.set_script([{"text": "hello"}])
    env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url}
    await run("hi", thrifty.Options(cwd=tmp_path, env=env, model=UNKNOWN, ledger=str(tmp_path / "l.sqlite3")))
    metrics = exported(reader)
    assert "claude_code.cost.usage" not in metrics
    outputs = [p for p in metrics["claude_code.token.usage"].points if p.attributes["type"] == "output"]
    assert [p.attributes["model"] for p in outputs] == [UNKNOWN] and outputs[0].value > 0


def row(**fields: Any) -> LedgerRow:
    values: dict[str, Any] = {
        "request_id": "req_1",
        "session_id": "s-1",
        "mode": "batch",
        "account": "ANTHROPIC_API_KEY",
        "model": "claude-sonnet-5-5",
        "input_tokens": 10,
        "output_tokens": 5,
        "cache_write_5m_tokens": 1,
        "cache_write_1h_tokens": 2,
        "cache_read_tokens": 7,
        "cost_usd": Decimal("0.25"),
        "price_version": "test",
        "project": "/p",
        "recorded_at": datetime.now(UTC),
        **fields,
    }
    return LedgerRow(**values)


def test_claude_codes_cardinality_switches_and_resource_attributes() -> None:
    memory = InMemoryMetricReader()
    env = {
        "OTEL_METRICS_INCLUDE_SESSION_ID": "false",
        "OTEL_METRICS_INCLUDE_VERSION": "true",
        "OTEL_METRICS_INCLUDE_ACCOUNT_UUID": "0",
        "OTEL_RESOURCE_ATTRIBUTES": "department=eng,team.id=platform%20x",
        "TERM_PROGRAM": "vscode",
    }
    assert telemetry.start(env, readers=[memory]) is not None
    telemetry.record_call(row())
    telemetry.record_call(row(request_id="req_2", session_id="s-2"))
    data = memory.get_metrics_data()
    assert data is not None
    resource = dict(data.resource_metrics[0].resource.attributes)
    assert resource["service.name"] == "thrifty" and resource["service.version"] == thrifty.__version__
    assert (resource["department"], resource["team.id"]) == ("eng", "platform x")
    metrics = metrics_of(data)
    (cost,) = metrics["claude_code.cost.usage"].points  # no session id: both calls are one series
    assert cost.value == pytest.approx(0.5)
    assert cost.attributes == {
        "app.version": thrifty.__version__,
        "terminal.type": "vscode",
        "mode": "batch",
        "project": "/p",
        "model": "claude-sonnet-5-5",
    }
    # Sessions are still told apart for the session count, though not labelled.
    assert sum(p.value for p in metrics["claude_code.session.count"].points) == 2


def test_service_name_overrides_the_resource_attribute() -> None:
    memory = InMemoryMetricReader()
    env = {"OTEL_RESOURCE_ATTRIBUTES": "service.name=from-attrs", "OTEL_SERVICE_NAME": "agents"}
    assert telemetry.start(env, readers=[memory]) is not None
    telemetry.record_call(row())
    data = memory.get_metrics_data()
    assert data is not None and data.resource_metrics[0].resource.attributes["service.name"] == "agents"


def test_flush_exports_now_and_stop_sends_only_what_came_after(receiver: Receiver) -> None:
    """An SDK service lives past any one session: ``flush`` sends the counts without waiting for
    the interval, and with delta temporality (Claude Code's) the next export holds only new calls."""
    env = {
        "OTEL_METRICS_EXPORTER": "otlp",
        "OTEL_EXPORTER_OTLP_ENDPOINT": receiver.endpoint,
        "OTEL_METRIC_EXPORT_INTERVAL": "3600000",
    }
    assert telemetry.start(env) is not None
    telemetry.record_call(row())
    assert telemetry.flush(timeout_s=5)
    assert len(receiver.posts) == 1
    telemetry.record_call(row(request_id="req_2", cost_usd=Decimal("0.5")))
    telemetry.stop()
    assert telemetry.active() is None
    first, second = (cost_points(request) for request in receiver.requests())
    assert (first, second) == ([0.25], [0.5])
    telemetry.record_call(row(request_id="req_3"))  # stopped, and the switch is off: a no-op
    assert len(receiver.posts) == 2


def cost_points(request: ExportMetricsServiceRequest) -> list[float]:
    return [
        point.as_double
        for resource in request.resource_metrics
        for scope in resource.scope_metrics
        for metric in scope.metrics
        if metric.name == "claude_code.cost.usage"
        for point in metric.sum.data_points
    ]
