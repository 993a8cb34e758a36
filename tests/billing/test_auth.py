"""Credential precedence: who wins, which mode that bills, and what every other rule did."""

from __future__ import annotations

import asyncio
import itertools
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from thrifty.billing.auth import AuthError, Resolution, resolve_credential
from thrifty.billing.plan_presets import PRESETS
from thrifty.billing.secret import Secret, redact
from thrifty.billing.store import CredentialStore, StoredLogin
from thrifty.testing import AccountSpec, Simulator
from thrifty.testing.accounts import default_accounts

API_KEY = "sk-ant-api03-matrix-api-key-" + "a" * 16
GATEWAY_TOKEN = "gw-matrix-gateway-token-" + "g" * 16
OAT_AUTH_TOKEN = "sk-ant-oat01-matrix-auth-token-" + "t" * 16
HELPER_KEY = "sk-ant-api03-matrix-helper-key-" + "h" * 16
OAUTH_TOKEN = "sk-ant-oat01-matrix-oauth-token-" + "o" * 16
LOGIN_TOKEN = "sk-ant-oat01-matrix-login-token-" + "l" * 16
ALL_SECRETS = (API_KEY, GATEWAY_TOKEN, OAT_AUTH_TOKEN, HELPER_KEY, OAUTH_TOKEN, LOGIN_TOKEN)
HELPER = f"printf '%s\\n' {HELPER_KEY}"
PROJECT_PIN = "/repo/.thrifty.json"


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "THRIFTY_CONFIG_DIR": str(tmp_path / "config"),
        "THRIFTY_DATA_DIR": str(tmp_path / "data"),
        "THRIFTY_KEYRING": "0",
    }


def save_login(env: dict[str, str], token: str = LOGIN_TOKEN, plan: str = "max-5x") -> CredentialStore:
    store = CredentialStore(env)
    store.save(StoredLogin(Secret(token), PRESETS[plan], datetime.now(UTC)))
    return store


# -- the precedence matrix ------------------------------------------------------------------------

RULES = ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "apiKeyHelper", "CLAUDE_CODE_OAUTH_TOKEN", "claude")
PLAN_RULES = ("CLAUDE_CODE_OAUTH_TOKEN", "claude")


def fake_claude(directory: Path, status: str = '{"loggedIn": true, "authMethod": "claude.ai"}') -> str:
    """A stand-in ``claude`` that answers ``auth status --json`` (the real one is tested elsewhere)."""
    directory.mkdir(parents=True, exist_ok=True)
    script = directory / "claude"
    script.write_text(f"#!/bin/sh\nprintf '%s\\n' '{status}'\n")
    script.chmod(0o755)
    return str(script)


@dataclass(frozen=True)
class Expect:
    """One row of the table the matrix is checked against, written out rather than derived."""

    mode: str
    #: For api rows: how the credential is sent; plan rows send nothing ("claude").
    scheme: str
    secret: str | None
    account: str
    allowed_in_bare: bool


def table(auth_kind: str) -> dict[str, Expect]:
    oat = auth_kind == "oat"
    return {
        "ANTHROPIC_API_KEY": Expect("api", "x-api-key", API_KEY, "ANTHROPIC_API_KEY", True),
        "ANTHROPIC_AUTH_TOKEN": (
            Expect("plan", "claude", None, "claude-code", False)
            if oat
            else Expect("api", "bearer", GATEWAY_TOKEN, "ANTHROPIC_AUTH_TOKEN", False)
        ),
        "apiKeyHelper": Expect("api", "x-api-key", HELPER_KEY, "apiKeyHelper", True),
        "CLAUDE_CODE_OAUTH_TOKEN": Expect("plan", "claude", None, "claude-code", False),
        "claude": Expect("plan", "claude", None, "claude-code", False),
    }


def matrix() -> list[tuple[frozenset[str], str, str | None, bool]]:
    cases = []
    for bits in itertools.product((False, True), repeat=len(RULES)):
        present = frozenset(name for name, on in zip(RULES, bits, strict=True) if on)
        kinds = ("gateway", "oat") if "ANTHROPIC_AUTH_TOKEN" in present else ("gateway",)
        for kind, pin, bare in itertools.product(kinds, (None, "api", "plan"), (False, True)):
            cases.append((present, kind, pin, bare))
    return cases


def case_id(case: tuple[frozenset[str], str, str | None, bool]) -> str:
    present, kind, pin, bare = case
    names = "+".join(
        n if n != "ANTHROPIC_AUTH_TOKEN" else f"AUTH_TOKEN({kind})" for n in RULES if n in present
    )
    return f"{names or 'nothing'}-pin={pin}-bare={bare}"


CASES = matrix()


@pytest.mark.parametrize("case", CASES, ids=[case_id(c) for c in CASES])
def test_precedence_matrix(
    env: dict[str, str], tmp_path: Path, case: tuple[frozenset[str], str, str | None, bool]
) -> None:
    present, kind, pin, bare = case
    rows = table(kind)
    if "ANTHROPIC_API_KEY" in present:
        env["ANTHROPIC_API_KEY"] = API_KEY
    if "ANTHROPIC_AUTH_TOKEN" in present:
        env["ANTHROPIC_AUTH_TOKEN"] = OAT_AUTH_TOKEN if kind == "oat" else GATEWAY_TOKEN
    if "CLAUDE_CODE_OAUTH_TOKEN" in present:
        env["CLAUDE_CODE_OAUTH_TOKEN"] = OAUTH_TOKEN
    env["PATH"] = str(tmp_path / "empty-path")
    if "claude" in present:
        env["THRIFTY_CLAUDE_PATH"] = fake_claude(tmp_path / "bin")
    plan_needs_claude = "claude" not in present
    pinned = (pin, PROJECT_PIN) if pin else None

    winner = None
    for name in RULES:
        row = rows[name]
        allowed = name in present and not (bare and not row.allowed_in_bare)
        allowed = allowed and (pin is None or row.mode == pin)
        if allowed:
            winner = name
            break
    if winner is not None and rows[winner].mode == "plan" and plan_needs_claude:
        # A plan credential alone is never sent: without a claude to run, it is an error.
        with pytest.raises(AuthError, match="thrifty never sends itself; plan runs go through your own"):
            resolve_credential(
                env, api_key_helper=HELPER if "apiKeyHelper" in present else None, pinned=pinned, bare=bare
            )
        return
    result = resolve_credential(
        env, api_key_helper=HELPER if "apiKeyHelper" in present else None, pinned=pinned, bare=bare
    )

    seen_winner = None
    for name in RULES:
        row = rows[name]
        outcome = result.rule(name)
        if name not in present:
            assert outcome.state == "absent", name
        elif bare and not row.allowed_in_bare:
            assert (outcome.state, outcome.reason) == ("skipped", "--bare"), name
        elif pin is not None and row.mode != pin:
            assert outcome.state == "skipped", name
            assert outcome.reason == f"billing mode pinned to {pin} by {PROJECT_PIN}"
        elif seen_winner is None:
            seen_winner = name
            assert outcome.state == "matched", name
        else:
            assert (outcome.state, outcome.reason) == ("shadowed", f"{seen_winner} won"), name
        if name in present:
            assert outcome.mode == row.mode
    assert seen_winner == winner

    assert [r.name for r in result.rules] == list(RULES)
    if winner is None:
        assert result.credential is None and result.claude is None
        assert result.error() is not None
        with pytest.raises(AuthError):
            result.client()
    elif rows[winner].mode == "plan":
        # A plan run: thrifty holds no credential at all, only the claude that will do the work.
        assert result.credential is None and result.error() is None
        assert result.claude is not None and result.claude.binary == env["THRIFTY_CLAUDE_PATH"]
        assert (result.mode, result.source, result.claude.account) == ("plan", winner, "claude-code")
        with pytest.raises(AuthError):
            result.client()
    else:
        cred = result.credential
        row = rows[winner]
        assert cred is not None and result.error() is None and result.claude is None
        assert (cred.source, cred.mode, cred.scheme, cred.account) == (
            winner,
            row.mode,
            row.scheme,
            row.account,
        )
        assert cred.secret.reveal() == row.secret
    for text in (repr(result), result.explain(), *result.warnings(), result.error() or ""):
        assert not any(s in text for s in ALL_SECRETS)


def test_the_matrix_covers_every_combination() -> None:
    # 16 combinations without ANTHROPIC_AUTH_TOKEN, 16 with it in two flavours; x 3 pins x 2 bare.
    assert len(CASES) == (16 + 32) * 3 * 2


# -- apiKeyHelper ---------------------------------------------------------------------------------


def test_helper_output_is_stripped_and_runs_with_env_and_cwd(env: dict[str, str], tmp_path: Path) -> None:
    env["HELPER_SOURCE"] = "from-env-" + "k" * 20
    result = resolve_credential(env, api_key_helper='printf "  %s\\n\\n" "$HELPER_SOURCE"', cwd=tmp_path)
    assert result.credential is not None and result.credential.secret.reveal() == env["HELPER_SOURCE"]
    assert result.credential.api_key_source == "apiKeyHelper"
    where = resolve_credential(env, api_key_helper="pwd", cwd=tmp_path).credential
    assert where is not None and where.secret.reveal() == str(tmp_path)


def test_failing_helper_is_one_line_without_its_output(env: dict[str, str]) -> None:
    leaked = "sk-ant-api03-would-be-leaked-" + "x" * 10
    with pytest.raises(AuthError) as info:
        resolve_credential(env, api_key_helper=f"echo {leaked}; echo {leaked}-err >&2; exit 3")
    assert str(info.value) == "apiKeyHelper failed with exit status 3"


def test_empty_helper_output_is_an_error(env: dict[str, str]) -> None:
    with pytest.raises(AuthError, match=r"^apiKeyHelper printed nothing"):
        resolve_credential(env, api_key_helper="printf '  \\n'")


def test_helper_timeout_kills_the_whole_pipeline(env: dict[str, str]) -> None:
    started = time.monotonic()
    with pytest.raises(AuthError, match=r"^apiKeyHelper timed out after 0.3s$"):
        resolve_credential(env, api_key_helper="(sleep 30; echo late) | cat", helper_timeout=0.3)
    assert time.monotonic() - started < 10


def test_helper_is_not_run_unless_it_wins(env: dict[str, str], tmp_path: Path) -> None:
    env["THRIFTY_CLAUDE_PATH"] = fake_claude(tmp_path / "bin")
    marker = tmp_path / "ran"
    helper = f"touch {marker}; echo key-from-helper-00000000"
    resolve_credential({**env, "ANTHROPIC_API_KEY": API_KEY}, api_key_helper=helper)
    resolve_credential(
        {**env, "CLAUDE_CODE_OAUTH_TOKEN": OAUTH_TOKEN}, api_key_helper=helper, pinned=("plan", "x")
    )
    assert not marker.exists()
    resolve_credential(env, api_key_helper=helper)
    assert marker.exists()


# -- a plan token stored by an older thrifty -----------------------------------------------------


def test_a_legacy_stored_login_is_never_read_only_reported(env: dict[str, str]) -> None:
    store = CredentialStore(env)
    store.directory.mkdir(parents=True)
    store.credentials_file.write_text("{broken")  # not even parsed: thrifty never reads it again
    result = resolve_credential(env, api_key_helper=None)
    assert result.credential is None and result.claude is None
    assert result.rule("login").state == "skipped"
    assert "thrifty logout" in result.rule("login").reason
    assert any("older thrifty" in w and "thrifty logout" in w for w in result.warnings())
    save_login(env)
    keyed = resolve_credential({**env, "ANTHROPIC_API_KEY": API_KEY}, api_key_helper=None)
    assert keyed.credential is not None and keyed.credential.source == "ANTHROPIC_API_KEY"
    assert LOGIN_TOKEN not in repr(keyed) and not any(LOGIN_TOKEN in w for w in keyed.warnings())


# -- explain, warnings, errors --------------------------------------------------------------------


def test_explain_names_the_winner_and_the_losers(env: dict[str, str], tmp_path: Path) -> None:
    env["THRIFTY_CLAUDE_PATH"] = claude = fake_claude(tmp_path / "bin")
    result = resolve_credential({**env, "ANTHROPIC_API_KEY": API_KEY}, api_key_helper=None)
    assert result.explain() == "ANTHROPIC_API_KEY (api) won; shadowed: claude (plan)"
    pinned = resolve_credential(
        {**env, "ANTHROPIC_API_KEY": API_KEY}, api_key_helper=None, pinned=("plan", "X")
    )
    assert pinned.explain() == (
        f"claude (plan, run through Claude Code at {claude}) won; "
        "skipped: ANTHROPIC_API_KEY (api, billing mode pinned to plan by X)"
    )
    assert resolve_credential(env, api_key_helper=None, bare=True).explain() == (
        "no credential; skipped: claude (plan, --bare)"
    )


def test_an_api_key_shadowing_a_plan_token_is_warned_about(env: dict[str, str], tmp_path: Path) -> None:
    env["THRIFTY_CLAUDE_PATH"] = fake_claude(tmp_path / "bin")
    result = resolve_credential(
        {**env, "ANTHROPIC_API_KEY": API_KEY, "CLAUDE_CODE_OAUTH_TOKEN": OAUTH_TOKEN}, api_key_helper=None
    )
    assert result.warnings() == [
        "billing per token to ANTHROPIC_API_KEY while a plan credential (CLAUDE_CODE_OAUTH_TOKEN) exists; "
        "pass --billing-mode plan (or set billingMode in .thrifty.json) to run on your plan through "
        "Claude Code"
    ]
    # Claude Code merely being installed is no sign of a plan: no warning for every API user.
    assert resolve_credential({**env, "ANTHROPIC_API_KEY": API_KEY}, api_key_helper=None).warnings() == []
    # Pinned to api on purpose, or running on the plan already: nothing to warn about.
    chosen = resolve_credential(
        {**env, "ANTHROPIC_API_KEY": API_KEY, "CLAUDE_CODE_OAUTH_TOKEN": OAUTH_TOKEN},
        api_key_helper=None,
        pinned=("api", "X"),
    )
    assert chosen.warnings() == []
    assert resolve_credential(env, api_key_helper=None).warnings() == []


def test_errors_say_what_to_do(env: dict[str, str], tmp_path: Path) -> None:
    env["PATH"] = str(tmp_path / "empty")
    none = resolve_credential(env, api_key_helper=None)
    assert none.error() == (
        "Not logged in · set ANTHROPIC_API_KEY, or install Claude Code and log in to it to run on your plan"
    )
    keyed = {**env, "ANTHROPIC_API_KEY": API_KEY}
    plan = resolve_credential(keyed, api_key_helper=None, pinned=("plan", PROJECT_PIN))
    message = plan.error()
    assert message is not None and message.startswith(
        f"billing mode is pinned to plan by {PROJECT_PIN}, but Claude Code was not found"
    )
    assert "THRIFTY_CLAUDE_PATH" in message
    api = resolve_credential(env, api_key_helper=None, pinned=("api", "--billing-mode"))
    assert api.error() == (
        "billing mode is pinned to api by --billing-mode but no api credential was found; "
        "set ANTHROPIC_API_KEY or configure apiKeyHelper"
    )
    bare = resolve_credential(env, api_key_helper=None, bare=True)
    message = bare.error()
    assert message is not None and "--bare reads only ANTHROPIC_API_KEY and apiKeyHelper" in message
    with pytest.raises(AuthError, match=r"^Not logged in"):
        none.client()


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        ('{"loggedIn": false, "authMethod": "none"}', "Claude Code is not logged in"),
        (
            '{"loggedIn": true, "authMethod": "api_key", "apiKeySource": "apiKeyHelper"}',
            "would bill apiKeyHelper",
        ),
        ("not json", "did not answer `auth status --json`"),
    ],
)
def test_a_claude_that_cannot_run_plan_work_is_one_line(
    env: dict[str, str], tmp_path: Path, status: str, expected: str
) -> None:
    env["THRIFTY_CLAUDE_PATH"] = fake_claude(tmp_path / "bin", status)
    with pytest.raises(AuthError) as info:
        resolve_credential(env, api_key_helper=None)
    assert expected in str(info.value) and "\n" not in str(info.value)
    missing = {**env, "THRIFTY_CLAUDE_PATH": str(tmp_path / "nowhere" / "claude")}
    with pytest.raises(AuthError, match="was not found"):
        resolve_credential(missing, api_key_helper=None)


def test_a_bad_pin_is_a_programming_error(env: dict[str, str]) -> None:
    with pytest.raises(ValueError, match="pinned mode"):
        resolve_credential(env, api_key_helper=None, pinned=("batch", "x"))


def test_endpoint_and_blank_values(env: dict[str, str]) -> None:
    assert resolve_credential(env, api_key_helper=None).endpoint == "https://api.anthropic.com"
    env.update(ANTHROPIC_BASE_URL="http://127.0.0.1:9/", ANTHROPIC_API_KEY="  ", ANTHROPIC_AUTH_TOKEN="")
    result = resolve_credential(env, api_key_helper="  ")
    assert result.endpoint == "http://127.0.0.1:9/" and result.credential is None
    assert all(r.state == "absent" for r in result.rules)


def test_every_present_env_credential_is_redacted_even_when_shadowed(env: dict[str, str]) -> None:
    shadowed = "sk-ant-oat01-shadowed-only-" + "z" * 12
    resolve_credential(
        {**env, "ANTHROPIC_API_KEY": API_KEY, "CLAUDE_CODE_OAUTH_TOKEN": shadowed}, api_key_helper=None
    )
    assert shadowed not in redact(f"env dump: CLAUDE_CODE_OAUTH_TOKEN={shadowed}")


# -- the client against the simulator -------------------------------------------------------------


def ask(result: Resolution) -> None:
    async def go() -> None:
        async with result.client() as client:
            await client.messages.create(
                model="claude-sonnet-5-5", max_tokens=16, messages=[{"role": "user", "content": "hi"}]
            )

    asyncio.run(go())


GATEWAY_SIM_TOKEN = "gw-sim-gateway-token-" + "q" * 16


@pytest.fixture
def sim() -> Iterator[Simulator]:
    accounts = [*default_accounts(), AccountSpec(key=GATEWAY_SIM_TOKEN, mode="api", name="sim-gateway")]
    with Simulator([{"text": "ok"}] * 10, accounts=accounts) as simulator:
        yield simulator


@pytest.mark.parametrize(
    ("source", "scheme", "account"),
    [
        ("ANTHROPIC_API_KEY", "x-api-key", "sim-api"),
        ("apiKeyHelper", "x-api-key", "sim-api"),
        ("ANTHROPIC_AUTH_TOKEN", "bearer", "sim-gateway"),
    ],
)
def test_the_client_sends_each_credential_with_its_scheme(
    env: dict[str, str],
    sim: Simulator,
    monkeypatch: pytest.MonkeyPatch,
    source: str,
    scheme: str,
    account: str,
) -> None:
    env["ANTHROPIC_BASE_URL"] = sim.base_url
    secret = sim.api_key if scheme == "x-api-key" else GATEWAY_SIM_TOKEN
    helper = None
    if source == "apiKeyHelper":
        helper = f"echo {secret}"
    else:
        env[source] = secret
    # The process environment must not leak into the client (the SDK reads it when left to itself).
    monkeypatch.setenv("ANTHROPIC_API_KEY", "sk-ant-api03-process-env-must-not-be-sent")
    monkeypatch.setenv("ANTHROPIC_BASE_URL", "http://127.0.0.1:9")
    result = resolve_credential(env, api_key_helper=helper)
    assert result.credential is not None and result.credential.source == source
    ask(result)
    logged = sim.message_requests()[-1]
    assert (logged.status, logged.auth_scheme, logged.account) == (200, scheme, account)
