"""``--input-format stream-json``: a session fed NDJSON on stdin, as the official Agent SDK drives it.

stdin carries ``user`` messages (each queued prompt becomes a turn with its own ``system/init`` …
``result``) and the control protocol: requests from the host (``initialize``, ``interrupt``,
``set_permission_mode``, ``set_model``, ``mcp_status``, ``mcp_reconnect``, ``mcp_toggle``),
answers to the CLI's own requests (``control_response``) and withdrawals
(``control_cancel_request``). stdout carries the same frames as ``-p --output-format
stream-json``, plus control frames, through one writer.

Lines that are not JSON objects are reported on stderr and skipped; unknown message types are
skipped with a debug log. On stdin EOF the queued turns finish, then the process exits with the
last result's code (0, 1 for an error, 75 for a rate limit), as ``-p`` would. ``shouldQuery:
false`` adds the message to the history without a turn.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import os
import sys
import uuid
from collections.abc import Mapping
from typing import Any, BinaryIO, TextIO

from thrifty import __version__
from thrifty.agent.options import MODEL_ALIASES, AgentOptions
from thrifty.agent.permissions.updates import apply_permission_updates
from thrifty.agent.session import Session
from thrifty.agent.subagents import AgentConfigError, parse_agents
from thrifty.agent.validate import SetupError
from thrifty.cli.control import (
    ControlChannel,
    ControlError,
    FrameWriter,
    SessionStates,
    hook_callbacks_from,
    make_ask_handler,
)
from thrifty.cli.render import frames
from thrifty.cli.sdk_mcp import control_transports
from thrifty.cli.stdin_lines import LINE_LIMIT, LineFramer, read_chunks
from thrifty.core.events import CLAUDE_CODE_COMPAT_VERSION, Event, Result

log = logging.getLogger("thrifty.stream")


@dataclasses.dataclass(frozen=True)
class Prompt:
    content: str | list[dict[str, Any]]
    #: False: add to the history without running a turn (``shouldQuery: false``).
    should_query: bool = True
    #: The stdin message as sent, echoed back under ``--replay-user-messages``.
    raw: dict[str, Any] = dataclasses.field(default_factory=dict)


def _models() -> list[dict[str, Any]]:
    return [
        {"value": alias, "resolvedModel": model, "displayName": alias.capitalize(), "description": model}
        for alias, model in MODEL_ALIASES.items()
    ]


class StreamInput:
    """One process's stream-json session: stdin reader, turn worker and control handlers."""

    def __init__(
        self,
        options: AgentOptions,
        *,
        permission_prompt: bool = False,
        mcp_servers: Mapping[str, dict[str, Any]] | None = None,
        replay_user_messages: bool = False,
        include_hook_events: bool = False,
        stdin: BinaryIO | None = None,
        out: BinaryIO | None = None,
        err: TextIO | None = None,
    ) -> None:
        self.options = options
        self.permission_prompt = permission_prompt
        self.replay_user_messages = replay_user_messages
        self.include_hook_events = include_hook_events
        self.stdin = stdin if stdin is not None else sys.stdin.buffer
        self.err = err if err is not None else sys.stderr
        self.writer = FrameWriter(out)
        self.channel = ControlChannel(self.writer)
        self.states = SessionStates(self.writer, self._session_id, options.environ)
        #: ``--mcp-config`` servers: the session starts them (SDK ones through ``self.channel``).
        self.mcp_servers = {**options.mcp_servers, **{n: dict(c) for n, c in (mcp_servers or {}).items()}}
        self.queue: asyncio.Queue[Prompt | None] = asyncio.Queue()
        #: Prompts in the queue (the queue also ends with the EOF marker).
        self._queued = 0
        self.session: Session | None = None
        #: The exit code of the last result (0 before any): 1 for an error, 75 for a rate limit.
        self.last_exit_code = 0
        self._session_task: asyncio.Task[Session] | None = None
        self._hook_config: Any = None
        self._initialized = False
        self._handlers: dict[str, asyncio.Task[None]] = {}
        self._line_no = 0
        self._fatal: asyncio.Future[BaseException] | None = None
        #: The worker took a prompt and its turn has not started yet; an interrupt then waits.
        self._starting = False
        self._interrupt_next = False

    # -- plumbing -------------------------------------------------------------------------------

    def _session_id(self) -> str:
        return self.session.session_id if self.session is not None else self.options.session_id or ""

    def _warn(self, message: str) -> None:
        self.err.write(f"thrifty: {message}\n")
        self.err.flush()

    def _set_fatal(self, exc: BaseException) -> None:
        if self._fatal is not None and not self._fatal.done():
            self._fatal.set_result(exc)

    async def run(self) -> int:
        """Serve until stdin ends and the queued turns are done; the exit code."""
        fatal = self._fatal = asyncio.get_running_loop().create_future()
        reader = asyncio.create_task(self._read())
        worker = asyncio.create_task(self._work())
        try:
            waiting: set[asyncio.Future[Any]] = {worker, fatal}
            await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if fatal.done():
                raise fatal.result()
            worker.result()
        finally:
            tasks = [reader, worker, *self._handlers.values()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            self.channel.close()
            if self._session_task is not None and not self._session_task.done():
                self._session_task.cancel()
            if self.session is not None:
                await self.session.close()
        return self.last_exit_code

    async def _read(self) -> None:
        framer = LineFramer()
        try:
            async for chunk in read_chunks(self.stdin):
                for line in framer.push(chunk):
                    self._on_line(line)
            tail = framer.flush()
            if tail:
                self._on_line(tail)
        finally:
            # Nothing can answer the CLI's requests any more; the queued turns still run.
            self.channel.close()
            self.queue.put_nowait(None)

    # -- the session ---------------------------------------------------------------------------

    async def ensure_session(self) -> Session:
        """The session, built once: after the SDK MCP handshake and the ``initialize`` hooks."""
        if self._session_task is None:
            self._session_task = asyncio.create_task(self._open_session())
        return await asyncio.shield(self._session_task)

    async def _open_session(self) -> Session:
        callbacks: dict[str, list[Any]] = {k: list(v) for k, v in self.options.hook_callbacks.items()}
        for event, entries in hook_callbacks_from(self._hook_config, self.channel).items():
            callbacks.setdefault(event, []).extend(entries)
        options = dataclasses.replace(
            self.options,
            hook_callbacks=callbacks,
            mcp_servers=self.mcp_servers,
            mcp_transport_for=control_transports(self.channel),
        )
        ask = (
            make_ask_handler(
                self.channel,
                self.states,
                self._apply_permission_updates,
                lambda: self.session.prepared.policy if self.session is not None else None,
            )
            if self.permission_prompt
            else None
        )
        session = Session(options, ask=ask)
        if self.include_hook_events:
            session.prepared.hooks.on_event = self.writer.write
        try:
            await session.start_mcp()
        except BaseException:
            await session.close()
            raise
        for line in [*session.mcp_notes, *(session.mcp.problems() if session.mcp is not None else [])]:
            self._warn(line)
        self.session = session
        return session

    def _apply_permission_updates(self, updates: list[Any]) -> None:
        """The ``updatedPermissions`` of an allow answer, applied as the SDK applies its own."""
        if self.session is not None:
            for skipped in apply_permission_updates(self.session, updates):
                log.debug("%s", skipped)

    def _emit(self, event: Event) -> None:
        for frame in frames(event, include_partial=self.options.include_partial_messages):
            self.writer.write(frame)

    async def _work(self) -> None:
        while (prompt := await self.queue.get()) is not None:
            self._queued -= 1
            self._starting, self._interrupt_next = prompt.should_query, False
            session = await self.ensure_session()
            if self.replay_user_messages:
                self._replay(prompt.raw, session.session_id)
            if not prompt.should_query:
                session.append({"role": "user", "content": prompt.content})
                continue
            self.states.emit("running")
            # ``client_composed``: the host built the text itself; no slash-command dispatch.
            commands = prompt.raw.get("client_composed") is not True
            async for event in session.turn(prompt.content, commands=commands):
                if self._starting:
                    self._starting = False
                    if self._interrupt_next:
                        self._interrupt_next = False
                        session.interrupt()
                self._emit(event)
                if isinstance(event, Result):
                    self.last_exit_code = event.exit_code
            if self._queued == 0:
                self.states.emit("idle")

    def _replay(self, message: dict[str, Any], session_id: str) -> None:
        """Claude Code's ``--replay-user-messages``: the host sees which message a turn consumed."""
        frame = {"parent_tool_use_id": None, **message, "session_id": session_id, "isReplay": True}
        frame.setdefault("uuid", str(uuid.uuid4()))
        self.writer.write(frame)

    # -- stdin lines -------------------------------------------------------------------------------

    def _malformed(self, reason: str) -> None:
        self._warn(f"ignoring malformed input line {self._line_no}: {reason}")

    def _on_line(self, raw: bytes | None) -> None:
        self._line_no += 1
        if raw is None:
            self._malformed(f"longer than {LINE_LIMIT} bytes")
            return
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            self._malformed("not valid UTF-8")
            return
        if not text.strip():
            return
        try:
            message = json.loads(text)
        except json.JSONDecodeError as exc:
            self._malformed(f"not valid JSON ({exc.msg} at column {exc.colno})")
            return
        if not isinstance(message, dict):
            self._malformed(f"a JSON {type(message).__name__}, not an object")
            return
        kind = message.get("type")
        if kind == "user":
            self._on_user(message)
        elif kind == "control_request":
            self._on_control_request(message)
        elif kind == "control_response":
            self.channel.resolve(message)
        elif kind == "control_cancel_request":
            task = self._handlers.pop(str(message.get("request_id")), None)
            if task is not None:
                task.cancel()
        else:
            log.debug("skipping stdin message of type %r", kind)

    def _on_user(self, message: dict[str, Any]) -> None:
        body = message.get("message")
        content = body.get("content") if isinstance(body, dict) else None
        valid_blocks = isinstance(content, list) and all(isinstance(b, dict) for b in content)
        if not content or not (isinstance(content, str) or valid_blocks):
            self._malformed("a user message needs message.content: a non-empty string or list of blocks")
            return
        self._queued += 1
        self.queue.put_nowait(Prompt(content, message.get("shouldQuery") is not False, message))

    # -- control requests from the host -------------------------------------------------------

    def _on_control_request(self, message: dict[str, Any]) -> None:
        request_id, request = message.get("request_id"), message.get("request")
        if not isinstance(request_id, str) or not isinstance(request, dict):
            self._malformed("a control_request needs a string request_id and a request object")
            return
        task = asyncio.create_task(self._answer(request_id, request))
        self._handlers[request_id] = task

        def done(finished: asyncio.Task[None]) -> None:
            if self._handlers.get(request_id) is finished:
                del self._handlers[request_id]

        task.add_done_callback(done)

    async def _answer(self, request_id: str, request: dict[str, Any]) -> None:
        subtype = request.get("subtype")
        try:
            response = await self._handle(str(subtype), request)
        except Exception as exc:
            error = {"subtype": "error", "request_id": request_id, "error": str(exc) or type(exc).__name__}
            self.writer.write({"type": "control_response", "response": error})
            if isinstance(exc, SetupError):
                self._set_fatal(exc)
            return
        success = {"subtype": "success", "request_id": request_id, "response": response}
        self.writer.write({"type": "control_response", "response": success})
        if subtype == "set_permission_mode":
            self.writer.write(
                {
                    "type": "system",
                    "subtype": "status",
                    "status": None,
                    "permissionMode": response["mode"],
                    "session_id": self._session_id(),
                    "uuid": str(uuid.uuid4()),
                }
            )

    async def _handle(self, subtype: str, request: dict[str, Any]) -> dict[str, Any]:
        if subtype == "initialize":
            return await self._initialize(request)
        if subtype == "interrupt":
            running = self.session is not None and self.session.interrupt()
            if not running and self._starting:
                self._interrupt_next = True
            return {"still_queued": []}
        if subtype == "set_permission_mode":
            mode = request.get("mode")
            if not isinstance(mode, str):
                raise ValueError("set_permission_mode needs a mode")
            session = await self.ensure_session()
            return {"mode": session.set_permission_mode(mode)}
        if subtype == "set_model":
            model = request.get("model")
            if model is not None and not isinstance(model, str):
                raise ValueError("set_model needs a model name or null")
            session = await self.ensure_session()
            return {"model": session.set_model(model)}
        if subtype in ("mcp_status", "mcp_reconnect", "mcp_toggle"):
            return await self._mcp(subtype, request)
        if subtype == "get_context_usage":
            from thrifty.agent.context_usage import context_usage

            return context_usage(await self.ensure_session())
        raise ControlError(f"Unsupported control request subtype: {subtype}")

    async def _mcp(self, subtype: str, request: dict[str, Any]) -> dict[str, Any]:
        """``mcp_status``; ``mcp_reconnect`` and ``mcp_toggle`` (``serverName``, ``enabled``)."""
        from thrifty.mcp import control

        servers = (await self.ensure_session()).mcp
        if subtype == "mcp_status":
            return control.mcp_status(servers)
        if subtype == "mcp_reconnect":
            await control.mcp_reconnect(servers, request.get("serverName"))
        else:
            await control.mcp_toggle(servers, request.get("serverName"), request.get("enabled"))
        return {}

    def _take_agents(self, raw: Any) -> None:
        """The SDK's ``agents`` (sent in ``initialize``), over ``--agents`` of the same name."""
        try:
            agents = parse_agents(raw, "sdk")
        except AgentConfigError as exc:
            raise ControlError(str(exc)) from None
        if self._session_task is not None:
            self._warn("agents sent with initialize after the first prompt are ignored")
            return
        self.options = dataclasses.replace(self.options, agents={**self.options.agents, **agents})

    async def _initialize(self, request: dict[str, Any]) -> dict[str, Any]:
        if self._initialized:
            raise ControlError("Already initialized")
        self._initialized = True
        hooks = request.get("hooks")
        if self._session_task is None:
            self._hook_config = hooks
        elif hooks:
            self._warn("hooks sent with initialize after the first prompt are ignored")
        if request.get("agents") is not None:
            self._take_agents(request["agents"])
        if isinstance(request.get("skills"), list) and self._session_task is None:
            self.options = dataclasses.replace(self.options, skills=[str(s) for s in request["skills"]])
        for key in ("systemPrompt", "appendSystemPrompt", "jsonSchema"):
            if request.get(key):
                log.debug("initialize %s is not supported; ignored", key)
        session = await self.ensure_session()
        return {
            "commands": [c.entry() for c in session.prepared.commands.commands.values()],
            "agents": [agent.summary() for agent in session.prepared.agents.values()],
            "output_style": "default",
            "available_output_styles": ["default"],
            "models": _models(),
            "account": {},
            "pid": os.getpid(),
            "claude_code_version": CLAUDE_CODE_COMPAT_VERSION,
            "thrifty_version": __version__,
            "current_permission_mode": session.permission_mode,
        }


async def run_stream(
    options: AgentOptions,
    *,
    permission_prompt: bool,
    mcp_servers: Mapping[str, dict[str, Any]] | None = None,
    replay_user_messages: bool = False,
    include_hook_events: bool = False,
) -> int:
    return await StreamInput(
        options,
        permission_prompt=permission_prompt,
        mcp_servers=mcp_servers,
        replay_user_messages=replay_user_messages,
        include_hook_events=include_hook_events,
    ).run()
