"""Compaction against the simulator: a conversation that crosses the model's context window
compacts and goes on, the summary call is metered, and a resume starts from the summary."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from thrifty.agent.compact import CompactSettings, manual_request, summary_text
from thrifty.agent.options import AgentOptions
from thrifty.agent.session import Session
from thrifty.core.events import ApiUsage, CompactBoundary, Event, Result
from thrifty.testing import Simulator
from thrifty.testing.models import ModelCatalog
from thrifty.testing.script import SimRequest

pytestmark = pytest.mark.anyio

MODEL = "claude-sonnet-5-5"
#: The simulator's window for MODEL in these tests (its tokens: 4 bytes each).
WINDOW = 30_000
#: One prompt: about 10,000 simulator tokens, so the third one crosses the window.
BIG = "lorem ipsum " * 3_400


def small_window(window: int = WINDOW) -> ModelCatalog:
    catalog = ModelCatalog.load()
    return ModelCatalog(
        [dataclasses.replace(s, max_input_tokens=window) if s.id == MODEL else s for s in catalog.specs]
    )


def _last_user_text(body: dict[str, Any]) -> str:
    content = body["messages"][-1]["content"]
    if isinstance(content, str):
        return content
    return "".join(b.get("text", "") for b in content if isinstance(b, dict))


def script(request: SimRequest) -> dict[str, Any]:
    """Summaries for summary requests; else which prompt of the history this answers."""
    if "<summary> block" in _last_user_text(request.body):
        return {"text": "<analysis>thinking</analysis>\n<summary>The user sent big prompts.</summary>"}
    return {"text": f"answer {len(request.body['messages'])}"}


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(script, catalog=small_window()) as simulator:
        yield simulator


def options(sim: Simulator, cwd: Path, **extra: Any) -> AgentOptions:
    env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url, "HOME": str(cwd)}
    env.update(extra.pop("env", {}))
    extra.setdefault("tools", [])
    return AgentOptions(cwd=cwd, model=MODEL, environ=env, **extra)


async def turn(session: Session, prompt: str) -> list[Event]:
    return [event async for event in session.turn(prompt)]


def summary_requests(sim: Simulator) -> list[dict[str, Any]]:
    return [r.body for r in sim.message_requests() if "<summary> block" in _last_user_text(r.body)]


async def test_crossing_the_window_compacts_and_finishes(sim: Simulator, tmp_path: Path) -> None:
    async with Session(options(sim, tmp_path)) as session:
        for _ in range(2):
            assert isinstance((await turn(session, BIG))[-1], Result)
        events = await turn(session, BIG + " third")
    result = events[-1]
    assert isinstance(result, Result) and result.subtype == "success", result.errors
    (boundary,) = [e for e in events if isinstance(e, CompactBoundary)]
    assert boundary.trigger == "auto" and boundary.pre_tokens > 0
    assert boundary.to_frame()["compact_metadata"]["trigger"] == "auto"
    # The over-long request got its 400, the summary went out trimmed, then the prompt again.
    statuses = [r.status for r in sim.message_requests()]
    assert 400 in statuses and statuses[-1] == 200
    (summary,) = summary_requests(sim)
    final = sim.message_requests()[-1].body["messages"]
    assert len(final) == 1 and "The user sent big prompts." in json.dumps(final)
    assert "third" in json.dumps(final)  # the prompt it had not answered yet is kept
    usages = [e for e in events if isinstance(e, ApiUsage)]
    assert len(usages) == 2  # the summary call is metered like any call (a 400 has no usage)
    assert result.total_cost_usd > 0 and summary["model"] == MODEL


def reading_script(path: str) -> Callable[[SimRequest], dict[str, Any]]:
    """Read the big file until three results are in, then answer."""

    def play(request: SimRequest) -> dict[str, Any]:
        if "<summary> block" in _last_user_text(request.body):
            return {"text": "<summary>Read big.txt three times.</summary>"}
        body = json.dumps(request.body["messages"])
        if "Read big.txt three times." in body:
            return {"text": f"done after {body.count('tool_result')} reads"}
        return {"tool_use": {"name": "Read", "input": {"file_path": path}}}

    return play


async def test_a_summary_request_over_the_window_drops_its_oldest_half(tmp_path: Path) -> None:
    big = tmp_path / "big.txt"
    big.write_text("lorem ipsum dolor sit amet\n" * 1_200)
    with Simulator(reading_script(str(big)), catalog=small_window(28_000)) as sim:
        opts = options(sim, tmp_path, tools=["Read"], allowed_tools=["Read"])
        async with Session(opts) as session:
            events = await turn(session, "read big.txt")
    result = events[-1]
    assert isinstance(result, Result) and result.subtype == "success", result.errors
    assert result.result == "done after 0 reads"
    statuses = [r.status for r in sim.message_requests()]
    assert statuses.count(400) == 2, statuses  # the turn's request, then the whole-history summary
    trimmed = summary_requests(sim)[-1]["messages"]
    assert "Earlier messages were left out" in json.dumps(trimmed[0])
    assert [e.trigger for e in events if isinstance(e, CompactBoundary)] == ["auto"]


async def test_threshold_compacts_before_the_request(sim: Simulator, tmp_path: Path) -> None:
    # thrifty's estimate (3 bytes a token) runs above the simulator's count (4 bytes a token),
    # so a window of 48,000 by the estimate compacts before the third prompt crosses 30,000.
    env = {"CLAUDE_CODE_AUTO_COMPACT_WINDOW": "48000"}
    async with Session(options(sim, tmp_path, env=env, max_tokens=1000)) as session:
        settings = session.compaction
        assert settings.window == 48_000 and settings.threshold(1000) == 34_000
        await turn(session, BIG)
        await turn(session, BIG)
        events = await turn(session, BIG)
        rows_before = len(sim.message_requests())
    assert [r.status for r in sim.message_requests()] == [200] * rows_before  # never a 400
    (boundary,) = [e for e in events if isinstance(e, CompactBoundary)]
    assert boundary.pre_tokens > settings.threshold(1000)
    assert isinstance(events[-1], Result) and events[-1].subtype == "success"


async def test_disabled_keeps_the_old_failure(sim: Simulator, tmp_path: Path) -> None:
    for extra in ({"env": {"DISABLE_AUTO_COMPACT": "1"}}, {"auto_compact": False}):
        async with Session(options(sim, tmp_path, persist_session=False, **extra)) as session:
            await turn(session, BIG)
            await turn(session, BIG)
            events = await turn(session, BIG)
        result = events[-1]
        assert isinstance(result, Result) and result.is_error
        assert result.result == "Prompt is too long" and result.api_error_status == 400
        assert not [e for e in events if isinstance(e, CompactBoundary)]


async def test_manual_compact_and_resume(sim: Simulator, tmp_path: Path) -> None:
    async with Session(options(sim, tmp_path)) as session:
        await turn(session, "hello")
        events = await turn(session, "/compact keep the names")
        session_id = session.session_id
    result = events[-1]
    assert isinstance(result, Result) and result.subtype == "success" and result.num_turns == 0
    assert result.result == ""
    (boundary,) = [e for e in events if isinstance(e, CompactBoundary)]
    assert boundary.trigger == "manual"
    (summary,) = summary_requests(sim)
    assert "Additional Instructions:\nkeep the names" in _last_user_text(summary)
    assert result.model_usage[MODEL]["costUSD"] > 0  # the summary call is on the bill
    async with Session(options(sim, tmp_path, resume=session_id)) as resumed:
        assert len(resumed.messages) == 1
        assert "Summary:\nThe user sent big prompts." in resumed.messages[0]["content"]
        await turn(resumed, "go on")
    first = sim.message_requests()[-1].body["messages"][0]
    assert "This session is being continued" in json.dumps(first)


async def test_pre_compact_hook_sees_the_trigger_and_can_block(sim: Simulator, tmp_path: Path) -> None:
    seen: list[dict[str, Any]] = []

    async def hook(data: dict[str, Any]) -> dict[str, Any]:
        seen.append(data)
        return {"decision": "block", "reason": "not now"}

    opts = options(sim, tmp_path, hook_callbacks={"PreCompact": [(None, hook)]})
    async with Session(opts) as session:
        await turn(session, "hello")
        events = await turn(session, "/compact")
    assert seen[0]["trigger"] == "manual" and seen[0]["hook_event_name"] == "PreCompact"
    result = events[-1]
    assert isinstance(result, Result) and result.result == "not now"
    assert not summary_requests(sim)


async def test_disable_compact_refuses_manual(sim: Simulator, tmp_path: Path) -> None:
    opts = options(sim, tmp_path, env={"DISABLE_COMPACT": "1"})
    async with Session(opts) as session:
        await turn(session, "hello")
        events = await turn(session, "/compact")
    result = events[-1]
    assert isinstance(result, Result) and "disabled" in (result.result or "")
    assert len(sim.message_requests()) == 1


def test_threshold_matches_claude_codes() -> None:
    settings = CompactSettings()
    assert settings.threshold(32_000) == 1_000_000 - 20_000 - 13_000
    assert settings.threshold(8_000) == 1_000_000 - 8_000 - 13_000
    assert CompactSettings(pct=50).threshold(32_000) == 490_000
    assert CompactSettings(pct=99.9).threshold(32_000) == 967_000  # never later than the default


def test_command_and_summary_parsing() -> None:
    assert manual_request("/compact") == ""
    assert manual_request("  /compact focus on tests\n") == "focus on tests"
    assert manual_request("/compaction") is None and manual_request([{"type": "text"}]) is None
    assert summary_text("<analysis>a</analysis><summary>\n S \n</summary>") == "S"
    assert summary_text("plain") == "plain"


def test_the_sdk_option_and_its_check(tmp_path: Path) -> None:
    from thrifty.agent.validate import SetupError, validate
    from thrifty.sdk.options import Options, build

    assert build(Options(cwd=str(tmp_path), auto_compact=False)).agent.auto_compact is False
    assert build(Options(cwd=str(tmp_path))).agent.auto_compact is None
    with pytest.raises(SetupError, match=r"^auto_compact must be true, false or unset$"):
        validate(AgentOptions(cwd=tmp_path, auto_compact="yes"))  # type: ignore[arg-type]
