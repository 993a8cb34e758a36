"""``thrifty.Client``: a multi-turn conversation, the in-process ``ClaudeSDKClient``.

Prompts go into a queue and run one after another in one session (one history, one meter, one
transcript), so ``query()`` never waits for a running turn; messages come out of another queue,
read with ``receive_response()`` (up to and including the next ``Result``) or
``receive_messages()`` (everything, until ``disconnect()``).

    async with thrifty.Client(thrifty.Options(model="sonnet")) as client:
        await client.query("Read pyproject.toml")
        async for message in client.receive_response():
            ...
        await client.set_model("haiku")
        await client.query("Summarise it in one line")
        async for message in client.receive_response():
            ...
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterable, AsyncIterator
from typing import Any

from thrifty.agent.context_usage import context_usage
from thrifty.agent.session import Session
from thrifty.core.events import Event, Result
from thrifty.mcp import control as mcp_control
from thrifty.sdk.errors import NotConnectedError
from thrifty.sdk.messages import is_visible
from thrifty.sdk.options import Options
from thrifty.sdk.runner import Prompt, open_session, to_prompt

__all__ = ["ClaudeSDKClient", "Client"]


class _Closed:
    """Marks the end of the message stream."""


_CLOSED = _Closed()


class Client:
    def __init__(self, options: Options | None = None) -> None:
        self.options = options if options is not None else Options()
        self._session: Session | None = None
        self._prompts: asyncio.Queue[Prompt] = asyncio.Queue()
        self._out: asyncio.Queue[Event | BaseException | _Closed] = asyncio.Queue()
        self._worker: asyncio.Task[None] | None = None
        self._feeders: set[asyncio.Task[None]] = set()

    # -- lifecycle ------------------------------------------------------------------------------

    async def connect(self, prompt: str | AsyncIterable[Any] | None = None) -> None:
        """Open the session (SetupError for a configuration mistake) and queue ``prompt`` if any."""
        if self._session is not None:
            raise RuntimeError("the client is already connected")
        session = open_session(self.options)
        self._prompts, self._out = asyncio.Queue(), asyncio.Queue()  # fresh after a disconnect
        self._session = session
        self._worker = asyncio.create_task(self._work(), name="thrifty-client")
        if prompt is not None:
            await self.query(prompt)

    async def disconnect(self) -> None:
        """Stop any running turn, drop queued prompts, close the session. Safe to call twice."""
        session, self._session = self._session, None
        if session is None:
            return
        for task in [*self._feeders, *([self._worker] if self._worker else [])]:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._worker = None
        await session.close()
        self._out.put_nowait(_CLOSED)

    async def __aenter__(self) -> Client:
        await self.connect()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.disconnect()

    def _connected(self) -> Session:
        if self._session is None:
            raise NotConnectedError("not connected: call connect() first, or use `async with Client(...)`")
        return self._session

    # -- prompts and messages -------------------------------------------------------------------

    async def query(self, prompt: str | AsyncIterable[Any], session_id: str = "default") -> None:
        """Queue a prompt (or each prompt of a stream); it runs once the turns before it end.

        ``session_id`` is accepted for compatibility and ignored: a client is one session.
        """
        self._connected()
        if isinstance(prompt, str):
            self._prompts.put_nowait(prompt)
            return
        if not isinstance(prompt, AsyncIterable):
            raise TypeError(f"prompt must be a str or an async iterable, not {type(prompt).__name__}")

        async def feed() -> None:
            try:
                async for item in prompt:
                    self._prompts.put_nowait(to_prompt(item))
            except Exception as exc:  # surfaces to the reader rather than vanishing in a task
                self._out.put_nowait(exc)

        task = asyncio.create_task(feed())
        self._feeders.add(task)
        task.add_done_callback(self._feeders.discard)

    async def _work(self) -> None:
        session = self._connected()
        while True:
            prompt = await self._prompts.get()
            try:
                async for event in session.turn(prompt):
                    if is_visible(event):
                        self._out.put_nowait(event)
            except Exception as exc:  # a crash of the loop itself: hand it to the reader
                self._out.put_nowait(exc)

    async def receive_messages(self) -> AsyncIterator[Event]:
        """Every message of every turn, until ``disconnect()``."""
        if self._session is None and self._out.empty():
            self._connected()  # never connected: raise rather than wait forever
        while True:
            item = await self._out.get()
            if isinstance(item, _Closed):
                self._out.put_nowait(item)  # later readers end too
                return
            if isinstance(item, BaseException):
                raise item
            yield item

    async def receive_response(self) -> AsyncIterator[Event]:
        """Messages up to and including the next ``Result``."""
        async for message in self.receive_messages():
            yield message
            if isinstance(message, Result):
                return

    # -- control --------------------------------------------------------------------------------

    async def interrupt(self) -> bool:
        """Stop the running turn where it waits; it still ends in a ``Result`` (subtype
        ``error_during_execution``) and queued prompts go on. False if no turn was running."""
        return self._connected().interrupt()

    async def set_model(self, model: str | None = None) -> str:
        """From the next request on; None restores the options' model. Returns the model id."""
        return self._connected().set_model(model)

    async def set_permission_mode(self, mode: str) -> str:
        """From the next tool call on; ValueError for an unknown mode."""
        return self._connected().set_permission_mode(mode)

    # -- MCP servers and context, as the official client's control requests --------------------

    async def get_mcp_status(self) -> dict[str, Any]:
        """``{"mcpServers": [{name, status, serverInfo?, error?, config, scope, transport, tools?}]}``:
        the CLI's ``mcp_status`` answer, from the same function."""
        session = self._connected()
        await session.start_mcp()
        return mcp_control.mcp_status(session.mcp)

    async def reconnect_mcp_server(self, server_name: str) -> None:
        """Run a server's handshake again (one that failed or died); ValueError if it still
        fails, is disabled or is not configured. New tools apply from the next request."""
        session = self._connected()
        await session.start_mcp()
        await mcp_control.mcp_reconnect(session.mcp, server_name)

    async def toggle_mcp_server(self, server_name: str, enabled: bool) -> None:
        """Disable a server (closed, its tools gone from the next request) or enable and connect
        it again; ValueError for a server that is not configured."""
        session = self._connected()
        await session.start_mcp()
        await mcp_control.mcp_toggle(session.mcp, server_name, enabled)

    async def get_context_usage(self) -> dict[str, Any]:
        """What fills the context window now, in the shape of Claude Code's ``/context``
        (``categories``, ``totalTokens``, ``maxTokens``, ``isAutoCompactEnabled``, ...): the
        CLI's ``get_context_usage`` answer, estimated without a request."""
        return context_usage(self._connected())

    @property
    def session_id(self) -> str | None:
        """The session's id once connected (what ``Options(resume=...)`` takes later)."""
        return self._session.session_id if self._session is not None else None

    async def get_server_info(self) -> dict[str, Any] | None:
        """What the session runs with: id, model, permission mode, tools."""
        session = self._session
        if session is None:
            return None
        return {
            "session_id": session.session_id,
            "model": session.model,
            "permission_mode": session.permission_mode,
            "tools": list(session.prepared.tools),
        }


#: The official SDK's name, for a migration by search and replace.
ClaudeSDKClient = Client
