"""The agent loop, written once and async: ask the model, run its tools, repeat, end in a Result.

Everything a consumer sees is a yielded event; every way the loop can stop is a ``RunEnded``
exception turned into the Result by the one table in ``endings``.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from typing import Any

import anthropic

from thrifty import __version__
from thrifty.agent.endings import (
    SUCCESS,
    ApiFailure,
    Ending,
    HookStopped,
    HookStoppedAfterTools,
    Interrupted,
    InterruptedTools,
    MaxTurnsReached,
    RunEnded,
    StopHookPrevented,
    StructuredOutputRetriesExhausted,
    ending_for,
)
from thrifty.agent.events import (
    ApiUsage,
    AssistantMessage,
    BillingNotice,
    Event,
    RateLimit,
    Result,
    SystemInit,
    UserMessage,
)
from thrifty.agent.model import Completed, ModelCaller
from thrifty.agent.options import AgentOptions
from thrifty.agent.session import Session
from thrifty.agent.toolrun import AskHandler, ToolRunner
from thrifty.agent.transcripts import interrupted_result
from thrifty.billing.estimate import next_call_cost
from thrifty.billing.windows import WindowState, current_windows, from_headers, rate_limit_info
from thrifty.tools import structured
from thrifty.tools.base import ToolResult, error

STRUCTURED_REMINDER = (
    "[structured-output-enforce] You MUST call the StructuredOutput tool with your final answer. "
    "Do not answer in plain text."
)
EPHEMERAL = {"type": "ephemeral"}
#: The result of a call left unrun because a hook stopped the run earlier in the same turn.
NOT_RUN_AFTER_HOOK_STOP = "Not run: a hook stopped the run (continue: false) before this call."
CACHE_LIFETIME = timedelta(minutes=5)


def with_cache_breakpoints(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Mark the moving end of the conversation (and the previous user turn, for the lookback)."""
    out = copy.deepcopy(messages)
    marked = 0
    for message in reversed(out):
        if message["role"] != "user" or marked == 2:
            continue
        content = message["content"]
        if isinstance(content, str):
            message["content"] = content = [{"type": "text", "text": content}]
        content[-1]["cache_control"] = EPHEMERAL
        marked += 1
    return out


def _text_of(message: dict[str, Any]) -> str:
    return "".join(b.get("text", "") for b in message.get("content", []) if b.get("type") == "text")


class AgentRun:
    """One prompt of a session, from its SystemInit to its Result."""

    def __init__(self, session: Session, *, first: bool) -> None:
        self.s = session
        self.options = session.options
        self.p = session.prepared
        self.first = first
        self.meter = session.meter
        self.tally = self.meter.tally
        self.guard = session.guard
        self.messages = session.messages
        self.denials: list[dict[str, Any]] = []
        self.turns = 0
        self.in_tools = False
        self.stop_reason: str | None = None
        self.structured: Any = None
        self.has_structured = False
        self.caller = ModelCaller(
            self.p.client,
            session_id=self.p.session_id,
            max_retries=self.options.max_retries,
            include_partial=self.options.include_partial_messages,
            on_rate_limit=self.options.on_rate_limit,
        )
        self.runner = ToolRunner(
            self.p.tools,
            self.p.policy,
            self.p.hooks,
            self.p.ctx,
            session_id=self.p.session_id,
            ask=session.ask,
        )

    def _params(self) -> dict[str, Any]:
        tools = copy.deepcopy(self.p.tool_defs)
        if tools:
            tools[-1]["cache_control"] = EPHEMERAL
        system = copy.deepcopy(self.p.system)
        system[-1]["cache_control"] = EPHEMERAL
        params: dict[str, Any] = {
            "model": self.p.model,
            "max_tokens": self.options.max_tokens,
            "system": system,
            "messages": with_cache_breakpoints(self.messages),
        }
        if tools:
            params["tools"] = tools
        if self.options.thinking_budget:
            params["thinking"] = {"type": "enabled", "budget_tokens": self.options.thinking_budget}
        return params

    def _check_budget(self, params: dict[str, Any]) -> list[str]:
        """Before each request: raise if the next call could pass a cap; return window warnings."""
        last = self.meter.last_row
        recent = last is not None and datetime.now(UTC) - last.recorded_at < CACHE_LIFETIME
        cached = last.prompt_tokens if last is not None and recent else 0
        estimate = next_call_cost(
            self.meter.prices,
            self.p.model,
            params,
            output_guess=self.tally.largest_output(),
            cached_prefix=cached,
        )
        self.guard.check(self.meter.spent(), estimate)
        return self.guard.check_windows(self._windows()) if self.p.billing.mode == "plan" else []

    def _windows(self) -> list[WindowState]:
        now = datetime.now(UTC)
        if self.s.rate_limits:
            return from_headers(self.s.rate_limits, now=now)
        billing = self.p.billing
        return current_windows(billing.ledger, billing.account, billing.plan, now=now)

    def _metered(self, event: ApiUsage) -> list[Event]:
        """Record the attempt in the ledger now, before anything else can fail."""
        self.meter.record(event)
        out: list[Event] = [event]
        if event.rate_limits:
            self.s.rate_limits = event.rate_limits
            out.append(RateLimit(self.p.session_id, rate_limit_info(event.rate_limits)))
        out.extend(BillingNotice(self.p.session_id, problem) for problem in self.meter.problems)
        self.meter.problems.clear()
        return out

    async def run(self, prompt: str | list[dict[str, Any]]) -> AsyncIterator[Event]:
        p = self.p
        started = time.monotonic()
        tools = [*p.tools, *([structured.NAME] if self.options.json_schema is not None else [])]
        billing = p.billing
        yield SystemInit(
            p.session_id,
            str(p.ctx.cwd),
            p.model,
            tools,
            p.policy.mode,
            billing.api_key_source,
            __version__,
            billing.describe(),
        )
        if self.first:
            for warning in billing.warnings():
                yield BillingNotice(p.session_id, warning)
        for warning in self.meter.problems:
            yield BillingNotice(p.session_id, warning)
        self.meter.problems.clear()
        failure: RunEnded | None
        try:
            async for event in self._loop(prompt):
                yield event
            ending, text, failure = SUCCESS, self._final_text(), None
        except RunEnded as exc:
            ending, text, failure = ending_for(exc), str(exc), exc
        except asyncio.CancelledError:
            if not self.s.take_interrupt():
                raise
            self.s.repair_after_interrupt()
            failure = InterruptedTools() if self.in_tools else Interrupted()
            ending, text = ending_for(failure), str(failure)
        yield self._result(ending, text, started, failure)

    def _check_structured(self, value: Any) -> ToolResult | None:
        """The schema first, then the caller's own check (a pydantic model's validators)."""
        assert self.options.json_schema is not None
        problem = structured.validate(self.options.json_schema, value)
        if problem is None and self.options.structured_check is not None:
            text = self.options.structured_check(value)
            if text:
                problem = error(f"Output does not match the required schema:\n{text}")
        return problem

    def _final_text(self) -> str:
        if self.has_structured:
            return json.dumps(self.structured)
        return (
            _text_of(self.messages[-1]) if self.messages and self.messages[-1]["role"] == "assistant" else ""
        )

    async def _loop(self, prompt: str | list[dict[str, Any]]) -> AsyncIterator[Event]:
        hooks = self.p.hooks
        not_logged_in = self.p.billing.error()
        if not_logged_in:
            raise ApiFailure(not_logged_in)
        content: str | list[dict[str, Any]] = prompt
        if hooks.has_hooks("UserPromptSubmit"):
            text = prompt if isinstance(prompt, str) else json.dumps(prompt)
            submitted = await hooks.user_prompt_submit(text)
            if submitted.stop or submitted.blocked:
                raise HookStopped(
                    submitted.stop_reason or submitted.block_reason or "Prompt blocked by a hook"
                )
            if submitted.additional_context:
                base = [{"type": "text", "text": prompt}] if isinstance(prompt, str) else list(prompt)
                content = [*base, *({"type": "text", "text": c} for c in submitted.additional_context)]
        self.s.append({"role": "user", "content": content})
        yield UserMessage(self.p.session_id, content)
        reminders = 0
        stop_hook_active = False
        while True:
            self.turns += 1
            if self.options.max_turns and self.turns > self.options.max_turns:
                raise MaxTurnsReached(self.options.max_turns)
            params = self._params()
            for warning in self._check_budget(params):
                yield BillingNotice(self.p.session_id, warning)
            completed: Completed | None = None
            async for item in self.caller.call(params):
                if isinstance(item, Completed):
                    completed = item
                elif isinstance(item, ApiUsage):
                    for event in self._metered(item):
                        yield event
                else:
                    yield item
            assert completed is not None
            self.tally.api_ms += completed.api_ms
            message = completed.message
            self.stop_reason = message.get("stop_reason")
            blocks: list[dict[str, Any]] = list(message.get("content") or [])
            assistant: dict[str, Any] = {"role": "assistant", "content": blocks}
            self.s.append(assistant, requestId=completed.request_id, model=message.get("model"))
            yield AssistantMessage(self.p.session_id, message, completed.request_id)
            calls = [b for b in blocks if b.get("type") == "tool_use"]
            if calls:
                results: list[dict[str, Any]] = []
                extra: list[str] = []
                stop_turn = False
                hook_stop: str | None = None
                self.in_tools = True
                for call in calls:
                    if stop_turn:
                        results.append(interrupted_result(str(call.get("id"))))
                        continue
                    if hook_stop is not None:
                        results.append(error(NOT_RUN_AFTER_HOOK_STOP).to_block(str(call.get("id"))))
                        continue
                    if call.get("name") == structured.NAME and self.options.json_schema is not None:
                        problem = self._check_structured(call.get("input"))
                        if problem is None:
                            self.structured, self.has_structured = call.get("input"), True
                            self.in_tools = False
                            return
                        reminders += 1
                        if reminders > self.options.structured_output_retries:
                            raise StructuredOutputRetriesExhausted(self.options.structured_output_retries)
                        results.append(problem.to_block(str(call.get("id"))))
                        continue
                    outcome = await self.runner.run_call(call)
                    results.append(outcome.block)
                    extra.extend(outcome.additional_context)
                    if outcome.denial is not None:
                        self.denials.append(outcome.denial.denial())
                        yield outcome.denial
                    stop_turn = outcome.interrupt
                    hook_stop = outcome.hook_stop
                if hook_stop is not None:
                    extra.append(hook_stop)
                user_content: list[dict[str, Any]] = [*results, *({"type": "text", "text": t} for t in extra)]
                self.s.append({"role": "user", "content": user_content})
                self.in_tools = False
                yield UserMessage(self.p.session_id, user_content, origin="tool_results")
                if stop_turn:
                    raise InterruptedTools()
                if hook_stop is not None:
                    # Claude Code counts the tool results as the start of the next turn, then stops.
                    self.turns += 1
                    raise HookStoppedAfterTools(hook_stop)
                continue
            if self.options.json_schema is not None and not self.has_structured and reminders == 0:
                reminders += 1
                self.s.append({"role": "user", "content": STRUCTURED_REMINDER})
                yield UserMessage(self.p.session_id, STRUCTURED_REMINDER, origin="reminder")
                continue
            if self.p.hooks.has_hooks("Stop"):
                verdict = await self.p.hooks.stop(stop_hook_active, _text_of(assistant))
                if verdict.stop:
                    raise StopHookPrevented(
                        self._final_text(), verdict.stop_reason or "Stopped by a Stop hook"
                    )
                if verdict.blocked:
                    stop_hook_active = True
                    reason = verdict.block_reason or "A Stop hook asked to continue."
                    self.s.append({"role": "user", "content": reason})
                    yield UserMessage(self.p.session_id, reason, origin="hook")
                    continue
            return

    def _result(self, ending: Ending, text: str, started: float, failure: RunEnded | None) -> Result:
        return Result(
            session_id=self.p.session_id,
            subtype=ending.subtype,
            is_error=ending.is_error,
            duration_ms=int((time.monotonic() - started) * 1000),
            duration_api_ms=self.tally.api_ms,
            num_turns=self.turns,
            result=text if ending.has_result else None,
            stop_reason=self.stop_reason,
            total_cost_usd=float(self.tally.cost),
            usage=self.tally.usage(),
            model_usage=self.tally.model_usage(),
            permission_denials=self.denials,
            terminal_reason=ending.terminal_reason,
            exit_code=ending.exit_code,
            errors=[] if ending.has_result else [text],
            api_error_status=failure.status if isinstance(failure, ApiFailure) else None,
            api_error_type=failure.error_type if isinstance(failure, ApiFailure) else None,
            structured_output=self.structured,
            has_structured_output=self.has_structured,
            billing=self.p.billing.describe(),
        )


async def run_agent(
    prompt: str | list[dict[str, Any]],
    options: AgentOptions,
    *,
    client: anthropic.AsyncAnthropic | None = None,
    ask: AskHandler | None = None,
) -> AsyncIterator[Event]:
    """Run one prompt to its Result. Setup mistakes raise ``SetupError`` before any request."""
    async with Session(options, client=client, ask=ask) as session:
        async for event in session.turn(prompt):
            yield event
