"""``thrifty login`` / ``thrifty logout``: tell thrifty which Claude plan you run on; never a token.

Plan credentials are for Anthropic's own clients, so thrifty does not take, store or send them:
plan runs go through the user's own ``claude``, logged in by the user. What thrifty needs from the
user is what no API can tell it: which plan, the day the billing cycle renews, and whether the
Agent SDK credit is claimed and usage credits are on. ``login`` writes that to the ``"plan"``
block of the user config and checks that Claude Code is there and logged in.

A plan token stored by an older thrifty is deleted here (its plan kept), and nothing given as an
argument is ever echoed: a token typed in the wrong place must not be printed back.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from thrifty.billing.claude_cli import ClaudeCliError, check_login, find_claude
from thrifty.billing.config import USER_FILE
from thrifty.billing.paths import config_dir
from thrifty.billing.plan_presets import ALL_PRESETS, PRESET_ALIASES, custom_plan, preset_key
from thrifty.billing.plan_settings import CUSTOM, PlanSettings, stop_fraction
from thrifty.billing.store import CredentialStore, StoreError
from thrifty.cli.errors import EXIT_OK, UsageError

PLAN_CHOICES = (*ALL_PRESETS, CUSTOM)
#: Also accepted: Anthropic's current names (``max`` is max-5x, ``ultra`` is max-20x).
PLAN_ALIASES = tuple(PRESET_ALIASES)
CUSTOM_FLAGS = ("five_hour_tokens", "weekly_tokens", "monthly_fee")
NO_TOKENS = (
    "thrifty does not take plan tokens (Anthropic allows them only in its own clients); log in to "
    "Claude Code instead (`claude`, then /login), and thrifty runs plan work through it"
)

LOGIN_DESCRIPTION = (
    "Record which Claude plan you are on, so plan runs and reports can show your Agent SDK credit "
    "and windows. thrifty never takes or sends plan tokens: plan runs (--billing-mode plan) go "
    'through your own `claude`, logged in by you (`claude`, then /login). This writes the "plan" '
    "block of thrifty's user config and checks that Claude Code is installed and logged in. Since "
    "June 15, 2026, headless and SDK use on a plan draws a monthly Agent SDK credit at API rates; "
    "claim it once in your Claude account, then pass --credit-claimed. Preset window limits are "
    "estimates; use --plan custom with your own numbers to replace them."
)

EXAMPLES = """Examples:
  thrifty login --plan max-5x --cycle-day 14 --credit-claimed
  thrifty login --plan pro --usage-credits --stop-at never
  thrifty login --plan custom --five-hour-tokens 2000000 --weekly-tokens 20000000 --monthly-fee 50
"""


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    login = sub.add_parser(
        "login",
        help="record your Claude plan (thrifty never takes plan tokens)",
        description=LOGIN_DESCRIPTION,
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    # Catches a token given as an argument, so it is refused without being echoed back.
    login.add_argument("token", nargs="*", help=argparse.SUPPRESS)
    login.add_argument(
        "--plan", metavar="PLAN", help=f"your plan: {', '.join(PLAN_CHOICES)} (max = max-5x, ultra = max-20x)"
    )
    login.add_argument("--cycle-day", metavar="DAY", help="day of the month your plan renews (1-31)")
    claimed = login.add_mutually_exclusive_group()
    claimed.add_argument(
        "--credit-claimed",
        dest="claimed",
        action="store_const",
        const=True,
        help="the Agent SDK credit is claimed",
    )
    claimed.add_argument("--credit-not-claimed", dest="claimed", action="store_const", const=False)
    overage = login.add_mutually_exclusive_group()
    overage.add_argument(
        "--usage-credits",
        dest="usage_credits",
        action="store_const",
        const=True,
        help="usage credits are enabled: usage past the credit continues at API rates",
    )
    overage.add_argument("--no-usage-credits", dest="usage_credits", action="store_const", const=False)
    login.add_argument(
        "--stop-at",
        metavar="WHEN",
        help="credit (default): stop plan runs before they draw past the credit; a share such as 80%%: "
        "stop earlier; never: run on into usage credits",
    )
    login.add_argument("--five-hour-tokens", metavar="N", help="with --plan custom: 5-hour window limit")
    login.add_argument("--weekly-tokens", metavar="N", help="with --plan custom: weekly window limit")
    login.add_argument("--monthly-fee", metavar="USD", help="with --plan custom: monthly fee in USD")
    login.add_argument(
        "--sdk-credit", metavar="USD", help="with --plan custom: monthly Agent SDK credit in USD"
    )
    sub.add_parser(
        "logout",
        help="forget your plan settings (and any plan token an older thrifty stored)",
        description='Remove the "plan" block from thrifty\'s user config and delete a plan token '
        "stored by an older thrifty. Claude Code's own login is not touched (use `claude` /logout).",
    )


def _positive_int(value: str | None, flag: str, unit: str = "tokens") -> int:
    try:
        number = int(value or "")
    except ValueError:
        raise UsageError(f"{flag} must be a positive whole number of {unit}") from None
    if number <= 0:
        raise UsageError(f"{flag} must be a positive whole number of {unit}")
    return number


def _user_config(environ: dict[str, str]) -> tuple[Path, dict[str, Any]]:
    path = config_dir(environ) / USER_FILE
    try:
        data = json.loads(path.read_text("utf-8"))
    except FileNotFoundError:
        return path, {}
    except (OSError, ValueError) as exc:
        raise UsageError(
            f"cannot read {path} ({exc}); fix or remove it, then run `thrifty login` again"
        ) from None
    if not isinstance(data, dict):
        raise UsageError(f"{path} must hold a JSON object; fix or remove it, then run `thrifty login` again")
    return path, data


def _write_config(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + ".tmp")
    try:
        tmp.write_text(json.dumps(data, indent=2) + "\n", "utf-8")
        tmp.replace(path)
    except OSError as exc:
        raise UsageError(f"could not write {path} ({exc.strerror or exc})") from None


def _settings(args: argparse.Namespace, old: PlanSettings | None, legacy_plan: str | None) -> PlanSettings:
    name = (preset_key(args.plan) if args.plan else None) or (old.name if old else None) or legacy_plan
    if name is None:
        raise UsageError(f"--plan is required: one of {', '.join(PLAN_CHOICES)}")
    if name not in PLAN_CHOICES:
        raise UsageError(f"--plan must be one of {', '.join(PLAN_CHOICES)}")
    given = [f for f in (*CUSTOM_FLAGS, "sdk_credit") if getattr(args, f) is not None]
    custom = old.custom if old is not None and old.name == CUSTOM and name == CUSTOM else None
    if name != CUSTOM and given:
        raise UsageError(
            "--five-hour-tokens, --weekly-tokens, --monthly-fee and --sdk-credit go with --plan custom"
        )
    if name == CUSTOM and (given or custom is None):
        if any(getattr(args, f) is None for f in CUSTOM_FLAGS):
            raise UsageError("--plan custom needs --five-hour-tokens, --weekly-tokens and --monthly-fee")
        try:
            custom = custom_plan(
                five_hour_tokens=_positive_int(args.five_hour_tokens, "--five-hour-tokens"),
                weekly_tokens=_positive_int(args.weekly_tokens, "--weekly-tokens"),
                monthly_fee_usd=args.monthly_fee,
                sdk_credit_usd=args.sdk_credit,
            )
        except ValueError as exc:
            raise UsageError(f"--plan custom: {exc}") from None
    day = old.billing_cycle_day if old else 1
    if args.cycle_day is not None:
        day = _positive_int(args.cycle_day, "--cycle-day", "days")
        if day > 31:
            raise UsageError("--cycle-day must be a day of the month, 1 to 31")

    if args.stop_at is not None and args.stop_at != "never" and stop_fraction(args.stop_at) is None:
        raise UsageError("--stop-at must be credit, a share of the credit such as 80%, or never")

    def pick(value: Any, previous: Any) -> Any:
        return previous if value is None else value

    return PlanSettings(
        name=name,
        billing_cycle_day=day,
        claimed=pick(args.claimed, old.claimed if old else False),
        usage_credits=pick(args.usage_credits, old.usage_credits if old else False),
        stop_at=pick(args.stop_at, old.stop_at if old else "credit"),
        custom=custom,
    )


def _legacy_plan(store: CredentialStore) -> str | None:
    """The plan name an older ``thrifty login`` stored with its token; the token is never used."""
    try:
        login = store.load()
    except StoreError:
        return None
    return login.plan.name if login is not None and login.plan.name in ALL_PRESETS else None


def _remove_legacy(store: CredentialStore) -> bool:
    try:
        return store.delete()
    except (StoreError, OSError) as exc:
        raise UsageError(f"could not delete the plan token an older thrifty stored ({exc})") from None


def run(args: argparse.Namespace) -> int:
    if args.token:
        raise UsageError(NO_TOKENS)
    environ = dict(os.environ)
    store = CredentialStore(environ)
    legacy = store.exists()
    path, data = _user_config(environ)
    old = None
    if isinstance(data.get("plan"), dict):
        try:
            old = PlanSettings.from_dict(data["plan"])
        except ValueError:
            old = None  # replaced below by what the flags say
    settings = _settings(args, old, _legacy_plan(store) if legacy else None)
    data["plan"] = settings.to_dict()
    _write_config(path, data)
    print(f"Plan: {settings.definition.describe()}")
    print(f'Saved in {path} ("plan")')
    if legacy and _remove_legacy(store):
        print(f"Deleted the plan token an older thrifty stored in {store.location}; it is never used again")
    if not settings.claimed:
        print(
            "note: the Agent SDK credit is not marked as claimed; claim it once in your Claude account "
            "(headless plan use needs it), then run `thrifty login --credit-claimed`",
            file=sys.stderr,
        )
    binary = find_claude(environ)
    if binary is None:
        print(
            "note: Claude Code was not found; plan runs need it (install it or set THRIFTY_CLAUDE_PATH)",
            file=sys.stderr,
        )
        return EXIT_OK
    try:
        claude = check_login(binary, environ)
    except ClaudeCliError as exc:
        print(f"note: {exc}", file=sys.stderr)
        return EXIT_OK
    print(f"Claude Code at {claude.binary} is logged in ({claude.auth_method}); plan runs go through it")
    return EXIT_OK


def run_logout(args: argparse.Namespace) -> int:
    environ = dict(os.environ)
    path, data = _user_config(environ)
    had_plan = data.pop("plan", None) is not None
    if had_plan:
        _write_config(path, data)
        print(f"Removed the plan settings from {path}")
    store = CredentialStore(environ)
    if _remove_legacy(store):
        print(f"Deleted the plan token an older thrifty stored in {store.location}")
    elif not had_plan:
        print("No plan settings or stored plan token; nothing to remove")
    print("Claude Code's own login is untouched (run `claude` and /logout to end it)")
    return EXIT_OK
