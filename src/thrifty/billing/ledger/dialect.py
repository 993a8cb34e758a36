"""The names and spellings both SQL ledgers share: the table, its columns, and a store's ``Dialect``.

Apart from ``sql`` (the methods) and ``aggregation`` (the sums) so each of those stays readable
and neither imports the other's internals.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from thrifty.billing.ledger.rows import LedgerRow

TABLE = "thrifty_calls"
#: What calls in flight hold against budget caps (``Ledger.reserve``).
RESERVATIONS = "thrifty_reservations"
#: Column names are the field names, in field order: a field added to ``LedgerRow`` without a
#: migration fails loudly at the first insert instead of being silently dropped.
COLUMNS: tuple[str, ...] = tuple(f.name for f in fields(LedgerRow))


@dataclass(frozen=True)
class Dialect:
    name: str
    #: The driver's positional placeholder.
    ph: str
    encode_cost: Callable[[Decimal | None], Any]
    decode_cost: Callable[[Any], Decimal | None]
    encode_time: Callable[[datetime], Any]
    decode_time: Callable[[Any], datetime]
    encode_json: Callable[[dict[str, str] | None], Any]
    decode_json: Callable[[Any], dict[str, str] | None]
    encode_bool: Callable[[bool], Any]
    #: SQL true for a ``rate_limits`` value that carries at least one header.
    has_rate_limits: str
    #: Whether ``spend`` may ask the store for the sum (only exact in NUMERIC, not in SQLite's REAL).
    sum_in_store: bool
    #: ``aggregate``: whole seconds from the epoch to ``recorded_at``, floored (before 1970 too).
    epoch_seconds: str
    #: ``aggregate``: the ``logged_cost_usd`` tag as text (NULL when absent).
    logged_cost: str
    #: ``aggregate``: the texts of a group joined with commas, ``{}`` standing for the expression.
    join_texts: str
    #: ``aggregate``: appended to a subquery so the planner runs it once per row instead of
    #: inlining it (and evaluating its expressions again) in every aggregate that uses them.
    fence: str
    #: ``aggregate``: whether the store can group (FILTER clauses); else rows are summed here.
    can_group: bool = True
    #: ``aggregate``: ``recorded_at`` is fixed-width ISO text (``encode_time``), so a UTC day,
    #: hour or minute is a prefix of it, no date arithmetic needed.
    text_time: bool = False
    #: A tag's value in ``tags`` as text, ``{}`` standing for the placeholder of the tag's key.
    tag_value: str = "tags->>{}"
    #: The same for a key written into the SQL, ``{}`` standing for it: the spelling an
    #: expression index on that tag was created with (``INDEXED_TAGS``), which the planner
    #: matches only literally.
    tag_literal: str = "(tags->>'{}')"


#: Tags with an expression index of their own (migration ``m005_fleet_tag_index``).
INDEXED_TAGS = frozenset({"fleet"})


def utc(dt: datetime, what: str = "recorded_at") -> datetime:
    """A naive time is a bug upstream (whose clock?), so refuse it instead of guessing."""
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got naive {dt.isoformat()}")
    return dt.astimezone(UTC)
