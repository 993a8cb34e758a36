"""Summing a run's usage and cost from its ``ApiUsage`` events, the way the result reports them.

Every attempt that returned usage was billed, so every one counts, complete or not. Cost is
exact (Decimal) until it is written into the JSON result. A call with no known price adds
nothing to ``cost`` (the result reports its model's cost basis as ``unknown``), and makes
``known_cost`` None, which is what budget checks use: unknown never counts as $0 toward a cap.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from thrifty.core.usage import Usage

if TYPE_CHECKING:
    from thrifty.core.events import ApiUsage

CONTEXT_WINDOW = 1_000_000


@dataclass
class ModelTally:
    """One model's share of a run: its summed ``Usage`` and known cost."""

    usage: Usage = field(default_factory=Usage)
    cost: Decimal = Decimal(0)
    priced: bool = True
    largest_output: int = 0


@dataclass
class Tally:
    api_ms: int = 0
    models: dict[str, ModelTally] = field(default_factory=dict)
    #: The last service tier a response reported (the result shows it; ``standard`` if none did).
    service_tier: str = "standard"
    #: Attempts whose cost is unknown (their model has no price).
    unpriced_calls: int = 0

    def add(self, event: ApiUsage, cost: Decimal | None) -> None:
        """Count one attempt; ``cost`` comes from the meter, which priced it once for the ledger."""
        usage = event.usage
        m = self.models.setdefault(event.model, ModelTally())
        m.usage += usage
        m.largest_output = max(m.largest_output, usage.output_tokens)
        if usage.service_tier is not None:
            self.service_tier = usage.service_tier
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

    def total(self) -> Usage:
        """The run's usage, all models summed, with the last service tier reported."""
        total = sum((m.usage for m in self.models.values()), Usage())
        return replace(total, service_tier=self.service_tier)

    def usage(self) -> dict[str, Any]:
        return self.total().to_api()

    def model_usage(self) -> dict[str, Any]:
        return {
            name: {
                "inputTokens": m.usage.input_tokens,
                "outputTokens": m.usage.output_tokens,
                "cacheReadInputTokens": m.usage.cache_read_tokens,
                "cacheCreationInputTokens": m.usage.cache_write_tokens,
                "webSearchRequests": m.usage.web_search_requests,
                "costUSD": float(m.cost),
                "contextWindow": CONTEXT_WINDOW,
                "thinkingTokens": m.usage.thinking_tokens,
                "cacheCreationEphemeral5mInputTokens": m.usage.cache_write_5m_tokens,
                "cacheCreationEphemeral1hInputTokens": m.usage.cache_write_1h_tokens,
                "costBasis": "list" if m.priced else "unknown",
            }
            for name, m in self.models.items()
        }
