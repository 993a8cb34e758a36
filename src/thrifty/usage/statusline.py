"""What ``thrifty statusline`` shows: the figures behind Claude Code's status line, and the line.

Claude Code runs the status line command after each message with a JSON document on stdin and
shows the first line the command prints. Every field of that document is optional in practice (a
fresh session has no cost yet, ``rate_limits`` comes only on a subscription and after the first
response, older versions send fewer fields), so ``parse_input`` keeps what it can read and drops
what it cannot, rather than failing the whole line over one odd field.

Where each figure comes from, in order of preference:

- session: the ledger's rows with the session's id (thrifty's own calls and imported Claude Code
  usage); none there (not imported yet), then Claude Code's own ``cost.total_cost_usd``;
- today and the 5-hour block: the ledger, in one billing mode (the session's, else that of the
  latest call), so a plan's API-equivalent estimate is never added to dollars billed per token;
- the block's share and the weekly allowance left: the server's word as Claude Code relays it
  (``rate_limits``) when present, else the ledger measured against the plan's limits, marked
  ``~`` when those limits are thrifty's estimates (``thrifty.billing.plan_presets``).

This module reads nothing itself: the command reads stdin and hands in the rows, or the ``Ledger``
for the two figures worked out from hourly sums (``block_start``, ``weekly_from_ledger``).
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, tzinfo
from decimal import Decimal, InvalidOperation
from string import Formatter
from typing import Any

from thrifty.billing.ledger import Bucket, Ledger
from thrifty.billing.ledger.rows import MODES, LedgerRow, RowQuery
from thrifty.billing.plan_presets import PlanDefinition
from thrifty.usage.blocks import BLOCK_LENGTH, Block, Projection, build_blocks, floor_hour, plan_use, project
from thrifty.usage.reports import ReportRow, summarize

__all__ = [
    "DEFAULT_FORMAT",
    "FIELDS",
    "RateWindow",
    "Share",
    "Status",
    "StatusInput",
    "anchored",
    "block_start",
    "build_status",
    "by_mode",
    "check_format",
    "choose_mode",
    "compact",
    "parse_input",
    "render",
    "values",
    "weekly_from_ledger",
]

#: The fields a ``--format`` template may name, and what each shows.
FIELDS: Mapping[str, str] = {
    "model": "the model's display name (from Claude Code)",
    "session": "this session's cost",
    "today": "today's cost in the session's billing mode",
    "block": "the current 5-hour block: its share of the plan's limit, else its cost",
    "left": "time left in the current 5-hour block or window",
    "weekly": "the plan's weekly allowance left (with a plan or Claude Code's rate limits)",
    "burn": "the current block's burn rate in USD per hour",
    "ctx": "context window used (from Claude Code)",
    "dir": "the working directory's name",
    "mode": "the billing mode the figures are in (api, plan, batch)",
}
#: Segments are separated by ``|``; one whose fields are all empty is left out.
DEFAULT_FORMAT = "{model} | {session} session | {today} today | {block} ({left}) | {weekly} | {burn}"
SEPARATOR = " | "

_RESET = "\033[0m"
_COLORS = {"model": "\033[36m", "ok": "\033[32m", "warn": "\033[33m", "high": "\033[31m", "burn": "\033[35m"}
_SPACES = re.compile(r"\s+")
_EMPTY_PARENS = re.compile(r"\(\s*\)")


@dataclass(frozen=True)
class RateWindow:
    """One of Claude Code's ``rate_limits`` windows: the server's own reading of the plan's use."""

    used_percent: Decimal
    resets_at: datetime | None


@dataclass(frozen=True)
class StatusInput:
    """What was usable in Claude Code's status line JSON; ``None`` for anything absent or odd."""

    session_id: str | None = None
    model: str | None = None
    model_id: str | None = None
    current_dir: str | None = None
    cost_usd: Decimal | None = None
    context_percent: Decimal | None = None
    rate_limits: Mapping[str, RateWindow] = field(default_factory=dict)


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _number(value: Any) -> Decimal | None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        return None
    try:
        number = Decimal(str(value))
    except InvalidOperation:
        return None
    return number if number.is_finite() and number >= 0 else None


def _moment(value: Any) -> datetime | None:
    """``resets_at``: Unix seconds (what Claude Code sends), or an ISO time (some posts say so)."""
    seconds = _number(value)
    try:
        if seconds is not None:
            return datetime.fromtimestamp(float(seconds), UTC)
        if isinstance(value, str):
            moment = datetime.fromisoformat(value.strip())
            return moment.astimezone(UTC) if moment.tzinfo else moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        pass
    return None


def _object(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, dict) else {}


def parse_input(text: str) -> StatusInput:
    """Raises ``ValueError`` (one short line) only when ``text`` is not a JSON object at all; an
    empty input is an empty ``StatusInput`` (someone trying the command by hand)."""
    if not text.strip():
        return StatusInput()
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise ValueError(f"stdin is not JSON ({exc.args[0] if exc.args else exc})") from None
    if not isinstance(data, dict):
        raise ValueError(f"stdin is JSON but not an object (got {type(data).__name__})")
    model = _object(data.get("model"))
    workspace = _object(data.get("workspace"))
    windows = {}
    for name, raw in _object(data.get("rate_limits")).items():
        used = _number(_object(raw).get("used_percentage"))
        if used is not None:
            windows[name] = RateWindow(used, _moment(_object(raw).get("resets_at")))
    return StatusInput(
        session_id=_text(data.get("session_id")),
        model=_text(model.get("display_name")) or _text(model.get("id")),
        model_id=_text(model.get("id")),
        current_dir=_text(workspace.get("current_dir")) or _text(data.get("cwd")),
        cost_usd=_number(_object(data.get("cost")).get("total_cost_usd")),
        context_percent=_number(_object(data.get("context_window")).get("used_percentage")),
        rate_limits=windows,
    )


HOUR = timedelta(hours=1)
WEEK = timedelta(days=7)
#: How far back the hourly sums are read first to place the active block (then all of it).
PLACING = timedelta(days=14)


def anchored(hours: Sequence[datetime], since: datetime) -> bool:
    """Whether the calls' hours read from ``since`` on (oldest first) chain into 5-hour blocks as
    the whole history would: an hour with calls that comes 5 hours or more after the previous
    one starts a block whatever came earlier, so a gap that long (or an empty first 5 hours)
    anchors the chain."""
    if not hours or hours[0] - since >= BLOCK_LENGTH:
        return True
    return any(b - a >= BLOCK_LENGTH for a, b in itertools.pairwise(hours))


def block_start(
    ledger: Ledger, query: RowQuery, now: datetime, projects: frozenset[str] | None = None
) -> datetime | None:
    """The start of the latest 5-hour block of the calls matching ``query`` (one mode's), from
    hourly sums rather than rows: a block starts on the hour of its first call and lasts whole
    hours, so the hours that had calls place every block exactly as the calls would
    (``thrifty.usage.blocks``), at a fraction of the cost of reading each call."""
    by = ("project",) if projects is not None else ()
    for back in (PLACING, None):
        since = floor_hour(now - back) if back is not None else None
        sums = ledger.aggregate(
            replace(query, since=since), by=by, bucket_seconds=3600, times=False, logged=False
        )
        hours = sorted(
            {b.start for b in sums if b.start is not None and (projects is None or b.project in projects)}
        )
        if since is None or anchored(hours, since):
            start: datetime | None = None
            for hour in hours:
                if start is None or hour >= start + BLOCK_LENGTH:
                    start = hour
            return start
    return None


@dataclass(frozen=True)
class Share:
    """A percentage of a plan window, where it came from, and whether its limit is a guess."""

    percent: Decimal
    source: str  # "claude-code" (the server's reading) | "ledger"
    estimate: bool
    resets_at: datetime | None


@dataclass(frozen=True)
class Status:
    now: datetime
    input: StatusInput
    #: The billing mode of ``today`` and ``block``; ``None`` when the ledger has nothing to say.
    mode: str | None
    session: ReportRow | None
    #: ``ledger`` | ``claude-code`` | ``None`` (no figure).
    session_source: str | None
    today: ReportRow | None
    block: Block | None
    projection: Projection | None
    block_share: Share | None
    weekly_used: Share | None
    plan: PlanDefinition | None

    @property
    def session_cost(self) -> Decimal | None:
        if self.session_source == "ledger" and self.session is not None and self.session.cost_known:
            return self.session.cost_usd
        return self.input.cost_usd if self.session_source == "claude-code" else None

    @property
    def left(self) -> timedelta | None:
        if self.block_share is not None and self.block_share.resets_at is not None:
            return max(self.block_share.resets_at - self.now, timedelta(0))
        return self.projection.remaining if self.projection is not None else None


def choose_mode(
    session_rows: Sequence[LedgerRow], recent: Sequence[LedgerRow], pinned: str | None
) -> str | None:
    """``pinned`` (``--mode``), else the mode of the session's latest call, else of the latest call:
    the way this user is paying now."""
    if pinned is not None:
        return pinned
    for rows in (session_rows, recent):
        if rows:
            return max(rows, key=lambda r: r.recorded_at).mode
    return None


def build_status(
    inp: StatusInput,
    *,
    recent: Sequence[LedgerRow],
    session_rows: Sequence[LedgerRow],
    now: datetime,
    tz: tzinfo | None,
    plan: PlanDefinition | None = None,
    weekly: Share | None = None,
    mode: str | None = None,
    block_since: datetime | None = None,
) -> Status:
    """The figures from rows already read (and already in the wanted cost mode). ``recent`` must
    reach back to local midnight and to ``block_since``, where the mode's latest block starts
    (``block_start``); without it the rows are taken to start a block.

    ``weekly`` is the ledger's weekly share, used when Claude Code sent no ``seven_day``."""
    mode = choose_mode(session_rows, recent, mode)
    session = summarize(session_rows, key=inp.session_id or "", mode=mode or "") if session_rows else None
    source = "ledger" if session is not None else ("claude-code" if inp.cost_usd is not None else None)
    today = block = projection = None
    if mode is not None:
        midnight = now.astimezone(tz).replace(hour=0, minute=0, second=0, microsecond=0)
        mine = [r for r in recent if r.mode == mode]
        today = summarize((r for r in mine if r.recorded_at >= midnight), key="today", mode=mode)
        placed = [r for r in mine if block_since is None or r.recorded_at >= block_since]
        block = next((b for b in build_blocks(placed, now=now, modes=[mode], gaps=False) if b.active), None)
        projection = project(block, now) if block is not None else None
    five = inp.rate_limits.get("five_hour")
    week = inp.rate_limits.get("seven_day")
    share = None
    if five is not None:
        share = Share(five.used_percent, "claude-code", False, five.resets_at)
    elif plan is not None and mode == "plan" and block is not None:
        share = Share(plan_use(block, plan, projection).used_percent, "ledger", plan.estimate, None)
    weekly = Share(week.used_percent, "claude-code", False, week.resets_at) if week else weekly
    return Status(now, inp, mode, session, source, today, block, projection, share, weekly, plan)


def _weighted(b: Bucket | LedgerRow) -> int:
    # What plan windows meter (``thrifty.billing.windows``): cache reads are free.
    return b.input_tokens + b.cache_write_5m_tokens + b.cache_write_1h_tokens + b.output_tokens


def weekly_from_ledger(ledger: Ledger, plan: PlanDefinition, now: datetime) -> Share:
    """The plan's weekly window rebuilt from the ledger as ``thrifty status`` does when the server
    has not said (``thrifty.billing.windows.from_rows``: a window opens with the first call after
    the previous one closed), from hourly sums: only an hour in which a window closes is read
    call by call."""
    since = now - 2 * WEEK
    query = RowQuery(since=since, mode="plan")
    start: datetime | None = None
    used = 0
    for b in sorted(
        ledger.aggregate(query, bucket_seconds=3600, logged=False), key=lambda b: b.first_at or now
    ):
        if b.first_at is None or b.last_at is None or b.start is None:
            continue
        if start is None or b.first_at >= start + WEEK:
            start, used = b.first_at, _weighted(b)
        elif b.last_at < start + WEEK:
            used += _weighted(b)
        else:  # a window closes within this hour: its calls decide where the next one opens
            for row in ledger.query(replace(query, since=max(b.start, since), until=b.start + HOUR)):
                if row.recorded_at >= start + WEEK:
                    start, used = row.recorded_at, 0
                used += _weighted(row)
    if start is None or start + WEEK <= now:
        return Share(Decimal(0), "ledger", plan.estimate, None)
    percent = (Decimal(used) * 100 / plan.weekly_tokens).quantize(Decimal("0.1"))
    return Share(percent, "ledger", plan.estimate, start + WEEK)


def compact(span: timedelta) -> str:
    """``2h10m``: a status line has little room."""
    minutes = max(0, int(span.total_seconds() // 60))
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m" if hours else f"{minutes}m"


def money(value: Decimal | None, complete: bool = True) -> str:
    if value is None:
        return ""
    return f"{'' if complete else '≥'}${value:,.2f}"


def _percent(share: Share, used: bool) -> str:
    value = share.percent if used else max(Decimal(100) - share.percent, Decimal(0))
    return f"{'~' if share.estimate else ''}{value.quantize(Decimal(1)):f}%"


def _paint(text: str, color: str | None, on: bool) -> str:
    return f"{_COLORS[color]}{text}{_RESET}" if on and color and text else text


def _level(percent: Decimal) -> str:
    return "high" if percent >= 80 else "warn" if percent >= 50 else "ok"


def values(status: Status, *, color: bool) -> dict[str, str]:
    """Each field's text (empty when there is nothing to show)."""
    out = dict.fromkeys(FIELDS, "")
    inp = status.input
    out["model"] = _paint(inp.model or "", "model", color)
    session = status.session
    complete = session.cost_complete if status.session_source == "ledger" and session else True
    out["session"] = money(status.session_cost, complete)
    if status.today is not None:
        today = status.today
        out["today"] = money(
            today.cost_usd if today.cost_known or not today.calls else None, today.cost_complete
        )
    if status.block_share is not None:
        share = status.block_share
        out["block"] = _paint(f"{_percent(share, True)} of 5h", _level(share.percent), color)
    elif status.projection is not None and status.projection.cost_known:
        out["block"] = f"{money(status.projection.cost_usd, status.projection.cost_complete)} block"
    if status.left is not None and out["block"]:
        out["left"] = f"{compact(status.left)} left"
    if status.weekly_used is not None:
        week = status.weekly_used
        out["weekly"] = _paint(f"wk {_percent(week, False)} left", _level(week.percent), color)
    p = status.projection
    if p is not None and p.cost_known:
        out["burn"] = _paint(f"{money(p.cost_per_hour, p.cost_complete)}/h", "burn", color)
    if inp.context_percent is not None:
        out["ctx"] = f"ctx {inp.context_percent.quantize(Decimal(1)):f}%"
    if inp.current_dir:
        out["dir"] = inp.current_dir.rstrip("/").rpartition("/")[2] or inp.current_dir
    out["mode"] = status.mode or ""
    return out


def check_format(template: str) -> list[str]:
    """The field names ``template`` uses; ``ValueError`` naming a field that does not exist or a
    brace that does not close."""
    names = []
    for _, name, _, _ in Formatter().parse(template):
        if name is None:
            continue
        if name not in FIELDS:
            raise ValueError(f"unknown field {{{name}}}; fields: {', '.join(FIELDS)}")
        names.append(name)
    return names


def render(template: str, fields: Mapping[str, str]) -> str:
    """The template filled in, one line: segments (split at ``|``) whose fields are all empty are
    dropped, runs of whitespace become one space, and the rest are joined by `` | ``."""
    kept = []
    for segment in template.split("|"):
        names = check_format(segment)
        if names and not any(fields[name] for name in names):
            continue
        text = _SPACES.sub(" ", _EMPTY_PARENS.sub("", segment.format_map(fields))).strip()
        if text:
            kept.append(text)
    return SEPARATOR.join(kept)


def by_mode(rows: Iterable[LedgerRow], since: datetime) -> dict[str, ReportRow]:
    """Each mode's sums from ``since`` on, for the JSON document (modes are never added up)."""
    grouped: dict[str, list[LedgerRow]] = {}
    for row in rows:
        if row.recorded_at >= since:
            grouped.setdefault(row.mode, []).append(row)
    return {mode: summarize(grouped[mode], key="today", mode=mode) for mode in MODES if mode in grouped}
