"""A conversation: one history, one client, one meter and one transcript over successive prompts.

``thrifty -p`` is a session of one prompt; the SDK's ``Client`` and ``--input-format stream-json``
feed it more. Each prompt is a turn that yields ``SystemInit`` … ``Result`` (the loop in
``loop.AgentRun``); the running totals on each Result are the session's, as in Claude Code.

A turn runs in a task of its own so that ``interrupt()`` can cancel it wherever it waits (a
stream, a tool, a hook); the loop turns that cancellation into an interrupted Result and leaves
the history in a shape the API accepts, so the next prompt simply goes on.

A plan run (``prepared.billing.claude`` set) runs every turn through one long-lived ``claude``
process instead (``via_claude``): claude keeps the conversation and its transcript, so thrifty
neither resolves nor writes one, and ``resume`` goes straight to claude.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import uuid
from collections.abc import AsyncIterator, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty.agent.caller import Caller
from thrifty.agent.commands.turn import CommandFailed, annotate_init, refused_turn, start_command_turn
from thrifty.agent.compact import manual_request, settings_for
from thrifty.agent.loop import AgentRun
from thrifty.agent.options import AgentOptions, resolve_model
from thrifty.agent.setup import prepare
from thrifty.agent.toolrun import AskHandler
from thrifty.agent.transcripts import (
    TranscriptWriter,
    as_blocks,
    find_transcript,
    fork_transcript,
    interrupted_result,
    latest_session,
    load_messages,
)
from thrifty.agent.validate import SetupError, check_mode_switch, validate
from thrifty.billing.estimate import RequestSizer
from thrifty.core.events import Event, SystemInit

if TYPE_CHECKING:
    import anthropic

    from thrifty.agent.via_claude import ClaudeProcess
    from thrifty.mcp.servers import McpServers

INTERRUPTED = "[Request interrupted by user]"
#: Where MCP servers are discovered when ``setting_sources`` is None (``thrifty.mcp.config``).
MCP_SOURCES = ("user", "project", "local")


@dataclasses.dataclass(frozen=True)
class McpInit(SystemInit):
    """``SystemInit`` with the session's MCP servers and their statuses in ``mcp_servers``."""

    mcp_servers: tuple[dict[str, Any], ...] = ()

    def to_frame(self) -> dict[str, Any]:
        frame = super().to_frame()
        frame["mcp_servers"] = [dict(entry) for entry in self.mcp_servers]
        return frame


def _resolve_history(options: AgentOptions) -> tuple[str, list[dict[str, Any]]]:
    """The session id this run writes under, and the history it starts from."""
    cwd = options.cwd.resolve()
    source: str | None = options.resume
    if options.continue_conversation:
        source = latest_session(cwd, options.environ)
        if source is None:
            raise SetupError(f"No conversation found to continue in {cwd}")
    if source is None:
        session_id = options.session_id or str(uuid.uuid4())
        if options.persist_session and _exists(session_id, cwd, options):
            raise SetupError(f"Session ID {session_id} is already in use; resume it with --resume")
        return session_id, []
    try:
        path = find_transcript(source, cwd, options.environ)
    except ValueError as exc:
        raise SetupError(str(exc)) from exc
    if path is None:
        raise SetupError(f"No conversation found with session ID: {source}")
    history = load_messages(path)
    if not options.fork_session:
        return source, history
    new_id = options.session_id or str(uuid.uuid4())
    if options.persist_session:
        fork_transcript(path, new_id, cwd, options.environ)
    return new_id, history


def _exists(session_id: str, cwd: Path, options: AgentOptions) -> bool:
    try:
        return find_transcript(session_id, cwd, options.environ) is not None
    except ValueError as exc:
        raise SetupError(str(exc)) from exc


class _NoCaller:
    """A plan session's ``caller``: claude makes the calls, so nothing may come this way."""

    def call(self, params: dict[str, Any]) -> AsyncIterator[Any]:
        raise RuntimeError("plan runs make their calls through claude")


class Session:
    """Setup mistakes (and an unknown ``resume`` id) raise ``SetupError`` before any request."""

    def __init__(
        self,
        options: AgentOptions,
        *,
        client: anthropic.AsyncAnthropic | None = None,
        ask: AskHandler | None = None,
        caller: Caller | None = None,
    ) -> None:
        # The front ends have checked already, in their own spelling; this is for callers that
        # build AgentOptions themselves, so no rule depends on which door a run came in by.
        validate(options)
        self.options = options
        self.prepared = prepare(options, client=client, history=_resolve_history)
        session_id = self.prepared.session_id
        self.options = dataclasses.replace(options, session_id=session_id)
        self.ask = ask
        self.meter = self.prepared.billing.meter(session_id, options.tags)
        self.guard = self.prepared.billing.guard(options.max_budget_usd, model=lambda: self.prepared.model)
        #: The newest plan-window headers; a later turn starts from them.
        self.rate_limits: dict[str, str] = {}
        #: Kept across prompts, so the budget estimate of a long conversation serialises only the
        #: new messages, not the whole history again.
        self.sizer = RequestSizer()
        #: When and how the history is summarised (``agent.compact``); read once.
        self.compaction = settings_for(options, self.prepared)
        self.transcript: TranscriptWriter | None = None
        #: Plan runs: the session's ``claude`` (started by the first turn).
        self.claude: ClaudeProcess | None = None
        self.messages: list[dict[str, Any]] = self.prepared.history
        if self.prepared.billing.claude is not None:
            from thrifty.agent.via_claude import check_plan_options  # API runs never load it

            try:
                check_plan_options(options, ask=ask, client=client or caller)
            except SetupError:
                self.prepared.billing.close()
                raise
            self.claude = self._claude_process()
            self.caller: Caller = _NoCaller()
        else:
            #: How every request of every turn reaches the model: the live client unless given one
            #: (the fast path's ``WireClient``, or the official client when one was given or asked for).
            if caller is None:
                # Here, not at the top: plan runs never load the API client.
                from thrifty.agent.model import FastCaller, ModelCaller

                if self.prepared.wire is not None:
                    caller = FastCaller.from_options(self.prepared.wire, session_id, self.options)
                else:
                    assert self.prepared.client is not None
                    caller = ModelCaller.from_options(self.prepared.client, session_id, self.options)
            self.caller = caller
        if options.persist_session and self.claude is None:
            self.transcript = TranscriptWriter.open(options.cwd.resolve(), session_id, options.environ)
            self.prepared.hooks.transcript_path = str(self.transcript.path)
        self.turn_count = 0
        self._task: asyncio.Task[None] | None = None
        self._interrupting = False
        self._closed = False
        self._claude_turn = False
        #: Notes on ``.mcp.json`` servers left out (not approved), for the front end to show.
        self.mcp_notes: list[str] = []
        #: The MCP servers (None when none are configured); started by the first turn.
        self.mcp: McpServers | None = self._mcp_servers()
        self._mcp_base: tuple[Any, list[dict[str, Any]]] | None = None

    def _claude_process(self) -> ClaudeProcess:
        from thrifty.agent.via_claude import ClaudeProcess

        claude = self.prepared.billing.claude
        assert claude is not None
        new_id = self.prepared.claude_session_id
        if new_id is None and not (self.options.resume or self.options.continue_conversation):
            new_id = self.prepared.session_id
        return ClaudeProcess(
            claude,
            self.options,
            billing=self.prepared.billing,
            meter=self.meter,
            guard=self.guard,
            session_id=self.prepared.session_id,
            new_session_id=new_id,
            hooks=self.prepared.hooks,
        )

    # -- MCP servers ------------------------------------------------------------------------

    def _mcp_servers(self) -> McpServers | None:
        """``mcp_servers``, and those of Claude Code's config files (not with bare or strict)."""
        o, cwd = self.options, self.prepared.ctx.cwd
        if self.claude is not None:
            return None
        sources: Sequence[str] = MCP_SOURCES if o.setting_sources is None else o.setting_sources
        if o.bare or o.strict_mcp_config:
            sources = ()
        found: dict[str, Any] = {}
        if sources:
            from thrifty.mcp.config import Approvals, discover

            layers = self.prepared.settings.raw_layers
            found, self.mcp_notes = discover(
                cwd,
                home=Path.home(),
                environ=o.environ,
                sources=sources,
                approvals=lambda: Approvals.from_layers(layer.data for layer in layers),
            )
        if self.prepared.plugins is not None and not (o.bare or o.strict_mcp_config):
            from thrifty.agent.plugins import plugin_mcp_servers

            found = {**plugin_mcp_servers(self.prepared.plugins), **found}
        if not (o.mcp_servers or found):
            return None
        from thrifty.mcp.servers import McpServers

        servers = McpServers(
            o.mcp_servers,
            cwd=cwd,
            environ=self.prepared.ctx.env or o.environ,
            transport_for=o.mcp_transport_for,
            discovered=found,
        )
        servers.on_change = self._mcp_tools_changed
        return servers if servers else None

    async def start_mcp(self) -> None:
        """Start the MCP servers (once) and offer their tools from the next request on."""
        if self.mcp is not None:
            await self.mcp.start()
            self._mcp_tools_changed()

    def _mcp_tools_changed(self) -> None:
        """Rebuild the tool table and definitions: the session's own, then the MCP servers'."""
        from thrifty.tools import registry, structured

        assert self.mcp is not None
        if self._mcp_base is None:
            self._mcp_base = (self.prepared.tools, list(self.prepared.tool_defs))
        base, defs = self._mcp_base
        policy = self.prepared.policy
        found = [t for t in self.mcp.tools() if t.name not in base and not policy.is_hidden(t.name)]
        builtin = [name for name in base if name in registry.SPECS]
        own = [base[name] for name in base if name not in registry.SPECS]
        self.prepared.tools = registry.ToolTable(builtin, [*own, *found])
        last = [d for d in defs if d.get("name") == structured.NAME]
        first = [d for d in defs if d.get("name") != structured.NAME]
        self.prepared.tool_defs = [*first, *(t.definition() for t in found), *last]

    def _with_mcp(self, event: Event) -> Event:
        if self.mcp is None or not isinstance(event, SystemInit):
            return event
        fields = {f.name: getattr(event, f.name) for f in dataclasses.fields(event) if f.init}
        return McpInit(**fields, mcp_servers=tuple(self.mcp.init_entries()))

    @property
    def session_id(self) -> str:
        if self.claude is not None:
            return self.claude.session_id
        return self.prepared.session_id

    @property
    def model(self) -> str:
        return self.prepared.model

    @property
    def permission_mode(self) -> str:
        return self.prepared.policy.mode

    @property
    def running(self) -> bool:
        return self._task is not None and not self._task.done()

    # -- history ----------------------------------------------------------------------------

    def append(self, message: dict[str, Any], **extra: Any) -> None:
        """Add a message to the history and the transcript. A user message that follows a user
        message (the prompt after an interrupted call) is merged, since turns must alternate; so is
        the continuation of an assistant message that paused (``pause_turn``), in a new dict."""
        if message["role"] == "user" and self.messages and self.messages[-1]["role"] == "user":
            last = self.messages[-1]
            last["content"] = as_blocks(last["content"]) + as_blocks(message["content"])
        elif message["role"] == "assistant" and self.messages and self.messages[-1]["role"] == "assistant":
            last = self.messages[-1]
            merged = as_blocks(last["content"]) + as_blocks(message["content"])
            self.messages[-1] = {**last, "content": merged}
        else:
            self.messages.append(message)
        if self.transcript is not None:
            self.transcript.record(message, **extra)

    def repair_after_interrupt(self) -> None:
        """Answer tool calls that never ran and note the interruption, as Claude Code does."""
        last = self.messages[-1] if self.messages else None
        if last is not None and last["role"] == "assistant":
            calls = [b for b in last["content"] if isinstance(b, dict) and b.get("type") == "tool_use"]
            if calls:
                results = [interrupted_result(str(c.get("id"))) for c in calls]
                self.append({"role": "user", "content": results})
                return
        if last is not None and last["role"] == "user":
            self.append({"role": "user", "content": INTERRUPTED})

    # -- control ----------------------------------------------------------------------------

    def set_model(self, model: str | None) -> str:
        """Takes effect from the next request; ``None`` or ``"default"`` restores the option's model.

        Under a budget cap, a model with no known price is refused (``UnpricedModel``, a
        ``ValueError``) and the model stays as it was: that cap could not be checked.
        """
        chosen = self.options.model if model in (None, "default") else str(model)
        resolved = resolve_model(chosen)
        self.guard.require_price(resolved)
        self.prepared.model = resolved
        if self.claude is not None:
            self.claude.set_model(resolved)
        return self.prepared.model

    def set_permission_mode(self, mode: str) -> str:
        """Raises ValueError for an unknown mode, or bypass when settings (or root) forbid it."""
        check_mode_switch(mode, self.options.environ)
        self.prepared.policy.set_mode(mode)
        self.prepared.hooks.permission_mode = self.prepared.policy.mode
        if self.claude is not None:
            self.claude.set_permission_mode(self.prepared.policy.mode)
        return self.prepared.policy.mode

    def interrupt(self) -> bool:
        """Stop the running turn where it waits; it still ends in a Result. False if none runs."""
        if self.claude is not None:
            return self._claude_turn and self.claude.interrupt()
        task = self._task
        if task is None or task.done():
            return False
        self._interrupting = True
        task.cancel()
        return True

    def take_interrupt(self) -> bool:
        """Called by the loop on cancellation: was it ``interrupt()`` (go on) or a real cancel?"""
        if not self._interrupting:
            return False
        self._interrupting = False
        task = asyncio.current_task()
        if task is not None:
            task.uncancel()
        return True

    # -- turns ------------------------------------------------------------------------------

    async def turn(
        self, prompt: str | list[dict[str, Any]], *, commands: bool = True
    ) -> AsyncIterator[Event]:
        """Run one prompt to its Result. Turns of one session run one at a time. A prompt that
        begins with ``/name`` runs that slash command (unless ``commands`` is False)."""
        if self._closed:
            raise RuntimeError("the session is closed")
        if self.running:
            raise RuntimeError("a turn is already running in this session; wait for its Result")
        self.turn_count += 1
        if self.claude is None and self.prepared.billing.claude is not None:
            self.claude = self._claude_process()  # billing became a plan run after setup
        if self.claude is not None:
            if self._claude_turn:
                raise RuntimeError("a turn is already running in this session; wait for its Result")
            self._claude_turn = True
            try:
                async for item in self.claude.turn(prompt, first=self.turn_count == 1):
                    yield item
            finally:
                self._claude_turn = False
            return
        await self.start_mcp()
        queue: asyncio.Queue[Event | None] = asyncio.Queue()
        run = AgentRun(self, first=self.turn_count == 1, caller=self.caller)
        manual = manual_request(prompt) if commands else None
        if manual is not None:
            run.manual_compact = manual  # a built-in: no custom command of that name runs
        try:
            prompt, scope = await start_command_turn(
                self.prepared, prompt, enabled=commands and manual is None
            )
        except CommandFailed as exc:
            for ending in refused_turn(run, str(exc)):
                yield annotate_init(ending, self.prepared.commands, self.prepared.plugins)
            return

        async def pump() -> None:
            try:
                async for event in run.run(prompt):
                    queue.put_nowait(self._with_mcp(event))
            finally:
                queue.put_nowait(None)

        self._interrupting = False
        task = self._task = asyncio.create_task(pump())
        try:
            while (event := await queue.get()) is not None:
                yield annotate_init(event, self.prepared.commands, self.prepared.plugins)
            await task  # re-raises a crash of the loop itself
        finally:
            if not task.done():
                self._interrupting = False
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            self._task = None
            scope.close()

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self.running:
            assert self._task is not None
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.prepared.ctx.aclose()  # background shells die with the session
        if self.claude is not None:
            await self.claude.stop()
        if self.mcp is not None:
            await self.mcp.close()
        if self.transcript is not None:
            self.transcript.close()
        self.prepared.billing.close()
        if self.prepared.owns_client and self.prepared.client is not None:
            await self.prepared.client.close()
        if self.prepared.wire is not None:
            await self.prepared.wire.close()

    async def __aenter__(self) -> Session:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()


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
