"""One ledger row per billed model call, and the filter reports and budgets query with.

The row is the contract every backend stores and returns unchanged: a backend may not round
the cost, drop a tag or shift a timestamp. ``request_id`` is the natural key, so recording the
same call twice (a retried write, a re-import) never charges it twice: of two rows for one
request id the ledger keeps the more complete one (``completeness``), the first on a tie.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from thrifty.core.usage import Usage

MODES = ("api", "plan", "batch")
#: The source of the rows thrifty's meter writes for its own calls, as the API reported them.
LIVE_SOURCE = "thrifty"


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
    #: Server tool requests the call made (``usage.server_tool_use``): billed per request, on
    #: top of the tokens, so the ledger keeps them beside the tokens.
    web_search_requests: int = 0
    web_fetch_requests: int = 0

    @property
    def usage(self) -> Usage:
        """The row's counts as a ``Usage`` (the ledger keeps no thinking tokens nor service tier)."""
        return Usage(
            input_tokens=self.input_tokens,
            output_tokens=self.output_tokens,
            cache_read_tokens=self.cache_read_tokens,
            cache_write_5m_tokens=self.cache_write_5m_tokens,
            cache_write_1h_tokens=self.cache_write_1h_tokens,
            web_search_requests=self.web_search_requests,
            web_fetch_requests=self.web_fetch_requests,
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


def completeness(row: LedgerRow) -> tuple[int, int, int, int, int]:
    """How complete a copy of a call is; of two rows for one ``request_id`` the ledger keeps the
    greater, and the one it holds on a tie. Compared in this order:

    1. a live metered row (source ``thrifty``: the API's own figures, with who paid) over an
       imported one, which never replaces it;
    2. a complete response over an attempt that broke before its end;
    3. more output tokens: the count that grows while a response streams (a transcript logs a
       partial count on a response's early lines and in copies made mid-response);
    4. more tokens in all (input, output, cache writes and reads);
    5. more server tool requests (web search and fetch; reported with the final count).

    Every backend compares exactly this (the SQL stores in ``sql.RANK``).
    """
    return (
        int(row.source == LIVE_SOURCE),
        int(row.complete),
        row.output_tokens,
        row.input_tokens
        + row.output_tokens
        + row.cache_write_5m_tokens
        + row.cache_write_1h_tokens
        + row.cache_read_tokens,
        row.web_search_requests + row.web_fetch_requests,
    )


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
    #: One call by its key, or the rows of one API message (a transcript's copies of a call).
    request_id: str | None = None
    message_id: str | None = None
