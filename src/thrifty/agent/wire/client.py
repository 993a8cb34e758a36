"""A small streaming Messages API client: what the fast path sends instead of the SDK.

Wire behaviour kept from the anthropic SDK 2.17 client that ``billing.auth.Resolution.client``
builds (checked against the simulator by ``tests/agent/test_wire_differential.py`` and against
recorded API streams by ``tests/agent/test_wire_recorded.py``):

- ``POST {endpoint}/v1/messages`` with the params as given plus ``"stream": true``, compact JSON
  (``ensure_ascii=False``, ``allow_nan=False``; ``body.BodyEncoder`` keeps each item's text);
  ``accept`` and ``content-type``
  ``application/json``; ``anthropic-version`` as the SDK sends it; an API key as ``x-api-key``
  (no ``Authorization``), a gateway token as ``Authorization: Bearer``. The ``user-agent`` names
  thrifty, and no ``x-stainless-*`` headers are sent: this is not the SDK.
- Timeouts: ``timeout_s`` (600 s by default) to wait for the answer and for each chunk of the
  stream, at most 5 s to connect (``billing.auth.request_timeout``); redirects followed.
- Errors: a non-2xx answer raises ``HttpStatusFailure`` (status, headers, body, ``request-id``);
  an ``error`` event in the stream raises it with status 200; ``ping`` events, events without
  an ``event:`` line and events without data are skipped. No answer raises ``http11.HttpError``.

The bytes are carried by ``http11.Pool`` (HTTP/1.1 over an asyncio protocol); an endpoint reached through
a proxy, or a test's stand-in transport, by ``proxied.ProxiedPool`` (httpx2).
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from thrifty.agent.wire.body import BodyEncoder
from thrifty.agent.wire.errors import HttpStatusFailure
from thrifty.agent.wire.http11 import Pool, Response
from thrifty.agent.wire.proxied import ProxiedPool, ProxiedResponse, proxy_configured
from thrifty.agent.wire.sse import SSEDecoder

if TYPE_CHECKING:
    import ssl

#: What the SDK in use (2.17) sends; the API pins behaviour to it.
ANTHROPIC_VERSION = "2026-10-21"
DEFAULT_TIMEOUT_S = 600.0
CONNECT_TIMEOUT_S = 5.0


def user_agent() -> str:
    import sys

    from thrifty import __version__

    return f"thrifty/{__version__} (python/{'.'.join(map(str, sys.version_info[:3]))})"


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
        transport: Any = None,
        environ: Mapping[str, str] | None = None,
    ) -> None:
        """``transport`` (an ``httpx2`` transport) replaces the network; ``environ`` (default
        ``os.environ``, where httpx2 reads them too) is where proxy settings are looked for."""
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
        self._body = BodyEncoder()
        connect = min(CONNECT_TIMEOUT_S, self.timeout_s)
        self._http: Pool | ProxiedPool
        if transport is not None or proxy_configured(os.environ if environ is None else environ):
            self._http = ProxiedPool(
                connect_timeout=connect, read_timeout=self.timeout_s, verify=verify, transport=transport
            )
        else:
            tls = verify if not isinstance(verify, bool) else None
            self._http = Pool(connect_timeout=connect, read_timeout=self.timeout_s, tls=tls)

    @property
    def base_url(self) -> str:
        """The endpoint as the SDK's ``client.base_url`` prints it (with a trailing slash)."""
        return self.endpoint if self.endpoint.endswith("/") else self.endpoint + "/"

    @property
    def credentials(self) -> list[str]:
        return [self._secret] if self._secret else []

    @asynccontextmanager
    async def stream(self, params: Mapping[str, Any]) -> AsyncIterator[WireStream]:
        body = self._body.encode(params)
        response = await self._http.request("POST", self._url, self._headers, body)
        try:
            if not response.is_success:
                text = (await response.aread()).decode("utf-8", errors="replace").strip()
                parsed: Any = text
                with contextlib.suppress(ValueError):
                    parsed = json.loads(text)
                raise HttpStatusFailure(
                    response.status, response.headers, parsed, response.headers.get("request-id")
                )
            yield WireStream(response)
        finally:
            await response.aclose()

    async def close(self) -> None:
        await self._http.aclose()


class WireStream:
    """One answer being streamed: its headers, and the data of each event, decoded."""

    def __init__(self, response: Response | ProxiedResponse) -> None:
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
