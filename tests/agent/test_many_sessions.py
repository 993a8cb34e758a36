"""Concurrent sessions in one process: one shared ledger connection, each call durable before its
session moves on, and other sessions running while a write is in progress.

The caller here checks, each time the loop asks it for the next item after a usage report, that
a separate connection already sees that call's row: the loop awaited the durable write first.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from thrifty.agent.caller import Completed
from thrifty.agent.options import AgentOptions
from thrifty.agent.session import Session
from thrifty.billing.ledger.shared import open_count
from thrifty.core.events import ApiUsage, Event, Result
from thrifty.core.usage import Usage

MODEL = "claude-sonnet-5-5"
NOWHERE = "http://127.0.0.1:9"


def _committed(ledger: Path) -> set[str]:
    with sqlite3.connect(ledger) as conn:
        return {rid for (rid,) in conn.execute("SELECT request_id FROM thrifty_calls")}


class CheckingCaller:
    """Answers with text at once; after each usage report, asserts the row is committed."""

    def __init__(self, name: str, ledger: Path) -> None:
        self.name = name
        self.ledger = ledger
        self.checked: list[str] = []

    async def call(self, params: dict[str, Any]) -> AsyncIterator[Event | Completed]:
        request_id = f"req_{self.name}_{len(self.checked)}"
        usage = ApiUsage(
            "s", request_id, None, params["model"], Usage(input_tokens=10, output_tokens=2), 1, True, 0
        )
        yield usage
        # The loop asks for the next item only once it has handled the usage: the row is durable.
        assert request_id in _committed(self.ledger), f"{request_id} not committed before the loop moved on"
        self.checked.append(request_id)
        message = {
            "id": f"msg_{request_id}",
            "type": "message",
            "role": "assistant",
            "model": params["model"],
            "content": [{"type": "text", "text": f"done {self.name}"}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": 10, "output_tokens": 2},
        }
        yield Completed(message, request_id, api_ms=1)


def _options(project: Path, ledger: Path) -> AgentOptions:
    env = {"ANTHROPIC_API_KEY": "sk-ant-scripted", "ANTHROPIC_BASE_URL": NOWHERE}
    return AgentOptions(cwd=project, environ=env, ledger=str(ledger), model=MODEL, persist_session=False)


@pytest.mark.anyio
async def test_concurrent_sessions_share_one_connection_and_record_before_moving_on(tmp_path: Path) -> None:
    ledger = tmp_path / "ledger.sqlite3"
    callers = [CheckingCaller(f"s{i}", ledger) for i in range(40)]
    sessions = [Session(_options(tmp_path, ledger), caller=c) for c in callers]
    assert open_count() == 1  # forty sessions, one ledger connection

    async def run(session: Session) -> Result:
        async with session:
            events = [e async for e in session.turn("hi")]
            events += [e async for e in session.turn("again")]
        result = events[-1]
        assert isinstance(result, Result)
        return result

    results = await asyncio.gather(*(run(s) for s in sessions))
    assert all(not r.is_error for r in results)
    assert all(len(c.checked) == 2 for c in callers)
    assert len(_committed(ledger)) == 80
    assert open_count() == 0  # the last session's close closed it
