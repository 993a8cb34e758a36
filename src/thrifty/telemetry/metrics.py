"""Ledger rows as Claude Code's counters, so a dashboard built for Claude Code reads thrifty too.

Each metered call adds its cost to ``claude_code.cost.usage`` (USD) and its four token buckets to
``claude_code.token.usage`` (``type`` = ``input``, ``output``, ``cacheRead``, ``cacheCreation``),
with Claude Code's standard attributes (``session.id``, ``app.version``, ``terminal.type``,
``model``) and thrifty's own (``mode``, ``project``, ``account``, ``tag.<key>``), so spend can be
split by billing mode, project and tag as in the ledger. The numbers are the ledger row's: the
counters never price a call a second time. A call whose model has no known price adds its
tokens but no cost, since a cost of 0 would be a lie that sums.

The provider is thrifty's own and is never made the global one: an application that uses the
Agent SDK keeps whatever OpenTelemetry setup it has.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING

from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import MetricReader
from opentelemetry.sdk.resources import Resource

from thrifty.telemetry.exporters import Readers, Warn, build_readers, quiet_sdk_logs
from thrifty.telemetry.settings import Settings, read_settings

if TYPE_CHECKING:
    from thrifty.billing.ledger import LedgerRow

METER_NAME = "thrifty"
COST = "claude_code.cost.usage"
TOKENS = "claude_code.token.usage"
SESSIONS = "claude_code.session.count"


def terminal_type(environ: Mapping[str, str]) -> str | None:
    """Claude Code's ``terminal.type``, from what the terminal says about itself (if anything)."""
    for name in ("TERM_PROGRAM", "TERMINAL_EMULATOR"):
        value = (environ.get(name) or "").strip()
        if value:
            return value
    if environ.get("TMUX"):
        return "tmux"
    return None


class Telemetry:
    def __init__(
        self, settings: Settings, readers: Readers, extra: Sequence[MetricReader], environ: Mapping[str, str]
    ):
        from thrifty import __version__

        self.settings = settings
        self.readers = readers
        self.provider = MeterProvider(
            metric_readers=[*readers.readers, *extra],
            resource=Resource(settings.resource),
            shutdown_on_exit=False,  # ``close`` does it, with a bound the SDK's own hook lacks
        )
        meter = self.provider.get_meter(METER_NAME, __version__)
        self.cost = meter.create_counter(
            COST, unit="USD", description="Cost of the API calls, as priced in the ledger"
        )
        self.tokens = meter.create_counter(
            TOKENS, unit="tokens", description="Tokens of the API calls, by type"
        )
        self.sessions = meter.create_counter(
            SESSIONS, unit="count", description="Sessions that made an API call"
        )
        self.static: dict[str, str] = {}
        if settings.include_version:
            self.static["app.version"] = __version__
        if (terminal := terminal_type(environ)) is not None:
            self.static["terminal.type"] = terminal
        self._seen: set[str] = set()
        self._lock = threading.Lock()
        self._closed = False

    @property
    def prometheus(self) -> tuple[str, int] | None:
        return self.readers.prometheus

    def session_attributes(self, row: LedgerRow) -> dict[str, str]:
        attributes = dict(self.static)
        if self.settings.include_session_id:
            attributes["session.id"] = row.session_id
        if self.settings.include_account:
            attributes["account"] = row.account
        attributes["mode"] = row.mode
        attributes["project"] = row.project
        for key, value in row.tags.items():
            attributes[f"tag.{key}"] = value
        return attributes

    def record(self, row: LedgerRow) -> None:
        if self._closed:
            return
        base = self.session_attributes(row)
        with self._lock:
            first = row.session_id not in self._seen
            self._seen.add(row.session_id)
        if first:
            self.sessions.add(1, base)
        attributes = {**base, "model": row.model}
        if row.cost_usd is not None:
            self.cost.add(float(row.cost_usd), attributes)
        for kind, count in (
            ("input", row.input_tokens),
            ("output", row.output_tokens),
            ("cacheRead", row.cache_read_tokens),
            ("cacheCreation", row.cache_write_5m_tokens + row.cache_write_1h_tokens),
        ):
            self.tokens.add(count, {**attributes, "type": kind})

    def flush(self, timeout_s: float | None = None) -> bool:
        """Export what is counted now (an SDK session that ended), waiting at most ``timeout_s``."""
        wait = self.settings.timeout_ms / 1000 if timeout_s is None else timeout_s
        return self._bounded(lambda: self.provider.force_flush(timeout_millis=wait * 1000), wait)

    def close(self, timeout_s: float | None = None) -> bool:
        """The last export and the shutdown, bounded: a collector that is down or slow costs the
        run at most ``timeout_s`` (the OTLP timeout by default) and one line, never its exit code."""
        if self._closed:
            return True
        self._closed = True
        wait = self.settings.timeout_ms / 1000 if timeout_s is None else timeout_s

        def shut() -> None:
            self.provider.shutdown(timeout_millis=wait * 1000)
            for closer in self.readers.closers:
                closer()

        return self._bounded(shut, wait)

    def _bounded(self, work: Callable[[], object], wait: float) -> bool:
        done = threading.Event()

        def run() -> None:
            try:
                with contextlib.suppress(Exception):  # the SDK's failure is telemetry's, not the run's
                    work()
            finally:
                done.set()

        # A daemon thread: if the export hangs past the bound, the process still exits.
        threading.Thread(target=run, name="thrifty-telemetry-flush", daemon=True).start()
        return done.wait(wait + 1.0)


def build(environ: Mapping[str, str], *, extra: Sequence[MetricReader] = (), warn: Warn) -> Telemetry:
    """The provider and its readers from ``environ``, plus ``extra`` readers (a test's
    ``InMemoryMetricReader``, an application's own)."""
    from thrifty import __version__

    settings = read_settings(environ, service_version=__version__)
    for problem in settings.problems:
        warn(f"telemetry: {problem}")
    quiet_sdk_logs()
    return Telemetry(settings, build_readers(settings, warn), extra, environ)
