"""Summing a run's usage and cost from its ``ApiUsage`` events, the way the result reports them.

Every attempt that returned usage was billed, so every one counts, complete or not. Cost is
exact (Decimal) until it is written into the JSON result. A call with no known price adds
nothing to ``cost`` (the result reports its model's cost basis as ``unknown``), and makes
``known_cost`` None, which is what budget checks use: unknown never counts as $0 toward a cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from thrifty.core.events import ApiUsage

TOKEN_FIELDS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens", "output_tokens")
CONTEXT_WINDOW = 1_000_000


@dataclass
class ModelTally:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read: int = 0
    cache_write: int = 0
    write_5m: int = 0
    write_1h: int = 0
    thinking: int = 0
    cost: Decimal = Decimal(0)
    priced: bool = True
    largest_output: int = 0


@dataclass
class Tally:
    api_ms: int = 0
    models: dict[str, ModelTally] = field(default_factory=dict)
    service_tier: str = "standard"
    #: Attempts whose cost is unknown (their model has no price).
    unpriced_calls: int = 0

    def add(self, event: ApiUsage, cost: Decimal | None) -> None:
        """Count one attempt; ``cost`` comes from the meter, which priced it once for the ledger."""
        usage = event.usage
        m = self.models.setdefault(event.model, ModelTally())
        m.input_tokens += int(usage.get("input_tokens") or 0)
        output = int(usage.get("output_tokens") or 0)
        m.output_tokens += output
        m.largest_output = max(m.largest_output, output)
        m.cache_read += int(usage.get("cache_read_input_tokens") or 0)
        m.cache_write += int(usage.get("cache_creation_input_tokens") or 0)
        creation = usage.get("cache_creation") or {}
        m.write_5m += int(creation.get("ephemeral_5m_input_tokens") or 0)
        m.write_1h += int(creation.get("ephemeral_1h_input_tokens") or 0)
        m.thinking += int((usage.get("output_tokens_details") or {}).get("thinking_tokens") or 0)
        self.service_tier = str(usage.get("service_tier") or self.service_tier)
        if cost is None:
            m.priced = False
            self.unpriced_calls += 1
        else:
            m.cost += cost

    @property
    def cost(self) -> Decimal:
        """The priced calls' cost, for display; see ``known_cost`` for anything that limits spend."""
        return sum((m.cost for m in self.models.values()), Decimal(0))

    def known_cost(self) -> Decimal | None:
        """The run's cost, or None if any call's cost is unknown (never a silent partial sum)."""
        return None if self.unpriced_calls else self.cost

    def largest_output(self) -> int:
        return max((m.largest_output for m in self.models.values()), default=0)

    def usage(self) -> dict[str, Any]:
        ms = self.models.values()
        return {
            "input_tokens": sum(m.input_tokens for m in ms),
            "cache_creation_input_tokens": sum(m.cache_write for m in ms),
            "cache_read_input_tokens": sum(m.cache_read for m in ms),
            "output_tokens": sum(m.output_tokens for m in ms),
            "server_tool_use": {"web_search_requests": 0, "web_fetch_requests": 0},
            "service_tier": self.service_tier,
            "cache_creation": {
                "ephemeral_1h_input_tokens": sum(m.write_1h for m in ms),
                "ephemeral_5m_input_tokens": sum(m.write_5m for m in ms),
            },
            "output_tokens_details": {"thinking_tokens": sum(m.thinking for m in ms)},
        }

    def model_usage(self) -> dict[str, Any]:
        return {
            name: {
                "inputTokens": m.input_tokens,
                "outputTokens": m.output_tokens,
                "cacheReadInputTokens": m.cache_read,
                "cacheCreationInputTokens": m.cache_write,
                "webSearchRequests": 0,
                "costUSD": float(m.cost),
                "contextWindow": CONTEXT_WINDOW,
                "thinkingTokens": m.thinking,
                "cacheCreationEphemeral5mInputTokens": m.write_5m,
                "cacheCreationEphemeral1hInputTokens": m.write_1h,
                "costBasis": "list" if m.priced else "unknown",
            }
            for name, m in self.models.items()
        }
