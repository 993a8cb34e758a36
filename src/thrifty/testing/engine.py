"""The simulator's request logic, independent of HTTP: validate, pick a turn, account, fault.

Kept apart from the server so Message Batches run every request through exactly the same path
as ``POST /v1/messages``.
"""

from __future__ import annotations

import hashlib
import threading
import uuid
from collections import defaultdict
from dataclasses import dataclass
from typing import Any

from thrifty.testing.accounts import Account
from thrifty.testing.cache import PromptCache, breakpoints
from thrifty.testing.errors import STATUS_TYPES, ApiError, invalid
from thrifty.testing.models import ModelCatalog
from thrifty.testing.responses import message, restrict_fetches, server_tool_use, shape, usage_dict
from thrifty.testing.script import (
    ChaosSpec,
    Fault,
    ScriptFile,
    ScriptFunction,
    SimRequest,
    Turn,
    first_user_text,
    turn_index,
)
from thrifty.testing.tokens import flatten
from thrifty.testing.validation import check_context_window, resolve_model, validate

ERROR_FAULTS = {
    "rate_limit": (429, "rate_limit_error", "Number of request tokens has exceeded your rate limit."),
    "overloaded": (529, "overloaded_error", "Overloaded"),
    "server_error": (500, "api_error", "Internal server error"),
}
STATUS_FOR_TYPE = {v: k for k, v in STATUS_TYPES.items()}


@dataclass
class Outcome:
    """A computed answer. ``fault`` is a transport or stream fault the writer must still apply."""

    message: dict[str, Any]
    fault: Fault | None
    turn: int
    conversation: int
    breakpoints: int


def request_id() -> str:
    return "req_sim_" + uuid.uuid4().hex[:24]


def fault_error(fault: Fault) -> ApiError:
    status, error_type, message_text = ERROR_FAULTS.get(
        fault.kind, (500, "api_error", "Internal server error")
    )
    if fault.kind in ("http_error", "stream_error"):
        error_type = fault.error_type or ("overloaded_error" if fault.kind == "stream_error" else "api_error")
        status = fault.status or STATUS_FOR_TYPE.get(error_type, 500)
    headers: dict[str, str] = {}
    retry_after = fault.retry_after if fault.retry_after is not None else (1.0 if status == 429 else None)
    if retry_after is not None:
        headers["retry-after"] = f"{retry_after:g}"
    if fault.should_retry is not None:
        headers["x-should-retry"] = "true" if fault.should_retry else "false"
    return ApiError(status, fault.message or message_text, error_type=error_type, headers=headers)


class Engine:
    def __init__(
        self,
        catalog: ModelCatalog,
        cache: PromptCache,
        script: ScriptFile | ScriptFunction,
        chaos: ChaosSpec | None = None,
    ) -> None:
        self.catalog = catalog
        self.cache = cache
        self.script = script
        self.chaos = chaos
        self._attempts: dict[tuple[int, str, int], int] = defaultdict(int)
        self._lock = threading.Lock()

    def reset(self) -> None:
        with self._lock:
            self._attempts.clear()

    def _pick(self, body: dict[str, Any], account: Account) -> tuple[Turn | None, int, int, str]:
        text = first_user_text(body)
        index = turn_index(body)
        if callable(self.script):
            result = self.script(SimRequest(body, index, text, account.name))
            turn = result if isinstance(result, Turn) else Turn.model_validate(result)
            return turn, 0, index, text
        for conv_index, conv in enumerate(self.script.all_conversations()):
            if conv.matches(text):
                if index < len(conv.turns):
                    return conv.turns[index], conv_index, index, text
                return None, conv_index, index, text
        return None, -1, index, text

    def _fault_for(self, turn: Turn | None, key: tuple[int, str, int]) -> Fault | None:
        with self._lock:
            self._attempts[key] += 1
            attempt = self._attempts[key]
        remaining = attempt
        for fault in turn.fault if turn else []:
            if fault.times == 0 or remaining <= fault.times:
                return fault
            remaining -= fault.times
        if self.chaos and self.chaos.rate > 0 and self.chaos.kinds:
            digest = hashlib.sha256(f"{self.chaos.seed}|{key}|{attempt}".encode()).digest()
            draw = int.from_bytes(digest[:8], "big") / 2**64
            if draw < self.chaos.rate:
                return Fault(kind=self.chaos.kinds[digest[8] % len(self.chaos.kinds)])
        return None

    def _default_turn(self, conversation: int, index: int) -> Turn:
        if not callable(self.script) and self.script.on_exhausted == "error":
            raise invalid(f"thrifty simulator: the script has no turn {index} for this conversation")
        if conversation < 0 and not callable(self.script) and not self.script.all_conversations():
            return Turn(text="Hello from the thrifty simulator. No script is loaded, so this is all I say.")
        return Turn(text="(thrifty simulator: the script has no more turns)")

    def create(
        self, body: dict[str, Any], account: Account, version: str, *, in_batch: bool = False
    ) -> Outcome:
        spec = resolve_model(self.catalog, body)
        validate(body, spec, version, in_batch=in_batch)
        units = flatten(body)
        check_context_window(sum(u.tokens for u in units), spec)
        turn, conversation, index, text = self._pick(body, account)
        key = (conversation, hashlib.sha256(text.encode()).hexdigest()[:16], index)
        fault = self._fault_for(turn, key)
        if fault is not None and fault.kind in (*ERROR_FAULTS, "http_error"):
            raise fault_error(fault)
        if fault is not None and fault.kind == "stream_error" and not body.get("stream"):
            raise fault_error(fault)
        played = turn or self._default_turn(conversation, index)
        bps = breakpoints(units, body.get("cache_control"))
        cache_usage = self.cache.account(
            units,
            bps,
            scope=f"{account.spec.key}|{spec.id}",
            body=body,
            min_cacheable=spec.min_cacheable_tokens,
        )
        shaped = shape(
            played.blocks(),
            stop_reason=played.stop_reason,
            max_tokens=int(body["max_tokens"]),
            stop_sequences=list(body.get("stop_sequences") or []),
            id_seed=f"{key}",
        )
        usage = usage_dict(
            cache_usage,
            shaped.output_tokens,
            shaped.thinking_tokens,
            service_tier="batch" if in_batch else "standard",
            override=played.usage,
        )
        restrict_fetches(shaped.content, list(body.get("tools") or []))
        if usage["server_tool_use"] is None:
            usage["server_tool_use"] = server_tool_use(shaped.content)
        msg_id = "msg_sim_" + uuid.uuid4().hex[:24]
        return Outcome(
            message(msg_id, str(body["model"]), shaped, usage), fault, index, conversation, len(bps)
        )

    def count_tokens(self, body: dict[str, Any], version: str) -> dict[str, Any]:
        spec = resolve_model(self.catalog, body)
        # count_tokens takes no max_tokens; validate the rest as a create request would.
        probe = {**body, "max_tokens": spec.max_tokens}
        probe.pop("stream", None)
        validate(probe, spec, version)
        return {"input_tokens": sum(u.tokens for u in flatten(body))}
