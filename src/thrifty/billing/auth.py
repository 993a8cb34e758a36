"""Who pays for a run, which billing mode that means, and why the other sources lost.

``claude -p`` silently uses ``ANTHROPIC_API_KEY`` whenever it is set, so a key left in a
``.env`` file quietly bills per token while the user believes their plan is paying. thrifty
follows Claude Code's order but records every rule's outcome, warns about that case, and lets a
mode pin (``--billing-mode`` / ``billingMode``) rule out the other mode entirely.

API runs send an API credential from thrifty itself. Plan runs never do: plan credentials are for
Anthropic's own clients (Claude Code's legal and compliance page), so a plan rule that wins means
"run the user's own ``claude``" (``thrifty.billing.claude_cli``), which logs in with its own
credentials; thrifty only meters what it reports.

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

from thrifty.billing.claude_cli import (
    INSTALL_HINT,
    PLAN_TOKEN_PREFIX,
    ClaudeCliError,
    ClaudeCode,
    check_login,
    find_claude,
)
from thrifty.billing.secret import Secret, register
from thrifty.billing.store import CredentialStore

if TYPE_CHECKING:
    import ssl

    import anthropic

    from thrifty.billing.plan_presets import PlanDefinition

Mode = Literal["api", "plan"]
Scheme = Literal["x-api-key", "bearer"]
State = Literal["matched", "shadowed", "skipped", "absent"]

DEFAULT_ENDPOINT = "https://api.anthropic.com"
HELPER_TIMEOUT_S = 30.0
BARE_RULES = ("ANTHROPIC_API_KEY", "apiKeyHelper")
#: The rule for Claude Code's own login (``claude`` found on PATH or via THRIFTY_CLAUDE_PATH).
CLAUDE_RULE = "claude"
LEGACY_LOGIN = (
    "a plan token stored by an older thrifty; thrifty never sends plan tokens itself: "
    "run `thrifty logout` to delete it"
)


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
    #: The API credential thrifty sends; never a plan token.
    credential: Credential | None
    endpoint: str
    pinned: tuple[str, str] | None
    rules: tuple[RuleOutcome, ...]
    bare: bool = False
    #: For a plan run: the user's logged-in ``claude``, which does the work.
    claude: ClaudeCode | None = None
    #: The rule that chose ``claude`` (``CLAUDE_CODE_OAUTH_TOKEN``, ``claude``, ...).
    claude_rule: str | None = None

    @property
    def mode(self) -> Mode | None:
        if self.claude is not None:
            return "plan"
        return self.credential.mode if self.credential is not None else None

    @property
    def source(self) -> str | None:
        """The rule that won, whichever kind of route it gave."""
        if self.claude is not None:
            return self.claude_rule
        return self.credential.source if self.credential is not None else None

    def rule(self, name: str) -> RuleOutcome:
        for outcome in self.rules:
            if outcome.name == name:
                return outcome
        raise KeyError(name)

    def explain(self) -> str:
        """E.g. ``ANTHROPIC_API_KEY (api) won; shadowed: login (plan)``."""
        cred = self.credential
        if self.claude is not None:
            parts = [f"{self.claude_rule} (plan, run through Claude Code at {self.claude.binary}) won"]
        else:
            parts = [f"{cred.source} ({cred.mode}) won" if cred else "no credential"]
        shadowed = [f"{r.name} ({r.mode})" for r in self.rules if r.state == "shadowed"]
        if shadowed:
            parts.append(f"shadowed: {', '.join(shadowed)}")
        skipped = [r.describe() for r in self.rules if r.state == "skipped"]
        if skipped:
            parts.append(f"skipped: {', '.join(skipped)}")
        return "; ".join(parts)

    def warnings(self) -> list[str]:
        out = []
        if any(r.name == "login" for r in self.rules):
            out.append(f"found {LEGACY_LOGIN}")
        cred = self.credential
        if cred is None or cred.mode != "api":
            return out
        # Claude Code merely being installed says nothing about a plan; a plan token does.
        plans = [
            r.name for r in self.rules if r.state == "shadowed" and r.mode == "plan" and r.name != CLAUDE_RULE
        ]
        if plans:
            out.append(
                f"billing per token to {cred.account} while a plan credential ({', '.join(plans)}) exists; "
                "pass --billing-mode plan (or set billingMode in .thrifty.json) to run on your plan "
                "through Claude Code"
            )
        return out

    def error(self) -> str | None:
        if self.credential is not None or self.claude is not None:
            return None
        if self.pinned is not None:
            mode, where = self.pinned
            if mode == "plan":
                if self.bare:
                    return (
                        f"billing mode is pinned to plan by {where}, but --bare reads only "
                        f"{' and '.join(BARE_RULES)}; plan runs go through Claude Code"
                    )
                return (
                    f"billing mode is pinned to plan by {where}, but Claude Code was not found; plan runs "
                    f"go through your own `claude`: {INSTALL_HINT}"
                )
            return (
                f"billing mode is pinned to api by {where} but no api credential was found; "
                "set ANTHROPIC_API_KEY or configure apiKeyHelper"
            )
        if self.bare:
            return f"Not logged in · set ANTHROPIC_API_KEY (--bare reads only {' and '.join(BARE_RULES)})"
        return (
            "Not logged in · set ANTHROPIC_API_KEY, or install Claude Code and log in to it "
            "to run on your plan"
        )

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
        http = anthropic.DefaultAsyncHttpxClient(verify=client_tls_context(self.endpoint))
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


def client_tls_context(endpoint: str) -> ssl.SSLContext:
    """The TLS context for a client of ``endpoint``: the CA bundle only when it speaks https.

    A plain ``http://`` endpoint (the simulator, a local gateway) never does TLS, so loading the
    bundle there was pure startup cost (~20 ms of CPU, far more from a cold disk). It gets a
    context that still verifies but trusts no CA: a redirect to an ``https://`` URL fails its
    handshake rather than going through unverified.
    """
    if endpoint[:7].lower() == "http://":
        return _no_ca_context()
    return _tls_context(os.environ.get("SSL_CERT_FILE"), os.environ.get("SSL_CERT_DIR"))


@functools.lru_cache(maxsize=1)
def _no_ca_context() -> ssl.SSLContext:
    import ssl

    # PROTOCOL_TLS_CLIENT: certificate and host name checks on; no CA loaded, so nothing passes.
    return ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)


@functools.lru_cache(maxsize=4)
def _tls_context(cert_file: str | None, cert_dir: str | None) -> ssl.SSLContext:
    """One TLS context per CA setting, shared by every client of the process.

    Loading the CA bundle costs ~20 ms of CPU; built per client it was most of an SDK session's
    CPU when hundreds of sessions run in one process. The arguments only key the cache: httpx
    reads ``SSL_CERT_FILE``/``SSL_CERT_DIR`` itself. httpcore2's context (the one httpx2 builds)
    without loading httpx2: the same CA choice (the platform's store on macOS and Windows).
    """
    import httpcore2

    return httpcore2.default_ssl_context()


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
    plan: PlanDefinition | None = None,
) -> Resolution:
    """Pick who pays, highest rule first; the first present and allowed rule wins.

    1. ``ANTHROPIC_API_KEY`` - mode api, sent as ``x-api-key``.
    2. ``ANTHROPIC_AUTH_TOKEN`` - a gateway or proxy token: mode api, sent as bearer. A
       subscription token (``sk-ant-oat...``) instead means mode plan, run through ``claude``.
    3. ``apiKeyHelper`` from settings - run through the shell with a timeout, stdout stripped
       is the key; mode api. It runs only when it is the rule that wins; a failing or empty
       helper raises ``AuthError``.
    4. ``CLAUDE_CODE_OAUTH_TOKEN`` - mode plan, run through ``claude`` (which reads it).
    5. ``claude`` - Claude Code found (``THRIFTY_CLAUDE_PATH`` or PATH): mode plan, with its own
       login. A plan rule that wins asks ``claude auth status`` first; a missing, logged-out or
       API-key-billing ``claude`` raises ``AuthError`` before any work.

    No plan token is ever sent by thrifty. ``plan`` is the plan the user described in config
    (``"plan"``), carried for credit figures. A plan token left by an older ``thrifty login``
    is listed as skipped with a warning, never read. ``bare`` allows only rules 1 and 3, as
    ``claude --bare`` does. ``pinned`` (``(mode, where)``) skips every rule of the other mode.
    Each rule ends ``matched``, ``shadowed`` (present, but a higher rule won), ``skipped``
    (present, excluded by the pin or by bare) or ``absent``.
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
    binary = find_claude(environ)
    candidates: list[tuple[str, Mode | None, bool]] = [
        ("ANTHROPIC_API_KEY", "api", env("ANTHROPIC_API_KEY") is not None),
        ("ANTHROPIC_AUTH_TOKEN", token_mode, auth_token is not None),
        ("apiKeyHelper", "api", helper is not None),
        ("CLAUDE_CODE_OAUTH_TOKEN", "plan", env("CLAUDE_CODE_OAUTH_TOKEN") is not None),
        (CLAUDE_RULE, "plan", binary is not None),
    ]

    winner: Credential | None = None
    claude: ClaudeCode | None = None
    claude_rule: str | None = None
    outcomes: list[RuleOutcome] = []
    for name, mode, present in candidates:
        won = winner.source if winner is not None else claude_rule
        if not present:
            outcomes.append(RuleOutcome(name, mode, "absent"))
        elif bare and name not in BARE_RULES:
            outcomes.append(RuleOutcome(name, mode, "skipped", "--bare"))
        elif pinned is not None and mode != pinned[0]:
            reason = f"billing mode pinned to {pinned[0]} by {pinned[1]}"
            outcomes.append(RuleOutcome(name, mode, "skipped", reason))
        elif won is not None:
            outcomes.append(RuleOutcome(name, mode, "shadowed", f"{won} won"))
        elif mode == "plan":
            claude, claude_rule = _claude(name, binary, environ, plan), name
            outcomes.append(RuleOutcome(name, "plan", "matched", "run through Claude Code"))
        else:
            winner = _credential(name, environ, helper, cwd, helper_timeout)
            outcomes.append(RuleOutcome(name, winner.mode, "matched"))
    if store.exists():
        outcomes.append(RuleOutcome("login", "plan", "skipped", LEGACY_LOGIN))
    endpoint = env("ANTHROPIC_BASE_URL") or DEFAULT_ENDPOINT
    return Resolution(winner, endpoint, pinned, tuple(outcomes), bare, claude, claude_rule)


def _claude(
    name: str, binary: str | None, environ: Mapping[str, str], plan: PlanDefinition | None
) -> ClaudeCode:
    """The ``claude`` a plan rule sends the run to, checked before any work."""
    if binary is None:
        raise AuthError(
            f"{name} is a plan credential, which thrifty never sends itself; plan runs go through "
            f"your own `claude`, which was not found: {INSTALL_HINT}"
        )
    try:
        return check_login(binary, environ, plan=plan)
    except ClaudeCliError as exc:
        raise AuthError(str(exc)) from None


def _credential(
    name: str,
    environ: Mapping[str, str],
    helper: str | None,
    cwd: Path | None,
    timeout: float,
) -> Credential:
    if name == "apiKeyHelper":
        assert helper is not None
        return Credential(_run_helper(helper, environ, cwd, timeout), "x-api-key", "api", name, name)
    secret = Secret((environ.get(name) or "").strip())
    if name == "ANTHROPIC_API_KEY":
        return Credential(secret, "x-api-key", "api", name, name)
    # ANTHROPIC_AUTH_TOKEN holding a gateway token; a plan token never gets here.
    return Credential(secret, "bearer", "api", name, name)
