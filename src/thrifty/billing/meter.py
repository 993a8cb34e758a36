"""The meter: every attempt that returned usage is priced once and written to the ledger at once.

The loop calls ``record`` as soon as an attempt's usage is known, before it parses tool calls
or retries, so a crash afterwards cannot lose a billed call. The run's ``total_cost_usd``,
``usage`` and ``modelUsage`` come from the same numbers (``tally``), never from a second sum.
"""

from __future__ import annotations

import copy
import sqlite3
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from functools import partial
from typing import TYPE_CHECKING

from thrifty.billing.ledger import Ledger, LedgerBusy, LedgerError, LedgerRow, SharedLedger
from thrifty.billing.prices import PriceTable, bundled_prices
from thrifty.billing.spool import Spool
from thrifty.billing.tally import Tally
from thrifty.core.usage import Usage
from thrifty.telemetry import record_call

if TYPE_CHECKING:
    from thrifty.core.events import ApiUsage


@dataclass(frozen=True)
class MeterContext:
    """Who pays and for what: stamped on every row of a run."""

    session_id: str
    mode: str
    account: str
    project: str
    tags: dict[str, str] = field(default_factory=dict)


def utcnow() -> datetime:
    return datetime.now(UTC)


class Meter:
    def __init__(
        self,
        context: MeterContext,
        ledger: Ledger | None,
        *,
        spool: Spool | None = None,
        prices: PriceTable | None = None,
        now: Callable[[], datetime] = utcnow,
    ) -> None:
        self.context = context
        self.ledger = ledger
        self.spool = spool
        self.prices = prices or bundled_prices()
        self.tally = Tally()
        #: The newest row, for the next request's estimate (what it can read from cache).
        self.last_row: LedgerRow | None = None
        #: One-line problems the loop reports as notices (a ledger that refused a write).
        self.problems: list[str] = []
        self._now = now
        if ledger is not None and spool is not None:
            try:
                spool.drain(ledger.append_many)
            except (LedgerError, sqlite3.Error, OSError) as exc:
                self.problems.append(f"could not replay spooled ledger rows yet: {exc}")

    def with_tags(self, tags: Mapping[str, str]) -> Meter:
        """A meter for a subagent's calls: the same ledger, tally and problems (so the run's totals
        and budget checks include them), its rows carrying ``tags`` besides the run's."""
        child = copy.copy(self)
        child.context = replace(self.context, tags={**self.context.tags, **tags})
        return child

    def price(self, model: str, usage: Usage, at: datetime | None = None) -> Decimal | None:
        """What ``usage`` on ``model`` costs (tokens and server-tool fees) at the prices in force at
        ``at`` (``None``: now)."""
        return self.prices.cost(model, usage, batch=self.context.mode == "batch", at=at)

    def record(self, event: ApiUsage, *, settle: str | None = None) -> LedgerRow:
        """Price the attempt and write its row durably before returning (for sync callers).

        ``settle``: the budget reservation the call was made under (``BudgetGuard.take``), ended
        in the row's own transaction."""
        row = self._row(event)
        if self.ledger is not None:
            self._write(self.ledger, row, settle)
        return row

    async def record_async(self, event: ApiUsage, *, settle: str | None = None) -> LedgerRow:
        """``record`` for the event loop: it returns once the row is durable (or spooled), but
        the write runs on the shared ledger's writer thread, so other sessions run meanwhile.

        The write (and its spool fallback) runs to its end even if this task is cancelled."""
        row = self._row(event)
        ledger = self.ledger
        if isinstance(ledger, SharedLedger):
            await ledger.run_async(partial(self._write, row=row, settle=settle))
        elif ledger is not None:
            self._write(ledger, row, settle)
        return row

    def _row(self, event: ApiUsage) -> LedgerRow:
        usage = event.usage
        recorded_at = self._now()
        cost = self.price(event.model, usage, recorded_at)
        self.tally.add(event, cost)
        ctx = self.context
        row = LedgerRow(
            request_id=event.request_id or f"local-{uuid.uuid4()}",
            session_id=ctx.session_id,
            mode=ctx.mode,
            account=ctx.account,
            model=event.model,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_write_5m_tokens=usage.cache_write_5m_tokens,
            cache_write_1h_tokens=usage.cache_write_1h_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cost_usd=cost,
            price_version=self.prices.version_for(event.model),
            project=ctx.project,
            recorded_at=recorded_at,
            tags=dict(ctx.tags),
            message_id=event.message_id,
            complete=event.complete,
            attempt=event.attempt,
            rate_limits=event.rate_limits or None,
            web_search_requests=usage.web_search_requests,
            web_fetch_requests=usage.web_fetch_requests,
        )
        self.last_row = row
        record_call(row)  # OpenTelemetry counters when enabled; one cached check when not
        return row

    def _write(self, ledger: Ledger, row: LedgerRow, settle: str | None = None) -> None:
        try:
            # A spooled row leaves its reservation to expire: the spend stays held meanwhile.
            if settle:
                ledger.append(row, settle=settle)
            else:
                ledger.append(row)
        except LedgerBusy:  # nothing written: the shared ledger runs this again where it may wait
            raise
        except Exception as exc:  # any driver error: the row must survive it
            if self.spool is None:
                raise
            self.spool.put(row)
            self.problems.append(
                f"ledger write failed ({type(exc).__name__}); the call is kept in {self.spool.path} "
                "and will be recorded when the ledger is reachable"
            )

    def spent(self) -> Decimal | None:
        """The run's spend for budget checks: None once any call came back with no known price."""
        return self.tally.known_cost()
