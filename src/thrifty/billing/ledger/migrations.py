"""Forward-only schema migrations, one list for both stores, each applied once and recorded.

A ledger outlives the thrifty that created it and is shared by several (a team's PostgreSQL, or a
laptop's SQLite file used by eight agents at once). So:

- migrations are named and only ever appended to ``MIGRATIONS``; a released one is never edited;
- they run inside one transaction that first takes the store's writer lock (SQLite's
  ``BEGIN IMMEDIATE``, PostgreSQL's ``pg_advisory_xact_lock``), so eight processes opening a fresh
  ledger at the same moment serialise and all but the first find nothing to do;
- a ledger that records a migration this thrifty does not know was written by a newer thrifty,
  whose rows this one might misread or overwrite: it is refused, not "mostly" opened.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Protocol

from thrifty.billing.ledger.contract import LedgerError
from thrifty.billing.ledger.dialect import RESERVATIONS, TABLE

MIGRATIONS_TABLE = "thrifty_migrations"


@dataclass(frozen=True)
class Migration:
    name: str
    sqlite: tuple[str, ...]
    postgres: tuple[str, ...]

    def statements(self, dialect: str) -> tuple[str, ...]:
        return self.sqlite if dialect == "sqlite" else self.postgres


def _same(name: str, *statements: str) -> Migration:
    return Migration(name, statements, statements)


def _calls_table(*, text_key: str, cost: str, time: str, json: str, boolean: str) -> str:
    return f"""CREATE TABLE {TABLE} (
        request_id {text_key} PRIMARY KEY,
        session_id TEXT NOT NULL,
        mode TEXT NOT NULL,
        account TEXT NOT NULL,
        model TEXT NOT NULL,
        input_tokens BIGINT NOT NULL,
        output_tokens BIGINT NOT NULL,
        cache_write_5m_tokens BIGINT NOT NULL,
        cache_write_1h_tokens BIGINT NOT NULL,
        cache_read_tokens BIGINT NOT NULL,
        cost_usd {cost},
        price_version TEXT NOT NULL,
        project TEXT NOT NULL,
        recorded_at {time} NOT NULL,
        tags {json} NOT NULL,
        message_id TEXT,
        complete {boolean} NOT NULL,
        attempt INTEGER NOT NULL,
        source TEXT NOT NULL,
        rate_limits {json}
    )"""


def _reservations_table(*, cost: str, time: str) -> tuple[str, ...]:
    # One row per (reservation, scope): a cap check sums one scope's live rows off the index.
    return (
        f"""CREATE TABLE {RESERVATIONS} (
        id TEXT NOT NULL,
        scope TEXT NOT NULL,
        amount {cost} NOT NULL,
        created_at {time} NOT NULL,
        expires_at {time} NOT NULL,
        session_id TEXT NOT NULL,
        PRIMARY KEY (id, scope)
    )""",
        f"CREATE INDEX {RESERVATIONS}_scope ON {RESERVATIONS} (scope, expires_at)",
        f"CREATE INDEX {RESERVATIONS}_expires ON {RESERVATIONS} (expires_at)",
    )


MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "m001_create_calls",
        # SQLite: the exact decimal string and fixed-width UTC text (which sorts as time does).
        sqlite=(_calls_table(text_key="TEXT", cost="TEXT", time="TEXT", json="TEXT", boolean="INTEGER"),),
        # PostgreSQL: request_id in "C" collation so ties sort by code point, as in SQLite.
        postgres=(
            _calls_table(
                text_key='TEXT COLLATE "C"',
                cost="NUMERIC",
                time="TIMESTAMPTZ",
                json="JSONB",
                boolean="BOOLEAN",
            ),
        ),
    ),
    _same(
        "m002_calls_indexes",
        # Reports and budgets always bound time, and most also pin one of these.
        f"CREATE INDEX {TABLE}_recorded_at ON {TABLE} (recorded_at)",
        f"CREATE INDEX {TABLE}_mode_time ON {TABLE} (mode, recorded_at)",
        f"CREATE INDEX {TABLE}_account_time ON {TABLE} (account, recorded_at)",
        f"CREATE INDEX {TABLE}_project_time ON {TABLE} (project, recorded_at)",
        f"CREATE INDEX {TABLE}_session ON {TABLE} (session_id)",
    ),
    _same(
        "m003_server_tools_and_message_index",
        # Web search and fetch are billed per request, beside the tokens. Old rows had none
        # recorded: 0, which is what they were charged for as far as the ledger knew.
        f"ALTER TABLE {TABLE} ADD COLUMN web_search_requests BIGINT NOT NULL DEFAULT 0",
        f"ALTER TABLE {TABLE} ADD COLUMN web_fetch_requests BIGINT NOT NULL DEFAULT 0",
        # An import looks a message up to tell a replayed copy of a call from a new call.
        f"CREATE INDEX {TABLE}_message ON {TABLE} (message_id)",
    ),
    Migration(
        "m004_reservations",
        # What calls in flight hold against budget caps (``Ledger.reserve``), shared by every
        # worker of the store; a row lives from a call's budget check until its usage row lands.
        sqlite=_reservations_table(cost="TEXT", time="TEXT"),
        postgres=_reservations_table(cost="NUMERIC", time="TIMESTAMPTZ"),
    ),
    Migration(
        "m005_fleet_tag_index",
        # A fleet's cap is a whole-life cap on ``tag:fleet=<id>``, checked before every call of
        # every worker under the store's lock: without an index it reads every row of the ledger
        # (200,000 rows on SQLite: 46 ms a check). The expressions are ``holds.scope_where``'s.
        sqlite=(f"""CREATE INDEX {TABLE}_fleet ON {TABLE} (json_extract(tags, '$."fleet"'), cost_usd)""",),
        postgres=(f"CREATE INDEX {TABLE}_fleet ON {TABLE} ((tags->>'fleet'), cost_usd)",),
    ),
)

KNOWN = frozenset(m.name for m in MIGRATIONS)


class Target(Protocol):
    """One open connection, as the migrator needs it; each backend adapts its driver to this."""

    dialect: str
    location: str

    def applied(self) -> set[str] | None:
        """Names recorded so far, or None when there is no migrations table yet."""
        ...

    def exclusive(self) -> AbstractContextManager[None]:
        """A transaction holding the store-wide migration lock; commits on success."""
        ...

    def execute(self, sql: str) -> None: ...

    def record(self, name: str) -> None:
        """Note ``name`` as applied now, inside the current transaction."""
        ...


def migrations_table_sql(dialect: str) -> str:
    applied_at = "TEXT NOT NULL" if dialect == "sqlite" else "TIMESTAMPTZ NOT NULL DEFAULT now()"
    return f"CREATE TABLE IF NOT EXISTS {MIGRATIONS_TABLE} (name TEXT PRIMARY KEY, applied_at {applied_at})"


def _refuse_unknown(applied: set[str], location: str) -> None:
    unknown = applied - KNOWN
    if unknown:
        raise LedgerError(
            f"ledger at {location} was written by a newer thrifty (migration {max(unknown)}); upgrade thrifty"
        )


def migrate(target: Target) -> list[str]:
    """Bring the ledger up to date; the names applied by this call (empty when it was already current)."""
    applied = target.applied()
    if applied is not None:
        _refuse_unknown(applied, target.location)
        if applied >= KNOWN:
            return []  # the common case: no writer lock taken just to open a ledger
    done: list[str] = []
    with target.exclusive():
        target.execute(migrations_table_sql(target.dialect))
        applied = target.applied() or set()
        _refuse_unknown(applied, target.location)
        for migration in MIGRATIONS:
            if migration.name in applied:
                continue
            for statement in migration.statements(target.dialect):
                target.execute(statement)
            target.record(migration.name)
            done.append(migration.name)
    return done
