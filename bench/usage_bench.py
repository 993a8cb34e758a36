"""thrifty vs ccusage on the same Claude Code history: daily report wall time, peak memory, totals.

    .venv/bin/python bench/usage_bench.py [--size-mb 1024] [--runs 3] [--ccusage 20.0.24 ...]
    .venv/bin/python bench/usage_bench.py --size-mb 50 --causes-only   # no ccusage, no timing

1. A history of ``--size-mb`` is generated once by ``tests/usage/cc_history.py`` (``--profile
   counting``, the default: only models both price tables know and no prompts above 200K
   tokens, whose tier rules differ, but every counting case of issue 15: partial copies read
   first, ``/btw`` replays, turns ending with an answer, web search; ``bench``: without those;
   ``test``: everything, unknown and older models too; forks only with ``--forks``) and cached
   under ``bench/.cache``, with its true totals and what ``tests/usage/ccusage_model.py``
   expects each ccusage version to count differently, cause by cause. Its files keep the time
   they were written, as right after a session: thrifty holds nothing back.
2. Each ccusage version is installed with npm into ``bench/.cache/npm`` if missing. 20.x is a
   native (Rust) binary behind a node wrapper, which is timed directly (the wrapper only adds
   node's start); 19.x is the last pure-JavaScript release.
3. In the same run, in fresh processes, alternating, ``--runs`` times each (median reported):

   - thrifty cold: ``thrifty import`` into an empty data dir, then ``thrifty usage daily --json``;
   - thrifty warm: the same two commands again (the import finds no new bytes): what a user
     pays for every report after the first;
   - ``ccusage claude daily --json --mode calculate --offline`` for each version (it reads the
     whole history every time).

   The "report" comparison is the warm ``thrifty usage daily`` alone (the ledger is filled),
   against ccusage's daily report.

   Wall time is measured around each process and peak RSS with ``wait4`` (a process's largest
   resident set, its children included); a two-command figure is the sum of walls and the larger
   peak. Every run sees ``CLAUDE_CONFIG_DIR`` set to the history, ``--timezone UTC``, and a
   throwaway ``HOME``. The history is read once before timing, so the page cache is warm for all.
4. Totals (tokens and cost, calculate mode) are compared with ccusage's and with the generator's
   truth, day by day. Every difference between a ccusage total and the truth is listed with its
   cause (``ccusage_model.CAUSES``: ``/btw`` replays, and 20.x's partial progress mirrors and
   fork copies of lines without a request id), and what no cause explains is printed as
   unexplained. The prices behind the costs are compared too: a probe history with one call per
   model and token kind is priced by each ccusage version and set against thrifty's table, and
   any difference is printed, not hidden, as are the server tool requests (web search, fetch)
   ccusage does not charge for.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.usage import cc_history, ccusage_model  # noqa: E402 - the repository root must be on the path first

from thrifty.billing.prices import bundled_prices  # noqa: E402
from thrifty.core.usage import Usage  # noqa: E402

CACHE = REPO / "bench" / ".cache"
#: Bump when the generator changes what it writes, so a cached history is not reused.
HISTORY_FORMAT = 4
#: Bump when ``ccusage_model`` changes what it expects: a cached history is generated again
#: (the same files, from the same seed) to record the model's new expectations.
CCUSAGE_MODEL = 2
DEFAULT_CCUSAGE = ("20.0.24", "19.0.3")
NATIVE = "@ccusage/ccusage-linux-x64/bin/ccusage"
TOKEN_KINDS = ("input", "output", "cache_write_5m", "cache_write_1h", "cache_read")


# -- processes --------------------------------------------------------------------------------


@dataclass
class Measure:
    wall_s: float
    peak_kb: int
    stdout: str
    code: int


#: Runs argv[2:] and writes "wall_s maxrss_kb" to argv[1]. Measuring from this small process,
#: not from the bench: Linux carries a process's peak RSS across exec, so a command started
#: straight from the bench (tens of MB after reading the history) would inherit that peak.
TRAMPOLINE = """
import os, sys, time
start = time.perf_counter()
pid = os.fork()
if pid == 0:
    os.execvp(sys.argv[2], sys.argv[2:])
_, status, usage = os.wait4(pid, 0)
wall = time.perf_counter() - start
with open(sys.argv[1], "w") as f:
    f.write(f"{wall} {usage.ru_maxrss}")
sys.exit(os.waitstatus_to_exitcode(status))
"""


def measure(cmd: list[str], env: dict[str, str], cwd: Path) -> Measure:
    """Run ``cmd`` to completion: wall time and peak RSS (wait4: the process and its children),
    both taken by a small trampoline process that forks it."""
    with (
        tempfile.TemporaryFile() as out,
        tempfile.TemporaryFile() as err,
        tempfile.NamedTemporaryFile() as fig,
    ):
        trampoline = [sys.executable, "-I", "-S", "-c", TRAMPOLINE, fig.name, *cmd]
        code = subprocess.run(trampoline, env=env, cwd=cwd, stdout=out, stderr=err, check=False).returncode
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
        wall, peak = Path(fig.name).read_text().split()
    if code != 0:
        raise SystemExit(f"{' '.join(cmd[:4])}... exited {code}: {stderr.strip()[-500:]}")
    return Measure(float(wall), int(peak), stdout, code)


@dataclass
class Series:
    name: str
    walls: list[float] = field(default_factory=list)
    peaks: list[int] = field(default_factory=list)
    last: dict[str, Any] = field(default_factory=dict)

    def add(self, wall: float, peak_kb: int) -> None:
        self.walls.append(wall)
        self.peaks.append(peak_kb)

    @property
    def wall(self) -> float:
        return statistics.median(self.walls)

    @property
    def peak_mb(self) -> float:
        return max(self.peaks) / 1024


# -- setup ------------------------------------------------------------------------------------


def history(size_mb: float, seed: int, forks: bool, profile_name: str) -> tuple[Path, dict[str, Any]]:
    """The cached history for (size, seed, profile), generated if missing; (config dir, its truth)."""
    profile = cc_history.PROFILES[profile_name]
    if forks:
        profile = replace(profile, fork=0.3)
    name = f"history-{size_mb:g}mb-seed{seed}-{profile_name}{'-forks' if forks else ''}-v{HISTORY_FORMAT}"
    root = CACHE / name
    summary = root / "summary.json"
    if not summary.exists() or json.loads(summary.read_text()).get("ccusage_model") != CCUSAGE_MODEL:
        shutil.rmtree(root, ignore_errors=True)
        print(f"generating a {size_mb:g} MB history in {root} ...", file=sys.stderr, flush=True)
        began = time.perf_counter()
        h = cc_history.generate(
            root / "claude",
            seed=seed,
            target_bytes=int(size_mb * 1_000_000),
            profile=profile,
        )
        doc = cc_history.summary(h)
        doc["by_day"] = {
            day: [t.calls, t.input_tokens, t.output_tokens, t.cache_write_tokens, t.cache_read_tokens]
            for day, t in h.by_day().items()
        }
        prices = bundled_prices()
        costs = [prices.cost(c.model, Usage.from_api(c.usage())) for c in h.calls.values()]
        doc["cost"] = str(sum((c for c in costs if c is not None), Decimal(0)))
        doc["models"] = sorted({c.model for c in h.calls.values()})
        # What each ccusage major version should count differently, by cause.
        doc["ccusage_model"] = CCUSAGE_MODEL
        doc["ccusage_expected"] = {
            major: ccusage_model.expected_differences(h, session_in_key=major >= "20")
            for major in ("19", "20")
        }
        doc["cases"] = {
            "partial_copies_read_first": len(h.partial_first),
            "btw_replays": len(h.replays),
            "files_ending_with_a_call": h.ends_with_call,
        }
        summary.write_text(json.dumps(doc, indent=2) + "\n")
        print(f"  done in {time.perf_counter() - began:.0f} s", file=sys.stderr)
    return root / "claude", json.loads(summary.read_text())


def ccusage(version: str) -> list[str]:
    """The command that runs this ccusage version, installing it with npm if needed."""
    prefix = CACHE / "npm" / f"ccusage-{version}"
    package = prefix / "node_modules" / "ccusage"
    if not (package / "package.json").exists():
        npm = shutil.which("npm")
        if npm is None:
            raise SystemExit("npm is needed to install ccusage (https://nodejs.org)")
        print(f"installing ccusage@{version} into {prefix} ...", file=sys.stderr, flush=True)
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [npm, "install", "--prefix", str(prefix), "--no-audit", "--no-fund", f"ccusage@{version}"],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    native = prefix / "node_modules" / NATIVE
    if native.exists():
        native.chmod(0o755)
        return [str(native)]
    meta = json.loads((package / "package.json").read_text())
    if meta.get("optionalDependencies"):
        raise SystemExit(
            f"ccusage@{version} is a native binary and npm installed none for this platform; "
            "pick a version whose native package exists (npm view @ccusage/ccusage-linux-x64 versions)"
        )
    node = shutil.which("node")
    if node is None:
        raise SystemExit("node is needed to run ccusage")
    # 19.x's bin (dist/cli.js) only checks for Node >= 22 (or Bun) and spawns node on
    # dist/main.node.js, which runs on older Node too: run that directly, without the wrapper.
    main = package / "dist" / "main.node.js"
    if main.exists():
        return [node, str(main)]
    return [node, str(package / meta["bin"]["ccusage"] if isinstance(meta["bin"], dict) else meta["bin"])]


def ccusage_args() -> list[str]:
    return ["claude", "daily", "--json", "--mode", "calculate", "--offline", "--timezone", "UTC"]


# -- prices -----------------------------------------------------------------------------------

PROBE_TOKENS = 100_000  # below every long-context threshold


def probe_history(root: Path, models: list[str]) -> None:
    """One call per (model, token kind), each kind on its own day, ``PROBE_TOKENS`` of that kind."""
    lines = []
    for day, kind in enumerate(TOKEN_KINDS, start=1):
        for n, model in enumerate(models):
            usage = {
                "input_tokens": PROBE_TOKENS if kind == "input" else 0,
                "output_tokens": PROBE_TOKENS if kind == "output" else 0,
                "cache_creation_input_tokens": PROBE_TOKENS if kind.startswith("cache_write") else 0,
                "cache_read_input_tokens": PROBE_TOKENS if kind == "cache_read" else 0,
                "cache_creation": {
                    "ephemeral_5m_input_tokens": PROBE_TOKENS if kind == "cache_write_5m" else 0,
                    "ephemeral_1h_input_tokens": PROBE_TOKENS if kind == "cache_write_1h" else 0,
                },
            }
            entry = {
                "parentUuid": None,
                "isSidechain": False,
                "userType": "external",
                "cwd": "/probe",
                "sessionId": "probe",
                "version": "2.1.331",
                "message": {"id": f"msg_{day}_{n}", "type": "message", "role": "assistant", "model": model}
                | {"content": [], "usage": usage},
                "requestId": f"req_{day}_{n}",
                "type": "assistant",
                "uuid": f"u-{day}-{n}",
                "timestamp": f"2026-01-0{day}T12:00:00.000Z",
            }
            lines.append(json.dumps(entry, separators=(",", ":")))
    path = root / "projects" / "-probe" / "probe.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n")


def ccusage_prices(cmd: list[str], models: list[str], env: dict[str, str]) -> dict[tuple[str, str], Decimal]:
    """(model, kind) -> USD per million tokens, as this ccusage prices them."""
    with tempfile.TemporaryDirectory() as tmp:
        probe_history(Path(tmp), models)
        run = measure([*cmd, *ccusage_args(), "--breakdown"], env | {"CLAUDE_CONFIG_DIR": tmp}, Path(tmp))
    out: dict[tuple[str, str], Decimal] = {}
    for day in json.loads(run.stdout)["daily"]:
        kind = TOKEN_KINDS[int(day.get("date", day.get("period", ""))[-2:]) - 1]
        for b in day.get("modelBreakdowns", []):
            per_million = Decimal(repr(b["cost"])) * 1_000_000 / PROBE_TOKENS
            out[(b["modelName"], kind)] = per_million.quantize(Decimal("0.0001"))
    return out


def thrifty_prices(models: list[str]) -> dict[tuple[str, str], Decimal]:
    table = bundled_prices()
    out: dict[tuple[str, str], Decimal] = {}
    for model in models:
        price = table.price(model)
        if price is None:
            continue
        for kind in TOKEN_KINDS:
            out[(model, kind)] = Decimal(getattr(price, kind)).quantize(Decimal("0.0001"))
    return out


# -- the bench --------------------------------------------------------------------------------


def thrifty(env: dict[str, str], cwd: Path, series: Series, parts: tuple[Series, Series]) -> dict[str, Any]:
    """``thrifty import`` then ``thrifty usage daily``, each timed; ``parts`` get each alone."""
    py = sys.executable
    imp = measure([py, "-m", "thrifty", "import", "--json", "--no-progress"], env, cwd)
    rep = measure(
        [py, "-m", "thrifty", "usage", "daily", "--json", "--timezone", "UTC", "--cost-mode", "calculate"],
        env,
        cwd,
    )
    series.add(imp.wall_s + rep.wall_s, max(imp.peak_kb, rep.peak_kb))
    parts[0].add(imp.wall_s, imp.peak_kb)
    parts[1].add(rep.wall_s, rep.peak_kb)
    series.last = {"import": json.loads(imp.stdout), "report": json.loads(rep.stdout)}
    return series.last


def thrifty_totals(doc: dict[str, Any]) -> dict[str, Any]:
    plan = doc["totals"]["plan"]
    days = {
        r["key"]: [
            r["calls"],
            r["input_tokens"],
            r["output_tokens"],
            r["cache_write_tokens"],
            r["cache_read_tokens"],
        ]
        for r in doc["rows"]
        if r["mode"] == "plan"
    }
    day_cost = {r["key"]: Decimal(r["cost"] or 0) for r in doc["rows"] if r["mode"] == "plan"}
    return {
        "tokens": [
            plan["input_tokens"],
            plan["output_tokens"],
            plan["cache_write_tokens"],
            plan["cache_read_tokens"],
        ],
        "cost": Decimal(plan["cost"] or 0),
        "calls": plan["calls"],
        "days": {d: v[1:] for d, v in days.items()},
        "day_cost": day_cost,
    }


def ccusage_totals(doc: dict[str, Any]) -> dict[str, Any]:
    t = doc["totals"]
    days = {
        d.get("date", d.get("period")): [
            d["inputTokens"],
            d["outputTokens"],
            d["cacheCreationTokens"],
            d["cacheReadTokens"],
        ]
        for d in doc["daily"]
    }
    day_cost = {d.get("date", d.get("period")): Decimal(repr(d["totalCost"])) for d in doc["daily"]}
    return {
        "tokens": [t["inputTokens"], t["outputTokens"], t["cacheCreationTokens"], t["cacheReadTokens"]],
        "cost": Decimal(repr(t["totalCost"])),
        "days": days,
        "day_cost": day_cost,
    }


def rel(a: Decimal, b: Decimal) -> Decimal:
    return abs(a - b) / b if b else abs(a - b)


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--size-mb", type=float, default=1024, help="history size (default 1024)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--runs", type=int, default=3, help="timed runs of each (median reported)")
    parser.add_argument(
        "--ccusage", action="append", metavar="VERSION", help=f"default: {' '.join(DEFAULT_CCUSAGE)}"
    )
    parser.add_argument("--json-out", type=Path, help="also write the figures here")
    parser.add_argument(
        "--forks",
        action="store_true",
        help="let resumed sessions fork (copies under a new session id): ccusage 20.x counts a "
        "forked copy again where its lines have no requestId (Claude Code 1.0.x)",
    )
    parser.add_argument("--profile", choices=sorted(cc_history.PROFILES), default="counting")
    parser.add_argument(
        "--causes-only",
        action="store_true",
        help="no ccusage and no timing: thrifty against the truth, and ccusage's expected differences",
    )
    args = parser.parse_args()
    versions = args.ccusage or list(DEFAULT_CCUSAGE)

    config_dir, truth = history(args.size_mb, args.seed, args.forks, args.profile)
    if args.causes_only:
        return causes_only(config_dir, truth, versions)
    commands = {v: ccusage(v) for v in versions}
    with tempfile.TemporaryDirectory(prefix="usage-bench-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "home").mkdir()
        base = {
            k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_", "THRIFTY_", "ANTHROPIC_"))
        }
        base |= {
            "HOME": str(tmp / "home"),
            "CLAUDE_CONFIG_DIR": str(config_dir),
            "NO_COLOR": "1",
            "TZ": "UTC",
        }
        for f in config_dir.rglob("*.jsonl"):  # warm the page cache for everyone alike
            f.read_bytes()

        cold, warm = (
            Series("thrifty cold: import + daily"),
            Series("thrifty warm: import (no new bytes) + daily"),
        )
        cold_import, cold_report = Series("  import"), Series("  daily")
        warm_import, warm_report = Series("  import"), Series("  daily")
        others = {v: Series(f"ccusage {v} claude daily") for v in versions}
        outputs: dict[str, Any] = {}
        for n in range(args.runs):
            env = base | {"THRIFTY_DATA_DIR": str(tmp / f"data-{n}")}
            thrifty(env, tmp, cold, (cold_import, cold_report))
            thrifty(env, tmp, warm, (warm_import, warm_report))
            for v in versions:
                run = measure([*commands[v], *ccusage_args()], base, tmp)
                others[v].add(run.wall_s, run.peak_kb)
                outputs[v] = json.loads(run.stdout)
            print(f"run {n + 1}/{args.runs} done", file=sys.stderr, flush=True)

        ours = thrifty_totals(cold.last["report"])
        imp = cold.last["import"]
        models = truth["models"]
        price_rows = []
        ours_prices = thrifty_prices(models)
        for v in versions:
            theirs = ccusage_prices(commands[v], models, base)
            for key, ours_price in ours_prices.items():
                price_rows.append((v, *key, ours_price, theirs.get(key)))

    print_report(
        args,
        truth,
        imp,
        ours,
        [cold, cold_import, cold_report, warm, warm_import, warm_report],
        others,
        outputs,
        price_rows,
    )
    if args.json_out:
        doc = {
            "size_mb": args.size_mb,
            "runs": args.runs,
            "truth": {k: truth[k] for k in ("files", "bytes", "lines", "calls", "cost")},
            "series": {
                s.name.strip(): {"wall_s": s.wall, "walls": s.walls, "peak_mb": s.peak_mb}
                for s in (cold, cold_import, cold_report, warm, warm_import, warm_report, *others.values())
            },
        }
        args.json_out.write_text(json.dumps(doc, indent=2) + "\n")
    return 0


def print_report(
    args: argparse.Namespace,
    truth: dict[str, Any],
    imp: dict[str, Any],
    ours: dict[str, Any],
    ours_series: list[Series],
    others: dict[str, Series],
    outputs: dict[str, Any],
    price_rows: list[tuple[Any, ...]],
) -> None:
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    print(
        f"history: {truth['bytes'] / 1e9:.2f} GB, {truth['files']:,} files, {truth['lines']:,} lines, "
        f"{truth['calls']:,} calls in {truth['usage_lines']:,} usage lines "
        f"(seed {args.seed}, profile {args.profile}{', forks' if args.forks else ''})"
    )
    print(
        f"machine: {cpus} CPUs, load {os.getloadavg()[0]:.1f}, Python {platform.python_version()}, "
        f"thrifty import used {imp.get('workers', '?')} parser processes; median of {args.runs} runs"
    )
    print()
    print("| run | wall s | peak RSS MB |")
    print("| --- | ---: | ---: |")
    cold, warm = ours_series[0], ours_series[3]
    rows = [*ours_series, *others.values()]
    for s in rows:
        peak = f"{s.peak_mb:,.0f}" if max(s.peaks) else ""
        print(f"| {s.name} | {s.wall:.2f} | {peak} |")
    print()
    report = ours_series[5]  # `thrifty usage daily` alone, on the ledger the import filled
    print(
        "| thrifty vs | cold: faster | cold: memory | warm: faster | warm: memory "
        "| report: faster | report: memory |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    for v, s in others.items():
        print(
            f"| ccusage {v} | {s.wall / cold.wall:.2f}x | {cold.peak_mb / s.peak_mb:.2f}x | "
            f"{s.wall / warm.wall:.1f}x | {warm.peak_mb / s.peak_mb:.2f}x | "
            f"{s.wall / report.wall:.1f}x | {report.peak_mb / s.peak_mb:.2f}x |"
        )
    print("(faster: ccusage wall / thrifty wall; memory: thrifty peak / ccusage peak. Goal: >= 10x, <= 0.5x;")
    print(" report: `thrifty usage daily` alone, after the import, against ccusage reading the history)")
    print()
    truth_tokens = [
        truth["input_tokens"],
        truth["output_tokens"],
        truth["cache_write_tokens"],
        truth["cache_read_tokens"],
    ]
    print(
        "| totals | calls | input | output | cache write | cache read | cost (calculate) | cost vs thrifty |"
    )
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| generator truth | {truth['calls']:,} | "
        + " | ".join(f"{n:,}" for n in truth_tokens)
        + f" | ${Decimal(truth['cost']):,.4f} | |"
    )
    print(
        f"| thrifty | {ours['calls']:,} | "
        + " | ".join(f"{n:,}" for n in ours["tokens"])
        + f" | ${ours['cost']:,.4f} | |"
    )
    for v, doc in outputs.items():
        t = ccusage_totals(doc)
        diff = rel(ours["cost"], t["cost"]) * 100
        print(
            f"| ccusage {v} | | "
            + " | ".join(f"{n:,}" for n in t["tokens"])
            + f" | ${t['cost']:,.4f} | {diff:.4f}% |"
        )
    print()
    for v, doc in outputs.items():
        t = ccusage_totals(doc)
        days = set(t["days"]) | set(ours["days"])
        token_days = sum(1 for d in days if t["days"].get(d) != ours["days"].get(d))
        worst = max(
            (rel(ours["day_cost"].get(d, Decimal(0)), c) for d, c in t["day_cost"].items()),
            default=Decimal(0),
        )
        within = rel(ours["cost"], t["cost"]) <= Decimal("0.001")
        print(
            f"ccusage {v}: token totals {_same(ours['tokens'] == t['tokens'])}; "
            f"{token_days} of {len(t['days'])} days differ in tokens; "
            f"largest daily cost difference {worst * 100:.4f}%; "
            f"total cost within 0.1%: {'yes' if within else 'NO'}"
        )
    print(
        f"thrifty vs generator truth: calls {_same(ours['calls'] == truth['calls'])}, "
        f"tokens {_same(ours['tokens'] == truth_tokens)}, "
        f"cost {_same(ours['cost'] == Decimal(truth['cost']))}; "
        f"import skipped {imp['skipped']}, pending {imp['pending_lines']}"
    )
    print()
    for v, doc in outputs.items():
        print_causes(v, truth, ccusage_totals(doc)["tokens"])
    differing = [r for r in price_rows if r[4] != r[3]]
    models = len({r[1] for r in price_rows})
    print(f"prices ($/MTok) of the {models} models in the history, thrifty vs ccusage --offline:")
    if not differing:
        print("  identical for every model and token kind (input, output, 5m/1h cache write, cache read)")
    for v, model, kind, ours_price, theirs in differing:
        shown = theirs if theirs is not None else "none"
        print(f"  ccusage {v} {model} {kind}: thrifty {ours_price} vs ccusage {shown}")


def _same(equal: bool) -> str:
    return "equal" if equal else "DIFFER"


def _truth_tokens(truth: dict[str, Any]) -> list[int]:
    return [truth[k] for k in ("input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens")]


def print_causes(version: str, truth: dict[str, Any], actual: list[int] | None) -> None:
    """Every difference between this ccusage's token totals and the truth, with its cause; what
    the causes do not explain is shown as such (``actual`` None: the model alone)."""
    major = "20" if version.split(".")[0] >= "20" else "19"
    causes: dict[str, list[int]] = truth["ccusage_expected"][major]
    expected = _truth_tokens(truth)
    print(f"ccusage {version} against the truth, each difference with its cause:")
    print("| | calls | input | output | cache write | cache read |")
    print("| --- | ---: | ---: | ---: | ---: | ---: |")
    print(f"| generator truth | {truth['calls']:,} | " + " | ".join(f"{n:,}" for n in expected) + " |")
    for cause, figures in causes.items():
        print(f"| + {cause} | {figures[0]:+,} | " + " | ".join(f"{n:+,}" for n in figures[1:]) + " |")
        expected = [a + b for a, b in zip(expected, figures[1:], strict=True)]
    print("| = expected from ccusage | | " + " | ".join(f"{n:,}" for n in expected) + " |")
    if actual is not None:
        print("| ccusage printed | | " + " | ".join(f"{n:,}" for n in actual) + " |")
        rest = [a - b for a, b in zip(actual, expected, strict=True)]
        print("| unexplained | | " + " | ".join(f"{n:+,}" for n in rest) + " |")
    for cause in causes:
        print(f"  {cause}: {ccusage_model.CAUSES[cause]}")
    if truth.get("web_search_requests") or truth.get("web_fetch_requests"):
        print(
            f"  server tools: {truth['web_search_requests']:,} web searches and "
            f"{truth['web_fetch_requests']:,} web fetches, which ccusage neither counts nor charges for"
        )
    print()


def causes_only(config_dir: Path, truth: dict[str, Any], versions: list[str]) -> int:
    """thrifty's import and daily report against the truth, and ccusage's expected differences."""
    with tempfile.TemporaryDirectory(prefix="usage-bench-") as tmp_name:
        tmp = Path(tmp_name)
        (tmp / "home").mkdir()
        env = {k: v for k, v in os.environ.items() if not k.startswith(("CLAUDE_", "THRIFTY_", "ANTHROPIC_"))}
        env |= {
            "HOME": str(tmp / "home"),
            "CLAUDE_CONFIG_DIR": str(config_dir),
            "THRIFTY_DATA_DIR": str(tmp / "data"),
            "TZ": "UTC",
        }
        series = Series("thrifty")
        last = thrifty(env, tmp, series, (Series("import"), Series("daily")))
    ours = thrifty_totals(last["report"])
    imp = last["import"]
    truth_tokens = _truth_tokens(truth)
    print(f"history: {truth['bytes'] / 1e6:,.1f} MB, {truth['files']:,} files, cases {truth['cases']}")
    print("| | calls | input | output | cache write | cache read | cost (calculate) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    print(
        f"| generator truth | {truth['calls']:,} | "
        + " | ".join(f"{n:,}" for n in truth_tokens)
        + f" | ${Decimal(truth['cost']):,.4f} |"
    )
    print(
        f"| thrifty (import, then usage daily) | {ours['calls']:,} | "
        + " | ".join(f"{n:,}" for n in ours["tokens"])
        + f" | ${ours['cost']:,.4f} |"
    )
    print(
        f"thrifty vs truth: calls {_same(ours['calls'] == truth['calls'])}, tokens "
        f"{_same(ours['tokens'] == truth_tokens)}, cost {_same(ours['cost'] == Decimal(truth['cost']))}; "
        f"replays not counted {imp.get('replays')}, completed {imp.get('calls_upgraded')}, "
        f"pending {imp['pending_lines']}"
    )
    print()
    for v in versions:
        print_causes(v, truth, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
