"""A small streaming Messages API client on ``httpx2``: what the fast path sends instead of the SDK.

Wire behaviour kept from the anthropic SDK 2.17 client that ``billing.auth.Resolution.client``
builds (checked against the simulator by ``tests/agent/test_wire_differential.py``):

- ``POST {endpoint}/v1/messages`` with the params as given plus ``"stream": true``, compact JSON
  (``ensure_ascii=False``, ``allow_nan=False``); ``accept`` and ``content-type``
  ``application/json``; ``anthropic-version`` as the SDK sends it; an API key as ``x-api-key``
  (no ``Authorization``), a gateway token as ``Authorization: Bearer``. The ``user-agent`` names
  thrifty, and no ``x-stainless-*`` headers are sent: this is not the SDK.
- Timeouts: ``timeout_s`` (600 s by default) to wait for the answer and for each chunk of the
  stream, at most 5 s to connect (``billing.auth.request_timeout``); redirects followed.
- Errors: a non-2xx answer raises ``HttpStatusFailure`` (status, headers, body, ``request-id``);
  an ``error`` event in the stream raises it with status 200; ``ping`` events, events without
  an ``event:`` line and events without data are skipped. Transport errors are ``httpx2``'s own.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import httpx2

from thrifty.agent.wire.errors import HttpStatusFailure
from thrifty.agent.wire.sse import SSEDecoder

if TYPE_CHECKING:
    import ssl

#: What the SDK in use (2.17) sends; the API pins behaviour to it.
ANTHROPIC_VERSION = "2026-10-21"
DEFAULT_TIMEOUT_S = 600.0
CONNECT_TIMEOUT_S = 5.0


def user_agent() -> str:
    from thrifty import __version__

    return f"thrifty/{__version__} (httpx2/{httpx2.__version__})"


class WireClient:
    """One endpoint and credential; ``stream`` opens one streaming request."""

    def __init__(
        self,
        endpoint: str,
        *,
        scheme: str | None,
        secret: str | None,
        timeout_s: float | None = None,
        verify: ssl.SSLContext | bool = True,
        transport: httpx2.AsyncBaseTransport | None = None,
    ) -> None:
        """``transport`` replaces the network (tests replay recorded bytes through it)."""
        self.endpoint = endpoint
        self.scheme = scheme
        self._secret = secret
        self.timeout_s = DEFAULT_TIMEOUT_S if timeout_s is None else float(timeout_s)
        headers = {
            "accept": "application/json",
            "content-type": "application/json",
            "anthropic-version": ANTHROPIC_VERSION,
            "user-agent": user_agent(),
        }
        if secret is not None:
            if scheme == "bearer":
                headers["authorization"] = f"Bearer {secret}"
            else:
                headers["x-api-key"] = secret
        self._headers = headers
        self._url = endpoint.rstrip("/") + "/v1/messages"
        self._http = httpx2.AsyncClient(
            timeout=httpx2.Timeout(self.timeout_s, connect=min(CONNECT_TIMEOUT_S, self.timeout_s)),
            verify=verify,
            follow_redirects=True,
            limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=100),
            transport=transport,
        )

    @property
    def base_url(self) -> str:
        """The endpoint as the SDK's ``client.base_url`` prints it (with a trailing slash)."""
        return self.endpoint if self.endpoint.endswith("/") else self.endpoint + "/"

    @property
    def credentials(self) -> list[str]:
        return [self._secret] if self._secret else []

    @asynccontextmanager
    async def stream(self, params: Mapping[str, Any]) -> AsyncIterator[WireStream]:
        body = json.dumps(
            {**params, "stream": True}, ensure_ascii=False, separators=(",", ":"), allow_nan=False
        )
        request = self._http.build_request("POST", self._url, content=body.encode(), headers=self._headers)
        response = await self._http.send(request, stream=True)
        try:
            if not response.is_success:
                await response.aread()
                text = response.text.strip()
                parsed: Any = text
                with contextlib.suppress(ValueError):
                    parsed = json.loads(text)
                raise HttpStatusFailure(
                    response.status_code, response.headers, parsed, response.headers.get("request-id")
                )
            yield WireStream(response)
        finally:
            await response.aclose()

    async def close(self) -> None:
        await self._http.aclose()


class WireStream:
    """One answer being streamed: its headers, and the data of each event, decoded."""

    def __init__(self, response: httpx2.Response) -> None:
        self.response = response
        self.headers: Mapping[str, str] = response.headers
        self.request_id: str | None = response.headers.get("request-id")

    async def events(self) -> AsyncIterator[dict[str, Any]]:
        async for sse in SSEDecoder().aiter_bytes(self.response.aiter_bytes()):
            if sse.event == "ping" or sse.event is None:
                continue
            if sse.event == "error":
                body: Any = sse.data
                with contextlib.suppress(ValueError):
                    body = json.loads(sse.data)
                raise HttpStatusFailure(200, self.headers, body, self.request_id)
            if not sse.data:
                continue
            yield json.loads(sse.data)
