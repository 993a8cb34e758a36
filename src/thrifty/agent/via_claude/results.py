"""The ``Result`` of a plan turn: claude's word on how it went, thrifty's meter on what it cost.

Text, turns, subtype and errors come from claude's ``result`` frame; ``total_cost_usd``,
``usage`` and ``modelUsage`` come from thrifty's meter, so the result and the ledger always agree.
A 429 claude gave up on (a spent window or credit) becomes thrifty's rate-limited ending (exit
75), as in API runs; a turn thrifty ended itself (a budget) or a claude that died gets a thrifty
ending with one line.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from thrifty.billing.context import Billing
from thrifty.billing.meter import Meter
from thrifty.core.endings import ENDINGS, Ending, RateLimited
from thrifty.core.events import Result

CLAUDE_DIED = Ending("error_during_execution", True, "claude_exited", 1, False)


@dataclass
class Turn:
    """What one turn has seen so far."""

    started: float
    init_sent: bool = False
    calls: int = 0


def money(meter: Meter, billing: Billing) -> dict[str, Any]:
    """The result's cost and token fields, from the meter (the same numbers as the ledger)."""
    tally = meter.tally
    return {
        "total_cost_usd": float(tally.cost),
        "usage": tally.usage(),
        "model_usage": tally.model_usage(),
        "billing": billing.describe(),
    }


def from_claude(frame: Mapping[str, Any], state: Turn, session_id: str, cost: dict[str, Any]) -> Result:
    is_error = bool(frame.get("is_error"))
    subtype = str(frame.get("subtype") or ("error_during_execution" if is_error else "success"))
    status = frame.get("api_error_status")
    errors = frame.get("errors")
    text = frame.get("result")
    if is_error and status == 429:
        # A spent plan window or credit: thrifty's rate-limited ending, as in API runs (exit 75).
        limited = ENDINGS[RateLimited]
        subtype, errors, text = limited.subtype, [text or "rate limited"], None
        frame = {**frame, "terminal_reason": limited.terminal_reason}
    return Result(
        session_id=str(frame.get("session_id") or session_id),
        subtype=subtype,
        is_error=is_error,
        duration_ms=_int(frame.get("duration_ms"), int((time.monotonic() - state.started) * 1000)),
        duration_api_ms=_int(frame.get("duration_api_ms"), 0),
        num_turns=_int(frame.get("num_turns"), state.calls),
        result=str(text) if text is not None else None,
        stop_reason=frame.get("stop_reason"),
        permission_denials=list(frame.get("permission_denials") or []),
        terminal_reason=str(frame.get("terminal_reason") or ("completed" if not is_error else "error")),
        exit_code=0 if not is_error else (75 if subtype == "error_rate_limited" else 1),
        errors=[str(e) for e in errors] if isinstance(errors, list) else [],
        api_error_status=status if isinstance(status, int) else None,
        api_error_type=str(frame["api_error_type"]) if frame.get("api_error_type") else None,
        structured_output=frame.get("structured_output"),
        has_structured_output="structured_output" in frame,
        **cost,
    )


def from_ending(ending: Ending, text: str, state: Turn, session_id: str, cost: dict[str, Any]) -> Result:
    return Result(
        session_id=session_id,
        subtype=ending.subtype,
        is_error=ending.is_error,
        duration_ms=int((time.monotonic() - state.started) * 1000),
        duration_api_ms=0,
        num_turns=state.calls,
        result=text if ending.has_result else None,
        stop_reason=None,
        permission_denials=[],
        terminal_reason=ending.terminal_reason,
        exit_code=ending.exit_code,
        errors=[] if ending.has_result else [text],
        **cost,
    )


def _int(value: Any, default: int) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else default
