"""Every way a run ends, and the one table that maps it to the result and the exit code.

The loop raises one of these; ``ending_for`` is the only place that knows what each means on the
wire. Note the Claude Code quirk kept for compatibility: an API failure is ``subtype: success``
with ``is_error: true``.

Exit codes: 0 success; 1 every other error result (as ``claude -p``); 75 (``EX_TEMPFAIL`` of
sysexits.h, "try again later") when the server asked for a longer wait than the run allows.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

#: sysexits.h ``EX_TEMPFAIL``: a temporary failure, the same command may work later. Schedulers
#: and CI (and ``sendmail``-style retry loops) read it as "retry later", unlike 1 ("broken").
EXIT_TEMPFAIL = 75


class RunEnded(Exception):
    """Base: the run stops here; ``str(exc)`` is the text for ``result`` / ``errors``."""


class MaxTurnsReached(RunEnded):
    def __init__(self, limit: int) -> None:
        super().__init__(f"Reached maximum number of turns ({limit})")


class BudgetExceeded(RunEnded):
    """A per-run, daily or monthly cap, or a plan window's stop level, would be passed."""


class ApiFailure(RunEnded):
    """The model could not be reached or refused the request; ``str(exc)`` is readable text.

    ``status`` is the HTTP status (``api_error_status``), ``error_type`` the response body's
    ``error.type`` or a stable word for failures with no body (``api_error_type``).
    """

    def __init__(self, message: str, status: int | None = None, error_type: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error_type = error_type


class RateLimited(ApiFailure):
    """A 429 asking for a longer wait than the run allows (``--on-rate-limit``): ends at once."""

    def __init__(
        self,
        message: str,
        status: int | None = 429,
        error_type: str | None = "rate_limit_error",
        *,
        resets_at: datetime | None = None,
    ) -> None:
        super().__init__(message, status, error_type)
        self.resets_at = resets_at


class Interrupted(RunEnded):
    def __init__(self) -> None:
        super().__init__("Interrupted by user")


class InterruptedTools(Interrupted):
    """Interrupted while tools ran (or a permission answer said stop): ``aborted_tools``."""


class StructuredOutputRetriesExhausted(RunEnded):
    def __init__(self, attempts: int) -> None:
        super().__init__(f"The model did not call StructuredOutput after {attempts} reminders")


class HookStopped(RunEnded):
    """A hook answered ``continue: false``, or blocked the prompt (UserPromptSubmit; the
    subclasses below are the stops after tools and at the Stop hook)."""


class HookStoppedAfterTools(HookStopped):
    """A PreToolUse or PostToolUse hook answered ``continue: false``: no request follows the tools.

    As in Claude Code, this is a success with an empty ``result`` (the turn ended on tool results,
    ``stop_reason: tool_use``); the hook's reason is in the transcript, not in the result.
    """

    def __init__(self, reason: str) -> None:
        super().__init__("")
        self.reason = reason


class StopHookPrevented(HookStopped):
    """A Stop hook answered ``continue: false`` as the model finished: the run ends there.

    Claude Code reports the turn as it ended (``success``, the final text in ``result``) with
    ``terminal_reason: stop_hook_prevented``; ``str(exc)`` is that final text.
    """

    def __init__(self, final_text: str, reason: str) -> None:
        super().__init__(final_text)
        self.reason = reason


@dataclass(frozen=True)
class Ending:
    subtype: str
    is_error: bool
    terminal_reason: str
    exit_code: int
    #: Error subtypes omit ``result`` and list the reason in ``errors`` instead.
    has_result: bool


SUCCESS = Ending("success", False, "completed", 0, True)

ENDINGS: dict[type[RunEnded], Ending] = {
    MaxTurnsReached: Ending("error_max_turns", True, "max_turns", 1, False),
    BudgetExceeded: Ending("error_max_budget_usd", True, "budget_exhausted", 1, False),
    ApiFailure: Ending("success", True, "api_error", 1, True),
    RateLimited: Ending("error_rate_limited", True, "rate_limited", EXIT_TEMPFAIL, False),
    Interrupted: Ending("error_during_execution", True, "aborted_streaming", 1, False),
    InterruptedTools: Ending("error_during_execution", True, "aborted_tools", 1, False),
    StructuredOutputRetriesExhausted: Ending(
        "error_max_structured_output_retries", True, "structured_output_retry_exhausted", 1, False
    ),
    HookStopped: Ending("success", True, "hook_stopped", 1, True),
    HookStoppedAfterTools: Ending("success", False, "hook_stopped", 0, True),
    StopHookPrevented: Ending("success", False, "stop_hook_prevented", 0, True),
}


def ending_for(exc: RunEnded) -> Ending:
    for cls in type(exc).__mro__:
        if cls in ENDINGS:
            return ENDINGS[cls]
    raise KeyError(type(exc).__name__)
