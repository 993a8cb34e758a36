from __future__ import annotations

import os

import pytest

# A developer's real credentials must never reach a test, nor a test's reach the network.
for _name in (
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_AUTH_TOKEN",
    "ANTHROPIC_BASE_URL",
    "CLAUDE_CODE_OAUTH_TOKEN",
    # A developer with Claude Code telemetry on must not switch it on in in-process tests.
    "THRIFTY_ENABLE_TELEMETRY",
    "CLAUDE_CODE_ENABLE_TELEMETRY",
):
    os.environ.pop(_name, None)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _private_thrifty_dirs(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test gets its own config and data dirs: no ledger or login of the developer's is
    read or written, and tests cannot see each other's rows."""
    base = tmp_path_factory.mktemp("thrifty-home")
    monkeypatch.setenv("THRIFTY_CONFIG_DIR", str(base / "config"))
    monkeypatch.setenv("THRIFTY_DATA_DIR", str(base / "data"))
    monkeypatch.setenv("THRIFTY_KEYRING", "0")
    for name in ("THRIFTY_LEDGER", "THRIFTY_BILLING_MODE"):
        monkeypatch.delenv(name, raising=False)
