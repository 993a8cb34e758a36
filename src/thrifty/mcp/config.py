"""MCP servers as configured: ``--mcp-config`` values, and each server's status record."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


class McpConfigError(ValueError):
    """``--mcp-config`` is neither a JSON object nor a readable JSON file."""


def parse_mcp_config(values: list[str]) -> dict[str, dict[str, Any]]:
    """Merge every ``--mcp-config`` value (inline JSON or a file path) into ``{name: config}``."""
    servers: dict[str, dict[str, Any]] = {}
    for value in values:
        text = value
        if not value.lstrip().startswith("{"):
            try:
                text = Path(value).expanduser().read_text("utf-8")
            except OSError as exc:
                raise McpConfigError(f"--mcp-config: cannot read {value}: {exc.strerror}") from exc
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise McpConfigError(f"--mcp-config is not valid JSON ({exc.msg})") from exc
        block = data.get("mcpServers") if isinstance(data, dict) else None
        if not isinstance(block, dict):
            raise McpConfigError('--mcp-config must be a JSON object with "mcpServers": {name: config}')
        for name, config in block.items():
            if not isinstance(config, dict):
                raise McpConfigError(f"--mcp-config: server {name!r} must be an object")
            servers[str(name)] = config
    return servers


def server_type(config: dict[str, Any]) -> str:
    kind = config.get("type")
    if isinstance(kind, str):
        return kind
    return "http" if "url" in config else "stdio"


@dataclass
class McpServer:
    """One configured server and what its handshake found (``mcp_status``, ``system/init``)."""

    name: str
    config: dict[str, Any]
    status: str = "pending"
    error: str | None = None
    server_info: dict[str, Any] | None = None
    tools: list[dict[str, Any]] = field(default_factory=list)
    #: Problems worth a line on stderr (a tool whose schema could not be used).
    warnings: list[str] = field(default_factory=list)

    @property
    def kind(self) -> str:
        return server_type(self.config)

    def init_entry(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status}

    def status_entry(self) -> dict[str, Any]:
        entry: dict[str, Any] = {"name": self.name, "status": self.status}
        if self.server_info is not None:
            entry["serverInfo"] = self.server_info
        if self.error is not None:
            entry["error"] = self.error
        entry["config"] = self.config
        entry["scope"] = "dynamic"
        if self.status == "connected":
            entry["tools"] = [
                {k: t[k] for k in ("name", "description", "annotations") if k in t} for t in self.tools
            ]
        return entry
