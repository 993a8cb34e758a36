"""Who pays for a run, decided once before the first request: credential, mode, ledger, limits.

The agent setup calls ``open_billing``; everything the loop needs for metering and budget
checks hangs off the returned ``Billing``, so the CLI, the SDK and ``thrifty status`` all see
the same decision made by the same code.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty.billing.auth import AuthError, Credential, Resolution, resolve_credential
from thrifty.billing.budget import BudgetGuard, UnpricedModel, run_scopes
from thrifty.billing.claude_cli import ClaudeCode
from thrifty.billing.config import BillingConfig, Budget, ConfigError, load_billing_config
from thrifty.billing.ledger import Ledger, LedgerError, shared_ledger
from thrifty.billing.meter import Meter, MeterContext
from thrifty.billing.paths import data_dir, default_ledger_path
from thrifty.billing.prices import PriceTable, bundled_prices
from thrifty.billing.spool import Spool
from thrifty.billing.store import CredentialStore, StoreError

if TYPE_CHECKING:
    import anthropic

    from thrifty.billing.plan_presets import PlanDefinition


class BillingError(ValueError):
    """Billing cannot be set up (bad config, failing apiKeyHelper, unreachable ledger): one line."""


@dataclass
class Billing:
    config: BillingConfig
    resolution: Resolution | None
    ledger: Ledger | None
    spool: Spool | None
    project: str
    #: Set when the caller brought its own client: the mode and account are then its word.
    client_label: str | None = None
    #: Set for a plan run: the user's logged-in ``claude``, which does the work (never a token).
    claude: ClaudeCode | None = None
    #: The guards handed out, whose budget reservations ``close`` releases.
    guards: list[BudgetGuard] = field(default_factory=list, repr=False)

    @property
    def credential(self) -> Credential | None:
        return self.resolution.credential if self.resolution else None

    @property
    def mode(self) -> str:
        if self.claude is not None:
            return "plan"
        cred = self.credential
        if cred is not None:
            return cred.mode
        pin = self.config.mode_pin
        return pin[0] if pin else "api"

    @property
    def account(self) -> str:
        if self.claude is not None:
            return self.claude.account
        cred = self.credential
        return cred.account if cred is not None else (self.client_label or "none")

    @property
    def plan(self) -> PlanDefinition | None:
        return self.claude.plan if self.claude is not None else None

    @property
    def source(self) -> str:
        res = self.resolution
        if res is not None and res.source is not None:
            return res.source
        return self.client_label or "none"

    @property
    def api_key_source(self) -> str:
        cred = self.credential
        return cred.api_key_source if cred is not None else "none"

    def error(self) -> str | None:
        """Why no request can be made (no usable credential), or None."""
        if self.resolution is None:
            return None
        return self.resolution.error()

    def warnings(self) -> list[str]:
        return self.resolution.warnings() if self.resolution else []

    def client(self, max_retries: int = 0) -> anthropic.AsyncAnthropic | None:
        if self.resolution is None or self.resolution.credential is None:
            return None
        return self.resolution.client(max_retries=max_retries)

    def describe(self) -> dict[str, Any]:
        """For the init and result frames: who pays, never a secret."""
        return {
            "mode": self.mode,
            "source": self.source,
            "account": self.account,
            "ledger": self.ledger.location if self.ledger else None,
        }

    @cached_property
    def prices(self) -> PriceTable:
        """The bundled price table with the user's ``"prices"`` overrides on top."""
        return bundled_prices().with_overrides(self.config.prices)

    def meter(self, session_id: str, tags: Mapping[str, str] | None = None) -> Meter:
        context = MeterContext(session_id, self.mode, self.account, self.project, dict(tags or {}))
        return Meter(context, self.ledger, spool=self.spool, prices=self.prices)

    def guard(self, run_cap: Decimal | None, *, model: Callable[[], str] | None = None) -> BudgetGuard:
        """The run's caps; ``model`` names the next request's model when it has no price.

        A plan run with a ``"plan"`` config also carries its Agent SDK credit: every thrifty run is
        headless, so on a plan it draws the credit (``thrifty.billing.credit``)."""
        windows = self.config.plan_windows
        settings = self.config.plan
        credit = None
        if self.mode == "plan" and settings is not None and self.ledger is not None:
            from thrifty.billing.credit import credit_state

            credit = credit_state(self.ledger, settings, datetime.now(UTC))
        guard = BudgetGuard(
            mode=self.mode,
            run_cap=run_cap,
            caps=self.config.budgets.get(self.mode) or Budget(),
            scope_caps={scope: cap for scope, cap in self.config.budgets.items() if ":" in scope},
            scopes=run_scopes(self.mode, self.project, self.account, {})[1:],
            ledger=self.ledger,
            warn_at=windows.warn_at,
            stop_at=windows.stop_at,
            prices=self.prices,
            model=model,
            user_file=str(self.config.user_file or "config.json"),
            credit=credit,
            credit_stop_at=settings.stop_at if settings is not None else "credit",
        )
        self.guards.append(guard)
        return guard

    def close(self) -> None:
        """Release the run's handle on the ledger (the last handle closes the connection), and
        first any budget reservation a call left held (it failed before its usage came back)."""
        if self.ledger is not None:
            for guard in self.guards:
                with contextlib.suppress(LedgerError):  # unreachable: the hold expires on its own
                    guard.release()
            self.ledger.close()


def open_billing(
    cwd: Path,
    environ: Mapping[str, str],
    *,
    api_key_helper: str | None,
    flag_mode: str | None = None,
    flag_ledger: str | None = None,
    project: str | None = None,
    bare: bool = False,
    record: bool = True,
    own_client: str | None = None,
    model: str | None = None,
    run_cap: Decimal | None = None,
) -> Billing:
    """Resolve the credential (unless the caller brought a client) and open the ledger.

    With ``model``, refuse it (``BillingError``) when a cap is in force (``run_cap``, or a daily
    or monthly cap for the mode) and the model has no known price: that cap could not be checked.
    """
    try:
        config = load_billing_config(cwd, environ, flag_mode=flag_mode, flag_ledger=flag_ledger)
        resolution = None
        if own_client is None:
            resolution = resolve_credential(
                environ,
                api_key_helper=api_key_helper,
                pinned=config.mode_pin,
                bare=bare,
                store=CredentialStore(environ),
                cwd=cwd,
                plan=config.plan.definition if config.plan is not None else None,
            )
    except (ConfigError, AuthError, StoreError) as exc:
        raise BillingError(str(exc)) from exc
    ledger = None
    spool = None
    if record:
        try:
            # One connection per process and ledger, shared by every session (and its writer
            # thread): a thousand concurrent sessions must not hold a thousand connections.
            ledger = shared_ledger(config.ledger[0] if config.ledger else str(default_ledger_path(environ)))
        except LedgerError as exc:
            raise BillingError(f"{exc} (pass --no-ledger to run without recording)") from exc
        spool = Spool(data_dir(environ) / "ledger-spool.jsonl")
    billing = Billing(
        config,
        resolution,
        ledger,
        spool,
        project or config.project or str(cwd),
        own_client,
        claude=resolution.claude if resolution is not None else None,
    )
    if model is not None:
        try:
            billing.guard(run_cap).require_price(model)
        except UnpricedModel as exc:
            billing.close()
            raise BillingError(str(exc)) from exc
    return billing
