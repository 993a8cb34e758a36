"""``thrifty.query``: one prompt (or a stream of prompts) through one in-process session, and the
synchronous wrappers ``query_sync`` and ``run_sync``.

No subprocess and no Node: the session is the same ``thrifty.agent.session.Session`` the CLI
runs, in the caller's event loop.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterable, AsyncIterator, Iterator
from typing import Any

from thrifty.agent.session import Session
from thrifty.core.events import Event, Result
from thrifty.sdk.messages import is_visible
from thrifty.sdk.options import Options, build

__all__ = ["Prompt", "open_session", "query", "query_sync", "run_sync", "to_prompt"]

#: A prompt: text, or Messages API content blocks.
Prompt = str | list[dict[str, Any]]


def open_session(options: Options | None) -> Session:
    """A session for these options; SetupError for any configuration mistake, before any request."""
    built = build(options)
    session = Session(built.agent, client=built.client, ask=built.ask)
    if built.ask is not None:
        built.ask.session = session
    return session


def to_prompt(item: Any) -> Prompt:
    """A streamed input item: a str, ``{"type": "user", "message": {"role": "user", "content":
    ...}}`` (the official SDK's stdin line), or ``{"role": "user", "content": ...}``."""
    if isinstance(item, str):
        return item
    if isinstance(item, dict):
        message = item.get("message") if item.get("type") == "user" else item
        if isinstance(message, dict) and message.get("role", "user") == "user":
            content = message.get("content")
            if isinstance(content, str) or (
                isinstance(content, list) and all(isinstance(b, dict) for b in content)
            ):
                return content
    raise ValueError(
        "each streamed prompt must be a str or a user message "
        "{'type': 'user', 'message': {'role': 'user', 'content': ...}}"
    )


async def _prompts(prompt: str | AsyncIterable[Any]) -> AsyncIterator[Prompt]:
    if isinstance(prompt, str):
        yield prompt
        return
    if not isinstance(prompt, AsyncIterable):
        raise TypeError(f"prompt must be a str or an async iterable, not {type(prompt).__name__}")
    async for item in prompt:
        yield to_prompt(item)


async def query(prompt: str | AsyncIterable[Any], options: Options | None = None) -> AsyncIterator[Event]:
    """Run the prompt and yield its messages (see ``thrifty.sdk.messages``), ending in a ``Result``.

    A stream of prompts runs them one after the other in one session, each ending in its own
    ``Result``. Configuration mistakes raise ``SetupError`` on the first iteration, before any
    request; everything that goes wrong later ends the turn in an error ``Result`` instead.
    """
    session = open_session(options)
    try:
        async for item in _prompts(prompt):
            async for event in session.turn(item):
                if is_visible(event):
                    yield event
    finally:
        await session.close()


def _no_running_loop(name: str) -> None:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return
    raise RuntimeError(
        f"thrifty.{name}() cannot be called from a running event loop; "
        "use `async for message in thrifty.query(...)` there"
    )


def query_sync(prompt: str | AsyncIterable[Any], options: Options | None = None) -> Iterator[Event]:
    """``query`` for code without an event loop: a plain iterator over the same messages."""
    _no_running_loop("query_sync")
    return _drive(query(prompt, options))


def _drive(messages: AsyncIterator[Event]) -> Iterator[Event]:
    async def step() -> Event | None:
        try:
            return await anext(messages)
        except StopAsyncIteration:
            return None

    with asyncio.Runner() as runner:
        try:
            while (event := runner.run(step())) is not None:
                yield event
        finally:
            aclose = getattr(messages, "aclose", None)
            if aclose is not None:
                runner.run(aclose())


def run_sync(prompt: str | AsyncIterable[Any], options: Options | None = None) -> Result:
    """Run the prompt to its end and return the (last) ``Result``."""
    _no_running_loop("run_sync")

    async def run() -> Result:
        last: Result | None = None
        async for event in query(prompt, options):
            if isinstance(event, Result):
                last = event
        if last is None:
            raise RuntimeError("the run ended without a Result (no prompt was given)")
        return last

    return asyncio.run(run())
