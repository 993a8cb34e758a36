"""The model caller is a protocol: a real session runs whole turns through a caller that is not
the HTTP client, here a scripted one written against ``thrifty.agent.caller.Caller`` alone.

The client the session still builds points at a closed port, so a request that bypassed the seam
would fail the turn; nothing of thrifty's own is mocked.
"""

from __future__ import annotations

import itertools
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import anthropic
import pytest

from thrifty.agent.caller import Caller, Completed
from thrifty.agent.model import ModelCaller
from thrifty.agent.options import AgentOptions
from thrifty.agent.session import Session
from thrifty.billing.ledger import RowQuery, open_ledger
from thrifty.core.endings import ApiFailure
from thrifty.core.events import (
    ApiRetry,
    ApiUsage,
    AssistantMessage,
    Event,
    Result,
    StreamEvent,
    UserMessage,
)
from thrifty.core.usage import Usage

MODEL = "claude-sonnet-5-5"
#: Nothing listens on the discard port: any request that reaches the HTTP client fails.
NOWHERE = "http://127.0.0.1:9"

#: One scripted answer: the message's content, or the failure the caller ends with.
Step = list[dict[str, Any]] | ApiFailure


class ScriptedCaller:
    """A caller that answers from a script, keeping the protocol's contract: each attempt's usage
    before the message, one ``ApiRetry`` before a retried attempt, ``Completed`` last."""

    def __init__(self, steps: list[Step], *, retry_first: bool = False) -> None:
        self.steps = list(steps)
        self.retry_first = retry_first
        self.requests: list[dict[str, Any]] = []
        self._ids = itertools.count(1)

    async def call(self, params: dict[str, Any]) -> AsyncIterator[Event | Completed]:
        self.requests.append(params)
        step = self.steps.pop(0)
        if isinstance(step, ApiFailure):
            raise step
        attempt = 0
        if self.retry_first and len(self.requests) == 1:
            # A billed attempt that broke mid-stream, then the retry that the caller owns.
            yield self._usage(params, attempt, complete=False)
            yield ApiRetry("s", 1, 4, 0, 529, "Overloaded")
            attempt = 1
        stop = "tool_use" if any(b["type"] == "tool_use" for b in step) else "end_turn"
        message = {
            "id": f"msg_{next(self._ids)}",
            "type": "message",
            "role": "assistant",
            "model": params["model"],
            "content": step,
            "stop_reason": stop,
            "usage": {"input_tokens": 100, "output_tokens": 20},
        }
        yield StreamEvent("s", {"type": "message_stop"})
        usage = self._usage(params, attempt, complete=True)
        yield usage
        yield Completed(message, usage.request_id, api_ms=7)

    def _usage(self, params: dict[str, Any], attempt: int, *, complete: bool) -> ApiUsage:
        return ApiUsage(
            session_id="s",
            request_id=f"req_scripted_{next(self._ids)}",
            message_id=None,
            model=params["model"],
            usage=Usage(input_tokens=100, output_tokens=20),
            duration_ms=7,
            complete=complete,
            attempt=attempt,
        )


def _options(project: Path, ledger: Path, **overrides: Any) -> AgentOptions:
    env = {"ANTHROPIC_API_KEY": "sk-ant-scripted", "ANTHROPIC_BASE_URL": NOWHERE}
    values: dict[str, Any] = {"cwd": project, "environ": env, "ledger": str(ledger), "model": MODEL}
    return AgentOptions(**{**values, **overrides})


async def _turn(session: Session, prompt: str) -> list[Event]:
    return [event async for event in session.turn(prompt)]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    (path / "notes.txt").write_text("the launch code is 1234\n")
    return path


def _ledger_rows(ledger: Path) -> list[Any]:
    db = open_ledger(str(ledger))
    try:
        return list(db.query(RowQuery()))
    finally:
        db.close()


@pytest.mark.anyio
async def test_a_session_runs_tool_turns_through_a_scripted_caller(project: Path, tmp_path: Path) -> None:
    notes = str(project / "notes.txt")
    caller = ScriptedCaller(
        [
            [{"type": "tool_use", "id": "toolu_1", "name": "Read", "input": {"file_path": notes}}],
            [{"type": "text", "text": "The code is 1234."}],
            [{"type": "text", "text": "Still 1234."}],
        ],
        retry_first=True,
    )
    ledger = tmp_path / "ledger.sqlite3"
    async with Session(_options(project, ledger), caller=caller) as session:
        assert session.caller is caller
        first = await _turn(session, "what is the launch code?")
        second = await _turn(session, "and now?")

    kinds = [type(e).__name__ for e in first]
    assert kinds[:4] == ["SystemInit", "UserMessage", "ApiUsage", "ApiRetry"]
    assert kinds.count("StreamEvent") == 2 and kinds.count("AssistantMessage") == 2
    tool_results = [e for e in first if isinstance(e, UserMessage) and e.origin == "tool_results"]
    assert len(tool_results) == 1
    # The tool really ran: its output is in the next request the caller was handed.
    answered = caller.requests[1]["messages"][-1]["content"]
    assert answered[0]["type"] == "tool_result" and "1234" in str(answered[0]["content"])
    assert [m["role"] for m in caller.requests[2]["messages"]] == ["user", "assistant"] * 2 + ["user"]

    result = first[-1]
    assert isinstance(result, Result) and not result.is_error
    assert result.result == "The code is 1234." and result.num_turns == 2
    assert result.duration_api_ms == 14 and result.total_cost_usd > 0
    # Metering is the loop's: every attempt the caller reported is a ledger row, the broken one too.
    assert result.usage["output_tokens"] == 60
    last = second[-1]
    assert isinstance(last, Result) and last.result == "Still 1234." and last.usage["output_tokens"] == 80
    rows = _ledger_rows(ledger)
    assert len(rows) == 4 and sum(not r.complete for r in rows) == 1
    assert {r.session_id for r in rows} == {result.session_id}


@pytest.mark.anyio
async def test_a_callers_failure_ends_the_turn_in_an_error_result(project: Path, tmp_path: Path) -> None:
    failure = ApiFailure("API Error: 500 boom", 500, "api_error")
    caller = ScriptedCaller([failure, [{"type": "text", "text": "recovered"}]])
    async with Session(_options(project, tmp_path / "l.sqlite3"), caller=caller) as session:
        failed = await _turn(session, "hi")
        again = await _turn(session, "again")
    result = failed[-1]
    assert isinstance(result, Result) and result.is_error
    # As Claude Code: an API failure is the result's text, with is_error and the status.
    assert result.result == "API Error: 500 boom" and result.api_error_status == 500
    assert not any(isinstance(e, AssistantMessage) for e in failed)
    assert isinstance(again[-1], Result) and again[-1].result == "recovered"


@pytest.mark.anyio
async def test_a_session_uses_the_live_caller_unless_given_one(project: Path, tmp_path: Path) -> None:
    async with Session(_options(project, tmp_path / "l.sqlite3")) as session:
        assert isinstance(session.caller, ModelCaller)
        assert session.caller.max_retries == session.options.max_retries


def test_both_callers_satisfy_the_protocol() -> None:
    """Checked by mypy: assigning to ``Caller`` fails the type check if a signature drifts."""
    client = anthropic.AsyncAnthropic(api_key="unused", base_url=NOWHERE, max_retries=0)
    make: list[Callable[[], Caller]] = [
        lambda: ModelCaller(client, session_id="s"),
        lambda: ScriptedCaller([]),
    ]
    assert all(callable(factory().call) for factory in make)
