"""The messages ``query`` and ``Client`` yield: the loop's own typed events, under public names.

They are the events ``thrifty -p --output-format stream-json`` renders, so the SDK and the CLI
can never disagree. In order, a turn yields:

- ``SystemInit`` (alias ``SystemMessage``): session id, model, tools, permission mode, who pays;
- ``BillingNotice``: something about who pays worth seeing (a window past 80%, a ledger problem);
- ``StreamEvent``: raw API stream events, only with ``include_partial_messages``;
- ``ApiUsage``: the usage and request id of each API call, as soon as it is known (for cost
  observers; it is already in the ledger when you see it): ``.usage`` is a typed ``Usage``
  (``thrifty.core.usage``), ``.raw_usage`` the API's block as it arrived, and ``.cost`` the
  exact price the ledger recorded (a ``Decimal``; ``None`` when the model has no known price),
  so there is never a need to price it again;
- ``RateLimit`` (alias ``RateLimitEvent``): plan-window state, when the API sent it;
- ``ApiRetry``: a model call failed and is retried;
- ``AssistantMessage``: one model response (``.content`` blocks, ``.text``, ``.usage``);
- ``PermissionDenied``: a tool call was denied (by a rule, a hook or ``can_use_tool``);
- ``CompactBoundary``: the history was summarised to fit the context window (``.trigger``
  ``auto`` or ``manual``, ``.pre_tokens``, ``.post_tokens``); ``system/compact_boundary`` in
  stream-json;
- ``UserMessage``: what went back to the model: tool results, a structured-output reminder or a
  Stop hook's reason (``.origin`` says which). The echo of your own prompt is not yielded;
- ``TaskEvent``: a subagent or a background Bash command started, made progress (a subagent's
  tool call), changed state or ended: ``system/task_started``, ``task_progress``,
  ``task_updated``, ``task_notification`` in stream-json (``.subtype``, ``.task_id``,
  ``.tool_use_id``, ``.status``, ``.usage``, and the whole frame as ``.data``); docs/agents.md;
- ``SystemFrame``: in plan runs, a ``system`` frame of ``claude``'s that thrifty has no event of
  its own for (``status``, ``task_started``, ...), with ``.subtype`` and ``.data`` as it came;
- ``Result`` (alias ``ResultMessage``): always last, exactly once per prompt, with cost and usage.

Content blocks are the Messages API's dicts (``{"type": "text", "text": ...}``,
``{"type": "tool_use", ...}``), not classes.
"""

from __future__ import annotations

from typing import TypeVar

from pydantic import BaseModel

from thrifty.core.events import (
    ApiRetry,
    ApiUsage,
    AssistantMessage,
    BillingNotice,
    CompactBoundary,
    Event,
    PermissionDenied,
    RateLimit,
    Result,
    StreamEvent,
    SystemFrame,
    SystemInit,
    TaskEvent,
    UserMessage,
)
from thrifty.core.usage import Usage

__all__ = [
    "ApiRetry",
    "ApiUsage",
    "AssistantMessage",
    "BillingNotice",
    "CompactBoundary",
    "Message",
    "PermissionDenied",
    "RateLimit",
    "RateLimitEvent",
    "Result",
    "ResultMessage",
    "StreamEvent",
    "SystemFrame",
    "SystemInit",
    "SystemMessage",
    "TaskEvent",
    "Usage",
    "UserMessage",
    "is_visible",
    "parse_output",
]

Message = Event
ResultMessage = Result
SystemMessage = SystemInit
RateLimitEvent = RateLimit

M = TypeVar("M", bound=BaseModel)


def is_visible(event: Event) -> bool:
    """Everything but the echo of the caller's own prompt, as in stream-json."""
    return not (isinstance(event, UserMessage) and event.origin == "prompt")


def parse_output(result: Result, model: type[M]) -> M:
    """The structured answer of a ``Result`` as an instance of ``model`` (the ``output_type``).

    Raises ``ValueError`` when the run produced no structured output (check ``result.subtype``),
    and pydantic's ``ValidationError`` if it does not fit ``model``, which cannot happen for a
    successful run whose ``Options.output_type`` was ``model``.
    """
    if not result.has_structured_output:
        reason = "; ".join(result.errors) or result.subtype
        raise ValueError(f"the run produced no structured output ({reason})")
    return model.model_validate(result.structured_output)
