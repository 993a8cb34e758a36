"""``Simulator``: the one object tests and ``thrifty sim serve`` use.

It owns the state that outlives a request (prompt cache, accounts, batches, files, request log)
and runs the HTTP server on a background thread, so the official SDK in the same process, or
any other process, can talk to it over real loopback sockets.
"""

from __future__ import annotations

import threading
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from thrifty.testing.accounts import DEFAULT_API_KEY, DEFAULT_PLAN_TOKEN, Accounts, default_accounts
from thrifty.testing.admin_reports import DEFAULT_ADMIN_KEY, AdminReports
from thrifty.testing.batches import Batches
from thrifty.testing.cache import PromptCache
from thrifty.testing.clock import Clock, SystemClock
from thrifty.testing.engine import Engine
from thrifty.testing.files import Files
from thrifty.testing.models import ModelCatalog
from thrifty.testing.script import (
    AccountSpec,
    ChaosSpec,
    ScriptFile,
    ScriptFunction,
    load_script,
    parse_script,
)
from thrifty.testing.server import LoggedRequest, SimServer

if TYPE_CHECKING:
    import anthropic

ScriptLike = ScriptFile | ScriptFunction | Path | str | list[Any] | dict[str, Any] | None


def _coerce(script: ScriptLike) -> ScriptFile | ScriptFunction:
    if script is None:
        return ScriptFile()
    if isinstance(script, ScriptFile):
        return script
    if isinstance(script, Path | str):
        return load_script(Path(script))
    if isinstance(script, list | dict):
        return parse_script(script)
    return script


class Simulator:
    """A local Messages API. Use as a context manager, or ``start()`` / ``stop()``."""

    def __init__(
        self,
        script: ScriptLike = None,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        clock: Clock | None = None,
        catalog: ModelCatalog | None = None,
        accounts: list[AccountSpec] | None = None,
        chaos: ChaosSpec | None = None,
        batch_processing_seconds: float = 0.0,
        admin_keys: list[str] | None = None,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.catalog = catalog or ModelCatalog.load()
        resolved = _coerce(script)
        file_accounts = resolved.accounts if isinstance(resolved, ScriptFile) else []
        self.accounts = Accounts(accounts or file_accounts or default_accounts(), self.clock)
        file_chaos = resolved.chaos if isinstance(resolved, ScriptFile) else None
        self.cache = PromptCache(self.clock)
        self.engine = Engine(self.catalog, self.cache, resolved, chaos or file_chaos)
        self.batches = Batches(self.engine, self.clock, batch_processing_seconds)
        self.files = Files()
        #: The organisation's billing log and the Admin API usage and cost reports read from it.
        self.reports = AdminReports(self.clock, self.catalog, admin_keys or [DEFAULT_ADMIN_KEY])
        self.admin_key = (admin_keys or [DEFAULT_ADMIN_KEY])[0]
        self._log_entries: list[LoggedRequest] = []
        self._log_lock = threading.Lock()
        self._host, self._port = host, port
        self._server: SimServer | None = None
        self._thread: threading.Thread | None = None
        known = {a.key: a for a in (accounts or file_accounts or default_accounts())}
        self.api_key = next((k for k, a in known.items() if a.mode == "api"), DEFAULT_API_KEY)
        self.plan_token = next((k for k, a in known.items() if a.mode == "plan"), DEFAULT_PLAN_TOKEN)

    # -- lifecycle ------------------------------------------------------------------------------

    def start(self) -> Simulator:
        if self._server is None:
            self._server = SimServer((self._host, self._port), self)
            self._thread = threading.Thread(
                target=self._server.serve_forever, args=(0.05,), name="thrifty-sim", daemon=True
            )
            self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def serve_forever(self) -> None:
        self.start()
        assert self._thread is not None
        self._thread.join()

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._server is None:
            raise RuntimeError("the simulator is not running; call start() first")
        return int(self._server.server_address[1])

    @property
    def base_url(self) -> str:
        """The SDK appends ``/v1/...`` itself, so this has no ``/v1``."""
        return f"http://{self._host}:{self.port}"

    # -- scripting and inspection ---------------------------------------------------------------

    def set_script(self, script: ScriptLike) -> None:
        self.engine.script = _coerce(script)
        self.engine.reset()

    def reset(self) -> None:
        """Forget cache entries, fault attempt counts, the request log and the billing log."""
        self.cache.clear()
        self.engine.reset()
        self.reports.clear()
        with self._log_lock:
            self._log_entries.clear()

    def _log(self, entry: LoggedRequest) -> None:
        with self._log_lock:
            self._log_entries.append(entry)

    @property
    def requests(self) -> list[LoggedRequest]:
        with self._log_lock:
            return list(self._log_entries)

    def message_requests(self) -> list[LoggedRequest]:
        return [r for r in self.requests if r.path == "/v1/messages" and r.method == "POST"]

    # -- clients --------------------------------------------------------------------------------

    def client(self, *, plan: bool = False, **kwargs: Any) -> anthropic.Anthropic:
        import anthropic

        return anthropic.Anthropic(
            base_url=self.base_url, api_key=self.plan_token if plan else self.api_key, **kwargs
        )

    def async_client(self, *, plan: bool = False, **kwargs: Any) -> anthropic.AsyncAnthropic:
        import anthropic

        return anthropic.AsyncAnthropic(
            base_url=self.base_url, api_key=self.plan_token if plan else self.api_key, **kwargs
        )
