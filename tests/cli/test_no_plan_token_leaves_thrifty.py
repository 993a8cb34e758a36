"""No code path sends a plan token from thrifty: every credential source, run end to end, and what
reached the model endpoint checked on the simulator's side.

API sources are sent by thrifty itself. Plan sources (an ``sk-ant-oat`` token in
``ANTHROPIC_AUTH_TOKEN`` or ``CLAUDE_CODE_OAUTH_TOKEN``, Claude Code's own stored login, a token
an older ``thrifty login`` stored) either run through the real ``claude`` binary, whose requests
carry its own user agent, or make no request at all. A request that used a plan account and came
from anything but ``claude`` fails the test.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from thrifty.billing.plan_presets import PRESETS
from thrifty.billing.secret import Secret
from thrifty.billing.store import CredentialStore, StoredLogin
from thrifty.testing import DEFAULT_PLAN_TOKEN, AccountSpec, Simulator
from thrifty.testing.accounts import default_accounts

claude_agent_sdk = pytest.importorskip("claude_agent_sdk")
CLAUDE = Path(claude_agent_sdk.__file__).parent / "_bundled" / "claude"
pytestmark = pytest.mark.skipif(not CLAUDE.exists(), reason="the bundled claude is not installed")

GATEWAY = "gw-test-gateway-token-" + "g" * 16
SOURCES = (
    "ANTHROPIC_API_KEY",
    "apiKeyHelper",
    "ANTHROPIC_AUTH_TOKEN (gateway)",
    "ANTHROPIC_AUTH_TOKEN (plan token)",
    "CLAUDE_CODE_OAUTH_TOKEN",
    "claude's own login",
    "token stored by an older thrifty login",
)


@pytest.fixture
def cli_with_gateway(tmp_path: Path) -> Iterator[Cli]:
    accounts = [*default_accounts(), AccountSpec(key=GATEWAY, mode="api", name="sim-gateway")]
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    with Simulator(accounts=accounts) as sim:
        yield Cli(sim, project, home)


def claude_login(config: Path) -> None:
    """Claude Code's own stored login, as `/login` leaves it, holding the simulator's plan token."""
    config.mkdir(parents=True, exist_ok=True)
    expires = int(time.time() * 1000) + 30 * 86_400_000
    login = {"accessToken": DEFAULT_PLAN_TOKEN, "refreshToken": "r", "expiresAt": expires}
    login |= {"scopes": ["user:inference"], "subscriptionType": "max"}
    (config / ".credentials.json").write_text(json.dumps({"claudeAiOauth": login}))


def setup(cli: Cli, source: str) -> dict[str, str]:
    env = cli.env(PATH="/usr/bin:/bin", CLAUDE_CONFIG_DIR=str(cli.home / ".claude"))
    del env["ANTHROPIC_API_KEY"]
    if source == "ANTHROPIC_API_KEY":
        env["ANTHROPIC_API_KEY"] = cli.sim.api_key
    elif source == "apiKeyHelper":
        settings = cli.cwd / ".claude" / "settings.json"
        settings.parent.mkdir(parents=True, exist_ok=True)
        settings.write_text(json.dumps({"apiKeyHelper": f"echo {cli.sim.api_key}"}))
    elif source == "ANTHROPIC_AUTH_TOKEN (gateway)":
        env["ANTHROPIC_AUTH_TOKEN"] = GATEWAY
    elif source == "ANTHROPIC_AUTH_TOKEN (plan token)":
        env |= {"ANTHROPIC_AUTH_TOKEN": DEFAULT_PLAN_TOKEN, "THRIFTY_CLAUDE_PATH": str(CLAUDE)}
    elif source == "CLAUDE_CODE_OAUTH_TOKEN":
        env |= {"CLAUDE_CODE_OAUTH_TOKEN": DEFAULT_PLAN_TOKEN, "THRIFTY_CLAUDE_PATH": str(CLAUDE)}
    elif source == "claude's own login":
        claude_login(cli.home / ".claude")
        env["THRIFTY_CLAUDE_PATH"] = str(CLAUDE)
    else:
        store = CredentialStore({"THRIFTY_CONFIG_DIR": str(cli.config_dir), "THRIFTY_KEYRING": "0"})
        store.save(StoredLogin(Secret(DEFAULT_PLAN_TOKEN), PRESETS["pro"], datetime.now(UTC)))
    return env


@pytest.mark.parametrize("source", SOURCES)
def test_what_reaches_the_endpoint_for_each_credential_source(cli_with_gateway: Cli, source: str) -> None:
    cli = cli_with_gateway
    cli.sim.set_script([{"text": "served"}])
    run = cli("-p", "hi", "--output-format", "json", env=setup(cli, source))
    requests = cli.sim.message_requests()
    for request in requests:
        agent = request.headers.get("user-agent", "")
        if request.account == "sim-plan":
            assert agent.startswith("claude-cli/"), (source, agent)
        else:
            assert not agent.startswith("claude-cli/"), (source, agent)
    result = run.json
    if source == "token stored by an older thrifty login":
        # Never read, never sent: with no other source the run has no one to bill.
        assert run.code == 1 and requests == []
        assert result["result"].startswith("Not logged in")
        return
    assert run.code == 0, run.stderr
    assert result["result"] == "served"
    mode = "plan" if requests[0].account == "sim-plan" else "api"
    assert result["billing"]["mode"] == mode
    if mode == "plan":
        assert source in (
            "ANTHROPIC_AUTH_TOKEN (plan token)",
            "CLAUDE_CODE_OAUTH_TOKEN",
            "claude's own login",
        )
        assert result["billing"]["account"] == "claude-code"
    else:
        expected = {"ANTHROPIC_AUTH_TOKEN (gateway)": "sim-gateway"}.get(source, "sim-api")
        assert {r.account for r in requests} == {expected}
    assert DEFAULT_PLAN_TOKEN not in run.stdout + run.stderr
