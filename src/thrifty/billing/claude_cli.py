"""The user's own ``claude``: the only way thrifty runs work on a subscription plan.

Plan credentials (OAuth tokens, ``sk-ant-oat...``) are for Anthropic's own clients: Claude Code's
legal and compliance page says third-party products must use API keys and may not route requests
through Free, Pro or Max plan credentials, and since January 2026 the API refuses such tokens from
other clients. So thrifty never sends one. A plan run starts the user's ``claude`` (logged in by
the user) and reads its stream-json output; since June 15, 2026 that usage draws the plan's
monthly Agent SDK credit at API rates (support article "Use the Claude Agent SDK with your Claude
plan"), which is what thrifty meters.

Before any work the binary is found and asked ``claude auth status --json``, so a missing or
logged-out ``claude`` is one clear line, and a ``claude`` that would bill an API key is refused
(that is an API run: use thrifty's own API mode, which meters it directly).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from thrifty.billing.plan_presets import PlanDefinition


#: Environment variable naming the ``claude`` to run; else ``claude`` on PATH.
BINARY_ENV = "THRIFTY_CLAUDE_PATH"
AUTH_TIMEOUT_S = 20.0
PLAN_TOKEN_PREFIX = "sk-ant-oat"  # noqa: S105 - a prefix, not a secret
#: Variables that would make ``claude`` bill an API key instead of the plan login.
API_CREDENTIAL_VARS = ("ANTHROPIC_API_KEY",)
INSTALL_HINT = "install Claude Code (https://code.claude.com) or set THRIFTY_CLAUDE_PATH"


class ClaudeCliError(RuntimeError):
    """``claude`` cannot run plan work: one line saying what is wrong and what to do."""


@dataclass(frozen=True)
class ClaudeCode:
    """A ``claude`` binary logged in to a plan: what a plan run starts."""

    binary: str
    #: ``claude auth status``'s ``authMethod`` (e.g. ``claude.ai``, ``oauth_token``).
    auth_method: str
    #: The plan the user told thrifty they are on (``"plan"`` in config), for credit figures.
    plan: PlanDefinition | None = None

    @property
    def account(self) -> str:
        """The ledger's label for who pays; never secret."""
        return f"claude-code:{self.plan.name}" if self.plan is not None else "claude-code"


def find_claude(environ: Mapping[str, str]) -> str | None:
    """``THRIFTY_CLAUDE_PATH`` if set, else ``claude`` on the run's PATH."""
    named = (environ.get(BINARY_ENV) or "").strip()
    if named:
        return named
    return shutil.which("claude", path=environ.get("PATH", os.defpath))


def claude_environ(environ: Mapping[str, str]) -> dict[str, str]:
    """The environment a plan run gives ``claude``: without API credentials, so it uses its login.

    ``ANTHROPIC_AUTH_TOKEN`` stays only when it holds a plan token (Claude Code's own credential).
    Claude Code's telemetry switch is taken out: thrifty meters every call ``claude`` reports and
    exports it under the same metric names (``thrifty.telemetry``), so leaving it on would count
    each call twice.
    """
    env = {k: v for k, v in environ.items() if k not in API_CREDENTIAL_VARS}
    token = (env.get("ANTHROPIC_AUTH_TOKEN") or "").strip()
    if token and not token.startswith(PLAN_TOKEN_PREFIX):
        del env["ANTHROPIC_AUTH_TOKEN"]
    env.pop("CLAUDE_CODE_ENABLE_TELEMETRY", None)
    return env


def check_login(
    binary: str,
    environ: Mapping[str, str],
    *,
    plan: PlanDefinition | None = None,
    timeout: float = AUTH_TIMEOUT_S,
) -> ClaudeCode:
    """Ask ``claude auth status --json``; the ready binary, or ``ClaudeCliError``."""
    try:
        proc = subprocess.run(
            [binary, "auth", "status", "--json"],
            env=claude_environ(environ),
            stdin=subprocess.DEVNULL,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
    except FileNotFoundError:
        raise ClaudeCliError(
            f"plan runs need Claude Code, but {binary!r} was not found; {INSTALL_HINT}"
        ) from None
    except PermissionError:
        raise ClaudeCliError(f"plan runs need Claude Code, but {binary!r} is not executable") from None
    except OSError as exc:
        raise ClaudeCliError(f"could not start {binary!r} ({exc.strerror or type(exc).__name__})") from None
    except subprocess.TimeoutExpired:
        raise ClaudeCliError(f"`claude auth status` did not answer within {timeout:g}s") from None
    try:
        status = json.loads(proc.stdout.decode("utf-8", errors="replace"))
    except ValueError:
        status = None
    if not isinstance(status, dict):
        raise ClaudeCliError(
            f"{binary!r} did not answer `auth status --json` (exit status {proc.returncode}); "
            "plan runs need Claude Code 2.1 or later"
        )
    method = str(status.get("authMethod") or "none")
    if not status.get("loggedIn") or method == "none":
        raise ClaudeCliError("Claude Code is not logged in; run `claude` and /login with your plan account")
    if method == "api_key" or status.get("apiKeySource"):
        source = status.get("apiKeySource") or "an API key"
        raise ClaudeCliError(
            f"Claude Code would bill {source}, not a plan; use --billing-mode api for API runs, "
            "or remove the key from Claude Code's settings"
        )
    return ClaudeCode(binary, method, plan)
