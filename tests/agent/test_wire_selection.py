"""Which transport a run gets: the fast path unless a client was given or the SDK was asked for."""

from __future__ import annotations

import dataclasses
import subprocess
import sys
from pathlib import Path
from typing import Any

import anthropic
import pytest

from thrifty.agent.caller import Caller
from thrifty.agent.model import FastCaller, ModelCaller
from thrifty.agent.options import AgentOptions
from thrifty.agent.session import Session
from thrifty.agent.wire.client import WireClient
from thrifty.core.events import Event, Result
from thrifty.testing import Simulator

MODEL = "claude-sonnet-5-5"


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


def options(project: Path, sim: Simulator, **env: str) -> AgentOptions:
    environ = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url, **env}
    ledger = str(project.parent / "ledger.sqlite3")
    return AgentOptions(cwd=project, environ=environ, ledger=ledger, model=MODEL, persist_session=False)


async def turn(session: Session, prompt: str) -> list[Event]:
    return [event async for event in session.turn(prompt)]


@pytest.mark.anyio
async def test_an_api_run_takes_the_fast_path(project: Path) -> None:
    with Simulator([{"text": "fast hello"}]) as sim:
        async with Session(options(project, sim)) as session:
            assert isinstance(session.caller, FastCaller)
            assert session.prepared.client is None and session.prepared.wire is not None
            events = await turn(session, "hi")
        sent = sim.message_requests()[0]
    result = events[-1]
    assert isinstance(result, Result) and not result.is_error and result.result == "fast hello"
    assert sent.auth_scheme == "x-api-key" and "authorization" not in sent.headers
    assert sent.headers["user-agent"].startswith("thrifty/")


@pytest.mark.anyio
async def test_the_sdk_client_on_request(project: Path) -> None:
    with Simulator([{"text": "sdk hello"}]) as sim:
        async with Session(options(project, sim, THRIFTY_HTTP_CLIENT="anthropic")) as session:
            assert type(session.caller) is ModelCaller
            assert isinstance(session.prepared.client, anthropic.AsyncAnthropic)
            assert session.prepared.wire is None
            events = await turn(session, "hi")
        sent = sim.message_requests()[0]
    assert isinstance(events[-1], Result) and events[-1].result == "sdk hello"
    assert sent.headers["user-agent"].startswith("AsyncAnthropic/")


@pytest.mark.anyio
async def test_a_callers_own_client_is_used_as_given(project: Path) -> None:
    with Simulator([{"text": "yours"}]) as sim:
        own = sim.async_client(max_retries=0)
        async with Session(options(project, sim), client=own) as session:
            assert type(session.caller) is ModelCaller
            assert session.prepared.wire is None
            events = await turn(session, "hi")
        await own.close()
        sent = sim.message_requests()[0]
    assert isinstance(events[-1], Result) and events[-1].result == "yours"
    assert sent.headers["user-agent"].startswith("AsyncAnthropic/")


@pytest.mark.anyio
async def test_a_gateway_token_and_the_request_timeout_reach_the_wire(project: Path) -> None:
    with Simulator([{"text": "via gateway"}]) as sim:
        opts = options(project, sim, ANTHROPIC_AUTH_TOKEN=sim.api_key)
        opts.environ.pop("ANTHROPIC_API_KEY")
        opts = dataclasses.replace(opts, request_timeout=7)
        async with Session(opts) as session:
            assert isinstance(session.caller, FastCaller)
            wire: Any = session.caller.client
            assert isinstance(wire, WireClient) and wire.timeout_s == 7.0
            events = await turn(session, "hi")
        sent = sim.message_requests()[0]
    assert isinstance(events[-1], Result) and events[-1].result == "via gateway"
    assert sent.auth_scheme == "bearer" and "x-api-key" not in sent.headers


CHILD = """
import asyncio, sys
from pathlib import Path
from thrifty.agent.options import AgentOptions
from thrifty.agent.session import Session

async def main():
    opts = AgentOptions(cwd=Path(sys.argv[1]), environ={"ANTHROPIC_API_KEY": sys.argv[2],
        "ANTHROPIC_BASE_URL": sys.argv[3]}, ledger=sys.argv[4], model=sys.argv[5], persist_session=False)
    async with Session(opts) as session:
        events = [e async for e in session.turn("hi")]
    print(events[-1].result)
    print("anthropic loaded" if "anthropic" in sys.modules else "anthropic not loaded")

asyncio.run(main())
"""


def test_the_fast_path_never_imports_anthropic(project: Path) -> None:
    with Simulator([{"text": "light"}]) as sim:
        ledger = str(project.parent / "ledger.sqlite3")
        args = [str(project), sim.api_key, sim.base_url, ledger, MODEL]
        run = subprocess.run(
            [sys.executable, "-c", CHILD, *args], capture_output=True, text=True, timeout=120, check=False
        )
    assert run.returncode == 0, run.stderr
    assert run.stdout.splitlines() == ["light", "anthropic not loaded"]


@pytest.mark.anyio
async def test_the_fast_caller_satisfies_the_protocol() -> None:
    """Checked by mypy: assigning to ``Caller`` fails the type check if a signature drifts."""
    client = WireClient("http://127.0.0.1:9", scheme="x-api-key", secret="unused")
    caller: Caller = FastCaller(client, session_id="s")
    assert callable(caller.call)
    await client.close()
