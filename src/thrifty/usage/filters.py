"""Reading the time, project and source filters of ``thrifty usage``, and which calls were automated.

Dates are read in the report's timezone (the same one the daily view buckets by), so
``--since 2025-03-01 --until 2025-03-31`` selects exactly the days the table shows. An ``--until``
date covers that whole day: people say "until the 31st" and mean including it. Everything is
returned as aware UTC datetimes for ``RowQuery``, whose ``since`` is inclusive and ``until``
exclusive.

Automated usage is what ran without a person at the keyboard: Claude Code's headless and SDK
entry points (``entrypoint`` tag ``sdk-cli`` for ``claude -p``, ``sdk-py``, ``sdk-ts``, ...) and
every thrifty run (thrifty is headless by construction).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta, tzinfo
from pathlib import Path

from thrifty.billing.ledger.rows import LedgerRow

__all__ = [
    "SOURCES",
    "FilterError",
    "filter_sources",
    "is_automated",
    "parse_bound",
    "parse_timezone",
    "project_candidates",
    "to_local",
]

#: ``--source`` values: who wrote the row, or ``all``.
SOURCES = ("thrifty", "claude-code", "all")
#: Claude Code ``entrypoint`` values that mean headless or SDK use start with this.

_RELATIVE = re.compile(r"^\s*(\d+)\s*([hdw])\s*$", re.IGNORECASE)
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}
_COMPACT_DATE = re.compile(r"^\d{8}$")


class FilterError(ValueError):
    """A filter the user typed that cannot be read; its message is the whole error line."""


def parse_timezone(name: str | None) -> tzinfo | None:
    """``None`` (or ``local``) means the system's local zone, resolved per instant so DST is right."""
    if name is None or name.strip().lower() == "local":
        return None
    if name.strip().upper() in ("UTC", "Z"):
        return UTC
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # a few ms a report without a zone saves

    try:
        return ZoneInfo(name.strip())
    except (ZoneInfoNotFoundError, ValueError, OSError):
        message = f"--timezone: unknown zone '{name}'; use an IANA name like UTC or Europe/Paris"
        raise FilterError(message) from None


def to_local(moment: datetime, tz: tzinfo | None) -> datetime:
    """``astimezone(None)`` asks the OS, which knows the local DST rules for that very instant."""
    return moment.astimezone(tz)


def _localize(naive: datetime, tz: tzinfo | None) -> datetime:
    # A naive datetime's astimezone() treats it as system local time, which is what tz=None means.
    try:
        return naive.astimezone() if tz is None else naive.replace(tzinfo=tz)
    except (OverflowError, ValueError):  # within a day of year 1 or 9999: read it as UTC
        return naive.replace(tzinfo=UTC)


def parse_bound(text: str, *, flag: str, tz: tzinfo | None, now: datetime, end: bool = False) -> datetime:
    """One ``--since``/``--until`` value as an aware UTC instant.

    Accepts ``YYYY-MM-DD``, ``YYYYMMDD``, an ISO datetime (with or without offset; without one it
    is read in ``tz``) and ``7d`` / ``24h`` / ``2w`` (that long before ``now``, not calendar days).
    With ``end=True`` a bare date means the end of that day, so the bound includes the whole day.
    """
    value = text.strip()
    moment: datetime | None = None
    if match := _RELATIVE.match(value):
        try:
            moment = now - int(match.group(1)) * _UNITS[match.group(2).lower()]
        except OverflowError:
            moment = datetime.min.replace(tzinfo=UTC)
    else:
        day = _read_date(value)
        if day is not None:
            if end and day < date.max:
                day += timedelta(days=1)
            moment = _localize(datetime(day.year, day.month, day.day), tz)
        else:
            try:
                parsed = datetime.fromisoformat(value)
            except ValueError:
                parsed = None
            if parsed is not None:
                moment = parsed if parsed.tzinfo is not None else _localize(parsed, tz)
    if moment is None:
        raise FilterError(f"{flag}: cannot read '{text}'; use YYYY-MM-DD, an ISO time, or 7d/24h")
    try:
        return moment.astimezone(UTC)
    except OverflowError:  # within a day of year 1 or 9999: the edge of time is the bound
        return (datetime.min if moment.year == 1 else datetime.max).replace(tzinfo=UTC)


def _read_date(value: str) -> date | None:
    if _COMPACT_DATE.match(value):
        value = f"{value[:4]}-{value[4:6]}-{value[6:]}"
    if len(value) != 10:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        return None


def project_candidates(value: str, cwd: Path) -> frozenset[str]:
    """The stored project strings ``--project value`` stands for.

    Projects are recorded as absolute paths or as names the user chose, so a value that looks
    like a path also matches its resolved form: ``--project .`` works from inside the project.
    """
    candidates = {value}
    looks_like_path = "/" in value or value.startswith(("~", ".")) or (cwd / value).exists()
    if looks_like_path:
        path = Path(value).expanduser()
        candidates.add(str((path if path.is_absolute() else cwd / path).resolve()))
    return frozenset(candidates)


def filter_sources(rows: Iterable[LedgerRow], source: str | None) -> list[LedgerRow]:
    """Keep rows written by ``source`` (``thrifty``, ``claude-code``); ``None`` or ``all`` keeps all."""
    if source is not None and source not in SOURCES:
        raise FilterError(f"--source must be one of {', '.join(SOURCES)}")
    return [row for row in rows if source in (None, "all") or row.source == source]


def is_automated(row: LedgerRow) -> bool:
    """A call no person was waiting on: thrifty's own, or Claude Code headless / SDK."""
    return row.automated
