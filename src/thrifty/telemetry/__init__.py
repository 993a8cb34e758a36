"""OpenTelemetry metrics of what the ledger records, under Claude Code's names (docs/telemetry.md).

Off unless ``THRIFTY_ENABLE_TELEMETRY`` or Claude Code's ``CLAUDE_CODE_ENABLE_TELEMETRY`` is set.
Startup time and per-call CPU are goals of thrifty, so while it is off this module is all that
loads: the meter calls ``record_call`` for every row, and after the first call that costs one
global read. OpenTelemetry is imported only once telemetry is on, and if the optional extra is
missing the run says so in one line and goes on without it.

Telemetry is process-wide, like the exporters and the collector it talks to: it reads the
process environment (``os.environ``), not one session's ``Options.env``. ``start`` turns it on
from code (with extra readers, the documented seam for tests), ``flush`` exports now, ``stop``
exports and shuts down, and the process's exit does ``stop`` with a bounded wait.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from opentelemetry.sdk.metrics.export import MetricReader

    from thrifty.billing.ledger import LedgerRow
    from thrifty.telemetry.metrics import Telemetry

SWITCHES = ("THRIFTY_ENABLE_TELEMETRY", "CLAUDE_CODE_ENABLE_TELEMETRY")
MISSING_EXTRA = "telemetry needs: pip install 'thrifty[telemetry]'"
#: Modules whose absence means the extra is not installed (not a bug of ours).
EXTRA_MODULES = ("opentelemetry", "prometheus_client", "google", "requests")

_checked = False
_active: Telemetry | None = None
_exit_hook = False


def enabled(environ: Mapping[str, str]) -> bool:
    """Claude Code's truthy values: ``1``, ``true``, ``yes``, ``on`` (any case)."""
    return any((environ.get(name) or "").strip().lower() in ("1", "true", "yes", "on") for name in SWITCHES)


def warn(message: str) -> None:
    print(f"thrifty: {message}", file=sys.stderr, flush=True)


def record_call(row: LedgerRow) -> None:
    """Count a metered call; the meter calls it once for every row it makes."""
    if not _checked:
        _check()
    if _active is not None:
        try:
            _active.record(row)
        except Exception as exc:  # a counter must never cost the run its answer
            _give_up("stopped", exc)


def _check() -> None:
    global _checked
    _checked = True  # first: a start that fails is not tried again on every call
    if enabled(os.environ):
        try:
            start()
        except Exception as exc:
            _give_up("could not start", exc)


def _give_up(what: str, exc: Exception) -> None:
    """Telemetry off for the rest of the process; the type only, as a message might quote a setting."""
    global _active
    _active = None
    warn(f"telemetry: {what} ({type(exc).__name__}); the run goes on without it")


def start(
    environ: Mapping[str, str] | None = None, *, readers: Sequence[MetricReader] = ()
) -> Telemetry | None:
    """Turn telemetry on with the exporters ``environ`` names, plus ``readers``; replaces (and
    stops) an earlier one. None when the optional dependencies are missing (said on stderr)."""
    global _checked, _active, _exit_hook
    stop()
    _checked = True
    try:
        from thrifty.telemetry.metrics import build

        _active = build(os.environ if environ is None else environ, extra=readers, warn=warn)
    except ImportError as exc:
        if (exc.name or "").split(".")[0] not in EXTRA_MODULES:
            raise
        warn(MISSING_EXTRA)
        return None
    if not _exit_hook:
        import atexit

        atexit.register(stop)
        _exit_hook = True
    return _active


def active() -> Telemetry | None:
    return _active


def flush(timeout_s: float | None = None) -> bool:
    """Export now (an SDK session ended, a long run wants its numbers out); True when it finished
    in time or there is nothing to export."""
    return _active.flush(timeout_s) if _active is not None else True


def stop(timeout_s: float | None = None) -> None:
    """Export what is left and shut down, waiting at most ``timeout_s`` (the OTLP timeout by
    default); a collector that is down costs one line on stderr, never the run's exit code."""
    global _active
    telemetry, _active = _active, None
    if telemetry is not None and not telemetry.close(timeout_s):
        wait = telemetry.settings.timeout_ms / 1000 if timeout_s is None else timeout_s
        warn(f"telemetry: gave up exporting metrics after {wait:g}s; the run is not affected")
