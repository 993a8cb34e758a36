"""Generated ledger histories with a realistic mix of records, for the reports, blocks and advisor.

A history is what a ledger holds after weeks of work by one person: interactive Claude Code
sessions on weekdays (mostly cache reads, a few subagent sidechain calls), a nightly headless
``claude -p`` job, the odd SDK script, thrifty's own runs (API key, plan, batch), a model with no
known price, and Claude Code's logged ``costUSD`` on some rows (a few of them off). Every call's
``cost_usd`` is the price table's cost of its tokens, as the meter and the importer write it.

Everything is drawn from ``random.Random(seed)``, so a history is the same on every run, and the
``History`` keeps what was generated on purpose (how many mismatches were injected, ...) so
tests compare against that rather than against the code under test.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from thrifty.billing.ledger.rows import LedgerRow
from thrifty.billing.prices import bundled_prices
from thrifty.core.usage import Usage

START = datetime(2025, 3, 3, tzinfo=UTC)  # a Monday
UNKNOWN_MODEL = "claude-mystery-9"
INTERACTIVE_MODELS = ("claude-sonnet-4-5", "claude-sonnet-4-5", "claude-sonnet-4-5", "claude-opus-4-5")
SIDECHAIN_MODEL = "claude-haiku-4-5"


@dataclass(frozen=True)
class Profile:
    """How busy the person is; the defaults are a heavy interactive user with some automation."""

    days: int = 28
    #: Interactive sessions per weekday (inclusive range), and calls per session.
    sessions_per_day: tuple[int, int] = (1, 3)
    calls_per_session: tuple[int, int] = (20, 90)
    #: Nightly headless ``claude -p`` job: calls per night (0 turns it off).
    nightly_calls: tuple[int, int] = (10, 40)
    #: The nightly job's model (None: the same mix as interactive sessions).
    nightly_model: str | None = None
    #: Chance per day of an SDK script (``sdk-py``) and of a thrifty run per mode.
    sdk_script_chance: float = 0.3
    thrifty_api_chance: float = 0.5
    thrifty_plan_chance: float = 0.3
    thrifty_batch_chance: float = 0.2
    #: Share of calls made with a model the price table does not know.
    unknown_model_share: float = 0.01
    #: Share of Claude Code calls with a logged ``costUSD``, and of those, the share that is off.
    logged_share: float = 0.5
    logged_off_share: float = 0.05
    #: Multiplies every token count: 0.1 is a light user, 3 a very heavy one.
    scale: float = 1.0


@dataclass
class History:
    rows: list[LedgerRow] = field(default_factory=list)
    #: Request ids whose logged cost was made to differ from the calculated one, and by how much.
    off_by: dict[str, Decimal] = field(default_factory=dict)

    @property
    def start(self) -> datetime:
        return min(row.recorded_at for row in self.rows)

    @property
    def end(self) -> datetime:
        return max(row.recorded_at for row in self.rows)


class _Builder:
    def __init__(self, seed: int, profile: Profile) -> None:
        self.rng = random.Random(seed)
        self.seed = seed
        self.profile = profile
        self.history = History()
        self.n = 0
        self.prices = bundled_prices()

    def tokens(self, low: int, high: int) -> int:
        return max(0, int(self.rng.randint(low, high) * self.profile.scale))

    def call(
        self,
        at: datetime,
        *,
        session: str,
        project: str,
        model: str,
        source: str,
        mode: str,
        account: str,
        tags: dict[str, str],
        context: int,
    ) -> LedgerRow:
        self.n += 1
        rng = self.rng
        if rng.random() < self.profile.unknown_model_share:
            model = UNKNOWN_MODEL
        inp = self.tokens(1, 400)
        out = self.tokens(40, 1800)
        write_1h = self.tokens(0, 3000) if rng.random() < 0.1 else 0
        write_5m = self.tokens(200, 6000)
        read = int(context * self.profile.scale)
        usage = {
            "input_tokens": inp,
            "output_tokens": out,
            "cache_creation_input_tokens": write_5m + write_1h,
            "cache_read_input_tokens": read,
            "cache_creation": {"ephemeral_5m_input_tokens": write_5m, "ephemeral_1h_input_tokens": write_1h},
        }
        cost = self.prices.cost(model, Usage.from_api(usage), batch=mode == "batch")
        tags = dict(tags)
        request_id = f"req_gen{self.seed}_{self.n:06d}"
        if source == "claude-code" and rng.random() < self.profile.logged_share:
            logged = cost if cost is not None else Decimal(rng.randint(1, 5000)) / 10000
            if cost is not None and rng.random() < self.profile.logged_off_share:
                delta = (cost * Decimal("0.25")).quantize(Decimal("0.000001")) + Decimal("0.01")
                logged = cost + delta
                self.history.off_by[request_id] = delta
            tags["logged_cost_usd"] = f"{logged:f}"
        row = LedgerRow(
            request_id=request_id,
            session_id=session,
            mode=mode,
            account=account,
            model=model,
            input_tokens=inp,
            output_tokens=out,
            cache_write_5m_tokens=write_5m,
            cache_write_1h_tokens=write_1h,
            cache_read_tokens=read,
            cost_usd=cost,
            price_version=self.prices.version,
            project=project,
            recorded_at=at,
            tags=tags,
            message_id=f"msg_gen{self.seed}_{self.n:06d}",
            source=source,
        )
        self.history.rows.append(row)
        return row

    def claude_session(
        self, at: datetime, calls: int, entrypoint: str, project: str, model: str | None = None
    ) -> datetime:
        rng = self.rng
        session = f"cc-{self.seed}-{self.n}"
        model = model or rng.choice(INTERACTIVE_MODELS)
        context = rng.randint(8_000, 20_000)
        for _ in range(calls):
            sidechain = entrypoint == "cli" and rng.random() < 0.1
            self.call(
                at,
                session=session,
                project=project,
                model=SIDECHAIN_MODEL if sidechain else model,
                source="claude-code",
                mode="plan",
                account="claude-code",
                tags={"entrypoint": entrypoint, "sidechain": str(sidechain).lower(), "version": "2.0.14"},
                context=context // 4 if sidechain else context,
            )
            context = min(context + rng.randint(500, 6000), 160_000)
            at += timedelta(seconds=rng.randint(8, 120) if entrypoint == "cli" else rng.randint(3, 30))
        return at

    def thrifty_run(self, at: datetime, mode: str, calls: int) -> None:
        rng = self.rng
        session = f"th-{mode}-{self.seed}-{self.n}"
        account = {"api": "ANTHROPIC_API_KEY", "plan": "login:max-5x", "batch": "ANTHROPIC_API_KEY"}[mode]
        context = rng.randint(4_000, 12_000)
        for _ in range(calls):
            self.call(
                at,
                session=session,
                project="/srv/ci/payments",
                model="claude-sonnet-4-5",
                source="thrifty",
                mode=mode,
                account=account,
                tags={"job": "nightly-review"},
                context=context,
            )
            context += rng.randint(1000, 4000)
            at += timedelta(seconds=rng.randint(2, 20))

    def build(self, start: datetime) -> History:
        rng, p = self.rng, self.profile
        for day in range(p.days):
            midnight = start + timedelta(days=day)
            if midnight.weekday() < 5:
                at = midnight + timedelta(hours=8, minutes=rng.randint(0, 90))
                for _ in range(rng.randint(*p.sessions_per_day)):
                    project = rng.choice(["/home/dev/app", "/home/dev/api", "/home/dev/infra"])
                    at = self.claude_session(at, rng.randint(*p.calls_per_session), "cli", project)
                    at += timedelta(minutes=rng.randint(10, 120))
            if p.nightly_calls[1]:
                night = midnight + timedelta(hours=2, minutes=rng.randint(0, 20))
                calls = rng.randint(*p.nightly_calls)
                self.claude_session(night, calls, "sdk-cli", "/srv/ci/app", p.nightly_model)
            if rng.random() < p.sdk_script_chance:
                self.claude_session(
                    midnight + timedelta(hours=13), rng.randint(3, 12), "sdk-py", "/home/dev/tools"
                )
            for mode, chance in (
                ("api", p.thrifty_api_chance),
                ("plan", p.thrifty_plan_chance),
                ("batch", p.thrifty_batch_chance),
            ):
                if rng.random() < chance:
                    self.thrifty_run(midnight + timedelta(hours=rng.randint(0, 23)), mode, rng.randint(2, 15))
        self.history.rows.sort(key=lambda r: (r.recorded_at, r.request_id))
        return self.history


def generate(seed: int = 1, profile: Profile | None = None, start: datetime = START) -> History:
    return _Builder(seed, profile or Profile()).build(start)
