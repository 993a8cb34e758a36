"""The one place that knows how to show a ledger URL without its password.

A ledger URL is typed by a user, written to config and echoed in errors and ``status``; a team's
PostgreSQL URL usually carries a password. Everything shown to a person goes through
``mask_url`` / ``scrub``: the password (raw or percent-encoded, in the userinfo or as a
``password=`` parameter) becomes ``***``. Both ``open`` (its errors) and the PostgreSQL backend
(its location and driver errors) need this, and ``open`` imports the backend, so it lives here.
"""

from __future__ import annotations

import re
from urllib.parse import quote, unquote, urlsplit, urlunsplit

#: A URL's scheme, as typed (``postgresql``, ``sqlite``, ...).
SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]*)://")
_PASSWORD_PARAM = re.compile(r"(^|&)(password=)([^&]*)", re.IGNORECASE)


def mask_url(url: str) -> str:
    """``url`` with any password replaced by ``***``; safe to print, log and store as ``location``."""
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if parts.password is not None:
            userinfo, _, hostport = netloc.rpartition("@")
            netloc = f"{userinfo.split(':', 1)[0]}:***@{hostport}"
        query = _PASSWORD_PARAM.sub(r"\1\2***", parts.query)
        return urlunsplit(parts._replace(netloc=netloc, query=query))
    except ValueError:  # unparseable: show the scheme only rather than risk the secret
        match = SCHEME.match(url)
        return f"{match.group(1) if match else 'url'}://***"


def url_secrets(url: str) -> list[str]:
    """Every spelling of the URL's password(s) that could surface in a driver's error message."""
    found: list[str] = []
    try:
        parts = urlsplit(url)
        raw = [parts.netloc.rpartition("@")[0].partition(":")[2]] if parts.password is not None else []
        raw += [m.group(3) for m in _PASSWORD_PARAM.finditer(parts.query)]
    except ValueError:
        raw = []
    for secret in raw:
        found += [secret, unquote(secret), quote(unquote(secret), safe="")]
    # Longest first, so a secret is never half-replaced by one of its own substrings.
    return sorted({s for s in found if s}, key=len, reverse=True)


def scrub(message: str, secrets: list[str]) -> str:
    """One line (errors end up in single-line CLI output and logs), with every secret masked."""
    for secret in secrets:
        message = message.replace(secret, "***")
    return " ".join(message.split())
