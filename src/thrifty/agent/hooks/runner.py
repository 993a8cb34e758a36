"""The hooks runner: command hooks from settings and in-process callbacks, Claude Code compatible.

Every matching handler for an event runs at once, because hooks are usually independent checks
and a slow linter should not serialise behind a fast guard. Results are folded in configuration
order (see ``output.aggregate``), so the verdict never depends on which process finished first.

A hook is user code, so none of its failures may crash the agent: a crash, a timeout or garbage on
stdout becomes an entry in ``HookOutcome.errors`` unless the contract says it blocks. Process
management lives in ``process``.
"""

from __future__ import annotations

import asyncio
import copy
import json
import os
import shutil
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from thrifty.agent.hooks.matchers import MATCH_FIELDS, TOOL_EVENTS, matcher_is_valid, matches, rule_matches
from thrifty.agent.hooks.output import (
    EXIT2_BLOCKING_EVENTS,
    PLAIN_CONTEXT_EVENTS,
    HookOutcome,
    HookRunResult,
    PermissionDecision,
    Verdict,
    aggregate,
    cap,
    parse_stdout,
    read_output,
)
from thrifty.agent.hooks.process import run_shell

__all__ = ["HookCallbackFn", "HookOutcome", "HookRunResult", "HookRunner", "PermissionDecision"]

HookCallbackFn = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]
RuleMatcher = Callable[[str, str, Mapping[str, Any]], bool]

DEFAULT_TIMEOUT_S = 600.0
EVENT_DEFAULT_TIMEOUT_S = {"UserPromptSubmit": 30.0}


def _private_copy(data: dict[str, Any]) -> dict[str, Any]:
    """Each callback gets its own input, so one that mutates it cannot change what others see."""
    try:
        return copy.deepcopy(data)
    except Exception:
        return dict(data)


@dataclass(frozen=True)
class _Command:
    command: str
    timeout: float
    matcher: str | None
    condition: str | None
    #: A plugin's hook (``agent.plugins``): its directory, set as ``CLAUDE_PLUGIN_ROOT``.
    plugin_root: str | None = None


@dataclass(frozen=True)
class _Callback:
    fn: HookCallbackFn
    matcher: str | None
    name: str


class HookRunner:
    """Runs the hooks configured for a session.

    ``config`` is the merged ``"hooks"`` mapping from settings. ``env`` is laid over
    ``os.environ`` (so a settings ``env`` block can be passed as is), and ``CLAUDE_PROJECT_DIR``
    is always set to ``cwd``. ``rule_matcher(rule, tool_name, tool_input)`` evaluates a handler's
    ``if`` condition; without one a built-in approximation of permission rules is used.
    """

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        cwd: Path,
        session_id: str,
        transcript_path: str,
        permission_mode: str = "default",
        env: Mapping[str, str] | None = None,
        callbacks: Mapping[str, Sequence[tuple[str | None, HookCallbackFn]]] | None = None,
        callback_timeout: float | None = None,
        rule_matcher: RuleMatcher | None = None,
    ) -> None:
        self.cwd = cwd
        self.session_id = session_id
        self.transcript_path = transcript_path
        self.permission_mode = permission_mode
        self.callback_timeout = callback_timeout
        self.warnings: list[str] = []
        overlay = {str(k): str(v) for k, v in (env or {}).items()}
        self._env = {**os.environ, **overlay, "CLAUDE_PROJECT_DIR": str(cwd)}
        self._rule_matcher = rule_matcher
        self._commands = self._parse(config)
        self._callbacks: dict[str, list[_Callback]] = {}
        for event, entries in (callbacks or {}).items():
            for matcher, fn in entries:
                name = getattr(fn, "__qualname__", None) or repr(fn)
                self._callbacks.setdefault(event, []).append(_Callback(fn, matcher, f"callback {name}"))
        self._bash = shutil.which("bash", path=self._env.get("PATH"))
        #: Receives Claude Code's ``system/hook_started`` and ``hook_response`` frames for each
        #: command hook (``--include-hook-events``); None sends none.
        self.on_event: Callable[[dict[str, Any]], None] | None = None

    def _emit(self, subtype: str, hook_id: str, label: str, event: str, **fields: Any) -> None:
        if self.on_event is not None:
            frame = {"type": "system", "subtype": subtype, "hook_id": hook_id, "hook_name": label}
            frame.update(hook_event=event, **fields, uuid=str(uuid.uuid4()), session_id=self.session_id)
            self.on_event(frame)

    # -- configuration ------------------------------------------------------------------------

    def _parse(self, config: Mapping[str, Any]) -> dict[str, list[_Command]]:
        """Read the settings shape leniently: a malformed entry is skipped with a warning."""
        parsed: dict[str, list[_Command]] = {}
        for event, groups in config.items():
            if not isinstance(groups, list):
                self.warnings.append(f"hooks.{event}: expected a list of matcher groups; ignored")
                continue
            default = EVENT_DEFAULT_TIMEOUT_S.get(event, DEFAULT_TIMEOUT_S)
            for i, group in enumerate(groups):
                where = f"hooks.{event}[{i}]"
                if not isinstance(group, Mapping) or not isinstance(group.get("hooks"), list):
                    self.warnings.append(f"{where}: expected {{matcher, hooks: [...]}}; ignored")
                    continue
                matcher = group.get("matcher")
                if matcher is not None and not isinstance(matcher, str):
                    self.warnings.append(f"{where}: matcher must be a string; group ignored")
                    continue
                if not matcher_is_valid(matcher):
                    self.warnings.append(
                        f"{where}: matcher {matcher!r} is not a valid regex; matches nothing"
                    )
                for j, handler in enumerate(group["hooks"]):
                    cmd = self._parse_handler(f"{where}.hooks[{j}]", handler, matcher, default)
                    if cmd is not None:
                        parsed.setdefault(event, []).append(cmd)
        return parsed

    def _parse_handler(
        self, where: str, handler: Any, matcher: str | None, default: float
    ) -> _Command | None:
        if not isinstance(handler, Mapping):
            self.warnings.append(f"{where}: handler is not an object; ignored")
            return None
        kind = handler.get("type", "command")
        if kind != "command":
            self.warnings.append(f"{where}: handler type {kind!r} is not supported; ignored")
            return None
        command = handler.get("command")
        if not isinstance(command, str) or not command.strip():
            self.warnings.append(f"{where}: command hook without a command; ignored")
            return None
        timeout = handler.get("timeout")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
            timeout = default
        condition = handler.get("if")
        root = handler.get("pluginRoot")
        return _Command(
            command,
            float(timeout),
            matcher,
            condition if isinstance(condition, str) else None,
            root if isinstance(root, str) else None,
        )

    def has_hooks(self, event: str) -> bool:
        """Cheap check so the loop can skip building hook input when nothing listens."""
        return bool(self._commands.get(event) or self._callbacks.get(event))

    # -- running ------------------------------------------------------------------------------

    def _input(self, event: str, payload: Mapping[str, Any]) -> dict[str, Any]:
        return {
            "session_id": self.session_id,
            "transcript_path": self.transcript_path,
            "cwd": str(self.cwd),
            "permission_mode": self.permission_mode,
            "hook_event_name": event,
            **payload,
        }

    def _condition_holds(self, event: str, condition: str | None, data: Mapping[str, Any]) -> bool:
        if condition is None or event not in TOOL_EVENTS:
            return True
        tool_name = str(data.get("tool_name", ""))
        tool_input = data.get("tool_input")
        tool_input = tool_input if isinstance(tool_input, Mapping) else {}
        if self._rule_matcher is not None:
            return self._rule_matcher(condition, tool_name, tool_input)
        return rule_matches(condition, tool_name, tool_input, cwd=self.cwd)

    async def run(
        self, event: str, payload: Mapping[str, Any], *, match_value: str | None = None
    ) -> HookOutcome:
        """Run every handler matching ``event`` and fold their verdicts into one outcome.

        ``match_value`` defaults to the event's documented match field in ``payload`` (the tool
        name for tool events, ``source`` for SessionStart, ...); events without one run all groups.
        Identical command strings run once, even when several groups select them.
        """
        data = self._input(event, payload)
        if match_value is None and event in MATCH_FIELDS:
            field_value = data.get(MATCH_FIELDS[event])
            match_value = field_value if isinstance(field_value, str) else None
        label = f"{event}:{match_value}" if event in TOOL_EVENTS and match_value else event

        seen: set[str] = set()
        commands: list[_Command] = []
        for cmd in self._commands.get(event, []):
            if cmd.command in seen or not matches(cmd.matcher, match_value):
                continue
            if not self._condition_holds(event, cmd.condition, data):
                continue
            seen.add(cmd.command)
            commands.append(cmd)
        callbacks: list[_Callback] = []
        for cb in self._callbacks.get(event, []):
            if matches(cb.matcher, match_value) and all(cb.fn is not c.fn for c in callbacks):
                callbacks.append(cb)
        if not commands and not callbacks:
            return HookOutcome(event=event)

        stdin = json.dumps(data, ensure_ascii=False, default=str).encode()
        timeout = self.callback_timeout or EVENT_DEFAULT_TIMEOUT_S.get(event, DEFAULT_TIMEOUT_S)
        ran: list[tuple[HookRunResult, Verdict]] = await asyncio.gather(
            *(self._run_command(event, label, c, stdin) for c in commands),
            *(self._run_callback(event, label, cb, data, timeout) for cb in callbacks),
        )
        return aggregate(event, [v for _, v in ran], [r for r, _ in ran])

    async def _run_command(
        self, event: str, label: str, cmd: _Command, stdin: bytes
    ) -> tuple[HookRunResult, Verdict]:
        hook_id = str(uuid.uuid4())
        self._emit("hook_started", hook_id, label, event)
        result, verdict = await self._command(event, label, cmd, stdin)
        if self.on_event is not None:
            code = result.exit_code
            outcome = "cancelled" if result.timed_out else "success" if code == 0 else "error"
            self._emit(
                "hook_response",
                hook_id,
                label,
                event,
                output=result.stdout + result.stderr,
                stdout=result.stdout,
                stderr=result.stderr,
                exit_code=code,
                outcome=outcome,
            )
        return result, verdict

    async def _command(
        self, event: str, label: str, cmd: _Command, stdin: bytes
    ) -> tuple[HookRunResult, Verdict]:
        started = time.monotonic()
        env = self._env if cmd.plugin_root is None else {**self._env, "CLAUDE_PLUGIN_ROOT": cmd.plugin_root}
        try:
            run = await run_shell(
                cmd.command,
                stdin=stdin,
                cwd=self.cwd,
                env=env,
                timeout=cmd.timeout,
                bash=self._bash,
            )
        except OSError as exc:
            now = time.monotonic()
            ms = int((now - started) * 1000)
            result = HookRunResult(cmd.command, "command", None, "", str(exc), ms, started, now)
            return result, Verdict(errors=[f"{label} hook error: [{cmd.command}]: failed to start: {exc}"])
        ms = int((run.finished_at - run.started_at) * 1000)
        if run.timed_out:
            result = HookRunResult(
                cmd.command,
                "command",
                None,
                run.stdout,
                run.stderr,
                ms,
                run.started_at,
                run.finished_at,
                True,
            )
            error = f"{label} hook error: [{cmd.command}]: timed out after {cmd.timeout:g}s"
            return result, Verdict(errors=[error])
        code = run.exit_code
        output, parse_error = parse_stdout(run.stdout) if code == 0 else (None, None)
        result = HookRunResult(
            cmd.command,
            "command",
            code,
            run.stdout,
            run.stderr,
            ms,
            run.started_at,
            run.finished_at,
            False,
            output,
        )
        verdict = self._command_verdict(
            event, label, cmd.command, code, run.stdout, run.stderr, output, parse_error
        )
        return result, verdict

    @staticmethod
    def _command_verdict(
        event: str,
        label: str,
        command: str,
        code: int | None,
        stdout: str,
        stderr: str,
        output: dict[str, Any] | None,
        parse_error: str | None,
    ) -> Verdict:
        if code == 0:
            if output is not None:
                return read_output(event, f"{label} [{command}]", output)
            verdict = Verdict()
            if parse_error:
                verdict.errors.append(f"{label} hook error: [{command}]: {parse_error}")
            if event in PLAIN_CONTEXT_EVENTS and stdout.strip():
                verdict.context.append(cap(stdout.strip()))
            return verdict
        detail = stderr.strip() or "No stderr output"
        if (code == 2 and event in EXIT2_BLOCKING_EVENTS) or event == "WorktreeCreate":
            return Verdict(blocked=True, block_reason=cap(f"{label} hook error: [{command}]: {detail}"))
        return Verdict(errors=[cap(f"{label} hook error: [{command}]: exit code {code}: {detail}")])

    async def _run_callback(
        self, event: str, label: str, cb: _Callback, data: dict[str, Any], timeout: float
    ) -> tuple[HookRunResult, Verdict]:
        """Run an SDK callback; on PreToolUse a failure blocks, since the callback could not approve."""
        started = time.monotonic()
        problem: str | None = None
        output: Any = None
        timed_out = False
        try:
            output = await asyncio.wait_for(cb.fn(_private_copy(data)), timeout)
        except TimeoutError:
            timed_out = True
            problem = f"timed out after {timeout:g}s"
        except Exception as exc:
            problem = f"{type(exc).__name__}: {exc}"
        if problem is None and output is not None and not isinstance(output, dict):
            problem = f"returned {type(output).__name__}, not a dict"
        finished = time.monotonic()
        parsed = output if isinstance(output, dict) else None
        result = HookRunResult(
            cb.name,
            "callback",
            None,
            "",
            problem or "",
            int((finished - started) * 1000),
            started,
            finished,
            timed_out,
            parsed,
        )
        if problem is not None:
            reason = cap(f"{label} hook error: [{cb.name}]: {problem}")
            if event == "PreToolUse":
                return result, Verdict(blocked=True, block_reason=reason)
            return result, Verdict(errors=[reason])
        return result, read_output(event, f"{label} [{cb.name}]", parsed or {})

    # -- convenience wrappers -------------------------------------------------------------------

    async def pre_tool_use(
        self, tool_name: str, tool_input: Mapping[str, Any], tool_use_id: str
    ) -> HookOutcome:
        payload = {"tool_name": tool_name, "tool_input": dict(tool_input), "tool_use_id": tool_use_id}
        return await self.run("PreToolUse", payload)

    async def post_tool_use(
        self,
        tool_name: str,
        tool_input: Mapping[str, Any],
        tool_use_id: str,
        tool_response: Any,
        *,
        duration_ms: int | None = None,
    ) -> HookOutcome:
        payload: dict[str, Any] = {
            "tool_name": tool_name,
            "tool_input": dict(tool_input),
            "tool_use_id": tool_use_id,
            "tool_response": tool_response,
        }
        if duration_ms is not None:
            payload["duration_ms"] = duration_ms
        return await self.run("PostToolUse", payload)

    async def post_tool_use_failure(
        self,
        tool_name: str,
        tool_input: Mapping[str, Any],
        tool_use_id: str,
        error: str,
        *,
        is_interrupt: bool = False,
    ) -> HookOutcome:
        payload = {
            "tool_name": tool_name,
            "tool_input": dict(tool_input),
            "tool_use_id": tool_use_id,
            "error": error,
            "is_interrupt": is_interrupt,
        }
        return await self.run("PostToolUseFailure", payload)

    async def user_prompt_submit(self, prompt: str) -> HookOutcome:
        return await self.run("UserPromptSubmit", {"prompt": prompt})

    async def stop(self, stop_hook_active: bool, last_assistant_message: str | None = None) -> HookOutcome:
        payload = {"stop_hook_active": stop_hook_active, "last_assistant_message": last_assistant_message}
        return await self.run("Stop", payload)

    async def session_start(self, source: str = "startup", *, model: str | None = None) -> HookOutcome:
        payload: dict[str, Any] = {"source": source}
        if model is not None:
            payload["model"] = model
        return await self.run("SessionStart", payload)

    async def session_end(self, reason: str = "other") -> HookOutcome:
        return await self.run("SessionEnd", {"reason": reason})
