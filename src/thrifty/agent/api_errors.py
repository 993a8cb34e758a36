"""Readable text for failed model calls, worded as Claude Code words them.

The wording follows what ``claude -p`` 2.1.337 prints for the same failure, checked by running the
``claude`` binary that ``claude-agent-sdk`` bundles against the simulator (401, 403, 404, 413,
429, 500, 529, a reset connection, a stalled endpoint, a spent plan window) and against Claude
Code's error reference (code.claude.com/docs/en/errors). Where Claude Code names its own flags
or commands, thrifty names its equivalents. The raw response body never goes into this text; the
model caller writes it to the debug log.

Pure functions of the failure: ``model.py`` decides what is retried, this module only words it.
"""

from __future__ import annotations

import errno
import http
import os
import socket
import ssl
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import urlsplit

PREFIX = "API Error"
STATUS_PAGE = "https://status.claude.com"
ANTHROPIC_HOST = "api.anthropic.com"
#: The Messages API's request size limit (the SDKs document 32 MB; the simulator enforces it).
MAX_REQUEST = "32MB"
#: ``api_error_type`` when no response body names the error.
CONNECTION_ERROR = "connection_error"
REQUEST_TIMEOUT = "request_timeout"
#: Overloaded answers in a row before the text says so, as Claude Code's "Repeated 529".
REPEATED_OVERLOAD = 3
#: The unified rate-limit claims, named as Claude Code names them.
LIMIT_NAMES = {
    "five_hour": "5-hour limit",
    "seven_day": "weekly limit",
    "seven_day_opus": "Opus limit",
    "seven_day_sonnet": "Sonnet limit",
}
UNIFIED = "anthropic-ratelimit-unified-"
_DROPPED = {errno.ECONNRESET, errno.EPIPE, errno.ECONNABORTED}
_NO_ROUTE = {errno.ENETUNREACH, errno.ENETDOWN, errno.EHOSTUNREACH, errno.EHOSTDOWN}


def persist_hint(endpoint: str) -> str:
    """Where to look when a server-side error persists: the status page, or the custom gateway."""
    host = _host(endpoint)
    if host == ANTHROPIC_HOST:
        return f" If it persists, check {STATUS_PAGE}."
    return f" If it persists, check your inference gateway ({host})."


def _host(endpoint: str) -> str:
    return urlsplit(endpoint).netloc or endpoint


def _trimmed(message: str) -> str:
    return message.strip().rstrip(".!?…")


def status_text(
    status: int,
    message: str,
    *,
    model: str,
    endpoint: str,
    overloaded_in_a_row: int = 0,
) -> str:
    """The text for an HTTP error answer; ``message`` is the body's ``error.message``."""
    if status == 429:
        return rejected_429_text(message, endpoint)
    message = message.strip() or _phrase(status)
    lowered = message.lower()
    if status == 401 and "x-api-key" in lowered:
        return "Invalid API key · Fix external API key"
    if status in (401, 403):
        return f"Failed to authenticate. {PREFIX}: {status} {message}"
    if status == 404:
        return (
            f"There's an issue with the selected model ({model}). It may not exist or you may not have "
            "access to it. Run --model to pick a different model."
        )
    if status == 413:
        return (
            f"Request too large (max {MAX_REQUEST}). Accumulated images and attachments in the "
            "conversation pushed the request over the limit. Remove older images or start a new session."
        )
    if status == 529 and overloaded_in_a_row >= REPEATED_OVERLOAD:
        return (
            f"{PREFIX}: Repeated 529 Overloaded errors. The API is at capacity — this is usually "
            f"temporary. Try again in a moment.{persist_hint(endpoint)}"
        )
    if status >= 500:
        return (
            f"{PREFIX}: {status} {_trimmed(message)}. This is a server-side issue, usually temporary — "
            f"try again in a moment.{persist_hint(endpoint)}"
        )
    if "prompt is too long" in lowered:
        return "Prompt is too long"
    if "credit balance is too low" in lowered:
        return "Credit balance is too low"
    return f"{PREFIX}: {status} {message}"


def _phrase(status: int) -> str:
    if status == 529:
        return "Overloaded"
    try:
        return http.HTTPStatus(status).phrase
    except ValueError:
        return "no message"


def rejected_429_text(message: str, endpoint: str) -> str:
    detail = message.strip() or f"this may be a temporary capacity issue.{persist_hint(endpoint)}"
    return f"{PREFIX}: Request rejected (429) · {detail}"


def stream_error_text(error_type: str, message: str, *, endpoint: str) -> str:
    """An ``error`` event in the middle of a 200 stream (no HTTP status of its own)."""
    message = message.strip() or error_type
    if error_type == "rate_limit_error":
        return rejected_429_text(message, endpoint)
    if error_type in ("overloaded_error", "api_error", "timeout_error"):
        return (
            f"{PREFIX}: {_trimmed(message)}. This is a server-side issue, usually temporary — "
            f"try again in a moment.{persist_hint(endpoint)}"
        )
    return f"{PREFIX}: {message}"


def truncated_stream_text() -> str:
    """The stream ended cleanly but before ``message_stop`` (no stop reason)."""
    return f"{PREFIX}: Connection closed before the response finished"


def timeout_text(timeout_s: float | None) -> str:
    """No answer within the request timeout (``--request-timeout`` / ``API_TIMEOUT_MS``)."""
    limit = f"{round(timeout_s * 1000)}" if timeout_s else "the limit in force (600000 by default)"
    return (
        "Request timed out. If the API is slow to answer, or a proxy or gateway holds responses, "
        f"set API_TIMEOUT_MS above {limit} or pass a longer --request-timeout."
    )


def connection_text(exc: BaseException, endpoint: str) -> str:
    """The connection failed or broke off: name the OS error where the cause chain has one."""
    cause = _root_cause(exc)
    code = _code(cause) if cause is not None else None
    if isinstance(cause, ssl.SSLCertVerificationError):
        reason = cause.verify_message or cause.reason or "verification failed"
        return f"{PREFIX}: Unable to connect to API: SSL certificate verification failed ({reason})"
    if isinstance(cause, ssl.SSLError):
        return f"{PREFIX}: Unable to connect to API: SSL error ({cause.reason or code or 'unknown'})"
    if code is None:
        return f"{PREFIX}: Unable to connect to API. Check your internet connection"
    host = _host(endpoint)
    gateway = "" if host == ANTHROPIC_HOST else f" Check the gateway at {host}, then try again."
    if isinstance(cause, socket.gaierror):
        return f"{PREFIX}: Can't reach the API server — check your internet or DNS ({code})"
    assert isinstance(cause, OSError)
    if cause.errno in _DROPPED:
        return f"{PREFIX}: Connection dropped ({code}).{gateway}".rstrip()
    if cause.errno == errno.ECONNREFUSED:
        return f"{PREFIX}: Connection refused — a firewall or proxy may be blocking it ({code})"
    if cause.errno in _NO_ROUTE:
        return f"{PREFIX}: No internet route — check your connection or VPN ({code})"
    return f"{PREFIX}: Unable to connect to API ({code})"


def _root_cause(exc: BaseException) -> OSError | None:
    """The first OS-level error in the ``__cause__``/``__context__`` chain (httpx wraps them)."""
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, OSError) and (current.errno is not None or isinstance(current, ssl.SSLError)):
            return current
        current = current.__cause__ or current.__context__
    return None


def _code(exc: OSError) -> str | None:
    if isinstance(exc, socket.gaierror):
        return "ENOTFOUND"
    return errno.errorcode.get(exc.errno) if isinstance(exc.errno, int) else None


# -- rate limits ------------------------------------------------------------------------------


def unified_headers(headers: Mapping[str, str] | None) -> dict[str, str]:
    if headers is None:
        return {}
    return {low: v for k, v in headers.items() if (low := k.lower()).startswith(UNIFIED)}


def resets_at(headers: Mapping[str, str], delay_s: float | None, *, now: float) -> datetime | None:
    """When the limit lifts: the plan claim's reset header, else ``retry-after`` from now."""
    raw = unified_headers(headers).get(f"{UNIFIED}reset")
    if raw:
        try:
            stamp = float(raw)
        except ValueError:
            stamp = 0.0
        if stamp > now:
            return datetime.fromtimestamp(stamp, UTC)
    if delay_s is not None:
        return datetime.fromtimestamp(now + delay_s, UTC)
    return None


def plan_limit_text(headers: Mapping[str, str], reset: datetime | None, *, now: float) -> str | None:
    """``You've hit your 5-hour limit · resets 7:12am (Europe/Berlin)`` for a plan's spent window;
    None when the answer carries no unified rate-limit claim (an API-key limit)."""
    claim = unified_headers(headers).get(f"{UNIFIED}representative-claim")
    if claim is None:
        return None
    text = f"You've hit your {LIMIT_NAMES.get(claim, 'usage limit')}"
    return text + (f" · resets {format_reset(reset, now=now)}" if reset is not None else "")


def long_wait_text(base: str, reset: datetime | None, *, now: float, policy: str, state: str) -> str:
    """``base`` (the 429's own text) plus when it lifts and what thrifty does about it: ``state``
    is ``waiting``, ``refused`` (longer than ``policy`` allows) or ``exhausted`` (no retries left)."""
    text = base
    if reset is not None and "· resets " not in base:
        text += f" · resets {format_reset(reset, now=now)}"
    if state == "waiting":
        return f"{text} · waiting for it (--on-rate-limit {policy})"
    if state == "exhausted":
        return f"{text} · still limited after the last retry; run again after the reset"
    if policy == "fail":
        return f"{text} · not waiting that long: run again after the reset, or pass --on-rate-limit wait"
    return f"{text} · that is a longer wait than --on-rate-limit {policy} allows"


def format_reset(when: datetime, *, now: float) -> str:
    """Local wall-clock time with the zone, as Claude Code: ``7:12am (Europe/Berlin)``, and
    ``Jul 18 at 4am (Europe/Berlin)`` when it is not today."""
    local = when.astimezone()
    hour = local.hour % 12 or 12
    clock = f"{hour}{'' if local.minute == 0 else f':{local.minute:02d}'}{'am' if local.hour < 12 else 'pm'}"
    today = datetime.fromtimestamp(now, UTC).astimezone().date()
    day = "" if local.date() == today else f"{local:%b} {local.day} at "
    return f"{day}{clock} ({_zone_name(local)})"


def _zone_name(local: datetime) -> str:
    tz = os.environ.get("TZ", "").lstrip(":")
    if "/" in tz and not tz.startswith("/"):
        return tz.removeprefix("Etc/")
    try:
        link = str(Path("/etc/localtime").readlink())
    except OSError:
        link = ""
    if "zoneinfo/" in link:
        return link.split("zoneinfo/", 1)[1].removeprefix("Etc/")
    return local.tzname() or "UTC"
