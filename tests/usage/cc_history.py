"""Claude Code transcript histories for tests and the bench, written with the truth they encode.

``generate(config_dir, seed=..., target_bytes=...)`` writes ``config_dir/projects/...`` the way
Claude Code 2.x does and returns a ``History``: every unique model call (the truth an importer
must recover), plus how many lines of each kind were written, so a test can compare an import
figure by figure. What a history holds, all seeded:

- several projects and sessions over several weeks, in ``projects/<sanitized cwd>/<id>.jsonl``;
- user prompts, tool results (the bulk of the bytes, as in real transcripts), ``summary`` and
  ``system`` lines;
- one assistant response written as several lines, one per content block, each repeating the
  message id, request id and usage (some responses stream: early lines carry a smaller
  ``output_tokens`` and the last line the final count);
- Task subagents: modern sessions write them to ``<session>/subagents/agent-<id>.jsonl`` with
  ``isSidechain: true`` and mirror each call as a ``progress`` line in the parent; legacy
  (1.0.x) sessions write sidechain lines inline;
- resumed sessions whose file starts with a verbatim copy of an earlier session's lines (and
  forks whose copies carry the new session id), so the same call appears in several files;
- ``<synthetic>`` messages and API error messages (zero usage), lines with ``costUSD`` (some of
  them disagreeing with the price table), lines without ``requestId``, tool results whose
  ``toolUseResult`` carries a ``"usage"`` object that is not a call, torn (half-written) lines;
- several models, cache writes split into 5-minute and 1-hour ones (or unsplit, as 1.0.x
  wrote them), ``entrypoint`` values cli / sdk-cli / sdk-py / sdk-ts;
- and the cases a count can get wrong (issue 15), each recorded in the ``History``:
  *partial copies*: a synced copy of a session taken mid-response (only a streamed response's
  early lines, with a partial output count) in a folder read before the original, and parent
  files whose progress mirror of a subagent call stops at its early lines; ``/btw`` *replays*:
  an earlier assistant message logged again, same message id and usage, under the side
  question's request id (not a call); turns that end with a text answer, so a just-written
  file ends with a call's lines (what an import used to hold back); *web search and fetch*
  requests (``usage.server_tool_use``, zero on a streamed response's early lines); dated and
  older model ids (``claude-opus-4-6-20260205``, ``claude-sonnet-4-20250514``).

Run as a script to write a large history for the bench:
``python -m tests.usage.cc_history DIR --size-mb 1024 [--seed 7] [--profile bench]``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import string
import sys
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from thrifty.billing.prices import bundled_prices
from thrifty.core.usage import Usage

#: Models both thrifty's price table and ccusage's bundled (LiteLLM) table price the same way.
SHARED_MODELS: tuple[tuple[str, float], ...] = (
    ("claude-sonnet-4-5-20250929", 0.35),
    ("claude-opus-4-5-20251101", 0.2),
    ("claude-sonnet-4-6", 0.15),
    ("claude-opus-4-6", 0.15),
    ("claude-haiku-4-5-20251001", 0.15),
)
SUBAGENT_MODELS: tuple[tuple[str, float], ...] = (
    ("claude-haiku-4-5-20251001", 0.6),
    ("claude-sonnet-4-5-20250929", 0.4),
)
#: Every model a test history uses: the shared ones, a dated id of a priced model, an older model.
ALL_MODELS: tuple[tuple[str, float], ...] = (
    *SHARED_MODELS,
    ("claude-opus-4-6-20260205", 0.1),
    ("claude-sonnet-4-20250514", 0.1),
)
#: Where synced copies go: a project folder that sorts before every ``/home/...`` one, so an
#: import reads the partial copy first.
SYNCED_ROOT = "/Users/dev/src"
#: A model no price table knows: its calls must be imported with an unknown (None) cost.
UNKNOWN_MODEL = "claude-nova-9-preview"
PROJECT_NAMES = ("web-app", "api", "data_pipeline", "infra.tools", "ml-experiments", "docs", "thrifty")
START = datetime(2026, 9, 7, tzinfo=UTC)
MODERN_VERSIONS = ("2.0.14", "2.0.37", "2.1.120", "2.1.331")
LEGACY_VERSIONS = ("1.0.72", "1.0.88")
ENTRYPOINTS = (("cli", 0.7), ("sdk-cli", 0.15), ("sdk-py", 0.1), ("sdk-ts", 0.05))
_B62 = string.ascii_letters + string.digits


@dataclass(frozen=True)
class Profile:
    """What kinds of records a history holds, and how often."""

    models: tuple[tuple[str, float], ...] = SHARED_MODELS
    #: Share of modern calls whose cache writes are 1-hour writes (the rest are 5-minute).
    share_1h: float = 0.3
    #: Sessions written by Claude Code 1.0.x: costUSD on every call, no cache-write split, no
    #: entrypoint, sidechains inline, and (half of them) no requestId.
    legacy: float = 0.1
    #: Sessions that resume an earlier one, starting with a verbatim copy of some of its lines.
    resume: float = 0.15
    #: Of those, forks: the copied lines carry the new session id.
    fork: float = 0.3
    #: Turns that run a Task subagent.
    subagent: float = 0.12
    synthetic: float = 0.01
    api_error: float = 0.01
    #: Lines left half-written by a crash (a prefix of a line, then a newline).
    torn: float = 0.003
    #: Files whose last line is still being written (no newline yet).
    torn_tail: float = 0.05
    #: Modern calls that also log costUSD; a share of those disagree with the price table.
    cost_usd: float = 0.05
    cost_mismatch: float = 0.2
    #: Responses whose earlier lines carry a smaller (streaming) output_tokens.
    partial_usage: float = 0.1
    #: Calls to a model with no known price.
    unknown_model: float = 0.0
    #: Allow prompts above 200K tokens (priced at long-context rates where a model has them).
    long_context: bool = False
    #: Scales tool-result sizes (bytes per call).
    content_scale: float = 1.0
    #: Calls that made web search (and some web fetch) requests.
    web_search: float = 0.0
    #: Turns that end with a text answer (a call whose lines end the file when it is the last).
    final_text: float = 0.0
    #: Turns after which the user asks a ``/btw`` side question (a replayed message).
    btw: float = 0.0
    #: Sessions with a synced copy taken mid-response (a partial copy read first).
    synced: float = 0.0
    #: Subagent calls whose progress mirror in the parent stops at the response's early lines.
    partial_mirror: float = 0.0


#: Everything a test should see, including the cases only thrifty handles.
TEST_PROFILE = Profile(
    models=ALL_MODELS,
    unknown_model=0.02,
    long_context=True,
    torn=0.01,
    torn_tail=0.1,
    resume=0.4,
    fork=0.4,
    legacy=0.2,
    partial_usage=0.3,
    web_search=0.08,
    final_text=0.4,
    btw=0.08,
    synced=0.3,
    partial_mirror=0.4,
)
#: For comparing with ccusage: only what both count and price the same way. No unknown models,
#: no prompts above 200K tokens (thrifty prices the whole call at the long-context rate,
#: ccusage only the tokens above 200K), and no forks: ccusage 20.x counts a call again when a
#: forked session's copy of it carries the new session id (19.x and thrifty count it once).
BENCH_PROFILE = Profile(long_context=False, unknown_model=0.0, fork=0.0)
#: The bench's history with every counting case of issue 15 too (partial copies, ``/btw``
#: replays, calls ending a just-written file, web search), on the shared models: the bench
#: lists each difference from ccusage with its cause.
COUNTING_PROFILE = replace(
    BENCH_PROFILE,
    partial_usage=0.3,
    web_search=0.05,
    final_text=0.4,
    btw=0.05,
    synced=0.2,
    partial_mirror=0.3,
)
PROFILES = {"test": TEST_PROFILE, "bench": BENCH_PROFILE, "counting": COUNTING_PROFILE}


@dataclass(frozen=True)
class Call:
    """One billed model call, as an importer should record it."""

    message_id: str
    request_id: str | None
    session_id: str
    project: str
    model: str
    at: datetime
    input_tokens: int
    output_tokens: int
    cache_write_5m: int
    cache_write_1h: int
    cache_read: int
    sidechain: bool
    entrypoint: str | None
    version: str
    #: ``costUSD`` as written in the transcript, if it was.
    logged_cost: str | None = None
    #: Whether usage carries the ``cache_creation`` split (1.0.x did not write it).
    split: bool = True
    #: Server tool requests (``usage.server_tool_use``), reported with the final count.
    web_search: int = 0
    web_fetch: int = 0

    @property
    def key(self) -> tuple[str, str | None]:
        return (self.message_id, self.request_id)

    @property
    def ledger_request_id(self) -> str:
        return self.request_id if self.request_id is not None else f"msg:{self.message_id}"

    @property
    def day(self) -> str:
        return self.at.astimezone(UTC).date().isoformat()

    @property
    def cache_write(self) -> int:
        return self.cache_write_5m + self.cache_write_1h

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_write + self.cache_read

    def usage(self, output_tokens: int | None = None) -> dict[str, Any]:
        """The ``message.usage`` object Claude Code writes for this call (``output_tokens``: the
        partial count of a streamed response's early line, which reports no server tools yet)."""
        usage: dict[str, Any] = {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_write,
            "cache_read_input_tokens": self.cache_read,
        }
        if self.split:
            usage["cache_creation"] = {
                "ephemeral_5m_input_tokens": self.cache_write_5m,
                "ephemeral_1h_input_tokens": self.cache_write_1h,
            }
        usage["output_tokens"] = self.output_tokens if output_tokens is None else output_tokens
        if self.web_search or self.web_fetch:
            final = output_tokens is None
            usage["server_tool_use"] = {
                "web_search_requests": self.web_search if final else 0,
                "web_fetch_requests": self.web_fetch if final else 0,
            }
        usage["service_tier"] = "standard"
        return usage


@dataclass(frozen=True)
class Totals:
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    web_search_requests: int = 0
    web_fetch_requests: int = 0

    @property
    def total_tokens(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_write_tokens + self.cache_read_tokens


def totals(calls: Iterable[Call]) -> Totals:
    n = i = o = w = r = ws = wf = 0
    for call in calls:
        n += 1
        i += call.input_tokens
        o += call.output_tokens
        w += call.cache_write
        r += call.cache_read
        ws += call.web_search
        wf += call.web_fetch
    return Totals(n, i, o, w, r, ws, wf)


@dataclass
class History:
    config_dir: Path
    #: Every unique call, by (message id, request id).
    calls: dict[tuple[str, str | None], Call] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    size: int = 0
    #: Complete (newline-terminated) lines written.
    lines: int = 0
    #: Valid lines carrying a call's usage, repeats included (content blocks, copies, progress).
    usage_lines: int = 0
    #: Lines an importer must skip, by reason: malformed (torn lines that carry "usage"),
    #: synthetic, api_error.
    skipped: Counter[str] = field(default_factory=Counter)
    #: Calls copied into a fork under a new session id: which session an import names for
    #: them depends on which file it reads first.
    forked: set[tuple[str, str | None]] = field(default_factory=set)
    #: Calls of which some file holds only a partial copy (a streamed response's early lines),
    #: with the output tokens that copy lacks; and those whose partial copy is in a file read
    #: (in path order) before every complete one.
    partial_copies: dict[tuple[str, str | None], int] = field(default_factory=dict)
    partial_first: set[tuple[str, str | None]] = field(default_factory=set)
    #: ``/btw`` replays written: (replay key, the key of the call it replays). Not calls.
    replays: list[tuple[tuple[str, str | None], tuple[str, str | None]]] = field(default_factory=list)
    #: Files whose last complete line reports a call (a just-written file ends mid-turn there).
    ends_with_call: int = 0

    @property
    def projects_dir(self) -> Path:
        return self.config_dir / "projects"

    @property
    def duplicates(self) -> int:
        return self.usage_lines - len(self.calls)

    def totals(self) -> Totals:
        return totals(self.calls.values())

    def by_day(self) -> dict[str, Totals]:
        days: dict[str, list[Call]] = {}
        for call in self.calls.values():
            days.setdefault(call.day, []).append(call)
        return {day: totals(calls) for day, calls in sorted(days.items())}

    def by_model(self) -> dict[str, Totals]:
        models: dict[str, list[Call]] = {}
        for call in self.calls.values():
            models.setdefault(call.model, []).append(call)
        return {model: totals(calls) for model, calls in sorted(models.items())}


# -- line writing ------------------------------------------------------------------------------


@dataclass
class _Line:
    text: str
    #: call | replay | synthetic | api_error | malformed | other
    kind: str = "other"
    key: tuple[str, str | None] | None = None
    #: The output count a call line reports (a streamed response's early lines: a partial one).
    output: int = 0


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def sanitize(cwd: str) -> str:
    """Claude Code's project folder name: every non-alphanumeric character becomes ``-``."""
    return re.sub(r"[^A-Za-z0-9]", "-", cwd)


class _Gen:
    def __init__(self, config_dir: Path, seed: int, profile: Profile) -> None:
        self.rng = random.Random(seed)
        self.profile = profile
        self.history = History(config_dir)
        #: (session id, lines, turn boundaries, cwd) of recent sessions, to resume from.
        self.recent: list[tuple[str, list[_Line], list[int], str]] = []
        self.blobs = [self._blob() for _ in range(96)]
        self.thoughts = [
            _dump(" ".join(self.rng.choices(("maybe", "the", "bug", "is", "here"), k=40))) for _ in range(16)
        ]
        self.seen_files: set[Path] = set()
        #: call -> {file: the largest output count a line of it there reports}
        self.copies: dict[tuple[str, str | None], dict[str, int]] = {}

    # ids and text
    def _id(self, prefix: str, n: int) -> str:
        return prefix + "".join(self.rng.choices(_B62, k=n))

    def _uuid(self) -> str:
        h = f"{self.rng.getrandbits(128):032x}"
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:32]}"

    def _blob(self) -> str:
        """File contents or command output, JSON-escaped once and reused."""
        words = ("def", "return", "self", "import", "class", "if", "for", "in", "value", "result", "{", "}")
        size = int(min(60_000, self.rng.lognormvariate(7.6, 1.0)) * self.profile.content_scale) + 40
        out: list[str] = []
        n = 0
        while n < size:
            line = " ".join(self.rng.choices(words, k=self.rng.randint(2, 12))) + ' "x"\t\\n'
            out.append(line)
            n += len(line) + 1
        return _dump("\n".join(out))

    def _pick(self, weighted: Iterable[tuple[str, float]]) -> str:
        items = list(weighted)
        return self.rng.choices([i for i, _ in items], weights=[w for _, w in items])[0]

    # sessions
    def run(self, target_bytes: int, min_sessions: int) -> History:
        sessions = 0
        while self.history.size < target_bytes or sessions < min_sessions:
            self.session()
            sessions += 1
        self.history.files.sort()
        self._partial_copies()
        return self.history

    def _partial_copies(self) -> None:
        """Which calls some file holds only a partial copy of, and which of those an import
        reading files in path order meets first in such a file."""
        h = self.history
        for key, files in self.copies.items():
            call = h.calls[key]
            worst = min(files.values())
            if worst < call.output_tokens:
                h.partial_copies[key] = call.output_tokens - worst
                if files[min(files)] < call.output_tokens:
                    h.partial_first.add(key)

    def session(self) -> None:
        p, rng = self.profile, self.rng
        legacy = rng.random() < p.legacy
        project = f"/home/dev/src/{rng.choice(PROJECT_NAMES)}"
        session_id = self._uuid()
        folder = self.history.projects_dir / sanitize(project)
        meta: dict[str, Any] = {
            "legacy": legacy,
            "version": rng.choice(LEGACY_VERSIONS if legacy else MODERN_VERSIONS),
            "entrypoint": None if legacy else self._pick(ENTRYPOINTS),
            "no_request_id": legacy and rng.random() < 0.5,
            "cwd": project,
            "session": session_id,
            "cuts": [],
            # (index just past a streamed response's partial line, its call) in this file.
            "partial_cuts": [],
            # (call, its message JSON) of the main chain's answers, for /btw to replay.
            "answers": [],
            # Claude Code compacts near 200K; some long-context sessions go on to 400K.
            "limit": 400_000 if p.long_context and rng.random() < 0.3 else 175_000,
            # Tokens in the conversation so far: read from cache by the next call.
            "context": rng.randint(12_000, 30_000),
        }
        lines: list[_Line] = []
        at = START + timedelta(days=rng.uniform(0, 41), hours=rng.uniform(0, 12))
        if self.recent and rng.random() < p.resume:
            source_session, source, cuts, meta["cwd"] = rng.choice(self.recent)
            folder = self.history.projects_dir / sanitize(meta["cwd"])
            fork = rng.random() < p.fork
            lines.append(
                _Line(_dump({"type": "summary", "summary": "Earlier work", "leafUuid": self._uuid()}))
            )
            # Resuming copies the conversation up to a turn boundary, never half a response.
            for line in source[: rng.choice(cuts)]:
                text = line.text
                if fork and line.kind != "malformed":
                    text = text.replace(f'"sessionId":"{source_session}"', f'"sessionId":"{session_id}"')
                    if line.key is not None:
                        self.history.forked.add(line.key)
                lines.append(_Line(text, line.kind, line.key))
        subagent_files: list[tuple[Path, list[_Line]]] = []
        for _ in range(rng.randint(2, 14)):
            at = self.turn(meta, lines, at, folder, subagent_files)
            at += timedelta(minutes=rng.uniform(1, 30))
        self._write(folder / f"{session_id}.jsonl", lines)
        for path, sub in subagent_files:
            self._write(path, sub)
        if p.synced and meta["partial_cuts"] and rng.random() < p.synced:
            # Another machine's copy, synced while a response was still streaming.
            cut = rng.choice(meta["partial_cuts"])
            name = meta["cwd"].rsplit("/", 1)[-1]
            synced = self.history.projects_dir / sanitize(f"{SYNCED_ROOT}/{name}") / f"{session_id}.jsonl"
            self._write(synced, lines[:cut], torn_tail=False)
        if meta["cuts"]:
            self.recent = [*self.recent[-15:], (session_id, lines, meta["cuts"], meta["cwd"])]

    def _common(self, meta: dict[str, Any], parent: str | None, sidechain: bool, agent: str | None) -> str:
        out = f'{{"parentUuid":{_dump(parent)},"isSidechain":{"true" if sidechain else "false"}'
        if agent:
            out += f',"agentId":"{agent}"'
        out += ',"userType":"external"'
        if meta["entrypoint"]:
            out += f',"entrypoint":"{meta["entrypoint"]}"'
        return (
            out
            + f',"cwd":{_dump(meta["cwd"])},"sessionId":"{meta["session"]}"'
            + f',"version":"{meta["version"]}","gitBranch":"main"'
        )

    def _ts(self, at: datetime) -> str:
        return at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"

    def turn(
        self,
        meta: dict[str, Any],
        lines: list[_Line],
        at: datetime,
        folder: Path,
        subagent_files: list[tuple[Path, list[_Line]]],
    ) -> datetime:
        rng, p = self.rng, self.profile
        parent = self._uuid()
        prompt = _dump("Please " + " ".join(rng.choices(("fix", "the", "tests", "refactor", "parser"), k=8)))
        common = self._common(meta, None, False, None)
        lines.append(
            _Line(
                f'{common},"type":"user","message":{{"role":"user","content":{prompt}}},'
                f'"uuid":"{parent}","timestamp":"{self._ts(at)}"}}'
            )
        )
        context = meta["context"]
        model = self._pick(p.models)
        for _ in range(rng.randint(1, 12)):
            at += timedelta(seconds=rng.uniform(3, 90))
            if rng.random() < p.api_error:
                lines.append(self._error_line(meta, parent, at, api_error=True))
            elif rng.random() < p.synthetic:
                lines.append(self._error_line(meta, parent, at, api_error=False))
            sub = rng.random() < p.subagent
            call_model = UNKNOWN_MODEL if rng.random() < p.unknown_model else model
            spawn = (folder, subagent_files) if sub else None
            context, parent, at = self.response(meta, lines, at, parent, call_model, context, spawn=spawn)
            meta["cuts"].append(len(lines))
            if p.final_text and rng.random() < p.final_text:  # the turn ends with an answer
                at += timedelta(seconds=rng.uniform(2, 30))
                context, parent, at = self.response(meta, lines, at, parent, model, context, final=True)
            if p.btw and rng.random() < p.btw:
                parent, at = self.btw(meta, lines, parent, at)
            if rng.random() < p.torn:
                victim = rng.choice([line for line in lines[-4:] if line.kind != "malformed"]).text
                cut = rng.randint(10, max(11, len(victim) - 5))
                kind = "malformed" if '"usage"' in victim[:cut] else "other"
                lines.append(_Line(victim[:cut], kind))
            if context > meta["limit"]:
                lines.append(
                    _Line(
                        f'{common},"type":"system","subtype":"compact_boundary",'
                        f'"content":"Conversation compacted","isMeta":false,"timestamp":"{self._ts(at)}",'
                        f'"uuid":"{self._uuid()}","level":"info"}}'
                    )
                )
                context = rng.randint(20_000, 40_000)
        meta["context"] = context
        return at

    def _error_line(self, meta: dict[str, Any], parent: str, at: datetime, *, api_error: bool) -> _Line:
        text = "API Error: 529 Overloaded" if api_error else "No response requested."
        usage = (
            '{"input_tokens":0,"output_tokens":0,"cache_creation_input_tokens":0,'
            '"cache_read_input_tokens":0,"server_tool_use":{"web_search_requests":0},"service_tier":null}'
        )
        flag = ',"isApiErrorMessage":true' if api_error else ""
        return _Line(
            f'{self._common(meta, parent, False, None)},"type":"assistant","message":{{"id":"{self._uuid()}",'
            f'"type":"message","role":"assistant","model":"<synthetic>","content":[{{"type":"text","text":"{text}"}}],'
            f'"stop_reason":"stop_sequence","stop_sequence":"","usage":{usage}}}{flag},'
            f'"uuid":"{self._uuid()}","timestamp":"{self._ts(at)}"}}',
            "api_error" if api_error else "synthetic",
        )

    def btw(
        self, meta: dict[str, Any], lines: list[_Line], parent: str, at: datetime
    ) -> tuple[str, datetime]:
        """A ``/btw`` side question: Claude Code logs an earlier answer again, same message id
        and usage, under the side request's own request id. Not a call of its own."""
        if meta["no_request_id"] or not meta["answers"]:
            return parent, at
        rng = self.rng
        call, message = rng.choice(meta["answers"])
        at += timedelta(seconds=rng.uniform(1, 20))
        ask = self._uuid()
        lines.append(
            _Line(
                f'{self._common(meta, parent, False, None)},"type":"user","message":{{"role":"user",'
                f'"content":"/btw what does that flag do?"}},"uuid":"{ask}","timestamp":"{self._ts(at)}"}}'
            )
        )
        request_id = self._id("req_011C", 20)
        uuid = self._uuid()
        lines.append(
            _Line(
                f'{self._common(meta, ask, False, None)},"message":{message},"requestId":"{request_id}",'
                f'"type":"assistant","uuid":"{uuid}","timestamp":"{self._ts(at)}"}}',
                "replay",
                (call.message_id, request_id),
                call.output_tokens,
            )
        )
        self.history.replays.append(((call.message_id, request_id), call.key))
        return uuid, at

    def _call(
        self, meta: dict[str, Any], model: str, at: datetime, context: int, *, sidechain: bool
    ) -> tuple[Call, int]:
        rng, p = self.rng, self.profile
        # Claude Code compacts a conversation near its limit, so a prompt stays below it (and,
        # in a normal session, below 200K tokens: 175K of context plus at most 20K new).
        context = min(context, meta["limit"])
        fresh = min(20_000, int(rng.lognormvariate(7.5, 1.1)))
        cached = rng.random() > 0.05
        legacy = meta["legacy"]
        if cached:
            write = fresh
            read = context
            inp = rng.randint(1, 12)
        else:
            write, read, inp = 0, 0, context + fresh
        one_hour = not legacy and rng.random() < p.share_1h
        output = int(min(32_000, rng.lognormvariate(5.5, 1.2))) + 1
        call = Call(
            message_id=self._id("msg_01", 22),
            request_id=None if meta["no_request_id"] else self._id("req_011C", 20),
            session_id=meta["session"],
            project=meta["cwd"],
            model=model,
            at=at.replace(microsecond=at.microsecond // 1000 * 1000),  # as written: milliseconds
            input_tokens=inp,
            output_tokens=output,
            cache_write_5m=0 if one_hour else write,
            cache_write_1h=write if one_hour else 0,
            cache_read=read,
            sidechain=sidechain,
            entrypoint=meta["entrypoint"],
            version=meta["version"],
            split=not legacy,
        )
        if p.web_search and not legacy and rng.random() < p.web_search:
            call = replace(call, web_search=rng.randint(1, 5), web_fetch=rng.randint(0, 2))
        if legacy or rng.random() < p.cost_usd:
            call = _with_logged_cost(call, mismatch=rng.random() < p.cost_mismatch, rng=rng)
        return call, context + fresh + output

    def response(
        self,
        meta: dict[str, Any],
        lines: list[_Line],
        at: datetime,
        parent: str,
        model: str,
        context: int,
        *,
        spawn: tuple[Path, list[tuple[Path, list[_Line]]]] | None = None,
        sidechain: bool = False,
        agent: str | None = None,
        mirror: list[_Line] | None = None,
        final: bool = False,
    ) -> tuple[int, str, datetime]:
        """One API call: its assistant lines (one per content block), then a tool result (for a
        Task, after the subagent it ``spawn``s has run); a ``final`` answer is text, no tool."""
        rng = self.rng
        call, context = self._call(meta, model, at, context, sidechain=sidechain)
        self.history.calls.setdefault(call.key, call)
        blocks = []
        if rng.random() < 0.4:
            blocks.append(f'{{"type":"thinking","thinking":{rng.choice(self.thoughts)},"signature":"EqQB"}}')
        if final:
            blocks.append('{"type":"text","text":"Done: the tests pass."}')
            return self._assistant(meta, lines, at, parent, call, blocks, context, sidechain, agent, mirror)
        if rng.random() < 0.6:
            blocks.append('{"type":"text","text":"Let me look at that."}')
        tool_id = self._id("toolu_01", 22)
        name = "Task" if spawn else rng.choice(("Read", "Bash", "Edit", "Grep"))
        tool_input = (
            '{"description":"Explore","prompt":"Find the parser","subagent_type":"Explore","model":"haiku"}'
            if name == "Task"
            else f'{{"file_path":"/home/dev/src/app/module_{rng.randint(1, 99)}.py"}}'
        )
        blocks.append(f'{{"type":"tool_use","id":"{tool_id}","name":"{name}","input":{tool_input}}}')
        context, parent, at = self._assistant(
            meta, lines, at, parent, call, blocks, context, sidechain, agent, mirror
        )
        if spawn is not None:
            at = self.subagent(meta, lines, at, parent, *spawn)
        result_at = at + timedelta(seconds=rng.uniform(0.5, 20))
        blob = rng.choice(self.blobs)
        result_uuid = self._uuid()
        extra = ""
        if name == "Task":  # a subagent's summary carries a "usage" that is not a call
            extra = (
                ',"toolUseResult":{"status":"completed","totalTokens":51234,"totalToolUseCount":4,'
                '"usage":{"input_tokens":10,"cache_creation_input_tokens":2000,"cache_read_input_tokens":40000,'
                '"output_tokens":900,"service_tier":"standard"}}'
            )
        else:
            extra = f',"toolUseResult":{{"type":"text","file":{{"filePath":"/tmp/x.py","content":{blob}}}}}'
        lines.append(
            _Line(
                f'{self._common(meta, parent, sidechain, agent)},"type":"user","message":{{"role":"user",'
                f'"content":[{{"tool_use_id":"{tool_id}","type":"tool_result","content":{blob}}}]}},'
                f'"uuid":"{result_uuid}","timestamp":"{self._ts(result_at)}"{extra}}}'
            )
        )
        return context + len(blob) // 4, result_uuid, result_at

    def _assistant(
        self,
        meta: dict[str, Any],
        lines: list[_Line],
        at: datetime,
        parent: str,
        call: Call,
        blocks: list[str],
        context: int,
        sidechain: bool,
        agent: str | None,
        mirror: list[_Line] | None,
    ) -> tuple[int, str, datetime]:
        """The call's assistant lines, one per content block (a streamed response's early ones
        with a partial output count), and its progress mirror in the parent for a subagent."""
        rng, p = self.rng, self.profile
        partial = len(blocks) > 1 and rng.random() < p.partial_usage
        # The parent's mirror of a subagent call may stop at the response's early lines.
        mirror_upto = len(blocks)
        if mirror is not None and partial and p.partial_mirror and rng.random() < p.partial_mirror:
            mirror_upto = len(blocks) - 1
        common = self._common(meta, parent, sidechain, agent)
        request = "" if call.request_id is None else f',"requestId":"{call.request_id}"'
        cost = "" if call.logged_cost is None else f',"costUSD":{call.logged_cost}'
        ts = self._ts(at)
        last = '"tool_use"' if '"tool_use"' in blocks[-1] else '"end_turn"'
        message = ""
        for n, block in enumerate(blocks):
            uuid = self._uuid()
            out = min(call.output_tokens, rng.randint(1, 8)) if partial and n < len(blocks) - 1 else None
            stop = "null" if n < len(blocks) - 1 else last
            message = (
                f'{{"id":"{call.message_id}","type":"message","role":"assistant","model":"{call.model}",'
                f'"content":[{block}],"stop_reason":{stop},'
                f'"stop_sequence":null,"usage":{_dump(call.usage(out))}}}'
            )
            rest = f'"type":"assistant","uuid":"{uuid}","timestamp":"{ts}"}}'
            text = f'{common},"message":{message}{request}{cost},{rest}'
            shown = call.output_tokens if out is None else out
            lines.append(_Line(text, "call", call.key, shown))
            if out is not None and mirror is None and not sidechain:
                meta["partial_cuts"].append(len(lines))
            parent = uuid
            if mirror is not None and n < mirror_upto:  # the parent's progress line
                stamp = f'"uuid":"{uuid}","timestamp":"{ts}"'
                inner = f'{{"type":"assistant","message":{message}{request}{cost},{stamp}}}'
                mirror.append(
                    _Line(
                        f'{self._common(meta, None, False, None)},"type":"progress",'
                        f'"data":{{"type":"agent_progress","message":{inner},"agentId":"{agent}"}},'
                        f'"toolUseID":"{self._id("toolu_01", 22)}",'
                        f'"uuid":"{self._uuid()}","timestamp":"{ts}"}}',
                        "call",
                        call.key,
                        shown,
                    )
                )
        if not sidechain and call.request_id is not None:
            meta["answers"].append((call, message))
        return context, parent, at

    def subagent(
        self,
        meta: dict[str, Any],
        lines: list[_Line],
        at: datetime,
        parent: str,
        folder: Path,
        subagent_files: list[tuple[Path, list[_Line]]],
    ) -> datetime:
        rng = self.rng
        agent = f"{rng.getrandbits(32):08x}"
        model = self._pick(SUBAGENT_MODELS)
        if meta["legacy"]:  # 1.0.x: sidechain lines inline in the session file
            target, mirror = lines, None
        else:
            target, mirror = [], lines
            subagent_files.append((folder / meta["session"] / "subagents" / f"agent-{agent}.jsonl", target))
        context = rng.randint(8_000, 15_000)
        sub_parent = parent
        for _ in range(rng.randint(1, 6)):
            at += timedelta(seconds=rng.uniform(2, 40))
            progress: list[_Line] | None = [] if mirror is not None else None
            context, sub_parent, _ = self.response(
                meta, target, at, sub_parent, model, context, sidechain=True, agent=agent, mirror=progress
            )
            if mirror is not None and progress is not None:
                mirror.extend(progress)
        return at

    def _write(self, path: Path, lines: list[_Line], *, torn_tail: bool = True) -> None:
        h = self.history
        tail = ""
        if torn_tail and lines and self.rng.random() < self.profile.torn_tail:
            victim = lines[-1].text
            tail = victim[: self.rng.randint(5, max(6, len(victim) - 5))]
        body = "".join(line.text + "\n" for line in lines) + tail
        path.parent.mkdir(parents=True, exist_ok=True)
        data = body.encode("utf-8")
        with path.open("ab") as f:  # a subagent file may be appended to by a later turn
            f.write(data)
        if path not in self.seen_files:
            self.seen_files.add(path)
            h.files.append(path)
        h.size += len(data)
        h.lines += len(lines)
        h.ends_with_call += bool(lines) and lines[-1].kind in ("call", "replay")
        for line in lines:
            if line.kind in ("call", "replay"):
                h.usage_lines += 1
            elif line.kind != "other":
                h.skipped[line.kind] += 1
            if line.kind == "call" and line.key is not None:
                files = self.copies.setdefault(line.key, {})
                files[str(path)] = max(files.get(str(path), 0), line.output)


def _with_logged_cost(call: Call, *, mismatch: bool, rng: random.Random) -> Call:
    cost = bundled_prices().cost(call.model, Usage.from_api(call.usage()), at=call.at)
    if cost is None:
        return call
    if mismatch:
        cost = cost * Decimal(str(round(rng.uniform(0.5, 1.5), 3)))
    # JavaScript writes the nearest double in its shortest form, as repr(float) does.
    return replace(call, logged_cost=repr(float(cost)))


def generate(
    config_dir: Path,
    *,
    seed: int = 1,
    target_bytes: int = 0,
    min_sessions: int = 12,
    profile: Profile = TEST_PROFILE,
) -> History:
    """Write a history under ``config_dir/projects`` (at least ``min_sessions`` sessions and about
    ``target_bytes`` bytes) and return what it holds."""
    return _Gen(Path(config_dir), seed, profile).run(target_bytes, min_sessions)


def summary(history: History) -> dict[str, Any]:
    t = history.totals()
    return {
        "files": len(history.files),
        "bytes": history.size,
        "lines": history.lines,
        "calls": t.calls,
        "usage_lines": history.usage_lines,
        "duplicates": history.duplicates,
        "skipped": dict(history.skipped),
        "input_tokens": t.input_tokens,
        "output_tokens": t.output_tokens,
        "cache_write_tokens": t.cache_write_tokens,
        "cache_read_tokens": t.cache_read_tokens,
        "web_search_requests": t.web_search_requests,
        "web_fetch_requests": t.web_fetch_requests,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Write a synthetic Claude Code history.")
    parser.add_argument("config_dir", type=Path)
    parser.add_argument("--size-mb", type=float, default=50)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--profile", choices=sorted(PROFILES), default="bench")
    parser.add_argument("--summary", type=Path, help="write the history's figures here as JSON")
    args = parser.parse_args(argv)
    history = generate(
        args.config_dir,
        seed=args.seed,
        target_bytes=int(args.size_mb * 1_000_000),
        profile=PROFILES[args.profile],
    )
    doc = summary(history)
    if args.summary:
        args.summary.write_text(json.dumps(doc, indent=2) + "\n")
    print(json.dumps(doc), file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
