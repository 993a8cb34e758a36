"""The CLI's half of Claude Code's control protocol: one stdout writer, and requests to the host.

In ``--input-format stream-json`` mode stdin and stdout carry NDJSON both ways. Either side can
send a ``control_request``; the other answers with one ``control_response`` carrying the same
``request_id``, or withdraws it with ``control_cancel_request``. This module holds what the CLI
sends *to* the host (the official Agent SDK, usually):

- ``can_use_tool`` for a permission ask (only with ``--permission-prompt-tool stdio``),
- ``hook_callback`` for the hooks the host registered in ``initialize``,
- ``mcp_message`` for the host's in-process MCP servers (see ``sdk_mcp``).

Requests the host sends to the CLI are answered in ``stream_input``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
import uuid
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Any, BinaryIO

from thrifty.agent.permissions.policy import PermissionPolicy
from thrifty.agent.permissions.suggestions import suggestions
from thrifty.agent.toolrun import AskAnswer, AskHandler, AskRequest
from thrifty.tools import registry

log = logging.getLogger("thrifty.stream")

HookFn = Callable[[dict[str, Any]], Awaitable[dict[str, Any]]]


class ControlError(Exception):
    """The host answered a request with an error, or could not answer it (stdin closed).

    ``str()`` is the host's text alone: the tool runner words a failed permission request as
    ``Tool permission request failed: Error: <text>``, as Claude Code does.
    """


class FrameWriter:
    """The one writer of stdout: each frame is one JSON line, written and flushed at once.

    Every writer runs on the event loop's thread and ``write`` never awaits, so lines cannot
    interleave. A host that went away (broken pipe) silences the writer instead of crashing.
    """

    def __init__(self, out: BinaryIO | None = None) -> None:
        self._out = out if out is not None else sys.stdout.buffer
        self.broken = False

    def write(self, frame: Mapping[str, Any]) -> None:
        if self.broken:
            return
        line = json.dumps(frame, ensure_ascii=False, separators=(",", ":")) + "\n"
        try:
            self._out.write(line.encode("utf-8"))
            self._out.flush()
        except (BrokenPipeError, ValueError):
            # ValueError: stdout was closed under us. Either way nobody reads any more.
            self.broken = True
            log.debug("stdout is gone; dropping further frames")


class ControlChannel:
    """Requests from the CLI to the host, each waiting on a future keyed by a uuid4 request id."""

    def __init__(self, writer: FrameWriter) -> None:
        self.writer = writer
        self._pending: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self.closed = False

    async def request(self, payload: dict[str, Any], *, timeout: float | None = None) -> dict[str, Any]:
        """Send ``payload`` (which has the ``subtype``) and return the success ``response`` dict.

        Raises ``ControlError`` for an error response, a timeout, or a closed stdin. A caller that
        is cancelled (an interrupt) withdraws the request with ``control_cancel_request``.
        """
        subtype = payload.get("subtype")
        if self.closed:
            raise ControlError("Stream closed")
        request_id = str(uuid.uuid4())
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self.writer.write({"type": "control_request", "request_id": request_id, "request": payload})
        try:
            if timeout is None:
                return await future
            try:
                return await asyncio.wait_for(future, timeout)
            except TimeoutError:
                self._cancel(request_id)
                raise ControlError(f"Control request timeout: {subtype}") from None
        except asyncio.CancelledError:
            self._cancel(request_id)
            raise
        finally:
            self._pending.pop(request_id, None)

    def _cancel(self, request_id: str) -> None:
        if not self.closed:
            self.writer.write({"type": "control_cancel_request", "request_id": request_id})

    def resolve(self, message: Mapping[str, Any]) -> None:
        """Route a ``control_response`` line from the host to the request waiting for it."""
        response = message.get("response")
        if not isinstance(response, Mapping):
            log.debug("control_response without a response object; ignored")
            return
        request_id = response.get("request_id")
        future = self._pending.get(request_id) if isinstance(request_id, str) else None
        if future is None or future.done():
            log.debug("control_response for unknown or settled request %r; ignored", request_id)
            return
        if response.get("subtype") == "error":
            future.set_exception(ControlError(str(response.get("error") or "Unknown error")))
            return
        body = response.get("response")
        future.set_result(dict(body) if isinstance(body, Mapping) else {})

    def close(self, reason: str = "Stream closed") -> None:
        """stdin is gone: fail every waiting request, and any later one, with ``reason``."""
        self.closed = True
        for future in self._pending.values():
            if not future.done():
                future.set_exception(ControlError(reason))


def _truthy(value: str | None) -> bool:
    return bool(value) and str(value).strip().lower() not in ("0", "false", "no", "off")


class SessionStates:
    """``system/session_state_changed`` frames: ``running``, ``requires_action`` and ``idle``.

    The Agent SDK sets ``CLAUDE_CODE_SDK_READS_SESSION_STATE`` and keeps stdin open until it sees
    ``idle`` after a result (when it serves hooks, permissions or MCP servers), then swallows
    frames marked ``sdk_host_only``. ``CLAUDE_CODE_EMIT_SESSION_STATE_EVENTS`` is the caller's own
    opt-in to see them, so those are not marked.
    """

    def __init__(
        self, writer: FrameWriter, session_id: Callable[[], str], environ: Mapping[str, str]
    ) -> None:
        self.writer = writer
        self._session_id = session_id
        self._visible = _truthy(environ.get("CLAUDE_CODE_EMIT_SESSION_STATE_EVENTS"))
        self.enabled = self._visible or _truthy(environ.get("CLAUDE_CODE_SDK_READS_SESSION_STATE"))
        self.state: str | None = None
        self._asks = 0

    def emit(self, state: str) -> None:
        self.state = state
        if not self.enabled:
            return
        frame: dict[str, Any] = {
            "type": "system",
            "subtype": "session_state_changed",
            "state": state,
            "session_id": self._session_id(),
            "uuid": str(uuid.uuid4()),
        }
        if not self._visible:
            frame["sdk_host_only"] = True
        self.writer.write(frame)

    def ask_started(self) -> None:
        self._asks += 1
        if self._asks == 1:
            self.emit("requires_action")

    def ask_finished(self) -> None:
        self._asks -= 1
        if self._asks == 0 and self.state == "requires_action":
            self.emit("running")


def _describe(request: AskRequest) -> str | None:
    """A file tool (its primary field is a path) is described by the file it touches, as Claude
    Code sends it; any other tool by its ``description`` input."""
    field = registry.primary_field(request.tool_name)
    if registry.is_path_field(request.tool_name, field):
        path = request.tool_input.get(field or "")
        return Path(path).name if isinstance(path, str) and path else None
    description = request.tool_input.get("description")
    return description if isinstance(description, str) and description else None


def make_ask_handler(
    channel: ControlChannel,
    states: SessionStates,
    on_permission_updates: Callable[[list[Any]], None] | None = None,
    policy: Callable[[], PermissionPolicy | None] | None = None,
) -> AskHandler:
    """``can_use_tool``: the host decides what the permission policy could not. ``policy`` gives
    the session's permission policy, for the ``permission_suggestions`` the host may hand back.

    An error response, a malformed answer or a closed stdin raise, which the tool runner records
    as a denial (``Tool permission request failed: Error: ...``).
    """

    async def ask(request: AskRequest) -> AskAnswer:
        payload: dict[str, Any] = {
            "subtype": "can_use_tool",
            "tool_name": request.tool_name,
            "display_name": request.tool_name,
            "input": request.tool_input,
            "tool_use_id": request.tool_use_id,
            "permission_suggestions": suggestions(
                request.tool_name, request.tool_input, policy() if policy is not None else None
            ),
        }
        description = _describe(request)
        if description:
            payload["description"] = description
        if request.reason:
            payload["decision_reason"] = request.reason
        states.ask_started()
        try:
            answer = await channel.request(payload)
        finally:
            states.ask_finished()
        behavior = answer.get("behavior")
        if behavior == "allow":
            updated = answer.get("updatedInput")
            permissions = answer.get("updatedPermissions")
            if isinstance(permissions, list) and permissions and on_permission_updates is not None:
                on_permission_updates(permissions)
            return AskAnswer(True, updated_input=updated if isinstance(updated, dict) else None)
        if behavior == "deny":
            return AskAnswer(
                False, message=str(answer.get("message") or ""), interrupt=answer.get("interrupt") is True
            )
        raise ControlError(f"invalid can_use_tool answer: behavior {behavior!r} is not allow or deny")

    return ask


def _hook_fn(channel: ControlChannel, callback_id: str, timeout: float | None) -> HookFn:
    async def call(hook_input: dict[str, Any]) -> dict[str, Any]:
        tool_use_id = hook_input.get("tool_use_id")
        payload = {
            "subtype": "hook_callback",
            "callback_id": callback_id,
            "input": hook_input,
            "tool_use_id": tool_use_id if isinstance(tool_use_id, str) else None,
        }
        try:
            return await channel.request(payload, timeout=timeout)
        except ControlError as exc:
            # Not a TimeoutError: the hooks runner would word it with its own default timeout.
            raise ControlError(f"SDK hook callback failed: {exc}") from None

    call.__qualname__ = f"sdk hook {callback_id}"
    return call


def hook_callbacks_from(config: Any, channel: ControlChannel) -> dict[str, list[tuple[str | None, HookFn]]]:
    """The ``hooks`` of an ``initialize`` request as ``AgentOptions.hook_callbacks`` entries.

    Shape: ``{Event: [{matcher, hookCallbackIds: [...], timeout?}]}``; each id becomes one
    callback that asks the host to run it. Malformed entries are skipped with a debug log.
    """
    out: dict[str, list[tuple[str | None, HookFn]]] = {}
    if not isinstance(config, Mapping):
        return out
    for event, matchers in config.items():
        if not isinstance(matchers, list):
            log.debug("initialize hooks.%s is not a list; ignored", event)
            continue
        for entry in matchers:
            if not isinstance(entry, Mapping):
                continue
            matcher = entry.get("matcher")
            timeout = entry.get("timeout")
            seconds = float(timeout) if isinstance(timeout, int | float) and timeout > 0 else None
            for callback_id in entry.get("hookCallbackIds") or []:
                if isinstance(callback_id, str):
                    fn = _hook_fn(channel, callback_id, seconds)
                    out.setdefault(str(event), []).append((matcher if isinstance(matcher, str) else None, fn))
    return out
