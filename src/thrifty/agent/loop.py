"""The agent loop, written once and async: ask the model, run its tools, repeat, end in a Result.

Everything a consumer sees is a yielded event; every way the loop can stop is a ``RunEnded``
exception turned into the Result by the one table in ``endings``. The model is reached through
a ``caller.Caller`` the session hands in, so the transport (live stream, batch, a test's script)
never shapes the loop.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any, Literal

from thrifty import __version__
from thrifty.agent.caller import Caller, Completed
from thrifty.agent.compact import DISABLED, Compacted, Trigger, compact, is_prompt_too_long
from thrifty.agent.request import request_params
from thrifty.agent.subagents import init_names
from thrifty.agent.toolrun import CallBatch, ToolRunner
from thrifty.agent.transcripts import as_blocks
from thrifty.billing.estimate import next_call_cost
from thrifty.billing.windows import WindowState, current_windows, from_headers, rate_limit_info
from thrifty.core.endings import (
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
from thrifty.core.events import (
    ApiUsage,
    AssistantMessage,
    BillingNotice,
    Event,
    RateLimit,
    Result,
    SystemInit,
    UserMessage,
)
from thrifty.tools import structured
from thrifty.tools.base import ToolResult, error

if TYPE_CHECKING:
    # The session drives the loop and hands itself in; the loop only needs its type.
    from thrifty.agent.session import Session
    from thrifty.agent.subagents.runner import SubagentLauncher

STRUCTURED_REMINDER = (
    "[structured-output-enforce] You MUST call the StructuredOutput tool with your final answer. "
    "Do not answer in plain text."
)
CACHE_LIFETIME = timedelta(minutes=5)
#: A prompt: text, or Messages API content blocks.
Prompt = str | list[dict[str, Any]]
UserOrigin = Literal["prompt", "tool_results", "reminder", "hook"]


def _text_of(message: dict[str, Any]) -> str:
    return "".join(b.get("text", "") for b in message.get("content", []) if b.get("type") == "text")


class AgentRun:
    """One prompt of a session, from its SystemInit to its Result.

    ``_loop`` reads as its steps: ``_require_login``, ``_prompt_content`` (UserPromptSubmit
    hooks), then per turn ``_count_turn``, ``_ask_model`` (budget, the caller, metering, the
    answer), and either ``_run_tools`` or ``_follow_up`` (the structured-output reminder or a Stop
    hook). The model is reached only through ``caller``, a ``caller.Caller``.
    """

    def __init__(self, session: Session, *, first: bool, caller: Caller) -> None:
        self.session = session
        self.options = session.options
        self.prepared = session.prepared
        self.session_id = self.prepared.session_id
        self.hooks = self.prepared.hooks
        self.billing = self.prepared.billing
        self.first = first
        self.caller = caller
        self.meter = session.meter
        self.tally = self.meter.tally
        self.guard = session.guard
        self.messages = session.messages
        self.sizer = session.sizer
        self.denials: list[dict[str, Any]] = []
        self.turns = 0
        self.in_tools = False
        self.stop_reason: str | None = None
        #: The latest assistant message, as added to the history.
        self.reply: dict[str, Any] = {"role": "assistant", "content": []}
        self.structured: Any = None
        self.has_structured = False
        #: Structured-output nudges so far: the plain-text reminder and each rejected output.
        self.reminders = 0
        self.stop_hook_active = False
        #: A ``/compact [instructions]`` turn: its instructions (``agent.compact``); and the text
        #: such a turn ends with when it did not compact.
        self.manual_compact: str | None = None
        self.note: str | None = None
        #: Why the latest compaction did not happen (a hook blocked it, nothing to compact).
        self.skipped: str | None = None
        #: The Agent tool's child runs; their events join this run's stream after each call.
        self.subagents: SubagentLauncher | None = None
        if self.prepared.agents:  # the runner loads only in a run that has agents
            from thrifty.agent.subagents.runner import SubagentLauncher

            self.subagents = SubagentLauncher(self, self.prepared.agents)
        self.runner = ToolRunner(
            self.prepared.tools,
            self.prepared.policy,
            self.hooks,
            self.prepared.ctx,
            session_id=self.session_id,
            ask=session.ask,
            subagents=self.subagents,
        )

    # -- the run --------------------------------------------------------------------------

    async def run(self, prompt: Prompt) -> AsyncIterator[Event]:
        """Every event of the prompt; whatever stops the loop becomes the one closing Result."""
        started = time.monotonic()
        for event in self._opening():
            yield event
        failure: RunEnded | None
        try:
            async for event in self._loop(prompt):
                yield event
            ending, text, failure = SUCCESS, self._final_text(), None
        except RunEnded as exc:
            ending, text, failure = ending_for(exc), str(exc), exc
        except asyncio.CancelledError:
            if not self.session.take_interrupt():
                raise
            note = self._repair_after_interrupt()
            if note is not None:
                yield note
            failure = InterruptedTools() if self.in_tools else Interrupted()
            ending, text = ending_for(failure), str(failure)
        if self.prepared.ctx.background is not None:  # commands that ended since the last call
            for event in self.prepared.ctx.background.drain(self.session_id, None):
                yield event
        yield self._result(ending, text, started, failure)

    def _repair_after_interrupt(self) -> UserMessage | None:
        """Answer what the interrupt cut off; the message that says so ("[Request interrupted by
        user]", or the unanswered calls' results), which Claude Code sends before the result."""
        last = self.messages[-1] if self.messages else None
        before = len(as_blocks(last["content"])) if last is not None and last["role"] == "user" else 0
        self.session.repair_after_interrupt()
        now = self.messages[-1] if self.messages else None
        if now is None or now["role"] != "user":
            return None
        added = as_blocks(now["content"])[before if now is last else 0 :]
        if not added:
            return None
        results = any(b.get("type") == "tool_result" for b in added)
        return UserMessage(self.session_id, added, origin="tool_results" if results else "hook")

    def _opening(self) -> list[Event]:
        """SystemInit, then the billing notices: a first turn's warnings and the meter's problems."""
        p, billing = self.prepared, self.billing
        schema = [structured.NAME] if self.options.json_schema is not None else []
        tools = init_names([*p.tools, *p.server_tools, *schema])
        events: list[Event] = [
            SystemInit(
                self.session_id,
                str(p.ctx.cwd),
                p.model,
                tools,
                p.policy.mode,
                billing.api_key_source,
                __version__,
                billing.describe(),
                agents=list(p.agents),
            )
        ]
        if self.first:
            events.extend(BillingNotice(self.session_id, w) for w in billing.warnings())
        events.extend(BillingNotice(self.session_id, w) for w in self.meter.problems)
        self.meter.problems.clear()
        return events

    async def _loop(self, prompt: Prompt) -> AsyncIterator[Event]:
        """Ask, run the tools, repeat. Returns on a final answer; any other end raises RunEnded."""
        self._require_login()
        if self.manual_compact is not None:
            async for event in self._compact("manual", self.manual_compact):
                yield event
            self.note = self.skipped
            return
        yield self._tell(await self._prompt_content(prompt), origin="prompt")
        while True:
            self._count_turn()
            async for event in self._ask_model():
                yield event
            calls = [b for b in self.reply["content"] if b.get("type") == "tool_use"]
            if calls:
                async for event in self._run_tools(calls):
                    yield event
                if self.has_structured:
                    return
                continue
            if self.stop_reason == "pause_turn":
                continue  # a server tool loop paused: resend as is, and the answer goes on
            follow_up = await self._follow_up()
            if follow_up is None:
                return
            yield self._tell(*follow_up)

    # -- the steps ------------------------------------------------------------------------

    def _require_login(self) -> None:
        """No credential ends the run before any request, with Claude Code's "not logged in" text."""
        not_logged_in = self.billing.error()
        if not_logged_in:
            raise ApiFailure(not_logged_in)

    async def _prompt_content(self, prompt: Prompt) -> Prompt:
        """The prompt as the model gets it: UserPromptSubmit hooks may refuse it or add context."""
        if not self.hooks.has_hooks("UserPromptSubmit"):
            return prompt
        text = prompt if isinstance(prompt, str) else json.dumps(prompt)
        submitted = await self.hooks.user_prompt_submit(text)
        if submitted.stop or submitted.blocked:
            raise HookStopped(submitted.stop_reason or submitted.block_reason or "Prompt blocked by a hook")
        if not submitted.additional_context:
            return prompt
        base = [{"type": "text", "text": prompt}] if isinstance(prompt, str) else list(prompt)
        return [*base, *({"type": "text", "text": c} for c in submitted.additional_context)]

    def _tell(self, content: Prompt, origin: UserOrigin) -> UserMessage:
        """Add a user message to the history (and transcript); the event that reports it."""
        self.session.append({"role": "user", "content": content})
        return UserMessage(self.session_id, content, origin=origin)

    def _count_turn(self) -> None:
        self.turns += 1
        if self.options.max_turns and self.turns > self.options.max_turns:
            raise MaxTurnsReached(self.options.max_turns)

    async def _ask_model(self) -> AsyncIterator[Event]:
        """One request: the budget first, each attempt metered the moment it lands, then the
        answer in the history. Retries happen inside the caller, never here; the one exception is
        a request over the context window, sent again once the history is compacted."""
        compaction = self.session.compaction
        for retry in (False, True):
            params = request_params(self.prepared, self.options, self.messages)
            # One estimate per request, for the compaction threshold and the budget check alike.
            tokens = self.sizer.input_tokens(params)
            over = compaction.auto and not retry and len(self.messages) > 1
            if over and tokens > compaction.threshold(self.options.max_tokens):
                async for event in self._compact("auto", pre_tokens=tokens):
                    yield event
                params = request_params(self.prepared, self.options, self.messages)
                tokens = self.sizer.input_tokens(params)
            for warning in self._check_budget(params, tokens):
                yield BillingNotice(self.session_id, warning)
            completed: Completed | None = None
            try:
                async for item in self.caller.call(params):
                    if isinstance(item, Completed):
                        completed = item
                    elif isinstance(item, ApiUsage):
                        for event in await self._metered(item):
                            yield event
                    else:
                        yield item
            except RunEnded as exc:
                # Over the window after all (the estimate is a guess): compact, then once more.
                if retry or not compaction.auto or len(self.messages) < 2 or not is_prompt_too_long(exc):
                    raise
                async for event in self._compact("auto"):
                    yield event
                if self.skipped is not None:
                    raise exc
                continue
            break
        if completed is None:
            raise RuntimeError(f"{type(self.caller).__name__}.call ended without a Completed message")
        yield self._answer(completed)

    async def _compact(self, trigger: Trigger, instructions: str = "", **kw: Any) -> AsyncIterator[Event]:
        """Summarise the history in its place (``agent.compact``); ``skipped`` says why not."""
        self.skipped = None
        if trigger == "manual" and not self.session.compaction.manual:
            self.skipped = DISABLED
            return
        async for item in compact(self, trigger, instructions, **kw):
            if isinstance(item, Compacted):
                self.skipped = item.why_not
            else:
                yield item

    def _answer(self, completed: Completed) -> AssistantMessage:
        """Take the model's message into the tally and the history."""
        self.tally.api_ms += completed.api_ms
        message = completed.message
        self.stop_reason = message.get("stop_reason")
        self.reply = {"role": "assistant", "content": list(message.get("content") or [])}
        self.session.append(self.reply, requestId=completed.request_id, model=message.get("model"))
        return AssistantMessage(self.session_id, message, completed.request_id)

    async def _run_tools(self, calls: list[dict[str, Any]]) -> AsyncIterator[Event]:
        """Run one turn's calls in order and answer them all in one user message.

        A valid StructuredOutput call ends the run at once (``has_structured``); an interrupting
        ask answer or a hook's ``continue: false`` ends it after the answers are recorded.
        """
        batch = CallBatch()
        self.in_tools = True
        for call in calls:
            if batch.skip(call):
                continue
            if call.get("name") == structured.NAME and self.options.json_schema is not None:
                rejected = self._take_structured(call)
                if rejected is None:
                    self.in_tools = False
                    return
                batch.results.append(rejected)
                continue
            outcome = await self.runner.run_call(call)
            for event in self.subagents.drain() if self.subagents is not None else ():
                yield event
            if self.prepared.ctx.background is not None:  # only once a shell was started
                for event in self.prepared.ctx.background.drain(self.session_id, str(call.get("id"))):
                    yield event
            batch.add(outcome)
            if outcome.denial is not None:
                self.denials.append(outcome.denial.denial())
                yield outcome.denial
        content = batch.content()
        self.session.append({"role": "user", "content": content})
        self.in_tools = False
        yield UserMessage(self.session_id, content, origin="tool_results")
        if batch.interrupted:
            raise InterruptedTools()
        if batch.hook_stop is not None:
            # Claude Code counts the tool results as the start of the next turn, then stops.
            self.turns += 1
            raise HookStoppedAfterTools(batch.hook_stop)

    def _take_structured(self, call: dict[str, Any]) -> dict[str, Any] | None:
        """Keep a valid structured output (None); else the error result the model retries from,
        until ``structured_output_retries`` are spent."""
        problem = self._check_structured(call.get("input"))
        if problem is None:
            self.structured, self.has_structured = call.get("input"), True
            return None
        self.reminders += 1
        if self.reminders > self.options.structured_output_retries:
            raise StructuredOutputRetriesExhausted(self.options.structured_output_retries)
        return problem.to_block(str(call.get("id")))

    def _check_structured(self, value: Any) -> ToolResult | None:
        """The schema first, then the caller's own check (a pydantic model's validators)."""
        assert self.options.json_schema is not None
        problem = structured.validate(self.options.json_schema, value)
        if problem is None and self.options.structured_check is not None:
            text = self.options.structured_check(value)
            if text:
                problem = error(f"Output does not match the required schema:\n{text}")
        return problem

    async def _follow_up(self) -> tuple[str, UserOrigin] | None:
        """After a plain-text answer: None ends the run; else what to tell the model to go on.

        A run owing structured output is reminded once; a Stop hook may then end the run
        (``StopHookPrevented``) or send it back to work with its reason.
        """
        if self.options.json_schema is not None and not self.has_structured and self.reminders == 0:
            self.reminders += 1
            return STRUCTURED_REMINDER, "reminder"
        if not self.hooks.has_hooks("Stop"):
            return None
        verdict = await self.hooks.stop(self.stop_hook_active, _text_of(self.reply))
        if verdict.stop:
            raise StopHookPrevented(self._final_text(), verdict.stop_reason or "Stopped by a Stop hook")
        if not verdict.blocked:
            return None
        self.stop_hook_active = True
        return verdict.block_reason or "A Stop hook asked to continue.", "hook"

    # -- requests and billing -------------------------------------------------------------

    def _check_budget(self, params: dict[str, Any], input_tokens: int | None = None) -> list[str]:
        """Before each request: raise if the next call could pass a cap; return window warnings.
        ``input_tokens``: the request's estimate when the caller has it already."""
        last = self.meter.last_row
        recent = last is not None and datetime.now(UTC) - last.recorded_at < CACHE_LIFETIME
        cached = last.prompt_tokens if last is not None and recent else 0
        estimate = next_call_cost(
            self.meter.prices,
            self.prepared.model,
            params,
            output_guess=self.tally.largest_output(),
            cached_prefix=cached,
            sizer=self.sizer,
            input_tokens=input_tokens,
        )
        self.guard.check(self.meter.spent(), estimate, tags=self.meter.context.tags)
        return self.guard.check_windows(self._windows()) if self.billing.mode == "plan" else []

    def _windows(self) -> list[WindowState]:
        now = datetime.now(UTC)
        if self.session.rate_limits:
            return from_headers(self.session.rate_limits, now=now)
        billing = self.billing
        return current_windows(billing.ledger, billing.account, billing.plan, now=now)

    async def _metered(self, event: ApiUsage) -> list[Event]:
        """Record the attempt in the ledger now, before anything else can fail: this run waits
        until the row is durable, other sessions on the loop do not (the ledger's writer thread)."""
        row = await self.meter.record_async(event, settle=self.guard.take())
        out: list[Event] = [replace(event, cost=row.cost_usd)]
        if event.rate_limits:
            self.session.rate_limits = event.rate_limits
            out.append(RateLimit(self.session_id, rate_limit_info(event.rate_limits)))
        out.extend(BillingNotice(self.session_id, problem) for problem in self.meter.problems)
        self.meter.problems.clear()
        return out

    # -- the end --------------------------------------------------------------------------

    def _final_text(self) -> str:
        if self.note is not None:
            return self.note
        if self.has_structured:
            return json.dumps(self.structured)
        return (
            _text_of(self.messages[-1]) if self.messages and self.messages[-1]["role"] == "assistant" else ""
        )

    def _result(self, ending: Ending, text: str, started: float, failure: RunEnded | None) -> Result:
        return Result(
            session_id=self.session_id,
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
            billing=self.billing.describe(),
        )
