"""Prompt-cache accounting that follows the published rules (messages-api-wire.md section 6).

The rules, as implemented:
- the prefix is tools -> system -> messages; an entry is keyed by every byte up to a breakpoint,
  the model and the account, plus the flags whose change invalidates that tier (``speed`` for
  system; ``tool_choice``, thinking and image presence for messages);
- breakpoints are explicit ``cache_control`` blocks, plus the last cacheable block when the
  request has top-level ``cache_control`` (automatic caching);
- reading looks at each breakpoint and up to 19 block boundaries before it (20 blocks in all),
  latest breakpoint first; the longest live entry wins and its TTL is refreshed;
- writing creates an entry at every breakpoint after the hit whose prefix reaches the model's
  minimum cacheable length; the tokens between the hit and each breakpoint are billed as a
  write at that breakpoint's TTL (5m or 1h);
- ``input_tokens`` is whatever is left: total minus read minus written.
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass
from typing import Any

from thrifty.testing.clock import Clock
from thrifty.testing.tokens import Unit, canonical

LOOKBACK_BLOCKS = 20
TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}


@dataclass(frozen=True)
class Breakpoint:
    index: int
    ttl: str


@dataclass(frozen=True)
class CacheUsage:
    input_tokens: int
    cache_read_input_tokens: int
    ephemeral_5m_input_tokens: int
    ephemeral_1h_input_tokens: int

    @property
    def cache_creation_input_tokens(self) -> int:
        return self.ephemeral_5m_input_tokens + self.ephemeral_1h_input_tokens


def breakpoints(units: list[Unit], top_level: dict[str, Any] | None) -> list[Breakpoint]:
    found = [
        Breakpoint(i, str((u.cache_control or {}).get("ttl") or "5m"))
        for i, u in enumerate(units)
        if u.cache_control
    ]
    if top_level:
        last = next((i for i in range(len(units) - 1, -1, -1) if units[i].cacheable), None)
        if last is not None and all(bp.index != last for bp in found):
            found.append(Breakpoint(last, str(top_level.get("ttl") or "5m")))
    return sorted(found, key=lambda bp: bp.index)


def _boundary_keys(units: list[Unit], scope: str, body: dict[str, Any]) -> list[str]:
    has_images = any(u.is_image for u in units)
    flags = {
        "tools": "",
        "system": canonical({"speed": body.get("speed")}),
        "messages": canonical(
            {
                "speed": body.get("speed"),
                "tool_choice": body.get("tool_choice"),
                "thinking": body.get("thinking"),
                "images": has_images,
            }
        ),
    }
    chain = hashlib.sha256(scope.encode()).digest()
    keys = []
    for unit in units:
        chain = hashlib.sha256(chain + unit.canonical.encode()).digest()
        keys.append(hashlib.sha256(chain + flags[unit.section].encode()).hexdigest())
    return keys


class PromptCache:
    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._entries: dict[str, tuple[float, float]] = {}  # key -> (expires_at, ttl seconds)
        self._lock = threading.Lock()

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()

    def __len__(self) -> int:
        return len(self._entries)

    def account(
        self,
        units: list[Unit],
        bps: list[Breakpoint],
        *,
        scope: str,
        body: dict[str, Any],
        min_cacheable: int,
        write: bool = True,
    ) -> CacheUsage:
        total = sum(u.tokens for u in units)
        if not bps:
            return CacheUsage(total, 0, 0, 0)
        prefix: list[int] = []
        running = 0
        for unit in units:
            running += unit.tokens
            prefix.append(running)
        keys = _boundary_keys(units, scope, body)
        now = self._clock.now()
        with self._lock:
            hit = -1
            for bp in reversed(bps):
                for j in range(bp.index, max(-1, bp.index - LOOKBACK_BLOCKS), -1):
                    entry = self._entries.get(keys[j])
                    if entry and entry[0] > now:
                        hit = j
                        break
                if hit >= 0:
                    break
            read = prefix[hit] if hit >= 0 else 0
            if hit >= 0 and write:
                ttl = self._entries[keys[hit]][1]
                self._entries[keys[hit]] = (now + ttl, ttl)
            written = {"5m": 0, "1h": 0}
            covered = read
            for bp in bps:
                if bp.index <= hit or prefix[bp.index] < min_cacheable:
                    continue
                written[bp.ttl] += prefix[bp.index] - covered
                covered = prefix[bp.index]
                if write:
                    ttl = TTL_SECONDS[bp.ttl]
                    self._entries[keys[bp.index]] = (now + ttl, ttl)
        return CacheUsage(total - read - written["5m"] - written["1h"], read, written["5m"], written["1h"])
