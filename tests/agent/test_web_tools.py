"""WebSearch and WebFetch as the API's server tools: what is sent, under which rules, at what cost."""

from __future__ import annotations

import asyncio
import dataclasses
import stat
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from claude_agent_sdk import AssistantMessage, ClaudeAgentOptions, ResultMessage, ServerToolUseBlock, query

import thrifty
from tests.cli.conftest import Cli
from thrifty.agent.permissions.policy import PermissionPolicy
from thrifty.agent.server_tools import FETCH_TYPE, SEARCH_TYPE, model_server_tools, server_tool_definitions
from thrifty.billing.ledger import RowQuery, open_ledger
from thrifty.billing.prices import bundled_prices
from thrifty.core.usage import Usage
from thrifty.testing import Simulator
from thrifty.testing.models import ModelCatalog, ModelSpec

MODEL = "claude-sonnet-4-6"
#: Served by the simulator, but with no server tools (as older models on the real API).
OLD_MODEL = "claude-3-haiku-20240307"
SEARCH_TURN: dict[str, Any] = {
    "web_search": {"query": "python release", "results": [{"url": "https://python.org/", "title": "Python"}]},
    "text": "Python 3.14 is out.",
}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    old = ModelSpec(OLD_MODEL, "Claude 3 Haiku", "2024-03-07T00:00:00Z", server_tools=())
    with Simulator(catalog=ModelCatalog([*ModelCatalog.load().specs, old])) as s:
        yield s


@pytest.fixture
def cli(sim: Simulator, tmp_path: Path) -> Cli:
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    return Cli(sim, project, home)


def run_sdk(sim: Simulator, cwd: Path, **overrides: Any) -> thrifty.Result:
    env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url}
    values: dict[str, Any] = {"cwd": cwd, "env": env, "model": MODEL, **overrides}
    results = [
        m
        for m in thrifty.query_sync("look it up", thrifty.Options(**values))
        if isinstance(m, thrifty.Result)
    ]
    assert len(results) == 1
    return results[0]


def server_tools(sim: Simulator, index: int = 0) -> dict[str, dict[str, Any]]:
    body = sim.message_requests()[index].body
    return {t["name"]: t for t in body.get("tools", []) if t.get("type", "custom") != "custom"}


def test_allowed_web_search_is_sent_as_the_server_tool_and_its_blocks_go_back_untouched(
    sim: Simulator, tmp_path: Path
) -> None:
    sim.set_script(
        [
            {**SEARCH_TURN, "text": None, "tool_use": {"name": "Glob", "input": {"pattern": "*"}}},
            {"text": "done"},
        ]
    )
    result = run_sdk(sim, tmp_path, allowed_tools=["WebSearch"])
    assert result.subtype == "success"
    tools = server_tools(sim)
    assert tools == {"web_search": {"type": SEARCH_TYPE, "name": "web_search", "max_uses": 8}}
    # the second request carries the search blocks back exactly as the API gave them
    first_reply = sim.message_requests()[1].body["messages"][1]["content"]
    assert [b["type"] for b in first_reply] == ["server_tool_use", "web_search_tool_result", "tool_use"]
    assert first_reply[1]["tool_use_id"] == first_reply[0]["id"].strip()
    assert first_reply[1]["content"][0]["url"] == "https://python.org/"
    assert result.usage["server_tool_use"]["web_search_requests"] == 1


def test_web_tools_need_a_rule_and_a_deny_or_ask_keeps_them_out(sim: Simulator, tmp_path: Path) -> None:
    sim.set_script([{"text": "ok"}] * 4)
    run_sdk(sim, tmp_path)  # no rule: a server tool cannot stop to ask, so it is not offered
    run_sdk(sim, tmp_path, allowed_tools=["WebSearch", "WebFetch"], disallowed_tools=["WebSearch"])
    run_sdk(sim, tmp_path, allowed_tools=["WebSearch"], tools=["Read"])  # --tools leaves it out
    run_sdk(
        sim, tmp_path, permission_mode="bypassPermissions", disallowed_tools=["WebFetch(domain:evil.com)"]
    )
    assert server_tools(sim, 0) == {}
    assert list(server_tools(sim, 1)) == ["web_fetch"]
    assert server_tools(sim, 2) == {}
    assert server_tools(sim, 3) == {
        "web_search": {"type": SEARCH_TYPE, "name": "web_search", "max_uses": 8},
        "web_fetch": {
            "type": FETCH_TYPE,
            "name": "web_fetch",
            "max_uses": 8,
            "blocked_domains": ["evil.com"],
        },
    }


def test_a_model_without_the_capability_is_not_sent_them(sim: Simulator, tmp_path: Path) -> None:
    sim.set_script([{"text": "ok"}])
    result = run_sdk(sim, tmp_path, model=OLD_MODEL, allowed_tools=["WebSearch", "WebFetch"])
    assert result.subtype == "success"  # the simulator refuses a server tool such a model lacks
    assert server_tools(sim) == {}
    assert model_server_tools(OLD_MODEL) == frozenset()
    assert model_server_tools("claude-opus-5-5") == {"WebSearch", "WebFetch"}


def test_a_search_fee_is_in_the_ledger_row_and_total_cost_usd(cli: Cli) -> None:
    cli.sim.set_script([SEARCH_TURN])
    run = cli("-p", "news?", "--model", MODEL, "--allowedTools", "WebSearch", "--output-format", "json")
    assert run.code == 0, run.stderr
    assert run.json["modelUsage"][MODEL]["webSearchRequests"] == 1
    ledger = open_ledger(str(cli.ledger_path))
    try:
        (row,) = ledger.query(RowQuery())
    finally:
        ledger.close()
    assert row.usage.web_search_requests == 1
    prices = bundled_prices()
    tokens_only = prices.cost(MODEL, dataclasses.replace(row.usage, web_search_requests=0))
    assert tokens_only is not None and row.cost_usd is not None
    assert row.cost_usd - tokens_only == Decimal("0.01")
    assert Decimal(str(run.json["total_cost_usd"])) == row.cost_usd


def test_web_fetch_domain_rules_become_the_tools_domain_lists(sim: Simulator, tmp_path: Path) -> None:
    sim.set_script(
        [
            {
                "web_fetch": [{"url": "https://docs.example.com/a"}, {"url": "https://other.org/"}],
                "text": "read",
            }
        ]
    )
    result = run_sdk(
        sim, tmp_path, allowed_tools=["WebFetch(domain:docs.example.com)", "WebFetch(domain:*.python.org)"]
    )
    assert server_tools(sim)["web_fetch"]["allowed_domains"] == ["docs.example.com", "python.org"]
    assert "blocked_domains" not in server_tools(sim)["web_fetch"]
    assert "web_search" not in server_tools(sim)
    assert result.usage["server_tool_use"]["web_fetch_requests"] == 2


def policy(tmp_path: Path, **rules: Any) -> PermissionPolicy:
    return PermissionPolicy(cwd=tmp_path, **rules)


def test_rules_the_api_cannot_express_leave_web_fetch_out(tmp_path: Path) -> None:
    def fetch(**rules: Any) -> dict[str, Any] | None:
        defs = server_tool_definitions(policy(tmp_path, **rules), MODEL, None)
        return next((d for d in defs if d["name"] == "web_fetch"), None)

    assert fetch(allow=["WebFetch"]) == {"type": FETCH_TYPE, "name": "web_fetch", "max_uses": 8}
    assert fetch(allow=["WebFetch(domain:*)"]) is not None
    assert fetch(allow=["WebFetch"], deny=["WebFetch"]) is None
    assert fetch(allow=["WebFetch"], ask=["WebFetch(domain:a.com)"])["blocked_domains"] == ["a.com"]  # type: ignore[index]
    # a deny inside an allowed domain cannot go with allowed_domains: no fetching at all
    assert fetch(allow=["WebFetch(domain:example.com)"], deny=["WebFetch(domain:secret.example.com)"]) is None
    # a deny elsewhere is already outside the allowed list
    assert fetch(allow=["WebFetch(domain:example.com)"], deny=["WebFetch(domain:evil.com)"]) == {
        "type": FETCH_TYPE,
        "name": "web_fetch",
        "max_uses": 8,
        "allowed_domains": ["example.com"],
    }
    assert fetch(allow=["WebFetch"], deny=["WebFetch(domain:ev*l.com)"]) is None
    assert server_tool_definitions(policy(tmp_path, allow=["WebSearch"]), MODEL, None, bare=True) == []


def test_the_simulator_refuses_a_fetch_outside_the_allowed_domains(sim: Simulator) -> None:
    sim.set_script([{"web_fetch": {"url": "https://other.org/x"}, "text": "no"}])
    tool: Any = {"type": FETCH_TYPE, "name": "web_fetch", "allowed_domains": ["example.com"]}
    with sim.client() as client:
        message = client.messages.create(
            model=MODEL, max_tokens=100, messages=[{"role": "user", "content": "go"}], tools=[tool]
        )
        blocks = [b.model_dump() for b in message.content]
        assert blocks[1]["content"] == {
            "type": "web_fetch_tool_result_error",
            "error_code": "url_not_allowed",
        }
        assert message.usage.server_tool_use is not None
        assert message.usage.server_tool_use.web_fetch_requests == 1
        with pytest.raises(Exception, match="not supported on model"):
            client.messages.create(
                model=OLD_MODEL, max_tokens=100, messages=[{"role": "user", "content": "go"}], tools=[tool]
            )
    assert Usage.from_api({"server_tool_use": {"web_search_requests": 2}}).web_search_requests == 2


def test_a_paused_server_loop_is_sent_back_and_its_answer_continues(sim: Simulator, tmp_path: Path) -> None:
    paused = {"web_search": {"query": "a"}, "stop_reason": "pause_turn"}
    sim.set_script([paused, {"web_search": {"query": "b"}, "text": "Found both."}, {"text": "never"}])
    result = run_sdk(sim, tmp_path, allowed_tools=["WebSearch"])
    assert result.subtype == "success" and result.result == "Found both."
    requests = sim.message_requests()
    assert len(requests) == 2
    resent = requests[1].body["messages"]
    assert [m["role"] for m in resent] == ["user", "assistant"]  # no "continue" message added
    assert [b["type"] for b in resent[-1]["content"]] == ["server_tool_use", "web_search_tool_result"]
    assert result.usage["server_tool_use"]["web_search_requests"] == 2


def test_switching_to_a_model_without_them_stops_sending_them(sim: Simulator, tmp_path: Path) -> None:
    sim.set_script([{"text": "a"}, {"text": "b"}])
    env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url}
    options = thrifty.Options(cwd=tmp_path, env=env, model=MODEL, allowed_tools=["WebSearch"])

    async def run() -> list[str]:
        async with thrifty.Client(options) as client:
            await client.query("one")
            first = [m async for m in client.receive_response()]
            await client.set_model(OLD_MODEL)
            await client.query("two")
            second = [m async for m in client.receive_response()]
        return [r.subtype for r in (first[-1], second[-1])]

    assert asyncio.run(run()) == ["success", "success"]
    assert "web_search" in server_tools(sim, 0) and server_tools(sim, 1) == {}


def test_the_official_sdk_sees_the_search_blocks_and_the_fee(cli: Cli, tmp_path: Path) -> None:
    wrapper = tmp_path / "thrifty-cli"
    wrapper.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m thrifty "$@"\n')
    wrapper.chmod(wrapper.stat().st_mode | stat.S_IXUSR)
    cli.sim.set_script([SEARCH_TURN])
    options = ClaudeAgentOptions(
        cli_path=str(wrapper), cwd=str(cli.cwd), env=cli.env(), model=MODEL, allowed_tools=["WebSearch"]
    )

    async def collect() -> list[Any]:
        return [m async for m in query(prompt="news?", options=options)]

    messages = asyncio.run(collect())
    init = messages[0]
    assert "WebSearch" in init.data["tools"] and "WebFetch" not in init.data["tools"]
    blocks = [b for m in messages if isinstance(m, AssistantMessage) for b in m.content]
    assert [b.name for b in blocks if isinstance(b, ServerToolUseBlock)] == ["web_search"]
    result = messages[-1]
    assert isinstance(result, ResultMessage) and result.subtype == "success"
    assert result.usage is not None and result.usage["server_tool_use"]["web_search_requests"] == 1
