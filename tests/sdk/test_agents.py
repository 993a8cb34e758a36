"""Subagents in the in-process SDK: ``Options(agents=...)`` and ``agent=``, with the Agent tool's
child run metered into the parent's result and its messages marked with ``parent_tool_use_id``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from claude_agent_sdk import AgentDefinition

import thrifty
from tests.sdk.conftest import MakeOptions
from thrifty.billing.ledger import RowQuery, open_ledger
from thrifty.testing import Simulator

pytestmark = pytest.mark.anyio


def script(agent: str) -> dict[str, Any]:
    call = {"description": "Count words", "prompt": "Count the words please", "subagent_type": agent}
    return {
        "conversations": [
            {
                "match": "delegate",
                "turns": [{"tool_use": {"name": "Agent", "input": call}}, {"text": "Three."}],
            },
            {"match": "Count the words", "turns": [{"text": "There are three words."}]},
        ]
    }


@pytest.mark.parametrize(
    "definition",
    [
        {"description": "Counts words", "prompt": "You count words.", "tools": [], "model": "haiku"},
        AgentDefinition(description="Counts words", prompt="You count words.", tools=[], model="haiku"),
    ],
    ids=["dict", "AgentDefinition"],
)
async def test_agents_option_runs_a_subagent(
    sim: Simulator, options: MakeOptions, tmp_path: Path, definition: Any
) -> None:
    sim.set_script(script("counter"))
    ledger = tmp_path / "ledger.sqlite3"
    events = [
        e
        async for e in thrifty.query(
            "delegate this", options(agents={"counter": definition}, ledger=str(ledger))
        )
    ]
    init = events[0]
    assert init.kind == "system_init" and init.data["agents"] == ["general-purpose", "counter"]
    child = [e for e in events if e.kind == "assistant" and e.parent_tool_use_id is not None]
    assert [e.text for e in child] == ["There are three words."]
    result = events[-1]
    assert result.kind == "result" and result.result == "Three." and not result.is_error
    assert set(result.model_usage) == {"claude-sonnet-5-5", "claude-haiku-5-5"}
    sub = sim.message_requests()[1].body
    assert sub["model"] == "claude-haiku-5-5" and not sub.get("tools")
    assert sub["system"][0]["text"].startswith("You count words.")
    db = open_ledger(str(ledger))
    try:
        rows = list(db.query(RowQuery()))
    finally:
        db.close()
    assert sorted(r.tags.get("sidechain", "") for r in rows) == ["", "", "true"]
    assert abs(sum(float(r.cost_usd or 0) for r in rows) - result.total_cost_usd) < 1e-9


async def test_a_budget_cap_counts_the_subagents_calls(sim: Simulator, options: MakeOptions) -> None:
    sim.set_script(script("general-purpose"))
    first = [e async for e in thrifty.query("delegate this", options(agents={}, tools=["Agent"]))][-1]
    assert first.kind == "result" and first.subtype == "success"
    assert len(sim.message_requests()) == 3
    # Under a cap the whole run's spend passes (the parent's first call and the subagent's), the
    # run stops before its next request, as a run without subagents does.
    cap = first.total_cost_usd * 0.8
    capped = [e async for e in thrifty.query("delegate this", options(tools=["Agent"], max_budget_usd=cap))][
        -1
    ]
    assert capped.kind == "result" and capped.subtype == "error_max_budget_usd"
    assert capped.total_cost_usd <= cap


def test_bad_agents_are_one_line_setup_errors() -> None:
    with pytest.raises(thrifty.SetupError, match="agent 'x': prompt is required"):
        thrifty.Options(agents={"x": {"description": "d"}})
    with pytest.raises(thrifty.SetupError, match="agents must be an object"):
        thrifty.Options(agents=["x"])  # type: ignore[arg-type]


async def test_agent_option_runs_the_main_thread_as_that_agent(sim: Simulator, options: MakeOptions) -> None:
    sim.set_script([{"text": "ok"}])
    agents = {"counter": {"description": "Counts", "prompt": "You only count.", "tools": ["Read"]}}
    events = [e async for e in thrifty.query("hi", options(agents=agents, agent="counter"))]
    assert events[-1].subtype == "success"
    body = sim.message_requests()[0].body
    assert body["system"][0]["text"] == "You only count." and [t["name"] for t in body["tools"]] == ["Read"]
    with pytest.raises(thrifty.SetupError, match="Agent 'nobody' not found"):
        [e async for e in thrifty.query("hi", options(agent="nobody"))]
