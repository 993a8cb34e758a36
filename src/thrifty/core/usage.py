"""Token usage of one API call, or of many summed: one frozen value read once, at the edge.

The Messages API reports usage as a nested JSON block whose fields come and go with the API's
version (an unsplit ``cache_creation_input_tokens`` before the 5-minute / 1-hour split, no
``server_tool_use`` without server tools). ``Usage.from_api`` reads that block once, where a
response arrives, tolerantly: a missing, null, negative, boolean or non-numeric count reads as
0, never as an error. Everything downstream (the meter, the price table, the run's tally, the
ledger and its reports) adds and prices ``Usage`` values, so no second parser can disagree.
``to_api`` writes the block back in the shape a run's ``Result.usage`` has (Claude Code's).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

__all__ = ["Usage"]


def _count(value: Any) -> int:
    """A token or request count from JSON: a non-negative number, else 0 (never raises)."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return value if value > 0 else 0
    if isinstance(value, float) and math.isfinite(value) and value > 0:
        return int(value)
    return 0


def _block(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True, slots=True)
class Usage:
    """What one call (or a sum of calls) used. ``Usage()`` is zero and the identity of ``+``."""

    ZERO: ClassVar[Usage]

    #: Uncached input: neither written to nor read from the prompt cache.
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_5m_tokens: int = 0
    cache_write_1h_tokens: int = 0
    #: Output tokens spent thinking (part of ``output_tokens``, not added to it).
    thinking_tokens: int = 0
    web_search_requests: int = 0
    web_fetch_requests: int = 0
    #: ``standard``, ``priority``, ``batch``, ...; ``None`` when the response did not say.
    service_tier: str | None = None

    @property
    def cache_write_tokens(self) -> int:
        """5-minute and 1-hour cache writes together."""
        return self.cache_write_5m_tokens + self.cache_write_1h_tokens

    @property
    def prompt_tokens(self) -> int:
        """Everything the model read: uncached input, cache writes and cache reads."""
        return self.input_tokens + self.cache_write_tokens + self.cache_read_tokens

    @property
    def total_tokens(self) -> int:
        return self.prompt_tokens + self.output_tokens

    @property
    def weighted_tokens(self) -> int:
        """What plan windows meter: input + cache writes + output; cache reads are free."""
        return self.input_tokens + self.cache_write_tokens + self.output_tokens

    def __add__(self, other: Usage) -> Usage:
        if not isinstance(other, Usage):
            return NotImplemented
        return Usage(
            self.input_tokens + other.input_tokens,
            self.output_tokens + other.output_tokens,
            self.cache_read_tokens + other.cache_read_tokens,
            self.cache_write_5m_tokens + other.cache_write_5m_tokens,
            self.cache_write_1h_tokens + other.cache_write_1h_tokens,
            self.thinking_tokens + other.thinking_tokens,
            self.web_search_requests + other.web_search_requests,
            self.web_fetch_requests + other.web_fetch_requests,
            other.service_tier if other.service_tier is not None else self.service_tier,
        )

    def __radd__(self, other: object) -> Usage:
        """``0 + usage``, so the builtin ``sum`` works without a start value."""
        if other == 0:
            return self
        return NotImplemented

    @classmethod
    def from_api(cls, raw: Mapping[str, Any] | None) -> Usage:
        """Read a Messages API ``usage`` block (``None`` or a non-mapping: zero).

        Cache writes: the ``cache_creation`` split is read when present; an unsplit
        ``cache_creation_input_tokens`` total, or the part of it a split leaves out, counts as
        5-minute writes (the API's default TTL).
        """
        if not isinstance(raw, Mapping):
            return cls()
        creation = _block(raw.get("cache_creation"))
        w5 = _count(creation.get("ephemeral_5m_input_tokens"))
        w1 = _count(creation.get("ephemeral_1h_input_tokens"))
        total = _count(raw.get("cache_creation_input_tokens"))
        if w5 + w1 < total:
            w5 = total - w1
        tools = _block(raw.get("server_tool_use"))
        tier = raw.get("service_tier")
        return cls(
            input_tokens=_count(raw.get("input_tokens")),
            output_tokens=_count(raw.get("output_tokens")),
            cache_read_tokens=_count(raw.get("cache_read_input_tokens")),
            cache_write_5m_tokens=w5,
            cache_write_1h_tokens=w1,
            thinking_tokens=_count(_block(raw.get("output_tokens_details")).get("thinking_tokens")),
            web_search_requests=_count(tools.get("web_search_requests")),
            web_fetch_requests=_count(tools.get("web_fetch_requests")),
            service_tier=tier if isinstance(tier, str) and tier else None,
        )

    def to_api(self) -> dict[str, Any]:
        """The usage block of a run's ``Result`` (Claude Code's key order); a tier that was never
        reported is written as ``standard``."""
        return {
            "input_tokens": self.input_tokens,
            "cache_creation_input_tokens": self.cache_write_tokens,
            "cache_read_input_tokens": self.cache_read_tokens,
            "output_tokens": self.output_tokens,
            "server_tool_use": {
                "web_search_requests": self.web_search_requests,
                "web_fetch_requests": self.web_fetch_requests,
            },
            "service_tier": self.service_tier if self.service_tier is not None else "standard",
            "cache_creation": {
                "ephemeral_1h_input_tokens": self.cache_write_1h_tokens,
                "ephemeral_5m_input_tokens": self.cache_write_5m_tokens,
            },
            "output_tokens_details": {"thinking_tokens": self.thinking_tokens},
        }


Usage.ZERO = Usage()
