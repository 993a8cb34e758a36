from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

import thrifty
from thrifty.testing import LoggedRequest, Simulator

MakeOptions = Callable[..., thrifty.Options]


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator() as s:
        yield s


@pytest.fixture
def project(tmp_path: Path) -> Path:
    path = tmp_path / "project"
    path.mkdir()
    return path


@pytest.fixture
def options(sim: Simulator, project: Path) -> MakeOptions:
    """Options pointed at the simulator and the project dir; keyword arguments override."""

    def make(**overrides: Any) -> thrifty.Options:
        env = {"ANTHROPIC_API_KEY": sim.api_key, "ANTHROPIC_BASE_URL": sim.base_url}
        values: dict[str, Any] = {"cwd": project, "env": env, **overrides}
        return thrifty.Options(**values)

    return make


def sent(sim: Simulator, index: int = -1) -> dict[str, Any]:
    """The body of one /v1/messages request."""
    requests: list[LoggedRequest] = sim.message_requests()
    body: dict[str, Any] = requests[index].body
    return body


def texts(content: Any) -> list[str]:
    """Every text in a message's content, tool results included."""
    if isinstance(content, str):
        return [content]
    out: list[str] = []
    for block in content:
        if block.get("type") == "text":
            out.append(block["text"])
        elif block.get("type") == "tool_result":
            out.extend(texts(block.get("content", "")))
    return out
