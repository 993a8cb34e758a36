"""The HTTP face of the simulator: a real server on loopback speaking the Messages API wire.

Built on the standard library's threading HTTP server because fault injection needs the raw
socket: a reset before any byte, a chunked body that breaks off, a clean end mid-stream.
"""

from __future__ import annotations

import json
import select
import socket
import struct
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from thrifty.testing.accounts import Account
from thrifty.testing.batches import Batches
from thrifty.testing.engine import Outcome, fault_error, request_id
from thrifty.testing.errors import ApiError, invalid
from thrifty.testing.files import Files, parse_upload
from thrifty.testing.responses import encode_event, sse_events
from thrifty.testing.script import Fault
from thrifty.testing.validation import API_VERSIONS

MAX_BODY = 32 * 1024 * 1024
MAX_BATCH_BODY = 256 * 1024 * 1024
REDACTED_HEADERS = ("x-api-key", "authorization")
#: The longest a ``stall`` fault holds a connection when the client never gives up.
STALL_LIMIT = 600.0


@dataclass
class LoggedRequest:
    """One request as the tests see it. Credentials are masked: the log is output too."""

    method: str
    path: str
    headers: dict[str, str]
    body: Any
    status: int = 0
    request_id: str = ""
    account: str | None = None
    auth_scheme: str | None = None
    turn: int | None = None
    breakpoints: int = 0
    usage: dict[str, Any] | None = None
    fault: str | None = None
    #: ``error.message`` of an error answer, so a test can see why a request was refused.
    error: str | None = None
    streamed: bool = False
    time: float = field(default_factory=time.time)

    @property
    def tools(self) -> list[str]:
        if not isinstance(self.body, dict):
            return []
        return [t.get("name", "") for t in self.body.get("tools") or [] if isinstance(t, dict)]

    @property
    def retry_count(self) -> int:
        return int(self.headers.get("x-stainless-retry-count", "0") or 0)


class _Dropped(Exception):
    """The fault asked for the connection to die; nothing more may be written."""


class SimServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 256

    def __init__(self, address: tuple[str, int], sim: Any) -> None:
        super().__init__(address, Handler)
        self.sim = sim


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: SimServer
    server_version = "thrifty-sim"
    # TCP_NODELAY, as API servers set it: the head and each SSE chunk are separate small writes,
    # and with Nagle each one after the first waited for the client's delayed ACK (40 ms on
    # Linux), so every streamed answer stalled 40 ms between its head and its first event.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the request log is the record, not stderr."""

    def do_GET(self) -> None:
        self._handle("GET")

    def do_POST(self) -> None:
        self._handle("POST")

    def do_DELETE(self) -> None:
        self._handle("DELETE")

    # -- plumbing -----------------------------------------------------------------------------

    def _handle(self, method: str) -> None:
        sim = self.server.sim
        rid = request_id()
        url = urlsplit(self.path)
        headers = {k.lower(): v for k, v in self.headers.items()}
        masked = {k: ("***" if k in REDACTED_HEADERS else v) for k, v in headers.items()}
        entry = LoggedRequest(method, url.path, masked, None, request_id=rid)
        sim._log(entry)
        try:
            raw = self._read_body(url.path)
            if raw and headers.get("content-type", "").startswith("application/json"):
                try:
                    entry.body = json.loads(raw)
                except json.JSONDecodeError as exc:
                    raise invalid(f"The request body is not valid JSON: {exc.msg}") from exc
            if sim.reports.handles(url.path):  # the Admin API: admin keys only (admin_reports.py)
                report = sim.reports.handle(method, url.path, url.query, headers)
                entry.account = "admin"
                self._send_json(200, report, entry)
                return
            account, entry.auth_scheme = sim.accounts.authenticate(headers)
            entry.account = account.name
            version = headers.get("anthropic-version")
            if not version:
                raise invalid("anthropic-version: header is required")
            if version not in API_VERSIONS:
                raise invalid(f"anthropic-version: unknown version '{version}'")
            self._route(method, url.path, parse_qs(url.query), raw, account, version, entry, headers)
        except ApiError as exc:
            self._send_error(exc, rid, entry)
        except _Dropped:
            self.close_connection = True
        except (BrokenPipeError, ConnectionResetError):
            self.close_connection = True

    def _read_body(self, path: str) -> bytes:
        length = int(self.headers.get("content-length") or 0)
        limit = MAX_BATCH_BODY if path.startswith("/v1/messages/batches") else MAX_BODY
        if length > limit:
            self.rfile.read(length)
            raise ApiError(413, "Request exceeds the maximum allowed number of bytes.")
        return self.rfile.read(length) if length else b""

    def _begin(
        self, status: int, content_type: str, entry: LoggedRequest, headers: dict[str, str] | None = None
    ) -> None:
        """Status line and the headers every answer carries; the caller adds the framing headers."""
        entry.status = status
        self.send_response(status)
        self.send_header("content-type", content_type)
        self.send_header("request-id", entry.request_id)
        self.send_header("anthropic-organization-id", "org_sim")
        for key, value in (headers or {}).items():
            self.send_header(key, value)

    def _send_bytes(
        self,
        status: int,
        content_type: str,
        data: bytes,
        entry: LoggedRequest,
        headers: dict[str, str] | None = None,
    ) -> None:
        self._begin(status, content_type, entry, headers)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _send_json(
        self, status: int, payload: Any, entry: LoggedRequest, headers: dict[str, str] | None = None
    ) -> None:
        self._send_bytes(status, "application/json", json.dumps(payload).encode(), entry, headers)

    def _send_error(self, exc: ApiError, rid: str, entry: LoggedRequest) -> None:
        entry.error = exc.message
        self._send_json(exc.status, exc.body(rid), entry, exc.headers)

    def _reset(self) -> None:
        """Close with RST so the client sees a transport error, not an HTTP answer."""
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        raise _Dropped

    def _stall(self, fault: Fault) -> None:
        """Send nothing until the client hangs up (or ``fault.delay`` passes), then close.

        A stalled endpoint, as a client sees one: the request was accepted and no byte follows,
        so only the client's own timeout ends the wait. Never answers after the stall.
        """
        deadline = time.monotonic() + (fault.delay or STALL_LIMIT)
        while (left := deadline - time.monotonic()) > 0:
            readable, _, _ = select.select([self.connection], [], [], min(left, 0.05))
            if readable:
                try:
                    if not self.connection.recv(1, socket.MSG_PEEK):
                        break  # the client closed its end
                except OSError:
                    break
                time.sleep(0.05)  # bytes from the client (a pipelined request): still silent
        self._reset()

    def _chunk(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()

    # -- routes -------------------------------------------------------------------------------

    def _route(
        self,
        method: str,
        path: str,
        query: dict[str, list[str]],
        raw: bytes,
        account: Account,
        version: str,
        entry: LoggedRequest,
        headers: dict[str, str],
    ) -> None:
        sim = self.server.sim
        body = entry.body if isinstance(entry.body, dict) else {}
        parts = [p for p in path.split("/") if p]
        if method == "POST" and path == "/v1/messages":
            self._messages(body, account, version, entry)
        elif method == "POST" and path == "/v1/messages/count_tokens":
            self._send_json(200, sim.engine.count_tokens(body, version), entry)
        elif method == "GET" and path == "/v1/models":
            specs = [s.info() for s in sim.catalog.specs]
            self._send_json(200, _page(specs, query), entry)
        elif method == "GET" and parts[:2] == ["v1", "models"] and len(parts) == 3:
            spec = sim.catalog.get(parts[2])
            if spec is None:
                raise ApiError(404, f"model: {parts[2]}")
            self._send_json(200, spec.info(), entry)
        elif parts[:3] == ["v1", "messages", "batches"]:
            self._batches(method, parts[3:], query, body, account, version, entry)
        elif parts[:2] == ["v1", "files"]:
            self._files(method, parts[2:], query, raw, account, entry, headers)
        else:
            raise ApiError(404, f"Not Found: {method} {path}")

    def _messages(self, body: dict[str, Any], account: Account, version: str, entry: LoggedRequest) -> None:
        sim = self.server.sim
        sim.accounts.check_windows(account)
        outcome = sim.engine.create(body, account, version)
        entry.turn, entry.breakpoints = outcome.turn, outcome.breakpoints
        entry.fault = outcome.fault.kind if outcome.fault else None
        entry.usage = outcome.message["usage"]
        fault = outcome.fault
        if fault is not None and fault.kind == "connection_reset":
            self._reset()
        before_any_byte = fault is not None and (fault.after_events == 0 or not body.get("stream"))
        if fault is not None and fault.kind == "stall" and before_any_byte:
            self._stall(fault)
        if fault is not None and fault.kind == "slow" and fault.delay:
            time.sleep(fault.delay)
        sim.accounts.record(account, outcome.message["usage"])
        sim.reports.record_message(account, outcome.message)
        headers = sim.accounts.headers(account)
        if body.get("stream"):
            self._stream(outcome, entry, headers)
        elif fault is not None and fault.kind in ("stream_cut", "stream_drop"):
            self._truncated_json(outcome, entry, headers)
        else:
            self._send_json(200, outcome.message, entry, headers)

    def _truncated_json(self, outcome: Outcome, entry: LoggedRequest, headers: dict[str, str]) -> None:
        data = json.dumps(outcome.message).encode()
        self._begin(200, "application/json", entry, headers)
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data[: len(data) // 2])
        self.wfile.flush()
        self._reset()

    def _stream(self, outcome: Outcome, entry: LoggedRequest, headers: dict[str, str]) -> None:
        fault = outcome.fault
        entry.streamed = True
        self._begin(200, "text/event-stream; charset=utf-8", entry, headers)
        self.send_header("cache-control", "no-cache")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for sent, (name, data) in enumerate(sse_events(outcome.message)):
            if fault is not None and sent >= fault.after_events:
                if fault.kind == "stream_cut":
                    break
                if fault.kind == "stream_drop":
                    self._chunk(b'event: content_block_delta\ndata: {"type":"content_bl')
                    self._reset()
                if fault.kind == "stream_error":
                    err = fault_error(fault).body(entry.request_id)
                    self._chunk(encode_event("error", err))
                    break
                if fault.kind == "stall":
                    self._stall(fault)
            if fault is not None and fault.kind == "slow" and fault.event_delay:
                time.sleep(fault.event_delay)
            self._chunk(encode_event(name, data))
        self.wfile.write(b"0\r\n\r\n")
        self.wfile.flush()

    def _batches(
        self,
        method: str,
        rest: list[str],
        query: dict[str, list[str]],
        body: dict[str, Any],
        account: Account,
        version: str,
        entry: LoggedRequest,
    ) -> None:
        sim = self.server.sim
        store: Batches = sim.batches
        now = sim.clock.now()
        if method == "POST" and not rest:
            batch = store.create(body, account, version)
            sim.reports.record_batch(batch.id, account, batch.results, batch.ready_at)
            self._send_json(200, batch.view(now, sim.base_url, just_created=True), entry)
        elif method == "GET" and not rest:
            views = [b.view(now, sim.base_url) for b in store.list(account)]
            self._send_json(200, _page(views, query), entry)
        elif method == "GET" and len(rest) == 1:
            self._send_json(200, store.get(rest[0], account).view(now, sim.base_url), entry)
        elif method == "POST" and len(rest) == 2 and rest[1] == "cancel":
            batch = store.cancel(rest[0], account)
            sim.reports.cancel_batch(batch.id)
            self._send_json(200, batch.view(now, sim.base_url), entry)
        elif method == "DELETE" and len(rest) == 1:
            self._send_json(200, store.delete(rest[0], account), entry)
        elif method == "GET" and len(rest) == 2 and rest[1] == "results":
            self._send_bytes(200, "application/binary", store.results(rest[0], account), entry)
        else:
            raise ApiError(404, f"Not Found: {method} {entry.path}")

    def _files(
        self,
        method: str,
        rest: list[str],
        query: dict[str, list[str]],
        raw: bytes,
        account: Account,
        entry: LoggedRequest,
        headers: dict[str, str],
    ) -> None:
        sim = self.server.sim
        store: Files = sim.files
        key = account.spec.key
        if method == "POST" and not rest:
            filename, mime, data = parse_upload(headers.get("content-type", ""), raw)
            self._send_json(200, store.add(key, filename, mime, data, sim.clock.now()).meta(), entry)
        elif method == "GET" and not rest:
            metas = [f.meta() for f in store.list(key)]
            limit = int((query.get("limit") or ["20"])[0])
            self._send_json(200, {"data": metas[:limit], "next_page": None, "has_more": False}, entry)
        elif method == "GET" and len(rest) == 1:
            self._send_json(200, store.get(rest[0], key).meta(), entry)
        elif method == "GET" and len(rest) == 2 and rest[1] == "content":
            stored = store.get(rest[0], key)
            if not stored.downloadable:
                raise invalid(f"File {stored.id} is not downloadable: only files created by the API can be.")
            self._send_bytes(200, stored.mime_type, stored.data, entry)
        elif method == "DELETE" and len(rest) == 1:
            self._send_json(200, store.delete(rest[0], key), entry)
        else:
            raise ApiError(404, f"Not Found: {method} {entry.path}")


def _page(items: list[dict[str, Any]], query: dict[str, list[str]]) -> dict[str, Any]:
    """Cursor pagination shared by models and batches (``limit``, ``after_id``, ``before_id``)."""
    limit = max(1, min(1000, int((query.get("limit") or ["20"])[0])))
    ids = [i["id"] for i in items]
    after = (query.get("after_id") or [""])[0]
    before = (query.get("before_id") or [""])[0]
    if after in ids:
        items = items[ids.index(after) + 1 :]
    elif before in ids:
        items = items[: ids.index(before)][-limit:]
    page = items[:limit]
    return {
        "data": page,
        "has_more": len(items) > limit,
        "first_id": page[0]["id"] if page else None,
        "last_id": page[-1]["id"] if page else None,
    }
