"""The ``claude`` process of a plan session: started once, fed each prompt, metered call by call.

One process serves every turn of a ``Session`` (stream-json input takes prompt after prompt), so
claude keeps the conversation and its prompt cache. Each call claude reports is recorded by the
session's meter the moment it is known, then the budget guard looks at the spend: when a cap is
reached claude is interrupted (a ``control_request``; terminated if it does not stop) and the turn
ends with thrifty's max-budget ending, as an API run would. The final ``Result`` takes claude's
word on how the turn went (text, turns, subtype) and thrifty's meter for money and tokens, so the
result and the ledger always agree.

A ``claude`` that dies without a result ends the turn in an error ``Result`` with one line: its
exit status and the last line of its stderr (redacted; stderr goes to the debug log).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import shutil
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from dataclasses import replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty import __version__
from thrifty.agent.options import AgentOptions, resolve_model
from thrifty.agent.via_claude.argv import claude_argv, config_files, user_message
from thrifty.agent.via_claude.frames import FrameReader
from thrifty.agent.via_claude.results import CLAUDE_DIED, Turn, from_claude, from_ending, money
from thrifty.agent.via_claude.unreported import Unreported
from thrifty.billing.budget import BudgetGuard
from thrifty.billing.claude_cli import ClaudeCode, claude_environ
from thrifty.billing.context import Billing
from thrifty.billing.meter import Meter
from thrifty.billing.secret import redact
from thrifty.billing.windows import from_headers
from thrifty.core.endings import BudgetExceeded, Ending, ending_for
from thrifty.core.events import ApiUsage, BillingNotice, Event, Result, SystemInit

if TYPE_CHECKING:
    from thrifty.agent.hooks.runner import HookRunner

log = logging.getLogger("thrifty.via_claude")

#: How long claude may take to stop after an interrupt before it is terminated.
STOP_GRACE_S = 10.0
#: How long a closing claude may take to exit on its own (stdin closed) before it is terminated.
EXIT_GRACE_S = 5.0
#: stdout lines can be long (a whole file read by a tool): no asyncio line limit worth hitting.
LINE_LIMIT = 64 * 1024 * 1024


class ClaudeProcess:
    """The session's ``claude``: ``turn`` runs one prompt to its ``Result``."""

    def __init__(
        self,
        claude: ClaudeCode,
        options: AgentOptions,
        *,
        billing: Billing,
        meter: Meter,
        guard: BudgetGuard,
        session_id: str,
        new_session_id: str | None,
        hooks: HookRunner | None = None,
    ) -> None:
        self.claude = claude
        #: Where the caller shows hook frames (``--include-hook-events``); claude runs the hooks,
        #: so its ``system/hook_*`` frames go there, as the API path's own hooks' frames do.
        self.hooks = hooks
        #: A private folder for the files claude reads at start (``config_files``).
        self._config_dir: Path | None = None
        self.options = options
        self.billing = billing
        self.meter = meter
        self.guard = guard
        self.session_id = session_id
        #: ``--session-id`` for the first start; later starts resume ``session_id``.
        self._new_session_id = new_session_id
        self.reader = FrameReader(session_id, options.include_partial_messages, billing.describe())
        self.model = resolve_model(options.model)
        self.permission_mode: str | None = options.permission_mode
        self.proc: asyncio.subprocess.Process | None = None
        self._stderr_task: asyncio.Task[None] | None = None
        self._last_stderr = ""
        self._starts = 0
        self._turns = 0
        #: What this process was metered for, against the totals its results claim.
        self._unreported = Unreported()
        self._requests = 0

    # -- the process --------------------------------------------------------------------------

    def argv(self) -> list[str]:
        options = replace(self.options, model=self.model, permission_mode=self.permission_mode)  # type: ignore[arg-type]
        extra: dict[str, Any] = {"files": self._write_config(), "hook_events": self._hook_sink() is not None}
        if self._starts:
            # A restart (the previous process was stopped): go on with the same conversation.
            options = replace(
                options, resume=self.session_id, continue_conversation=False, fork_session=False
            )
            return claude_argv(self.claude.binary, options, session_id=None, **extra)
        return claude_argv(self.claude.binary, options, session_id=self._new_session_id, **extra)

    def _hook_sink(self) -> Callable[[dict[str, Any]], None] | None:
        return self.hooks.on_event if self.hooks is not None else None

    def _write_config(self) -> dict[str, str]:
        """``config_files`` in a folder only this user can read; removed when claude stops."""
        contents = config_files(self.options)
        if not contents:
            return {}
        if self._config_dir is None:
            self._config_dir = Path(tempfile.mkdtemp(prefix="thrifty-claude-"))
        paths: dict[str, str] = {}
        for flag, content in contents.items():
            path = self._config_dir / f"{flag.lstrip('-')}.json"
            path.write_text(json.dumps(content), encoding="utf-8")
            path.chmod(0o600)
            paths[flag] = str(path)
        return paths

    async def _start(self) -> asyncio.subprocess.Process:
        argv = self.argv()
        flags = [a for a in argv[1:] if a.startswith("-")]
        log.debug("starting claude: %s %s", argv[0], redact(" ".join(flags)))
        self._starts += 1
        self._unreported.restart()
        proc = await asyncio.create_subprocess_exec(
            *argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            env=claude_environ(self.options.environ),
            cwd=str(self.options.cwd),
            limit=LINE_LIMIT,
        )
        self.proc = proc
        self._last_stderr = ""
        self._stderr_task = asyncio.create_task(self._drain_stderr(proc))
        return proc

    async def _drain_stderr(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stderr is not None
        while line := await proc.stderr.readline():
            text = redact(line.decode("utf-8", errors="replace").rstrip())
            if text.strip():
                self._last_stderr = text.strip()
                log.debug("claude: %s", text)

    def _send(self, frame: Mapping[str, Any]) -> bool:
        proc = self.proc
        if proc is None or proc.stdin is None or proc.returncode is not None or proc.stdin.is_closing():
            return False
        proc.stdin.write((json.dumps(frame) + "\n").encode())
        return True

    def control(self, request: dict[str, Any]) -> bool:
        """Send claude a control request (no answer awaited); False if no process runs."""
        self._requests += 1
        frame = {"type": "control_request", "request_id": f"thrifty_{self._requests}", "request": request}
        return self._send(frame)

    def interrupt(self) -> bool:
        return self.control({"subtype": "interrupt"})

    def set_model(self, model: str) -> None:
        self.model = model
        self.control({"subtype": "set_model", "model": model})

    def set_permission_mode(self, mode: str) -> None:
        self.permission_mode = mode
        self.control({"subtype": "set_permission_mode", "mode": mode})

    async def stop(self, *, grace: float = EXIT_GRACE_S) -> None:
        """End the process: stdin closed, then terminate, then kill."""
        proc, self.proc = self.proc, None
        if proc is None:
            self._remove_config()
            return
        if proc.stdin is not None and not proc.stdin.is_closing():
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), grace)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 3.0)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._stderr_task is not None:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(self._stderr_task, 2.0)
        self._remove_config()

    def _remove_config(self) -> None:
        if self._config_dir is not None:
            shutil.rmtree(self._config_dir, ignore_errors=True)
            self._config_dir = None

    async def _frames(self, proc: asyncio.subprocess.Process) -> AsyncIterator[dict[str, Any]]:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            try:
                frame = json.loads(line)
            except ValueError:
                text = redact(line.decode(errors="replace")[:200])
                log.debug("claude wrote a line that is not JSON: %s", text)
                continue
            if isinstance(frame, dict):
                yield frame

    # -- a turn -------------------------------------------------------------------------------

    async def turn(self, prompt: str | list[dict[str, Any]], *, first: bool) -> AsyncIterator[Event]:
        """One prompt to its Result; every call metered on the way."""
        state = Turn(time.monotonic())
        self._turns += 1
        try:
            self.guard.check(self.meter.spent(), Decimal(0))
        except BudgetExceeded as exc:
            yield self._opening_init()
            yield self._ended(exc, state)
            return
        proc = self.proc
        if proc is None or proc.returncode is not None:
            proc = await self._start()
        self._send(user_message(prompt))
        finished = False
        try:
            async for frame in self._frames(proc):
                kind = frame.get("type")
                if kind == "control_request":
                    self._refuse(frame)
                    continue
                if kind == "control_response":
                    continue
                sink = self._hook_sink()
                if (
                    kind == "system"
                    and str(frame.get("subtype", "")).startswith("hook_")
                    and sink is not None
                ):
                    sink(frame)
                    continue
                if kind == "system" and frame.get("subtype") == "init":
                    if frame.get("session_id"):
                        self._adopt(str(frame["session_id"]))
                    if state.init_sent:
                        continue
                elif not state.init_sent and kind != "result":
                    yield self._opening_init()
                    state.init_sent = True
                    for notice in self._notices(first):
                        yield notice
                if kind == "result":
                    for event in await self._meter_all(self.reader.flush()):
                        yield event
                    # Calls claude made and never showed (a subagent's): from its own totals.
                    for event in await self._meter_all(self._unreported.gaps(frame, self.session_id)):
                        yield event
                    if not state.init_sent:
                        yield self._opening_init()
                    finished = True
                    if frame.get("subtype") == "error_max_budget_usd":
                        # claude's own cap (the second stop) ended it: report thrifty's ending.
                        cap = self.options.max_budget_usd
                        yield self._ended(BudgetExceeded(f"Reached maximum budget (${cap})"), state)
                    else:
                        yield self._result(frame, state)
                    return
                try:
                    for event in self.reader.read(frame):
                        if isinstance(event, ApiUsage):
                            state.calls += 1
                            for metered in await self._meter_all([event]):
                                yield metered
                            self.guard.check(self.meter.spent(), Decimal(0))
                        else:
                            yield event
                            if event.kind == "rate_limit":
                                for warning in self._check_windows():
                                    yield BillingNotice(self.session_id, warning)
                    if kind == "system" and frame.get("subtype") == "init" and not state.init_sent:
                        state.init_sent = True
                        for notice in self._notices(first):
                            yield notice
                except BudgetExceeded as exc:
                    async for event in self._stop_for_budget(proc):
                        yield event
                    finished = True
                    yield self._ended(exc, state)
                    return
            # stdout ended without a result: claude died.
            await self.stop(grace=2.0)
            for event in await self._meter_all(self.reader.abandon()):
                yield event
            if not state.init_sent:
                yield self._opening_init()
            finished = True
            yield self._died(proc, state)
        finally:
            if not finished and self.proc is not None:
                # The caller stopped reading mid-turn: this process is mid-answer, so end it; a
                # later turn starts a fresh one that resumes the conversation.
                self.interrupt()
                await self.stop(grace=2.0)
                for usage in self.reader.abandon():
                    self._unreported.add(usage)
                    self.meter.record(usage)

    def _adopt(self, session_id: str) -> None:
        """claude's own session id (``--continue`` and forks learn it only from ``init``)."""
        if session_id != self.session_id:
            self.session_id = session_id
            self.reader.session_id = session_id
            self.meter.context = replace(self.meter.context, session_id=session_id)

    def _refuse(self, frame: Mapping[str, Any]) -> None:
        """claude asked us something (no callbacks are registered in plan runs): say no."""
        self._send(
            {
                "type": "control_response",
                "response": {
                    "subtype": "error",
                    "request_id": frame.get("request_id"),
                    "error": "thrifty plan runs do not answer control requests",
                },
            }
        )

    async def _meter_all(self, usages: list[ApiUsage]) -> list[Event]:
        """Record each call durably (off the event loop: the ledger's writer thread), in order."""
        out: list[Event] = []
        for usage in usages:
            self._unreported.add(usage)
            row = await self.meter.record_async(usage)
            out.append(replace(usage, cost=row.cost_usd))
            out.extend(BillingNotice(self.session_id, p) for p in self.meter.problems)
            self.meter.problems.clear()
        return out

    def _check_windows(self) -> list[str]:
        return self.guard.check_windows(from_headers(self.reader.rate_limits, now=datetime.now(UTC)))

    def _notices(self, first: bool) -> list[Event]:
        events: list[Event] = []
        if first:
            events.extend(BillingNotice(self.session_id, w) for w in self.billing.warnings())
        events.extend(BillingNotice(self.session_id, p) for p in self.meter.problems)
        self.meter.problems.clear()
        return events

    def _opening_init(self) -> SystemInit:
        """This turn's ``system/init``: claude's latest, else what thrifty knows of the run."""
        if self.reader.init is not None:
            return replace(self.reader.system_init(self.reader.init), uuid=str(uuid.uuid4()))
        return SystemInit(
            self.session_id,
            str(self.options.cwd),
            self.model,
            [],
            self.permission_mode or "default",
            "none",
            __version__,
            self.billing.describe(),
        )

    async def _stop_for_budget(self, proc: asyncio.subprocess.Process) -> AsyncIterator[Event]:
        """Interrupt claude and meter whatever it still reports until its result (or terminate)."""
        self.interrupt()
        deadline = time.monotonic() + STOP_GRACE_S
        ended = False

        async def drain() -> None:
            nonlocal ended
            async for frame in self._frames(proc):
                if frame.get("type") == "result":
                    ended = True
                    return
                if frame.get("type") in ("stream_event", "assistant", "rate_limit_event"):
                    for usage in self.reader.read(frame):
                        if isinstance(usage, ApiUsage):
                            pending.append(usage)

        pending: list[ApiUsage] = []
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(drain(), max(0.1, deadline - time.monotonic()))
        pending.extend(self.reader.flush())
        if not ended:
            await self.stop(grace=1.0)
            pending.extend(self.reader.abandon())
        for event in await self._meter_all(pending):
            yield event

    # -- results ------------------------------------------------------------------------------

    def _result(self, frame: Mapping[str, Any], state: Turn) -> Result:
        return from_claude(frame, state, self.session_id, money(self.meter, self.billing))

    def _ended(self, exc: BudgetExceeded, state: Turn) -> Result:
        return self._thrifty_result(ending_for(exc), str(exc), state)

    def _died(self, proc: asyncio.subprocess.Process, state: Turn) -> Result:
        reason = f"claude exited with status {proc.returncode} before its result"
        if self._last_stderr:
            reason += f": {self._last_stderr[:300]}"
        return self._thrifty_result(CLAUDE_DIED, reason, state)

    def _thrifty_result(self, ending: Ending, text: str, state: Turn) -> Result:
        return from_ending(ending, text, state, self.session_id, money(self.meter, self.billing))
