"""Which credential a run uses, which billing mode that means, and why the others lost.

``claude -p`` silently uses ``ANTHROPIC_API_KEY`` whenever it is set, so a key left in a
``.env`` file quietly bills per token while the user believes their plan is paying. thrifty
follows Claude Code's order but records every rule's outcome, warns about that case, and lets a
mode pin (``--billing-mode`` / ``billingMode``) rule out the other mode entirely.

Claude Code's docs rank ``ANTHROPIC_AUTH_TOKEN`` above ``ANTHROPIC_API_KEY``, yet with both set
it reports ``apiKeySource: ANTHROPIC_API_KEY`` and the official SDK picks the key; thrifty puts
the API key first so there is one answer to "who pays", and sends only one credential.
"""

from __future__ import annotations

import contextlib
import functools
import os
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Literal, cast

from thrifty.billing.plan_presets import PlanDefinition
from thrifty.billing.secret import Secret, register
from thrifty.billing.store import CredentialStore, StoreError

if TYPE_CHECKING:
    import ssl

    import anthropic

Mode = Literal["api", "plan"]
Scheme = Literal["x-api-key", "bearer"]
State = Literal["matched", "shadowed", "skipped", "absent"]

DEFAULT_ENDPOINT = "https://api.anthropic.com"
PLAN_TOKEN_PREFIX = "sk-ant-oat"  # noqa: S105 - a prefix, not a secret
HELPER_TIMEOUT_S = 30.0
BARE_RULES = ("ANTHROPIC_API_KEY", "apiKeyHelper")


class AuthError(ValueError):
    """A credential source is configured but unusable; one line, never the secret or its output."""


@dataclass(frozen=True)
class Credential:
    secret: Secret
    scheme: Scheme
    mode: Mode
    #: The rule that produced it: "ANTHROPIC_API_KEY", "apiKeyHelper", "login", ...
    source: str
    #: The ledger's label for who pays; never secret.
    account: str
    plan: PlanDefinition | None = None

    @property
    def api_key_source(self) -> str:
        """``system/init.apiKeySource`` as Claude Code reports it: bearer credentials are "none"."""
        return self.source if self.source in BARE_RULES else "none"


@dataclass(frozen=True)
class RuleOutcome:
    name: str
    #: The mode this rule bills in; ``None`` for an absent ``ANTHROPIC_AUTH_TOKEN`` (it depends on the value).
    mode: Mode | None
    state: State
    #: Why it was shadowed or skipped; empty otherwise.
    reason: str = ""

    def describe(self) -> str:
        mode = self.mode or "?"
        return f"{self.name} ({mode}, {self.reason})" if self.reason else f"{self.name} ({mode})"


@dataclass(frozen=True)
class Resolution:
    credential: Credential | None
    endpoint: str
    pinned: tuple[str, str] | None
    rules: tuple[RuleOutcome, ...]
    bare: bool = False

    def rule(self, name: str) -> RuleOutcome:
        for outcome in self.rules:
            if outcome.name == name:
                return outcome
        raise KeyError(name)

    def explain(self) -> str:
        """E.g. ``ANTHROPIC_API_KEY (api) won; shadowed: login (plan)``."""
        cred = self.credential
        parts = [f"{cred.source} ({cred.mode}) won" if cred else "no credential"]
        shadowed = [f"{r.name} ({r.mode})" for r in self.rules if r.state == "shadowed"]
        if shadowed:
            parts.append(f"shadowed: {', '.join(shadowed)}")
        skipped = [r.describe() for r in self.rules if r.state == "skipped"]
        if skipped:
            parts.append(f"skipped: {', '.join(skipped)}")
        return "; ".join(parts)

    def warnings(self) -> list[str]:
        cred = self.credential
        if cred is None or cred.mode != "api":
            return []
        plans = [r.name for r in self.rules if r.state == "shadowed" and r.mode == "plan"]
        if not plans:
            return []
        what = "a plan login" if plans == ["login"] else f"a plan credential ({', '.join(plans)})"
        return [
            f"billing per token to {cred.account} while {what} exists; pass --billing-mode plan "
            "(or set billingMode in .thrifty.json) to use your plan"
        ]

    def error(self) -> str | None:
        if self.credential is not None:
            return None
        if self.pinned is not None:
            mode, where = self.pinned
            hint = (
                "run `thrifty login` or set CLAUDE_CODE_OAUTH_TOKEN"
                if mode == "plan"
                else "set ANTHROPIC_API_KEY or configure apiKeyHelper"
            )
            if self.bare and mode == "plan":
                hint = f"--bare reads only {' and '.join(BARE_RULES)}"
            return f"billing mode is pinned to {mode} by {where} but no {mode} credential was found; {hint}"
        if self.bare:
            return f"Not logged in · set ANTHROPIC_API_KEY (--bare reads only {' and '.join(BARE_RULES)})"
        return "Not logged in · set ANTHROPIC_API_KEY or run `thrifty login`"

    def client(self, max_retries: int = 0) -> anthropic.AsyncAnthropic:
        """The official client, sending the credential the way Claude Code does.

        The SDK sends ``api_key`` as ``Authorization: Bearer`` in this version; API keys go as
        ``x-api-key`` (the header the Messages API documents and Claude Code sends), so the
        bearer header is omitted and ``X-Api-Key`` set explicitly. The request timeout is laid
        on by the run (``request_timeout``), which also applies it to a caller's own client.
        """
        import anthropic  # here, not at the top: `thrifty status` and reports never need it

        cred = self.credential
        if cred is None:
            raise AuthError(self.error() or "no credential")
        http = anthropic.DefaultAsyncHttpxClient(
            verify=_tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))
        )
        if cred.scheme == "bearer":
            return anthropic.AsyncAnthropic(
                auth_token=cred.secret.reveal(),
                api_key=None,
                base_url=self.endpoint,
                max_retries=max_retries,
                http_client=http,
            )
        key = cred.secret.reveal()
        return anthropic.AsyncAnthropic(
            api_key=key,
            base_url=self.endpoint,
            max_retries=max_retries,
            http_client=http,
            # The SDK's header layers honour ``omit`` at runtime; its annotation says only str.
            default_headers=cast("dict[str, str]", {"X-Api-Key": key, "Authorization": anthropic.omit}),
        )


def request_timeout(client: anthropic.AsyncAnthropic, seconds: float | None) -> anthropic.AsyncAnthropic:
    """``client`` bounded to ``seconds`` per request: that long to wait for the answer and for
    each stream event, the SDK's 5 s (or less) to connect. A copy sharing the connection pool;
    ``client`` itself when ``seconds`` is None (the SDK's 10 minutes)."""
    import anthropic

    if seconds is None:
        return client
    return client.with_options(timeout=anthropic.Timeout(seconds, connect=min(5.0, seconds)))


@functools.lru_cache(maxsize=4)
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """One TLS context per CA setting, shared by every client of the process.

    Loading the CA bundle costs ~20 ms of CPU; built per client it was most of an SDK session's
    CPU when hundreds of sessions run in one process. The arguments only key the cache: httpx
    reads ``SSL_CERT_FILE``/``SSL_CERT_DIR`` itself.
    """
    import httpx2

    return httpx2.create_ssl_context()


def _run_helper(command: str, environ: Mapping[str, str], cwd: Path | None, timeout: float) -> Secret:
    try:
        # apiKeyHelper is a shell command by definition (Claude Code's setting).
        proc = subprocess.Popen(  # noqa: S602
            command,
            shell=True,
            cwd=cwd,
            env=dict(environ),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            start_new_session=True,  # so a timeout kills the whole pipeline, not just the shell
        )
    except OSError as exc:
        raise AuthError(f"apiKeyHelper could not be started ({exc.strerror or type(exc).__name__})") from None
    try:
        out, _err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        raise AuthError(f"apiKeyHelper timed out after {timeout:g}s") from None
    # Neither stdout nor stderr is quoted in errors: either may hold the key.
    if proc.returncode != 0:
        raise AuthError(f"apiKeyHelper failed with exit status {proc.returncode}")
    key = out.decode("utf-8", errors="replace").strip()
    if not key:
        raise AuthError("apiKeyHelper printed nothing; it must print the API key on stdout")
    return Secret(key)


def resolve_credential(
    environ: Mapping[str, str],
    *,
    api_key_helper: str | None,
    pinned: tuple[str, str] | None = None,
    bare: bool = False,
    store: CredentialStore | None = None,
    cwd: Path | None = None,
    helper_timeout: float = HELPER_TIMEOUT_S,
) -> Resolution:
    """Pick the credential, highest rule first; the first present and allowed rule wins.

    1. ``ANTHROPIC_API_KEY`` - mode api, sent as ``x-api-key``.
    2. ``ANTHROPIC_AUTH_TOKEN`` - bearer; mode plan if the token starts with ``sk-ant-oat``
       (a subscription token), else api (a gateway or proxy token).
    3. ``apiKeyHelper`` from settings - run through the shell with a timeout, stdout stripped
       is the key; mode api. It runs only when it is the rule that wins; a failing or empty
       helper raises ``AuthError``.
    4. ``CLAUDE_CODE_OAUTH_TOKEN`` - mode plan, bearer.
    5. The stored ``thrifty login`` - mode plan, bearer, carrying its ``PlanDefinition``.

    ``bare`` allows only rules 1 and 3, as ``claude --bare`` does. ``pinned`` (``(mode, where)``)
    skips every rule of the other mode. Each rule ends ``matched``, ``shadowed`` (present, but a
    higher rule won), ``skipped`` (present, excluded by the pin or by bare) or ``absent``.
    ``store`` defaults to the one under ``environ``'s config dir; with ``bare`` it is only
    checked for presence, never read.
    """
    if pinned is not None and pinned[0] not in ("api", "plan"):
        raise ValueError(f"pinned mode must be 'api' or 'plan', got {pinned[0]!r}")
    store = CredentialStore(environ) if store is None else store

    def env(name: str) -> str | None:
        return (environ.get(name) or "").strip() or None

    for name in ("ANTHROPIC_API_KEY", "ANTHROPIC_AUTH_TOKEN", "CLAUDE_CODE_OAUTH_TOKEN"):
        value = env(name)
        if value is not None:
            register(value)  # redacted from any output, even when another rule wins
    auth_token = env("ANTHROPIC_AUTH_TOKEN")
    helper = (api_key_helper or "").strip() or None
    token_mode: Mode | None = None
    if auth_token is not None:
        token_mode = "plan" if auth_token.startswith(PLAN_TOKEN_PREFIX) else "api"
    candidates: list[tuple[str, Mode | None, bool]] = [
        ("ANTHROPIC_API_KEY", "api", env("ANTHROPIC_API_KEY") is not None),
        ("ANTHROPIC_AUTH_TOKEN", token_mode, auth_token is not None),
        ("apiKeyHelper", "api", helper is not None),
        ("CLAUDE_CODE_OAUTH_TOKEN", "plan", env("CLAUDE_CODE_OAUTH_TOKEN") is not None),
        ("login", "plan", store.exists()),
    ]

    winner: Credential | None = None
    outcomes: list[RuleOutcome] = []
    for name, mode, present in candidates:
        if not present:
            outcomes.append(RuleOutcome(name, mode, "absent"))
        elif bare and name not in BARE_RULES:
            outcomes.append(RuleOutcome(name, mode, "skipped", "--bare"))
        elif pinned is not None and mode != pinned[0]:
            reason = f"billing mode pinned to {pinned[0]} by {pinned[1]}"
            outcomes.append(RuleOutcome(name, mode, "skipped", reason))
        elif winner is not None:
            outcomes.append(RuleOutcome(name, mode, "shadowed", f"{winner.source} won"))
        else:
            winner = _credential(name, environ, helper, store, cwd, helper_timeout)
            outcomes.append(RuleOutcome(name, winner.mode, "matched"))
    endpoint = env("ANTHROPIC_BASE_URL") or DEFAULT_ENDPOINT
    return Resolution(winner, endpoint, pinned, tuple(outcomes), bare)


def _credential(
    name: str,
    environ: Mapping[str, str],
    helper: str | None,
    store: CredentialStore,
    cwd: Path | None,
    timeout: float,
) -> Credential:
    if name == "apiKeyHelper":
        assert helper is not None
        return Credential(_run_helper(helper, environ, cwd, timeout), "x-api-key", "api", name, name)
    if name == "login":
        try:
            login = store.load()
        except StoreError as exc:
            raise AuthError(str(exc)) from None
        if login is None:  # removed between exists() and load()
            raise AuthError("the stored login disappeared while reading it; run `thrifty login`")
        plan = login.plan
        return Credential(login.token, "bearer", "plan", "login", f"login:{plan.name}", plan)
    secret = Secret((environ.get(name) or "").strip())
    if name == "ANTHROPIC_API_KEY":
        return Credential(secret, "x-api-key", "api", name, name)
    if name == "ANTHROPIC_AUTH_TOKEN":
        mode: Mode = "plan" if secret.reveal().startswith(PLAN_TOKEN_PREFIX) else "api"
        return Credential(secret, "bearer", mode, name, name)
    return Credential(secret, "bearer", "plan", name, name)
