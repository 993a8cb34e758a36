"""Secrets that cannot leak by accident: masked when printed, and redacted from text at the edge.

A credential is wrapped in ``Secret`` the moment thrifty reads it (environment, helper output,
keyring, file). Its ``repr``, ``str`` and ``format`` show only a mask, so an f-string, a log
call or an exception message that mentions it is safe by default; ``reveal()`` is the one
deliberate way to get the value, and it is only called where the value goes on the wire or
into a store.

Every ``Secret`` also registers its value process-wide, so ``redact`` (and the logging filter
built on it) can scrub text that got the value some other way: a subprocess's stderr, an SDK
error message that quotes a header, a traceback.
"""

from __future__ import annotations

import hmac
import json
import logging
import threading
from typing import Any, NoReturn

ELLIPSIS = "…"
#: Values shorter than this are masked to a bare ``…``: showing 9 characters of a short secret
#: would give most of it away.
MIN_PARTIAL_MASK = 20
#: Values shorter than this are not registered for automatic redaction: scrubbing every "abc"
#: from all output would mangle it while protecting nothing worth protecting. Pass such a value
#: to ``redact`` explicitly if it matters.
MIN_REGISTERED = 8

_registry: set[str] = set()
#: The registry longest first, rebuilt when it grows: ``redact`` runs on every string a
#: transcript line holds, so it must not sort (or lock) per call.
_ordered: tuple[tuple[str, str], ...] = ()
#: Whether every registered secret reads the same inside a JSON string (no quote, backslash or
#: control character to escape): then redacting encoded JSON catches each one as it stands.
_json_plain = True
_lock = threading.Lock()


def mask(value: str) -> str:
    """At most the first 7 and last 2 characters: enough to tell two keys apart, not to use one."""
    if len(value) < MIN_PARTIAL_MASK:
        return ELLIPSIS
    return value[:7] + ELLIPSIS + value[-2:]


def register(value: str) -> None:
    global _ordered, _json_plain
    if len(value) >= MIN_REGISTERED:
        with _lock:
            if value not in _registry:
                _registry.add(value)
                _ordered = tuple((v, mask(v)) for v in sorted(_registry, key=len, reverse=True))
                _json_plain = _json_plain and json.dumps(value, ensure_ascii=False)[1:-1] == value


def json_plain() -> bool:
    """True when ``redact`` of a JSON document finds every registered secret in its encoded
    text, so the document need not be redacted string by string before encoding."""
    return _json_plain


def registered_count() -> int:
    with _lock:
        return len(_registry)


class Secret:
    """A string that shows only its mask; ``reveal()`` is the explicit way out."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        if not isinstance(value, str):
            raise TypeError("Secret wraps a str")
        self._value = value
        register(value)

    def reveal(self) -> str:
        return self._value

    @property
    def masked(self) -> str:
        return mask(self._value)

    def __repr__(self) -> str:
        return f"Secret({self.masked!r})"

    def __str__(self) -> str:
        return self.masked

    def __format__(self, spec: str) -> str:
        return format(self.masked, spec)

    def __bool__(self) -> bool:
        return bool(self._value)

    def __len__(self) -> int:
        return len(self._value)

    def __eq__(self, other: object) -> bool:
        # Constant time, so comparing a presented token with a stored one does not leak it.
        if not isinstance(other, Secret):
            return NotImplemented
        return hmac.compare_digest(self._value.encode(), other._value.encode())

    def __hash__(self) -> int:
        return hash(("Secret", self._value))

    def __copy__(self) -> Secret:
        return self

    def __deepcopy__(self, memo: dict[int, Any]) -> Secret:
        return self

    def __reduce__(self) -> NoReturn:
        # Pickling would write the value somewhere nobody reviewed (a cache, a queue, a file).
        raise TypeError("a Secret cannot be pickled; call reveal() where storing it is intended")


def redact(text: str, *extra: str | Secret) -> str:
    """Replace every registered secret, and each of ``extra``, with its mask.

    Longest values go first so a secret that contains another is replaced whole.
    """
    if not extra:
        for value, masked in _ordered:  # a tuple swapped whole: reading it needs no lock
            if value in text:
                text = text.replace(value, masked)
        return text
    values = {e.reveal() if isinstance(e, Secret) else e for e in extra}
    with _lock:
        values |= _registry
    for value in sorted((v for v in values if v), key=len, reverse=True):
        if value in text:
            text = text.replace(value, mask(value))
    return text


class RedactingFilter(logging.Filter):
    """Attach to a handler (or logger) so no record it passes carries a registered secret.

    The message is rendered once with its args and then redacted, because a secret can hide
    inside any argument's ``str`` (an exception, a dict of headers), not only in string args.
    Exception text is rendered and redacted too, since tracebacks quote local values.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a malformed record: keep what we can show safely
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True
