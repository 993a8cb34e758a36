"""The one validator of ``AgentOptions``: every rule on what a run may be asked to do, and every
environment default, checked the same way whichever front end filled the options in.

A safety rule written in a front end protects only that front end (the root guard on
``bypassPermissions`` once lived in the CLI alone, so the SDK ran as root unchallenged). So the
CLI and the SDK only translate their inputs into ``AgentOptions`` and call :func:`validate`; the
session calls it again for callers that build ``AgentOptions`` themselves.

The front ends differ in how they spell an option, nothing else: a :class:`Spelling` names each
field as the user wrote it (``--fork-session`` or ``fork_session``) and carries the few messages
Claude Code words its own way, so a CLI user reads Claude Code's text and an SDK user reads the
keyword they passed. This module imports nothing heavy: the CLI reports a mistake before loading
the API client.
"""

from __future__ import annotations

import math
import os
import uuid
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING

from thrifty.agent.options import RateLimitPolicy, effective_request_timeout
from thrifty.agent.permissions.policy import PermissionMode, normalize_mode

if TYPE_CHECKING:
    from thrifty.agent.options import AgentOptions

__all__ = [
    "DEFAULT_MAX_RETRIES",
    "FIELD_NAMES",
    "MAX_RETRIES_ENV",
    "SANDBOX_ENV",
    "SetupError",
    "Spelling",
    "check_mode_switch",
    "max_budget_usd",
    "max_retries",
    "on_rate_limit",
    "permission_mode",
    "request_timeout",
    "validate",
]

#: Retries of one model call when neither the caller nor ``THRIFTY_MAX_RETRIES`` says.
DEFAULT_MAX_RETRIES = 4
MAX_RETRIES_ENV = "THRIFTY_MAX_RETRIES"
#: Claude Code's escape hatch: root may bypass permissions inside a sandbox that says so.
SANDBOX_ENV = "IS_SANDBOX"
SETTING_SOURCES = ("user", "project", "local")


class SetupError(ValueError):
    """A configuration mistake, reported in one line before the run starts."""


@dataclass(frozen=True)
class Spelling:
    """How a front end names options in messages.

    ``names`` maps a field (or the pseudo-field ``bypass``, the request to skip permissions) to
    the front end's spelling; a missing one is the field name itself, which is the SDK's keyword.
    ``wording`` replaces the template of a rule (keyed by rule id) where Claude Code has its own.
    """

    names: Mapping[str, str] = field(default_factory=dict)
    wording: Mapping[str, str] = field(default_factory=dict)

    def __call__(self, name: str) -> str:
        return self.names.get(name, name)

    def error(self, rule: str, template: str, **values: object) -> SetupError:
        """The rule's one-line message. A template names the options it is about as ``{resume}``,
        ``{fork_session}``... (spelled for this front end) and takes ``values`` as given."""
        text = self.wording.get(rule, template)
        spelled = {k: self(k) for k in _FIELDS_IN_MESSAGES}
        return SetupError(text.format(**spelled, **values))


#: The fields rules name in their messages, each available as ``{field}`` in a template.
_FIELDS_IN_MESSAGES = (
    "bypass",
    "continue_conversation",
    "fork_session",
    "ledger",
    "persist_session",
    "record_usage",
    "resume",
    "session_id",
)

#: Field names as they are: the SDK's keywords, and the session's own re-check.
FIELD_NAMES = Spelling()


# -- values that come in loose (a flag's text, a keyword of any type) ------------------------------


def permission_mode(value: str | None, spell: Spelling = FIELD_NAMES) -> PermissionMode | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SetupError(f"{spell('permission_mode')} must be a str, not {value!r}")
    try:
        return normalize_mode(value)
    except ValueError as exc:
        raise SetupError(str(exc)) from None


def max_budget_usd(value: object, spell: Spelling = FIELD_NAMES) -> Decimal | None:
    """A spend cap in dollars: a number or its text, finite and above 0."""
    if value is None:
        return None
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        amount = Decimal("NaN")
    if isinstance(value, bool) or not amount.is_finite() or amount <= 0:
        raise spell.error(
            "max_budget_usd",
            "{name} must be a number greater than 0, not {value!r}",
            name=spell("max_budget_usd"),
            value=value,
        )
    return amount


def max_retries(value: int | None, environ: Mapping[str, str], spell: Spelling = FIELD_NAMES) -> int:
    """The caller's value, else ``THRIFTY_MAX_RETRIES``, else 4: the environment is a default that
    an explicit option overrides, as ``API_TIMEOUT_MS`` is for the request timeout."""
    if value is None:
        raw = environ.get(MAX_RETRIES_ENV, "").strip()
        if not raw:
            return DEFAULT_MAX_RETRIES
        if not raw.isdigit():
            raise SetupError(f"{MAX_RETRIES_ENV} must be a whole number, not {raw!r}")
        return int(raw)
    _at_least_0(value, "max_retries", spell)
    return value


def on_rate_limit(value: object, spell: Spelling = FIELD_NAMES) -> RateLimitPolicy:
    if isinstance(value, RateLimitPolicy):
        return value
    name = spell("on_rate_limit")
    if not isinstance(value, str):
        raise SetupError(f"{name} must be a str like 'fail' or 'wait=2h', not {value!r}")
    try:
        return RateLimitPolicy.parse(value)
    except ValueError as exc:
        raise SetupError(f"{name} {exc}") from None


def request_timeout(value: object, spell: Spelling = FIELD_NAMES) -> float | None:
    """Seconds, as a number (a front end that reads text converts it first)."""
    if value is None:
        return None
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or value <= 0
    ):
        raise SetupError(f"{spell('request_timeout')} must be a number of seconds above 0, not {value!r}")
    return float(value)


def _at_least_0(value: object, name: str, spell: Spelling) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise SetupError(f"{spell(name)} must be 0 or more")


def _uuid(value: str | None, name: str, spell: Spelling) -> None:
    if value is None:
        return
    try:
        uuid.UUID(value)
    except (ValueError, TypeError, AttributeError):
        raise spell.error(
            "uuid", "{name} {value!r} is not a valid UUID", name=spell(name), value=value
        ) from None


def _bypass_refused(mode: str | None, environ: Mapping[str, str]) -> bool:
    """Claude Code's rule: no skipping permissions as root, unless ``IS_SANDBOX`` says the whole
    machine is disposable."""
    root = hasattr(os, "geteuid") and os.geteuid() == 0
    return mode == "bypassPermissions" and root and not environ.get(SANDBOX_ENV)


def check_mode_switch(mode: str, environ: Mapping[str, str]) -> None:
    """The root guard for a mode switched to while the session runs (``set_permission_mode``, a
    ``setMode`` update): a plain ValueError, which the control protocol answers as an error
    without ending the session."""
    try:
        canonical: str = normalize_mode(mode)
    except ValueError:
        return  # the policy reports an unknown mode in its own words
    if _bypass_refused(canonical, environ):
        raise ValueError("bypassPermissions cannot be used with root/sudo privileges for security reasons")


# -- the rules ------------------------------------------------------------------------------------


def validate(options: AgentOptions, spell: Spelling = FIELD_NAMES) -> None:
    """Raise ``SetupError`` for the first mistake in ``options``, in one line."""
    mode = permission_mode(options.permission_mode, spell)
    if _bypass_refused(mode, options.environ):
        raise spell.error("root", "{bypass} cannot be used with root/sudo privileges for security reasons")
    max_budget_usd(options.max_budget_usd, spell)
    if options.max_turns is not None and (isinstance(options.max_turns, bool) or options.max_turns < 0):
        raise SetupError(f"{spell('max_turns')} must be 0 (no limit) or a positive number")
    _at_least_0(options.max_retries, "max_retries", spell)
    _at_least_0(options.structured_output_retries, "structured_output_retries", spell)
    if options.auto_compact is not None and not isinstance(options.auto_compact, bool):
        raise SetupError(f"{spell('auto_compact')} must be true, false or unset")
    if options.max_tokens < 1:
        raise SetupError(f"{spell('max_tokens')} must be at least 1")
    on_rate_limit(options.on_rate_limit, spell)
    request_timeout(options.request_timeout, spell)
    try:
        effective_request_timeout(options)
    except ValueError as exc:
        raise SetupError(str(exc)) from None
    _sessions(options, spell)
    if options.billing_mode not in (None, "api", "plan"):
        raise SetupError(f"{spell('billing_mode')} must be 'api' or 'plan', not {options.billing_mode!r}")
    if options.ledger is not None and not options.record_usage:
        raise spell.error("ledger_off", "{ledger} and {record_usage} cannot be used together")
    for source in options.setting_sources or []:
        if source not in SETTING_SOURCES:
            raise SetupError(
                f"{spell('setting_sources')}: unknown source {source!r} (expected user, project, local)"
            )


def _sessions(options: AgentOptions, spell: Spelling) -> None:
    """Which conversation a run writes to: a new one, a stored one, or a fork of a stored one."""
    _uuid(options.session_id, "session_id", spell)
    _uuid(options.resume, "resume", spell)
    if options.resume and options.continue_conversation:
        raise spell.error("resume_continue", "{resume} and {continue_conversation} cannot be used together")
    resuming = bool(options.resume or options.continue_conversation)
    if options.fork_session and not resuming:
        raise spell.error("fork_alone", "{fork_session} only works with {resume} or {continue_conversation}")
    if options.session_id and resuming and not options.fork_session:
        raise spell.error(
            "session_id_resuming",
            "{session_id} with {resume} or {continue_conversation} also needs {fork_session}",
        )
    if options.fork_session and not options.persist_session:
        raise spell.error("fork_unsaved", "{fork_session} cannot be used with {persist_session}")
