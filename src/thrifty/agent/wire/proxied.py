"""The fast path's carrier when a proxy is configured: ``httpx2``, behind ``http11``'s interface.

``http11.Pool`` connects directly. A user behind a proxy (``HTTPS_PROXY``, ``ALL_PROXY`` and the
rest, with ``NO_PROXY``) needs CONNECT tunnels and proxy authentication, which httpx2 already
does right, so such an endpoint is carried by it, with its failures translated to
``http11.HttpError`` so that nothing above can tell the carriers apart. Tests also pass an
``httpx2`` transport here to stand in for the network.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from typing import TYPE_CHECKING, Any

from thrifty.agent.wire.http11 import HttpError

if TYPE_CHECKING:
    import ssl

    import httpx2

#: The variables httpx2 reads (any case); one set means the process may be behind a proxy.
PROXY_VARIABLES = ("http_proxy", "https_proxy", "all_proxy")


def proxy_configured(environ: Mapping[str, str]) -> bool:
    return any(environ.get(name) or environ.get(name.upper()) for name in PROXY_VARIABLES)


def _translated(exc: Exception) -> HttpError | None:
    import httpx2

    if isinstance(exc, httpx2.TimeoutException):
        return HttpError("timeout", str(exc) or type(exc).__name__)
    if isinstance(exc, httpx2.HTTPError):
        return HttpError("connection", str(exc) or type(exc).__name__)
    return None


class ProxiedResponse:
    def __init__(self, response: httpx2.Response) -> None:
        self._response = response
        self.status = response.status_code
        self.headers: Mapping[str, str] = response.headers
        self.is_success = response.is_success

    async def aiter_bytes(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._response.aiter_bytes():
                yield chunk
        except Exception as exc:
            if (error := _translated(exc)) is None:
                raise
            raise error from exc

    async def aread(self) -> bytes:
        return b"".join([chunk async for chunk in self.aiter_bytes()])

    async def aclose(self) -> None:
        await self._response.aclose()


class ProxiedPool:
    """``http11.Pool``'s ``request``/``aclose`` over an ``httpx2.AsyncClient``."""

    def __init__(
        self,
        *,
        connect_timeout: float,
        read_timeout: float,
        verify: ssl.SSLContext | bool,
        transport: Any = None,
    ) -> None:
        import httpx2

        self._http = httpx2.AsyncClient(
            timeout=httpx2.Timeout(read_timeout, connect=connect_timeout),
            verify=verify,
            follow_redirects=True,
            limits=httpx2.Limits(max_connections=1000, max_keepalive_connections=100),
            transport=transport,
        )

    async def request(
        self, method: str, url: str, headers: Mapping[str, str], body: bytes | None = None
    ) -> ProxiedResponse:
        try:
            request = self._http.build_request(method, url, content=body, headers=dict(headers))
            return ProxiedResponse(await self._http.send(request, stream=True))
        except Exception as exc:
            if (error := _translated(exc)) is None:
                raise
            raise error from exc

    async def aclose(self) -> None:
        await self._http.aclose()
