"""The simulator's model catalogue, read from a data file rather than hard-coded.

Model facts change monthly and sources disagree (minimum cacheable prefix especially), so the
catalogue is configuration: tests and users can pass their own file.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ModelSpec:
    id: str
    display_name: str
    created_at: str
    line: str | None = None
    lifecycle: str = "active"
    max_input_tokens: int = 200_000
    max_tokens: int = 64_000
    min_cacheable_tokens: int = 1024
    thinking: tuple[str, ...] = ("enabled",)
    aliases: tuple[str, ...] = field(default_factory=tuple)
    #: ``capabilities.server_tools`` this model has (``web_search``, ``web_fetch``).
    server_tools: tuple[str, ...] = ("web_search", "web_fetch")

    def info(self) -> dict[str, Any]:
        """The ModelInfo object of ``GET /v1/models``."""
        supported = {"supported": True}
        return {
            "id": self.id,
            "type": "model",
            "display_name": self.display_name,
            "created_at": self.created_at,
            "lifecycle": self.lifecycle,
            "deprecated_at": None,
            "retires_at": None,
            "line": self.line,
            "max_input_tokens": self.max_input_tokens,
            "max_tokens": self.max_tokens,
            "capabilities": {
                "batch": supported,
                "citations": supported,
                "image_input": supported,
                "pdf_input": supported,
                "server_tools": {
                    name: {"supported": name in self.server_tools} for name in ("web_search", "web_fetch")
                },
                "structured_outputs": supported,
                "thinking": {
                    "supported": bool(self.thinking),
                    "types": {
                        "enabled": {"supported": "enabled" in self.thinking},
                        "adaptive": {"supported": "adaptive" in self.thinking},
                    },
                },
            },
        }


class ModelCatalog:
    def __init__(self, specs: list[ModelSpec]) -> None:
        self.specs = sorted(specs, key=lambda s: s.created_at, reverse=True)
        self._by_name: dict[str, ModelSpec] = {}
        for spec in specs:
            self._by_name[spec.id] = spec
            for alias in spec.aliases:
                self._by_name[alias] = spec

    def get(self, name: str) -> ModelSpec | None:
        return self._by_name.get(name)

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> ModelCatalog:
        specs = []
        for raw in data["models"]:
            item = dict(raw)
            item["thinking"] = tuple(item.get("thinking", ()))
            item["aliases"] = tuple(item.get("aliases", ()))
            if "server_tools" in item:
                item["server_tools"] = tuple(item["server_tools"])
            specs.append(ModelSpec(**item))
        return cls(specs)

    @classmethod
    def load(cls, path: Path | None = None) -> ModelCatalog:
        if path is None:
            text = resources.files("thrifty.testing").joinpath("data/models.json").read_text("utf-8")
        else:
            text = path.read_text("utf-8")
        return cls.from_data(json.loads(text))
