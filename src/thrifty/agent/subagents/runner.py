"""Running a subagent: the Agent tool's call becomes a child loop in the parent's process.

The child is an ``AgentRun`` over a ``ChildSession``: its own history, system prompt (the agent's
prompt and the environment), tool subset (never the Agent tool: subagents do not nest) and model,
and the parent's caller, permission policy, hooks, tool context, billing and budget guard. Its
calls go through the parent's meter re-tagged ``sidechain=true`` and ``agent_type``, so the
ledger marks them, the parent's ``total_cost_usd`` and ``modelUsage`` include them, and a budget
cap counts both. Its messages reach the parent's stream with ``parent_tool_use_id`` set to the
Agent call's id, and its transcript is a sidechain file next to the parent's, as Claude Code
writes it: ``<session>/subagents/agent-<id>.jsonl`` with an ``agent-<id>.meta.json`` sidecar.
Around them go Claude Code's ``system/task_*`` frames (``TaskEvent``), so a client that tracks
tasks by those (the official SDK's ``TaskStartedMessage`` ...) sees a subagent as it would there.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import time
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from thrifty.agent.options import resolve_model
from thrifty.agent.prompt import environment_block
from thrifty.agent.subagents.definitions import GENERAL_PURPOSE, AgentDef
from thrifty.agent.transcripts import TranscriptWriter, as_blocks
from thrifty.billing.estimate import RequestSizer
from thrifty.core.events import (
    ApiUsage,
    AssistantMessage,
    BillingNotice,
    Event,
    PermissionDenied,
    RateLimit,
    Result,
    StreamEvent,
    TaskEvent,
    TaskSubtype,
    UserMessage,
)
from thrifty.tools import registry
from thrifty.tools.base import ToolResult, error

if TYPE_CHECKING:
    from pathlib import Path

    from thrifty.agent.hooks.runner import HookRunner
    from thrifty.agent.loop import AgentRun
    from thrifty.agent.session import Session
    from thrifty.agent.setup import Prepared

#: Hooks a subagent does not fire: its prompt is not the user's, and its end is not the session's.
_MAIN_THREAD_HOOKS = frozenset({"UserPromptSubmit", "Stop"})
_FORWARDED = (AssistantMessage, UserMessage, StreamEvent)
#: ``thrifty.tools.agent``'s names, repeated so that a session imports no tool module (nor pydantic)
#: before the model calls the tool.
NAME = "Agent"
INIT_NAME = "Task"
DEFAULT_TYPE = GENERAL_PURPOSE.name
#: How a ``task_progress`` frame words a subagent's latest tool call, by tool and input key, as
#: Claude Code's activity line does ("Running echo one"); other tools go by their name.
_ACTIVITY = {
    "Bash": ("Running", "command"),
    "Read": ("Reading", "file_path"),
    "Write": ("Writing", "file_path"),
    "Edit": ("Editing", "file_path"),
    "NotebookEdit": ("Editing", "notebook_path"),
    "Grep": ("Searching for", "pattern"),
    "Glob": ("Finding", "pattern"),
    "WebFetch": ("Fetching", "url"),
    "WebSearch": ("Searching for", "query"),
}


def _activity(block: Mapping[str, Any]) -> str:
    name = str(block.get("name"))
    verb, key = _ACTIVITY.get(name, (name, ""))
    value = (block.get("input") or {}).get(key) if key else None
    return f"{verb} {value}" if isinstance(value, str) and value else verb


class _TaskFrames:
    """The ``task_*`` events of one subagent run, in Claude Code's shapes and order: started,
    a progress frame per tool call, then ``task_updated`` and the notification with the usage."""

    def __init__(self, out: list[Event], session_id: str, task_id: str, call_id: str, agent: str) -> None:
        self.out = out
        self.session_id = session_id
        self.task_id = task_id
        self.call_id = call_id
        self.agent = agent
        self.started = time.monotonic()
        self.tool_uses = 0
        #: Claude Code's ``total_tokens``: the latest call's, prompt and output (the context used).
        self.total_tokens = 0

    def _add(self, subtype: TaskSubtype, **fields: Any) -> None:
        self.out.append(TaskEvent(self.session_id, subtype, self.task_id, fields))

    def usage(self) -> dict[str, int]:
        duration_ms = int((time.monotonic() - self.started) * 1000)
        return {"total_tokens": self.total_tokens, "tool_uses": self.tool_uses, "duration_ms": duration_ms}

    def start(self, description: str, prompt: str) -> None:
        self._add(
            "task_started",
            tool_use_id=self.call_id,
            description=description,
            subagent_type=self.agent,
            is_backgrounded=False,
            spawn_depth=1,
            task_type="local_agent",
            prompt=prompt,
        )

    def progress(self, message: AssistantMessage) -> None:
        for block in message.content:
            if block.get("type") == "tool_use":
                self.tool_uses += 1
                self._add(
                    "task_progress",
                    tool_use_id=self.call_id,
                    description=_activity(block),
                    subagent_type=self.agent,
                    usage=self.usage(),
                    last_tool_name=str(block.get("name")),
                )

    def end(self, status: str, summary: str, output_file: str) -> None:
        patch_status = "killed" if status == "stopped" else status
        self._add("task_updated", patch={"status": patch_status, "end_time": int(time.time() * 1000)})
        self._add(
            "task_notification",
            tool_use_id=self.call_id,
            status=status,
            output_file=output_file,
            summary=summary,
            usage=self.usage(),
        )


class _ChildHooks:
    """The parent's hooks, less the main thread's own events."""

    def __init__(self, hooks: HookRunner) -> None:
        self._hooks = hooks

    def has_hooks(self, event: str) -> bool:
        return event not in _MAIN_THREAD_HOOKS and self._hooks.has_hooks(event)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._hooks, name)


def _sidechain_writer(
    parent: Path, agent_id: str, meta: dict[str, Any], session_id: str, cwd: Path
) -> TranscriptWriter:
    """``<session>/subagents/agent-<id>.jsonl`` beside the parent's transcript (0600), and its sidecar."""
    folder = parent.with_suffix("") / "subagents"
    folder.mkdir(mode=0o700, parents=True, exist_ok=True)
    (folder / f"agent-{agent_id}.meta.json").write_text(json.dumps(meta), "utf-8")
    path = folder / f"agent-{agent_id}.jsonl"
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    return TranscriptWriter(path, fd, session_id, str(cwd), None)


def child_tools(prepared: Prepared, agent: AgentDef) -> tuple[registry.ToolTable, list[dict[str, Any]]]:
    """The agent's tools: its list (or all the parent's), within the parent's, never Agent."""
    offered = [n for n in prepared.tools if n != NAME]
    names = offered if agent.tools is None else [n for n in offered if n in set(agent.tools)]
    names = [n for n in names if n not in set(agent.disallowed_tools)]
    builtin = [n for n in names if n in registry.SPECS]
    extra = [prepared.tools[n] for n in names if n not in registry.SPECS]
    defs = {d["name"]: d for d in prepared.tool_defs}
    return registry.ToolTable(builtin, extra), [defs[n] for n in names if n in defs]


class ChildSession:
    """What ``AgentRun`` reads from a session, for one subagent run inside the parent's."""

    def __init__(self, parent: Session, agent: AgentDef, model: str, call_id: str, description: str) -> None:
        self.parent = parent
        self.agent = agent
        self.agent_id = "a" + uuid.uuid4().hex[:16]  # as Claude Code names them
        p = parent.prepared
        tools, tool_defs = child_tools(p, agent)
        cwd = p.ctx.cwd
        prompt = agent.prompt + "\n\n" + environment_block(cwd, list(p.ctx.additional_dirs))
        self.prepared: Prepared = dataclasses.replace(
            p,
            model=model,
            tools=tools,
            tool_defs=tool_defs,
            system=[{"type": "text", "text": prompt}],
            hooks=cast("HookRunner", _ChildHooks(p.hooks)),
            history=[],
            agents={},
        )
        self.options = dataclasses.replace(
            parent.options,
            model=model,
            max_turns=agent.max_turns,
            json_schema=None,
            structured_check=None,
            system_prompt=agent.prompt,
            append_system_prompt=None,
        )
        self.meter = parent.meter.with_tags({"sidechain": "true", "agent_type": agent.name})
        self.guard = parent.guard
        self.ask = parent.ask
        self.sizer = RequestSizer()
        self.messages: list[dict[str, Any]] = []
        self.transcript: TranscriptWriter | None = None
        if parent.transcript is not None:
            meta = {
                "agentType": agent.name,
                "isBuiltIn": agent.source == "built-in",
                "description": description,
                "toolUseId": call_id,
                "model": model,
            }
            path = parent.transcript.path
            self.transcript = _sidechain_writer(path, self.agent_id, meta, p.session_id, cwd)

    @property
    def rate_limits(self) -> dict[str, str]:
        return self.parent.rate_limits

    @rate_limits.setter
    def rate_limits(self, value: dict[str, str]) -> None:
        self.parent.rate_limits = value

    def append(self, message: dict[str, Any], **extra: Any) -> None:
        if message["role"] == "user" and self.messages and self.messages[-1]["role"] == "user":
            last = self.messages[-1]
            last["content"] = as_blocks(last["content"]) + as_blocks(message["content"])
        else:
            self.messages.append(message)
        if self.transcript is not None:
            self.transcript.record(message, isSidechain=True, agentId=self.agent_id, **extra)

    def __getattr__(self, name: str) -> Any:
        # Anything else a run reads of its session is the parent's (this keeps working when the
        # loop learns to read more of it).
        return getattr(self.parent, name)

    def take_interrupt(self) -> bool:
        return False  # the parent's run owns interruption: let the cancellation reach it

    def repair_after_interrupt(self) -> None:
        return None

    def close(self) -> None:
        if self.transcript is not None:
            self.transcript.close()


class SubagentLauncher:
    """The Agent tool of one parent run: runs a child per call and keeps its events for the
    parent's stream (``events``, drained by the parent after each call)."""

    def __init__(self, parent: AgentRun, agents: Mapping[str, AgentDef]) -> None:
        self.parent = parent
        self.agents = agents
        self.events: list[Event] = []

    def drain(self) -> list[Event]:
        out, self.events = self.events, []
        return out

    def _agent(self, name: str | None) -> AgentDef | None:
        wanted = name or DEFAULT_TYPE
        if wanted in self.agents:
            return self.agents[wanted]
        return GENERAL_PURPOSE if wanted == GENERAL_PURPOSE.name else None

    async def __call__(self, tool_input: dict[str, Any], call_id: str) -> ToolResult:
        from pydantic import ValidationError

        from thrifty.tools.agent import AgentInput

        try:
            params = AgentInput.model_validate(tool_input)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in exc.errors()
            )
            return error(f"InputValidationError: {NAME} failed due to: {problems}")
        agent = self._agent(params.subagent_type)
        if agent is None:
            names = ", ".join(sorted({*self.agents, GENERAL_PURPOSE.name}))
            return error(f"Agent type '{params.subagent_type}' not found. Available agents: {names}")
        chosen = params.model or agent.model
        model = self.parent.prepared.model if chosen in (None, "inherit") else resolve_model(str(chosen))
        return await self._run(agent, model, params.prompt, call_id, params.description)

    async def _run(
        self, agent: AgentDef, model: str, prompt: str, call_id: str, description: str
    ) -> ToolResult:
        child = ChildSession(self.parent.session, agent, model, call_id, description)
        # The parent's own class: this module sits below the loop and never imports it.
        run = type(self.parent)(cast("Session", child), first=False, caller=self.parent.caller)
        task = _TaskFrames(self.events, self.parent.session_id, child.agent_id, call_id, agent.name)
        task.start(description, prompt)
        output_file = str(child.transcript.path) if child.transcript is not None else ""
        result = None
        try:
            async for event in run.run(prompt):
                if isinstance(event, ApiUsage):
                    task.total_tokens = event.usage.total_tokens
                elif isinstance(event, Result):
                    result = event
                elif isinstance(event, _FORWARDED):
                    if isinstance(event, AssistantMessage):
                        task.progress(event)
                    self.events.append(dataclasses.replace(event, parent_tool_use_id=call_id))
                elif isinstance(event, (BillingNotice, RateLimit, PermissionDenied, TaskEvent)):
                    self.events.append(event)
        except BaseException as exc:
            # Interrupted (or broken): the task still ends, for whoever tracks it.
            stopped = isinstance(exc, (asyncio.CancelledError, KeyboardInterrupt))
            task.end("stopped" if stopped else "failed", f"{type(exc).__name__}: {exc}", output_file)
            raise
        finally:
            child.close()
        assert result is not None
        if result.is_error:
            reason = "; ".join(result.errors) or result.subtype
            task.end("failed", reason, output_file)
            return error(f"Agent '{agent.name}' failed: {reason}")
        task.end("completed", result.result or "", output_file)
        usage = task.usage()
        report = (
            f"agentId: {child.agent_id}\n<usage>total_tokens: {usage['total_tokens']}\n"
            f"tool_uses: {usage['tool_uses']}\nduration_ms: {usage['duration_ms']}</usage>"
        )
        return ToolResult([{"type": "text", "text": result.result or ""}, {"type": "text", "text": report}])
