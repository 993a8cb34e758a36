"""``thrifty status``: who would pay for a run started here, and how much is already spent.

It makes the same decision a run makes (``open_billing``), so what it prints is what happens;
it never sends a model request.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty.agent.options import DEFAULT_MODEL, resolve_model
from thrifty.agent.settings import load_settings
from thrifty.billing.budget import cap_standings, day_start, month_start
from thrifty.billing.context import Billing, BillingError, open_billing
from thrifty.billing.ledger import RowQuery
from thrifty.billing.windows import WindowState, current_windows
from thrifty.cli.errors import EXIT_ERROR, UsageError

if TYPE_CHECKING:
    from thrifty.billing.calibrate import PlanLimits

MODE_WORDS = {
    "api": "api (billed per token)",
    "plan": "plan (through your Claude Code login; headless use draws the monthly Agent SDK credit)",
    "batch": "batch (API at the batch discount)",
}


def add_parser(sub: Any) -> None:
    p = sub.add_parser(
        "status",
        help="which credential pays, why, and what is spent",
        description="Show the credential a run started here would use and why it won (and what it "
        "shadowed), the billing mode, endpoint, model, ledger, spend today and this month in "
        "that mode, and for plans how much of the 5-hour and weekly windows is left. Sends no "
        "model request.",
    )
    p.add_argument("-j", "--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument("--billing-mode", choices=["api", "plan"], help="as a run with this flag would see it")
    p.add_argument("--ledger", help="read spend from this ledger (SQLite path or postgresql:// URL)")


def _money(value: Decimal | None) -> str:
    return "unknown" if value is None else f"${value.quantize(Decimal('0.01'))}"


def _window_json(state: WindowState) -> dict[str, Any]:
    return {
        "name": state.name,
        "label": state.label,
        "usedPercent": round(state.used * 100, 1),
        "remainingPercent": state.remaining_percent,
        "resetsAt": state.resets_at.isoformat() if state.resets_at else None,
        "source": state.source,
        "estimate": state.estimate,
        "limitSource": state.limit_source,
        "text": state.describe(),
    }


def plan_limits(billing: Billing, now: datetime) -> PlanLimits | None:
    """The plan's window limits and their sources: the config's ``plan.limits``, else calibrated
    from the ledger's utilisation readings of the last ``LOOKBACK``, else the preset's estimate."""
    plan = billing.plan
    if billing.mode != "plan" or plan is None:
        return None
    # Loaded only for a plan: an API user's status never needs the calibration.
    from thrifty.billing.calibrate import LOOKBACK, calibrate, resolve_limits

    settings = billing.config.plan
    user = settings.user_limits if settings is not None and settings.definition.name == plan.name else {}
    calibration = {}
    if billing.ledger is not None and plan.estimate:
        calibration = calibrate(billing.ledger.query(RowQuery(since=now - LOOKBACK, mode="plan")))
    return resolve_limits(plan, user=user, calibration=calibration)


def _limits_json(limits: PlanLimits) -> dict[str, Any]:
    return {
        "published": limits.published,
        "fiveHour": limits.five_hour.to_json(),
        "weekly": limits.weekly.to_json(),
        "text": limits.line(),
    }


def gather(billing: Billing, model: str, now: datetime) -> dict[str, Any]:
    res = billing.resolution
    assert res is not None
    cred = res.credential
    spend: dict[str, Any] = {"mode": billing.mode, "today": None, "month": None}
    if billing.ledger is not None:
        spend["today"] = str(billing.ledger.spend(mode=billing.mode, since=day_start(now)))
        spend["month"] = str(billing.ledger.spend(mode=billing.mode, since=month_start(now)))
    limits = plan_limits(billing, now)
    windows = (
        current_windows(billing.ledger, billing.account, billing.plan, now=now, limits=limits)
        if billing.mode == "plan"
        else []
    )
    routed = cred is not None or res.claude is not None
    credit = None
    settings = billing.config.plan
    if billing.mode == "plan" and settings is not None and billing.ledger is not None:
        from thrifty.billing.credit import credit_state
        from thrifty.cli.usage.common import decimal_text  # only here: status stays light

        state = credit_state(billing.ledger, settings, now)
        credit = {
            "creditUsd": decimal_text(state.credit),
            "usedUsd": decimal_text(state.used),
            "remainingUsd": decimal_text(state.remaining) if state.credit is not None else None,
            "remainingPercent": state.percent_remaining if state.credit is not None else None,
            "unpricedCalls": state.unpriced_calls,
            "cycleStart": state.cycle_start.isoformat(),
            "refreshesOn": state.refreshes_on.isoformat(),
            "claimed": state.claimed,
            "usageCredits": state.usage_credits,
            "stopAt": settings.stop_at,
            "text": state.describe(),
        }
    return {
        "loggedIn": routed,
        "billingMode": billing.mode if routed else None,
        "authSource": res.source,
        "account": billing.account if routed else None,
        "claudeCode": (
            {"binary": res.claude.binary, "authMethod": res.claude.auth_method} if res.claude else None
        ),
        "why": res.explain(),
        "error": res.error(),
        "pinned": {"mode": res.pinned[0], "by": res.pinned[1]} if res.pinned else None,
        "rules": [
            {"name": r.name, "mode": r.mode, "state": r.state, "reason": r.reason or None} for r in res.rules
        ],
        "endpoint": res.endpoint,
        "model": model,
        "modelPrice": _price_basis(billing, model),
        "priceOverrides": {name: where for name, (_, where) in sorted(billing.config.prices.items())},
        "ledger": billing.ledger.location if billing.ledger else None,
        "spend": spend,
        "budgets": [
            cap.to_json() | {"text": cap.line()}
            for cap in (cap_standings(billing.config.budgets, billing.ledger, now) if billing.ledger else [])
        ],
        "plan": billing.plan.to_dict() if billing.plan else None,
        "agentSdkCredit": credit,
        "planLimits": _limits_json(limits) if limits is not None else None,
        "windows": [_window_json(w) for w in windows],
        "warnings": res.warnings(),
    }


def _price_basis(billing: Billing, model: str) -> str | None:
    """Where the model's price comes from (``prices.json <version>`` or ``override:<file>``), or None."""
    prices = billing.prices
    if prices.price(model) is None:
        return None
    stamp = prices.version_for(model)
    return stamp if stamp != prices.version else f"prices.json {stamp}"


def render_text(info: dict[str, Any]) -> str:
    lines = []
    if info["loggedIn"]:
        lines.append(f"Billing mode:  {MODE_WORDS.get(info['billingMode'], info['billingMode'])}")
        lines.append(f"Credential:    {info['authSource']} (account label: {info['account']})")
        if info["claudeCode"]:
            claude = info["claudeCode"]
            lines.append(
                f"Runs through:  Claude Code at {claude['binary']} (logged in: {claude['authMethod']}; "
                "thrifty never sends plan tokens itself)"
            )
    else:
        lines.append(f"Credential:    none - {info['error']}")
    lines.append(f"Why:           {info['why']}")
    if info["pinned"]:
        lines.append(f"Pinned:        {info['pinned']['mode']} by {info['pinned']['by']}")
    for rule in info["rules"]:
        reason = f" - {rule['reason']}" if rule["reason"] else ""
        lines.append(f"  {rule['state']:<9} {rule['name']} ({rule['mode'] or '?'}){reason}")
    lines.append(f"Endpoint:      {info['endpoint']}")
    basis = info["modelPrice"] or "no known price (costs show as unknown; a budget cap refuses it)"
    lines.append(f"Model:         {info['model']} (price: {basis})")
    for name, where in info["priceOverrides"].items():
        lines.append(f"Price:         {name} from {where}")
    lines.append(f"Ledger:        {info['ledger'] or 'not recording'}")
    spend = info["spend"]
    if spend["today"] is not None:
        word = "API rates; headless use draws the Agent SDK credit" if spend["mode"] == "plan" else "billed"
        today, month = Decimal(spend["today"]), Decimal(spend["month"])
        lines.append(f"Spend ({spend['mode']}): {_money(today)} today, {_money(month)} this month ({word})")
    lines.extend(f"Budget:        {cap['text']}" for cap in info.get("budgets") or [])
    if info["plan"]:
        lines.append(f"Plan:          {info['plan']['label']} (${info['plan']['monthlyFeeUsd']}/month)")
    if info["agentSdkCredit"]:
        for i, line in enumerate(info["agentSdkCredit"]["text"].splitlines()):
            lines.append(f"{'Credit:' if i == 0 else '':<15}{line}")
    for window in info["windows"]:
        lines.append(f"Window:        {window['text']}")
    if info.get("planLimits"):
        lines.append(f"Limits:        {info['planLimits']['text']}")
    if info["billingMode"] == "plan" and not info["windows"]:
        lines.append(
            "Window:        unknown until the first plan request (record your plan with `thrifty login`)"
        )
    lines.extend(f"Warning:       {w}" for w in info["warnings"])
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    cwd = Path.cwd()
    environ = dict(os.environ)
    settings = load_settings(cwd, environ=environ)
    try:
        billing = open_billing(
            cwd,
            environ,
            api_key_helper=settings.api_key_helper,
            flag_mode=args.billing_mode,
            flag_ledger=args.ledger,
        )
    except BillingError as exc:
        raise UsageError(str(exc)) from exc
    try:
        model = resolve_model(environ.get("ANTHROPIC_MODEL") or settings.model or DEFAULT_MODEL)
        info = gather(billing, model, datetime.now(UTC))
    finally:
        billing.close()
    if args.json:
        print(json.dumps(info, indent=2))
    else:
        print(render_text(info))
    if info["error"]:
        if not args.json:
            print(f"error: {info['error']}", file=sys.stderr)
        return EXIT_ERROR
    return 0
