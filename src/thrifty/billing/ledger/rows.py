"""One ledger row per billed model call, and the filter reports and budgets query with.

The row is the contract every backend stores and returns unchanged: a backend may not round
the cost, drop a tag or shift a timestamp. ``request_id`` is the natural key, so recording the
same call twice (a retried write, a re-import) is a no-op rather than a double charge.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from thrifty.core.usage import Usage

MODES = ("api", "plan", "batch")


#: Claude Code's entry points for headless and SDK use (``sdk-cli``, ``sdk-py``, ``sdk-ts``).
AUTOMATED_ENTRYPOINT_PREFIX = "sdk-"


@dataclass(frozen=True)
class LedgerRow:
    request_id: str
    session_id: str
    #: ``api`` (per token), ``plan`` (flat fee, API-equivalent cost) or ``batch`` (API at the discount).
    mode: str
    #: A label for who paid (never the secret itself): "ANTHROPIC_API_KEY", "login:max-5x", ...
    account: str
    model: str
    input_tokens: int
    output_tokens: int
    cache_write_5m_tokens: int
    cache_write_1h_tokens: int
    cache_read_tokens: int
    #: Exact cost at the price table's rates; ``None`` when the model has no known price.
    cost_usd: Decimal | None
    price_version: str
    #: The project the call was made for (an absolute path, or a name given by the user).
    project: str
    #: When the call's usage became known; always timezone-aware UTC.
    recorded_at: datetime
    tags: dict[str, str] = field(default_factory=dict)
    message_id: str | None = None
    #: False for an attempt that was billed but broke before the message was complete.
    complete: bool = True
    #: Retry attempt number within one turn (0 for the first).
    attempt: int = 0
    #: Who wrote the row: ``thrifty`` for our own calls, ``claude-code`` for imported usage.
    source: str = "thrifty"
    #: The plan-window headers the server sent with this call (``anthropic-ratelimit-unified-*``).
    rate_limits: dict[str, str] | None = None

    @property
    def usage(self) -> Usage:
        """The row's token counts as a ``Usage`` (the ledger keeps no thinking or tool counts)."""
        return Usage(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cache_read_tokens=self.cache_read_tokens,
            cache_write_5m_tokens=self.cache_write_5m_tokens,
            cache_write_1h_tokens=self.cache_write_1h_tokens,
        )

    @property
    def prompt_tokens(self) -> int:
        """Everything the model read: uncached input, cache writes and cache reads."""
        return self.usage.prompt_tokens

    @property
    def automated(self) -> bool:
        """A call no person was waiting on: thrifty's own, or Claude Code headless / SDK (its
        ``sdk-*`` entry points). Since June 15, 2026 these draw a plan's Agent SDK credit."""
        if self.source == "thrifty":
            return True
        return self.tags.get("entrypoint", "").startswith(AUTOMATED_ENTRYPOINT_PREFIX)


@dataclass(frozen=True)
class RowQuery:
    """Filters are ANDed; ``None`` means no filter. ``since`` is inclusive, ``until`` exclusive."""

    since: datetime | None = None
    until: datetime | None = None
    mode: str | None = None
    project: str | None = None
    session_id: str | None = None
    model: str | None = None
    account: str | None = None
    source: str | None = None
