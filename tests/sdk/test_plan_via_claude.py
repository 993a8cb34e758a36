"""The SDK on a plan: ``Options(billing_mode="plan")`` runs through the user's own ``claude``, as the
CLI does, and what cannot cross into claude's process is refused before any work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import thrifty
from thrifty.testing import DEFAULT_PLAN_TOKEN, Simulator

claude_agent_sdk = pytest.importorskip("claude_agent_sdk")
CLAUDE = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(not CLAUDE.exists(), reason="the bundled claude is not installed"),
]


def plan_options(sim: Simulator, project: Path, tmp_path: Path, **overrides: Any) -> thrifty.Options:
    env = {
        "ANTHROPIC_API_KEY": sim.api_key,  # set, and still not what pays: the run is pinned to plan
        "ANTHROPIC_BASE_URL": sim.base_url,
        "CLAUDE_CODE_OAUTH_TOKEN": DEFAULT_PLAN_TOKEN,
        "THRIFTY_CLAUDE_PATH": str(CLAUDE),
        "CLAUDE_CONFIG_DIR": str(tmp_path / ".claude"),
        "HOME": str(tmp_path),
        "THRIFTY_CONFIG_DIR": str(tmp_path / "config"),
        "THRIFTY_DATA_DIR": str(tmp_path / "data"),
    }
    return thrifty.Options(cwd=project, env=env, billing_mode="plan", **overrides)


async def test_a_plan_query_goes_through_claude_and_is_metered(
    sim: Simulator, project: Path, tmp_path: Path
) -> None:
    sim.set_script([{"text": "from the plan"}])
    messages = [m async for m in thrifty.query("hi", plan_options(sim, project, tmp_path))]
    result = messages[-1]
    assert isinstance(result, thrifty.ResultMessage) and result.result == "from the plan"
    assert result.billing["mode"] == "plan"
    [usage] = [m for m in messages if isinstance(m, thrifty.ApiUsage)]
    [served] = sim.message_requests()
    assert served.account == "sim-plan" and served.headers.get("user-agent", "").startswith("claude-cli/")
    assert usage.request_id == served.request_id and usage.cost is not None and usage.cost > 0
    assert usage.usage.output_tokens == (served.usage or {})["output_tokens"]


async def test_in_process_callbacks_are_refused_before_any_work(
    sim: Simulator, project: Path, tmp_path: Path
) -> None:
    async def allow(name: str, data: dict[str, Any], context: Any) -> thrifty.PermissionResultAllow:
        return thrifty.PermissionResultAllow()

    with pytest.raises(thrifty.SetupError, match=r"not available in plan runs yet.*--billing-mode api"):
        async for _ in thrifty.query("hi", plan_options(sim, project, tmp_path, can_use_tool=allow)):
            pass
    assert sim.message_requests() == []
