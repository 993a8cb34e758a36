"""Failures of one attempt, in terms that do not depend on which client carried it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal


class HttpStatusFailure(Exception):
    """An error answer: a non-2xx status, or an ``error`` event inside a 200 stream.

    As the SDK (``_make_status_error_from_response``, ``AsyncStream.__stream__``): ``body`` is
    the parsed JSON when the text is JSON, else the stripped text; a mid-stream ``error`` event
    has status 200 and the event's data as its body.
    """

    def __init__(self, status: int, headers: Mapping[str, str], body: Any, request_id: str | None) -> None:
        super().__init__(
            f"Error code: {status} - {body}" if body not in (None, "") else f"Error code: {status}"
        )
        self.status = status
        self.headers = headers
        self.body = body
        self.request_id = request_id


class TransportFailure(Exception):
    """No (complete) answer: ``timeout``, ``connection`` (refused, reset, dropped), or ``other``
    (a client error that is neither; reported after metering, then re-raised as it was)."""

    def __init__(self, kind: Literal["timeout", "connection", "other"], cause: Exception) -> None:
        super().__init__(str(cause))
        self.kind = kind
        self.cause = cause
