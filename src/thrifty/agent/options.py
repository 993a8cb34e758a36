"""What a run is asked to do. The CLI builds one from flags; the SDK takes one from the caller."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Callable

    from thrifty.tools.base import Tool

DEFAULT_MODEL = "claude-sonnet-5-5"
DEFAULT_MAX_TOKENS = 32_000
MODEL_ALIASES = {
    "sonnet": "claude-sonnet-5-5",
    "opus": "claude-opus-5-5",
    "haiku": "claude-haiku-5-5",
    "fable": "claude-fable-5-2",
}


def resolve_model(name: str) -> str:
    return MODEL_ALIASES.get(name, name)


@dataclass
class AgentOptions:
    cwd: Path = field(default_factory=Path.cwd)
    model: str = DEFAULT_MODEL
    max_tokens: int = DEFAULT_MAX_TOKENS
    system_prompt: str | None = None
    append_system_prompt: str | None = None
    #: ``None``: every built-in tool; otherwise the base set by name (``[]`` for none).
    tools: list[str] | None = None
    allowed_tools: list[str] = field(default_factory=list)
    disallowed_tools: list[str] = field(default_factory=list)
    permission_mode: str | None = None
    add_dirs: list[Path] = field(default_factory=list)
    max_turns: int | None = None
    max_budget_usd: Decimal | None = None
    bare: bool = False
    setting_sources: list[str] | None = None
    settings: str | None = None
    include_partial_messages: bool = False
    json_schema: dict[str, Any] | None = None
    thinking_budget: int | None = None
    session_id: str | None = None
    #: Sessions: continue a stored conversation by id, or the newest one in ``cwd``; with
    #: ``fork_session`` the continuation gets a new id and the original is left as it was.
    resume: str | None = None
    continue_conversation: bool = False
    fork_session: bool = False
    #: Write the transcript that ``resume`` reads (under the data dir, 0600).
    persist_session: bool = True
    max_retries: int = 4
    #: Structured output: how many invalid answers the model may correct before the run fails,
    #: and an extra check after the schema (the SDK's pydantic model): None or a problem text.
    structured_output_retries: int = 3
    structured_check: Callable[[Any], str | None] | None = None
    #: Caller-defined tools offered next to the built-ins (SDK ``@tool`` and SDK MCP servers).
    extra_tools: list[Tool] = field(default_factory=list)
    #: Where credentials, the endpoint and billing overrides are read from.
    environ: Mapping[str, str] = field(default_factory=lambda: dict(os.environ))
    #: Billing: pin the mode (``api``/``plan``), choose the ledger (path or URL), skip recording,
    #: and label rows (project name, free-form tags). ``None`` defers to config and environment.
    billing_mode: str | None = None
    ledger: str | None = None
    record_usage: bool = True
    project: str | None = None
    tags: dict[str, str] = field(default_factory=dict)
    #: In-process hook callbacks (event -> [(matcher, async fn)]), for the SDK.
    hook_callbacks: dict[str, list[Any]] = field(default_factory=dict)
