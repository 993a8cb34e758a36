"""``thrifty login`` / ``thrifty logout``: store or remove the plan token thrifty bills your plan with.

The token is read from a hidden prompt or from stdin, never from argv: arguments end up in
shell history and in every other user's ``ps`` output. For the same reason no argparse error
here ever echoes a value (a token typed in the wrong place must not be printed back).
"""

from __future__ import annotations

import argparse
import getpass
import os
import sys
from datetime import UTC, datetime
from typing import Any

from thrifty.billing.plan_presets import PRESETS, PlanDefinition, custom_plan
from thrifty.billing.secret import Secret
from thrifty.billing.store import CredentialStore, StoredLogin, StoreError
from thrifty.cli.errors import EXIT_OK, UsageError

PLAN_CHOICES = (*PRESETS, "custom")
PLAN_TOKEN_PREFIX = "sk-ant-oat"  # noqa: S105 - a prefix, not a secret
API_KEY_PREFIX = "sk-ant-api"
CUSTOM_FLAGS = ("five_hour_tokens", "weekly_tokens", "monthly_fee")
NO_ARGV = (
    "do not pass the token as an argument (it would land in shell history and `ps`); "
    "pipe it on stdin (`thrifty login < token.txt`) or run `thrifty login` in a terminal to be prompted"
)

LOGIN_DESCRIPTION = (
    "Store a Claude subscription token so thrifty can bill your plan instead of an API key. "
    "Create one with `claude setup-token` (it starts with sk-ant-oat). The token is read from a "
    "hidden prompt in a terminal, or from the first line of stdin; it is never accepted as an "
    "argument. It goes to the OS keyring when one is available, else to a 0600 file in thrifty's "
    "config directory (THRIFTY_KEYRING=0 forces the file). ANTHROPIC_API_KEY, ANTHROPIC_AUTH_TOKEN, "
    "apiKeyHelper and CLAUDE_CODE_OAUTH_TOKEN still take precedence unless you pass --billing-mode "
    "plan or set billingMode in .thrifty.json. Preset plan limits are estimates; use --plan custom "
    "with your own numbers to replace them."
)


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    login = sub.add_parser(
        "login", help="store a plan token (from `claude setup-token`)", description=LOGIN_DESCRIPTION
    )
    # Catches a token given as an argument, so it is refused without being echoed back.
    login.add_argument("token", nargs="*", help=argparse.SUPPRESS)
    login.add_argument(
        "--plan",
        default="pro",
        metavar="PLAN",
        help=f"your subscription: {', '.join(PLAN_CHOICES)} (default: pro)",
    )
    login.add_argument("--five-hour-tokens", metavar="N", help="with --plan custom: 5-hour window limit")
    login.add_argument("--weekly-tokens", metavar="N", help="with --plan custom: weekly window limit")
    login.add_argument("--monthly-fee", metavar="USD", help="with --plan custom: monthly fee in USD")
    sub.add_parser(
        "logout",
        help="remove the stored plan token",
        description="Remove the plan token stored by `thrifty login` (keyring entry and files).",
    )


def _positive_int(value: str | None, flag: str) -> int:
    try:
        number = int(value or "")
    except ValueError:
        raise UsageError(f"{flag} must be a positive whole number of tokens") from None
    if number <= 0:
        raise UsageError(f"{flag} must be a positive whole number of tokens")
    return number


def _plan(args: argparse.Namespace) -> PlanDefinition:
    if args.plan not in PLAN_CHOICES:
        raise UsageError(f"--plan must be one of {', '.join(PLAN_CHOICES)}")
    given = [f for f in CUSTOM_FLAGS if getattr(args, f) is not None]
    if args.plan != "custom":
        if given:
            raise UsageError("--five-hour-tokens, --weekly-tokens and --monthly-fee go with --plan custom")
        return PRESETS[args.plan]
    if len(given) != len(CUSTOM_FLAGS):
        raise UsageError("--plan custom needs --five-hour-tokens, --weekly-tokens and --monthly-fee")
    try:
        return custom_plan(
            five_hour_tokens=_positive_int(args.five_hour_tokens, "--five-hour-tokens"),
            weekly_tokens=_positive_int(args.weekly_tokens, "--weekly-tokens"),
            monthly_fee_usd=args.monthly_fee,
        )
    except ValueError as exc:
        raise UsageError(f"--plan custom: {exc}") from None


def _read_token() -> Secret:
    stdin = sys.stdin
    try:
        if stdin is not None and stdin.isatty():
            raw = getpass.getpass("Paste your Claude plan token (input hidden): ")
        else:
            raw = stdin.readline() if stdin is not None else ""
    except EOFError:
        raw = ""
    token = Secret(raw.strip())
    if not token:
        raise UsageError("no token given; " + NO_ARGV.split("; ", 1)[1])
    value = token.reveal()
    if any(c.isspace() or not c.isprintable() for c in value):
        raise UsageError("the token contains spaces or control characters; paste only the token")
    if value.startswith(API_KEY_PREFIX):
        raise UsageError(
            "that is an API key, not a plan token; set ANTHROPIC_API_KEY to bill per token instead"
        )
    return token


def run(args: argparse.Namespace) -> int:
    if args.token:
        raise UsageError(NO_ARGV)
    plan = _plan(args)
    token = _read_token()
    if not token.reveal().startswith(PLAN_TOKEN_PREFIX):
        print(
            f"note: the token does not start with {PLAN_TOKEN_PREFIX} like `claude setup-token` tokens; "
            "stored anyway",
            file=sys.stderr,
        )
    store = CredentialStore(os.environ)
    try:
        replaced = store.exists()
        store.save(StoredLogin(token, plan, datetime.now(UTC)))
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"could not write to {store.directory} ({exc.strerror or exc})") from None
    verb = "Replaced the stored plan token" if replaced else "Stored the plan token"
    print(f"{verb} in {store.location}")
    print(f"Plan: {plan.describe()}")
    shadows = [n for n in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN") if os.environ.get(n, "").strip()]
    if shadows:
        print(
            f"note: {' and '.join(shadows)} is set here and takes precedence over this login; pass "
            "--billing-mode plan (or set billingMode in .thrifty.json) to bill your plan",
            file=sys.stderr,
        )
    return EXIT_OK


def run_logout(args: argparse.Namespace) -> int:
    store = CredentialStore(os.environ)
    try:
        removed = store.delete()
    except StoreError as exc:
        raise UsageError(str(exc)) from None
    except OSError as exc:
        raise UsageError(f"could not remove the stored login ({exc.strerror or exc})") from None
    if removed:
        print(f"Removed the stored plan token from {store.location}")
    else:
        print(f"No plan token was stored in {store.location}; nothing to remove")
    return EXIT_OK
