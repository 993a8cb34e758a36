"""What every batch operation shares: its errors, and one open billing context (credential,
client, prices, ledger, journal) per call, made by thrifty's normal resolution or a caller's client.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty.batch.costs import Estimate, Who
from thrifty.batch.journal import Journal
from thrifty.billing.prices import PriceTable

if TYPE_CHECKING:
    import anthropic

    from thrifty.billing.context import Billing
    from thrifty.billing.ledger import Ledger

PLAN_REFUSED = (
    "the Message Batches API needs an API credential (ANTHROPIC_API_KEY, apiKeyHelper or a gateway "
    "ANTHROPIC_AUTH_TOKEN); plan credentials cannot use it"
)


class BatchError(RuntimeError):
    """A batch operation that cannot go on (no credential, an API error, an ambiguous rerun): one line."""


class CostRefused(BatchError):
    """The estimate's high figure passes ``max_cost_usd`` (or cannot be known); nothing was sent."""

    def __init__(self, message: str, estimate: Estimate) -> None:
        super().__init__(message)
        self.estimate = estimate


class NotReady(BatchError):
    """The batch has not ended, so it has no results yet."""


@dataclass
class Ctx:
    billing: Billing | None
    client: anthropic.AsyncAnthropic
    prices: PriceTable
    ledger: Ledger | None
    who: Who
    journal: Journal


def _client_of(billing: Billing) -> anthropic.AsyncAnthropic:
    if billing.mode == "plan":
        raise BatchError(PLAN_REFUSED)
    problem = billing.error()
    if problem:
        raise BatchError(problem)
    client = billing.client(max_retries=2)
    if client is None:
        raise BatchError("no API credential found; set ANTHROPIC_API_KEY")
    return client


@contextlib.asynccontextmanager
async def open_context(
    client: anthropic.AsyncAnthropic | None,
    cwd: Path | None,
    env: Mapping[str, str] | None,
    ledger: str | None,
    record: bool = True,
) -> AsyncIterator[Ctx]:
    from thrifty.agent.settings import SettingsError, load_settings
    from thrifty.billing.context import BillingError, open_billing

    where = Path(cwd) if cwd is not None else Path.cwd()
    environ = dict(os.environ if env is None else env)
    try:
        settings = load_settings(where, environ=environ)
        billing = open_billing(
            where,
            environ,
            api_key_helper=settings.api_key_helper,
            flag_ledger=ledger,
            record=record,
            own_client="client" if client is not None else None,
        )
    except (BillingError, SettingsError) as exc:
        raise BatchError(str(exc)) from None
    own: anthropic.AsyncAnthropic | None = None
    try:
        if client is None:
            # Ours to close: left to the garbage collector, its connections would be closed
            # later on whatever event loop is running then (or on a closed one).
            own = client = _client_of(billing)
        who = Who(billing.account, billing.project)
        yield Ctx(billing, client, billing.prices, billing.ledger, who, Journal(environ=environ))
    finally:
        if own is not None:
            await own.close()
        billing.close()


def api_error(exc: Exception) -> BatchError:
    import anthropic

    if isinstance(exc, anthropic.APIStatusError):
        body = exc.body if isinstance(exc.body, dict) else {}
        detail = body.get("error", {}).get("message") if isinstance(body.get("error"), dict) else None
        return BatchError(f"the API refused the request ({exc.status_code}): {detail or exc.message}")
    return BatchError(f"could not reach the API ({type(exc).__name__})")


def prices_here(cwd: Path | None, env: Mapping[str, str] | None, ledger: str | None) -> PriceTable:
    """The price table a run here would use (the user's ``"prices"`` on top), without resolving a
    credential: an estimate or a refusal needs none."""
    from thrifty.billing.config import ConfigError, load_billing_config
    from thrifty.billing.prices import bundled_prices

    where = Path(cwd) if cwd is not None else Path.cwd()
    try:
        config = load_billing_config(where, dict(os.environ if env is None else env), flag_ledger=ledger)
    except ConfigError as exc:
        raise BatchError(str(exc)) from None
    return bundled_prices().with_overrides(config.prices)


def epoch(value: Any) -> float:
    if isinstance(value, datetime):
        return value.timestamp()
    return datetime.fromisoformat(str(value).replace("Z", "+00:00")).timestamp()
