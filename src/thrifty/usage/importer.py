"""Import Claude Code's usage into the ledger: once per call, reading only bytes not read before.

The ledger stays the one writer path: rows go through ``Ledger.record_many`` (one transaction
per batch), and its natural key (``request_id``) keeps one row per call, the most complete copy
(``ledger.completeness``), so an import can be repeated, interrupted or run on two machines
sharing a ledger without counting a call twice or keeping a partial copy of it.
``import_state`` remembers per file how far it was read. The summary's counts are what the
ledger reports it did (rows added, rows upgraded), never what was offered to it.

Speed is the point (ccusage re-reads everything for every report):

- files are read in large chunks and only lines containing ``"usage"`` are decoded; everything
  else (tool output, most of the bytes) is passed over by a byte search;
- most usage lines repeat a call (one line per content block, copies in resumed sessions, a
  parent's progress mirror of each subagent call): once a line's ids and token total show a
  call already seen, the rest of it is not looked at, and only the first line of each call is
  priced and turned into a row;
- on a machine with 4 cores or more, a large import parses files in worker processes while
  this process writes (``choose_workers``).

Of several lines for one call the most complete wins (``Call.rank``: a streamed response logs a
partial output count on its early lines, and a copy taken mid-response keeps it), in a file,
across files, and across imports: a response still being logged is recorded now, as far as it
is written, and the ledger upgrades the row when a later import reads its last content block.
Nothing is held back, so ``thrifty import && thrifty usage daily`` right after a session counts
every call the transcripts hold.

``/btw`` side questions: Claude Code logs a side question by replaying an earlier assistant
message (same message id and usage) under the side request's own request id. A line whose
message id was already seen under another request id with the very same usage (every token and
server tool count) is that replay, not a call (``replays.Replays``); the same message id with other
usage is another call (the API has been seen to reuse a message id under load).
"""

from __future__ import annotations

import gc
import multiprocessing
import os
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from thrifty.billing.ledger import MODES, Ledger, LedgerRow
from thrifty.billing.prices import PriceTable, bundled_prices
from thrifty.usage.claude_code import (
    MARKER,
    SOURCE,
    Call,
    Duplicate,
    Rank,
    file_context,
    is_json,
    parse_line,
    scan_transcripts,
    to_row,
)
from thrifty.usage.import_state import FileState, ImportState, Plan, exclusive, state_path, tail_hash
from thrifty.usage.replays import Replays

CHUNK = 8 << 20
#: Rows are committed in batches of about this many (at file boundaries).
BATCH = 5000
#: Below this many bytes to read, worker processes cost more to start than they save.
PARALLEL_MIN_BYTES = 48 << 20
MAX_WORKERS = 4

Known = dict[tuple[str, str | None], Rank]


@dataclass
class ImportSummary:
    ledger: str
    mode: str
    dirs: list[str]
    files_total: int = 0
    #: Files read this time (new, grown or reset), and of those the ones read again from 0.
    files_read: int = 0
    files_reset: int = 0
    bytes_total: int = 0
    #: Bytes read this run: the new bytes, plus any file read again from the start.
    bytes_read: int = 0
    #: Complete lines read this run.
    lines: int = 0
    #: Lines that reported a call's usage (every content-block line and copy).
    usage_lines: int = 0
    #: Calls the ledger added in this run.
    calls_imported: int = 0
    #: Calls the ledger held a less complete copy of (a partial count), replaced in this run.
    calls_upgraded: int = 0
    #: Usage lines that changed nothing: repeats of a call already held as complete (content
    #: blocks, copies, this run's or an earlier one's) and ``/btw`` replays.
    duplicates: int = 0
    #: Replayed messages (``/btw`` side questions) that were not counted as calls.
    replays: int = 0
    #: Calls the ledger added in this run with no known price (a model the table lacks).
    unpriced_calls: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    #: True when every file was read from the start (--full, or the ledger lost its rows).
    full: bool = False
    #: Last lines still being written (no newline yet): read again next time.
    pending_lines: int = 0
    workers: int = 0
    elapsed_s: float = 0.0

    def to_json(self) -> dict[str, Any]:
        return {
            "source": SOURCE,
            "ledger": self.ledger,
            "mode": self.mode,
            "dirs": self.dirs,
            "full": self.full,
            "files_total": self.files_total,
            "files_read": self.files_read,
            "files_reset": self.files_reset,
            "bytes_total": self.bytes_total,
            "bytes_read": self.bytes_read,
            "lines": self.lines,
            "usage_lines": self.usage_lines,
            "calls_imported": self.calls_imported,
            "calls_upgraded": self.calls_upgraded,
            "duplicates": self.duplicates,
            "replays": self.replays,
            "unpriced_calls": self.unpriced_calls,
            "skipped": dict(sorted(self.skipped.items())),
            "pending_lines": self.pending_lines,
            "workers": self.workers,
            "elapsed_s": round(self.elapsed_s, 3),
        }


@dataclass
class FileResult:
    """What reading one file's new bytes found."""

    path: str
    #: Just past the last complete line, and the hash of the bytes before it.
    offset: int = 0
    tail: str = ""
    pending: bool = False
    bytes_read: int = 0
    lines: int = 0
    usage_lines: int = 0
    skipped: Counter[str] = field(default_factory=Counter)
    #: The file's calls not in ``known`` before (most complete line of each).
    calls: dict[tuple[str, str | None], Call] = field(default_factory=dict)
    #: The same calls priced: (call key, its rank, row), in file order.
    rows: list[tuple[tuple[str, str | None], Rank, LedgerRow]] = field(default_factory=list)
    #: False when the file could not be read (it vanished, or permissions).
    ok: bool = True


class _Reader:
    def __init__(self, path: Path, known: Known) -> None:
        self.ctx = file_context(path)
        self.known = known
        self.result = FileResult(str(path))

    def lines(self, buf: bytes, end: int, base: int) -> None:
        """Every complete line in ``buf[:end]`` (``end`` just past a newline; ``buf`` starts at
        byte ``base`` of the file)."""
        self.result.lines += buf.count(b"\n", 0, end)
        find, rfind, take, ctx, known = buf.find, buf.rfind, self.take, self.ctx, self.known
        pos = 0
        while True:
            hit = find(MARKER, pos, end)
            if hit < 0:
                return
            start = rfind(b"\n", pos, hit) + 1 or pos
            stop = find(b"\n", hit, end)
            if stop < 0:
                stop = end
            take(parse_line(buf[start:stop], ctx, known))
            pos = stop + 1

    def take(self, parsed: Call | Duplicate | str | None) -> None:
        if parsed is None:
            return
        r = self.result
        if isinstance(parsed, str):
            r.skipped[parsed] += 1
            return
        r.usage_lines += 1
        if isinstance(parsed, Call):
            self.known[parsed.key] = parsed.rank
            r.calls[parsed.key] = parsed

    def tail(self, rest: bytes) -> bool:
        """A last line with no newline yet: taken now if it is already whole JSON (and read, and
        offered to the ledger, again next time); False when it is still being written."""
        if MARKER not in rest:
            return not rest.strip() or is_json(rest)
        parsed = parse_line(rest, self.ctx, self.known)
        if parsed == "malformed":
            return False
        self.take(parsed)
        return True


def read_file(
    path: Path,
    start: int,
    known: Known,
    mode: str,
    prices: PriceTable,
    on_bytes: Callable[[int], None] | None = None,
) -> FileResult:
    """Parse ``path`` from byte ``start`` into priced rows; ``known`` (call -> greatest rank
    seen) is updated. A response still being logged is taken as far as it is written: a later
    import offers its fuller lines, and the ledger upgrades the row."""
    reader = _Reader(path, known)
    r = reader.result
    r.offset = start
    carry = b""
    try:
        with path.open("rb") as f:
            f.seek(start)
            while chunk := f.read(CHUNK):
                r.bytes_read += len(chunk)
                if on_bytes is not None:
                    on_bytes(len(chunk))
                buf = carry + chunk if carry else chunk
                end = buf.rfind(b"\n") + 1
                if end:
                    reader.lines(buf, end, r.offset)
                    r.offset += end
                carry = buf[end:]
            r.pending = bool(carry) and not reader.tail(carry)
            r.tail = tail_hash(f, r.offset)
    except OSError:
        return FileResult(str(path), ok=False)
    r.rows = [(key, call.rank, to_row(call, mode, prices)) for key, call in r.calls.items()]
    r.calls = {}
    return r


#: A worker's calls seen so far, across the files it is given (saves sending repeats back),
#: and how it prices them.
_worker_known: Known = {}
_worker_pricing: tuple[str, PriceTable] | None = None


def _start_worker(mode: str, prices: PriceTable) -> None:
    global _worker_pricing
    _worker_pricing = (mode, prices)
    _worker_known.clear()


def _read_in_worker(task: tuple[str, int]) -> FileResult:
    assert _worker_pricing is not None
    mode, prices = _worker_pricing
    return read_file(Path(task[0]), task[1], _worker_known, mode, prices)


def _results(
    tasks: list[tuple[str, int]],
    workers: int,
    mode: str,
    prices: PriceTable,
    on_bytes: Callable[[int], None],
) -> Iterator[FileResult]:
    """Each file's result, in ``tasks`` order."""
    if workers < 1:
        known: Known = {}
        for path, start in tasks:
            yield read_file(Path(path), start, known, mode, prices, on_bytes)
        return
    # fork, not spawn: spawn re-imports __main__, which for ``python -m thrifty`` would run the
    # command again in every worker. Workers only read files and return results: they never
    # touch the inherited ledger connection, and nothing here runs a thread while they start
    # (the progress bar refreshes from this thread).
    context = multiprocessing.get_context("fork")
    with context.Pool(workers, initializer=_start_worker, initargs=(mode, prices)) as pool:
        for result in pool.imap(_read_in_worker, tasks, chunksize=4):
            on_bytes(result.bytes_read)
            yield result


def choose_workers(bytes_to_read: int, requested: int | None) -> int:
    """Parser processes for an import: ``requested`` if given, else one per core but one (this
    process writes) on a machine with 4 cores or more, for an import worth starting them.

    Not on 2 cores: measured on 1 GB there, 2 workers cut the wall time by about 17% for 40%
    more CPU and a second process's memory, because this process's share (writing the rows) is
    a third of the work and the three processes contend for two cores.
    """
    if requested is not None:
        return max(0, requested)
    if bytes_to_read < PARALLEL_MIN_BYTES or not sys.platform.startswith("linux"):
        return 0  # fork is only safe (and the default) on Linux
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    return min(cpus - 1, MAX_WORKERS) if cpus >= 4 else 0


def import_claude_code(
    ledger: Ledger,
    dirs: Sequence[Path],
    *,
    mode: str = "plan",
    full: bool = False,
    prices: PriceTable | None = None,
    workers: int | None = None,
    on_plan: Callable[[int], None] | None = None,
    on_bytes: Callable[[int], None] | None = None,
) -> ImportSummary:
    """Record the calls in the transcripts under ``dirs`` (see ``claude_code.discover``) into
    ``ledger``.

    ``on_plan`` gets the number of bytes about to be read, before any is (a progress bar's
    total); ``on_bytes`` each amount as it is read. ``workers``: parser processes (``None``:
    see ``choose_workers``).
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    began = time.monotonic()
    prices = prices or bundled_prices()
    summary = ImportSummary(ledger=ledger.location, mode=mode, dirs=[str(d) for d in dirs])
    path = state_path(ledger.location, SOURCE)
    with exclusive(path):
        state = ImportState.load(path, ledger.location)
        if full or not state.witness_holds(ledger, SOURCE):
            state = ImportState(path, ledger.location)
            summary.full = True
        plans: dict[str, Plan] = {}
        for name, st in scan_transcripts(dirs):
            try:
                plans[name] = state.plan(name, st, full=full)
            except OSError:  # vanished since it was listed
                continue
        summary.files_total = len(plans)
        summary.bytes_total = sum(plan.size for plan in plans.values())
        tasks = [(name, plan.start) for name, plan in plans.items() if plan.start is not None]
        to_read = sum(plans[name].size - start for name, start in tasks)
        if on_plan is not None:
            on_plan(to_read)
        summary.workers = choose_workers(to_read, workers)

        def count(n: int) -> None:
            summary.bytes_read += n
            if on_bytes is not None:
                on_bytes(n)

        # Decoding allocates millions of short-lived, acyclic objects: the cycle collector
        # would only scan them over and over (about 7% of an import's time).
        collecting = gc.isenabled()
        gc.disable()
        try:
            results = _results(tasks, summary.workers, mode, prices, count)
            _run(ledger, state, plans, results, summary)
            # Claude Code deletes old transcripts (cleanupPeriodDays): forget them too.
            for name in [name for name in state.files if name not in plans and not Path(name).exists()]:
                state.forget(name)
        finally:
            if collecting:
                gc.enable()
            state.save()
        summary.duplicates = summary.usage_lines - summary.calls_imported - summary.calls_upgraded
    summary.elapsed_s = time.monotonic() - began
    return summary


def _run(
    ledger: Ledger,
    state: ImportState,
    plans: dict[str, Plan],
    results: Iterator[FileResult],
    summary: ImportSummary,
) -> None:
    """Turn file results into rows, committing a batch at a time; a file's state is saved only
    once its rows are committed, so an interrupted import loses nothing. The counts are what
    the ledger says each batch did."""
    known: Known = {}
    replays = Replays(ledger, SOURCE)
    batch: dict[str, LedgerRow] = {}
    done: list[tuple[str, FileState]] = []

    def flush() -> None:
        if batch:
            recorded = ledger.record_many(batch.values())
            summary.calls_imported += len(recorded.new)
            summary.calls_upgraded += len(recorded.upgraded)
            summary.unpriced_calls += sum(batch[rid].cost_usd is None for rid in recorded.new)
            written = recorded.new + recorded.upgraded
            if written:  # a row the ledger now holds as offered
                state.witness = (written[-1], batch[written[-1]].recorded_at.isoformat())
        for name, fs in done:
            state.update(name, fs)
        batch.clear()
        done.clear()

    for r in results:
        if not r.ok:
            continue
        plan = plans[r.path]
        summary.files_read += 1
        summary.files_reset += plan.why == "reset"
        summary.lines += r.lines
        summary.usage_lines += r.usage_lines
        summary.skipped.update(r.skipped)
        summary.pending_lines += r.pending
        look_up = bool(plan.start)  # read on from an offset: earlier lines are in the ledger
        for key, rank, row in r.rows:
            best = known.get(key)
            if best is not None and rank <= best:
                continue  # a copy of a call an earlier file had as complete
            if replays.is_replay(key, row, look_up):
                continue
            known[key] = rank
            batch[row.request_id] = row  # a later, more complete copy replaces an earlier one
        st = plan.stat
        done.append((r.path, FileState(st.st_dev, st.st_ino, plan.size, st.st_mtime_ns, r.offset, r.tail)))
        if len(batch) >= BATCH:
            flush()
    flush()
    summary.replays = len(replays.keys)
