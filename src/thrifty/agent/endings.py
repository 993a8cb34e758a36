"""Every way a run ends, and the one table that maps it to the result and the exit code.

The loop raises one of these; ``ending_for`` is the only place that knows what each means on the
wire. Note the Claude Code quirk kept for compatibility: an API failure is ``subtype: success``
with ``is_error: true``.
"""

from __future__ import annotations

from dataclasses import dataclass


class RunEnded(Exception):
    """Base: the run stops here; ``str(exc)`` is the text for ``result`` / ``errors``."""


class MaxTurnsReached(RunEnded):
    def __init__(self, limit: int) -> None:
        super().__init__(f"Reached maximum number of turns ({limit})")


class BudgetExceeded(RunEnded):
    """A per-run, daily or monthly cap, or a plan window's stop level, would be passed."""


class ApiFailure(RunEnded):
    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class Interrupted(RunEnded):
    def __init__(self) -> None:
        super().__init__("Interrupted by user")


class InterruptedTools(Interrupted):
    """Interrupted while tools ran (or a permission answer said stop): ``aborted_tools``."""


class StructuredOutputRetriesExhausted(RunEnded):
    def __init__(self, attempts: int) -> None:
        super().__init__(f"The model did not call StructuredOutput after {attempts} reminders")


class HookStopped(RunEnded):
    """A hook answered ``continue: false``, or blocked the prompt."""


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
    Interrupted: Ending("error_during_execution", True, "aborted_streaming", 1, False),
    InterruptedTools: Ending("error_during_execution", True, "aborted_tools", 1, False),
    StructuredOutputRetriesExhausted: Ending(
        "error_max_structured_output_retries", True, "structured_output_retry_exhausted", 1, False
    ),
    HookStopped: Ending("success", True, "hook_stopped", 1, True),
}


def ending_for(exc: RunEnded) -> Ending:
    for cls in type(exc).__mro__:
        if cls in ENDINGS:
            return ENDINGS[cls]
    raise KeyError(type(exc).__name__)
