"""A fleet's input: one agent job per JSONL line, checked line by line.

Each line is an object with an ``id`` (a string or an integer, unique in the file) and a
``prompt``; optionally ``cwd`` (a directory; relative to the jobs file), or ``repo`` and ``ref``
(a git repository, local path or URL, checked out for the job; ``cwd`` is then a folder inside
it), ``model``, ``allowed_tools``, ``max_turns``, ``max_budget_usd``, ``system_prompt``,
``permission_mode`` and ``via`` (``live`` or ``batch``). A bad line is a ``FleetInputError``
naming the file and line.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

KNOWN_KEYS = (
    "id",
    "prompt",
    "cwd",
    "repo",
    "ref",
    "model",
    "allowed_tools",
    "max_turns",
    "max_budget_usd",
    "system_prompt",
    "permission_mode",
    "via",
)


class FleetInputError(ValueError):
    """A jobs file or job that cannot run: one line naming where it is."""


@dataclass(frozen=True)
class Job:
    #: The caller's id, as text (an integer id is written back as given, in ``raw_id``).
    id: str
    prompt: str
    #: Where the job runs: an absolute directory, or (with ``repo``) a folder inside the checkout.
    cwd: str | None = None
    repo: str | None = None
    ref: str | None = None
    model: str | None = None
    allowed_tools: tuple[str, ...] | None = None
    max_turns: int | None = None
    max_budget_usd: Decimal | None = None
    system_prompt: str | None = None
    permission_mode: str | None = None
    #: ``live`` or ``batch`` (its calls in the fleet's shared Message Batches); None: the fleet's.
    via: str | None = None
    #: ``jobs.jsonl:12``, for errors.
    where: str = ""
    raw_id: str | int = field(default="", compare=False)


def _text(value: Any, key: str, where: str, *, empty: bool = False) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise FleetInputError(f"{where}: {key} must be a non-empty string")
    return value


def parse_job(data: Any, where: str, base: Path) -> Job:
    """One job from a decoded line; ``base`` is the folder relative ``cwd`` and ``repo`` paths
    are read from (the jobs file's)."""
    if not isinstance(data, dict):
        raise FleetInputError(f"{where}: each line must be a JSON object")
    unknown = sorted(k for k in data if k not in KNOWN_KEYS)
    if unknown:
        raise FleetInputError(f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(KNOWN_KEYS)}")
    raw_id = data.get("id")
    if isinstance(raw_id, bool) or not isinstance(raw_id, str | int) or str(raw_id) == "":
        raise FleetInputError(f"{where}: id must be a non-empty string or an integer")
    prompt = _text(data.get("prompt"), "prompt", where)
    repo = data.get("repo")
    if repo is not None:
        repo = _text(repo, "repo", where)
        if "://" not in repo and not repo.startswith("git@"):
            repo = str((base / Path(repo).expanduser()).absolute())
    ref = data.get("ref")
    if ref is not None:
        if repo is None:
            raise FleetInputError(f"{where}: ref needs a repo")
        ref = _text(ref, "ref", where)
        if ref.startswith("-"):
            raise FleetInputError(f"{where}: ref must not start with '-'")
    cwd = data.get("cwd")
    if cwd is not None:
        cwd = _text(cwd, "cwd", where)
        if repo is not None:
            if Path(cwd).is_absolute() or ".." in Path(cwd).parts:
                raise FleetInputError(f"{where}: with a repo, cwd must be a folder inside it (relative)")
        else:
            cwd = str((base / Path(cwd).expanduser()).absolute())
    tools = data.get("allowed_tools")
    if tools is not None and (
        not isinstance(tools, list) or not all(isinstance(t, str) and t for t in tools)
    ):
        raise FleetInputError(f"{where}: allowed_tools must be a list of tool names")
    turns = data.get("max_turns")
    if turns is not None and (isinstance(turns, bool) or not isinstance(turns, int) or turns < 1):
        raise FleetInputError(f"{where}: max_turns must be a positive integer")
    budget = data.get("max_budget_usd")
    amount: Decimal | None = None
    if budget is not None:
        try:
            amount = Decimal(str(budget)) if not isinstance(budget, bool) else Decimal("NaN")
        except InvalidOperation:
            amount = Decimal("NaN")
        if not isinstance(budget, str | int | float) or not amount.is_finite() or amount <= 0:
            raise FleetInputError(f"{where}: max_budget_usd must be an amount in USD above 0, got {budget!r}")
    model = data.get("model")
    system = data.get("system_prompt")
    mode = data.get("permission_mode")
    via = data.get("via")
    if via is not None and via not in ("live", "batch"):
        raise FleetInputError(f"{where}: via must be 'live' or 'batch', got {via!r}")
    return Job(
        id=str(raw_id),
        prompt=prompt,
        cwd=cwd,
        repo=repo,
        ref=ref,
        model=_text(model, "model", where) if model is not None else None,
        allowed_tools=tuple(tools) if tools is not None else None,
        max_turns=turns,
        max_budget_usd=amount,
        system_prompt=_text(system, "system_prompt", where, empty=True) if system is not None else None,
        permission_mode=_text(mode, "permission_mode", where) if mode is not None else None,
        via=via,
        where=where,
        raw_id=raw_id,
    )


def parse_jobs(items: Iterable[Mapping[str, Any] | Job], *, base: Path | None = None) -> list[Job]:
    """Jobs from dicts (the SDK) or ``Job`` objects; ids must be unique."""
    jobs: list[Job] = []
    seen: dict[str, str] = {}
    folder = base if base is not None else Path.cwd()
    for index, item in enumerate(items, 1):
        job = item if isinstance(item, Job) else parse_job(item, item_where(index), folder)
        if job.id in seen:
            raise FleetInputError(
                f"{job.where or item_where(index)}: id {job.id!r} already used at {seen[job.id]}"
            )
        seen[job.id] = job.where or item_where(index)
        jobs.append(job)
    if not jobs:
        raise FleetInputError("the fleet has no jobs")
    return jobs


def item_where(index: int) -> str:
    return f"job {index}"


def read_jobs(path: Path) -> tuple[list[Job], str]:
    """The jobs of a JSONL file and the hash of its bytes (the default fleet id's source)."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise FleetInputError(f"{path}: {exc.strerror or type(exc).__name__}") from None
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise FleetInputError(f"{path}: not UTF-8 text") from None
    jobs: list[Job] = []
    seen: dict[str, str] = {}
    base = path.parent.absolute()
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        where = f"{path.name}:{number}"
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise FleetInputError(f"{where}: not JSON ({exc.msg})") from None
        job = parse_job(data, where, base)
        if job.id in seen:
            raise FleetInputError(f"{where}: id {job.id!r} already used at {seen[job.id]}")
        seen[job.id] = where
        jobs.append(job)
    if not jobs:
        raise FleetInputError(f"{path}: no jobs (one JSON object per line)")
    return jobs, hashlib.sha256(raw).hexdigest()


def jobs_hash(jobs: Iterable[Job]) -> str:
    """A hash of the jobs themselves, for a fleet given as objects (the SDK)."""
    digest = hashlib.sha256()
    for job in jobs:
        # ``via`` only when set, so the hash (a fleet's default id) of a job list without it stays.
        fields = {k: getattr(job, k) for k in KNOWN_KEYS if k != "via" or job.via is not None}
        digest.update(json.dumps(fields, sort_keys=True, default=str).encode("utf-8") + b"\n")
    return digest.hexdigest()
