"""Where an older ``thrifty login`` kept a plan token, so that it can be found and deleted.

thrifty no longer stores plan tokens (they are for Anthropic's own clients; plan runs go through
the user's ``claude``). This module remains so that ``thrifty status`` can report a token left by
an older version, ``thrifty login`` can take over its plan name, and ``thrifty logout`` can delete
it; ``save`` is kept for the tests that build such a leftover store. What follows is how that
older version stored it.


The keyring is used only when the ``keyring`` package is installed, its active backend is
viable (priority above zero, not the ``fail``/``null`` placeholders keyring picks when it has
nothing) and ``THRIFTY_KEYRING=0`` does not turn it off. The token then lives in the keyring
(service ``thrifty``, user ``plan-login``) and only the plan metadata in ``login.json``.

Otherwise everything goes in ``credentials.json``. That file is never readable by anyone else,
not even for an instant: it is written to a temporary file that ``mkstemp`` creates with mode
0600 and then renamed over the old one, so a crash leaves the old login or the new one, never
half a file. The config directory is created 0700.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import tempfile
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty.billing.paths import config_dir
from thrifty.billing.secret import Secret

if TYPE_CHECKING:
    from thrifty.billing.plan_presets import PlanDefinition

SERVICE = "thrifty"
USERNAME = "plan-login"
CREDENTIALS_FILE = "credentials.json"
LOGIN_FILE = "login.json"
VERSION = 1
FIX = "run `thrifty logout` then `thrifty login`"
_OFF = ("0", "false", "no", "off")


class StoreError(RuntimeError):
    """One line: which store, what is wrong, and how to fix it. Never the token."""


@dataclass(frozen=True)
class StoredLogin:
    token: Secret
    plan: PlanDefinition
    created_at: datetime


def viable_keyring(environ: Mapping[str, str]) -> Any | None:
    """The active keyring backend if it can really store secrets, else ``None``."""
    if environ.get("THRIFTY_KEYRING", "").strip().lower() in _OFF:
        return None
    try:
        import keyring
    except ImportError:
        return None
    try:
        backend = keyring.get_keyring()
        priority = float(type(backend).priority)
    except Exception:  # a broken backend plugin must not break login; the file store still works
        return None
    module = type(backend).__module__
    if priority <= 0 or module in ("keyring.backends.fail", "keyring.backends.null"):
        return None
    return backend


def _write_private(path: Path, data: dict[str, Any]) -> None:
    directory = path.parent
    if not directory.exists():
        directory.mkdir(parents=True, mode=0o700)
        directory.chmod(0o700)  # mkdir's mode is filtered by the umask
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=f".{path.name}.", suffix=".tmp")
    try:
        os.fchmod(fd, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(data, handle, indent=2)
            handle.write("\n")
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            Path(tmp).unlink()
        raise


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StoreError(f"{path} cannot be read ({exc.strerror or exc}); {FIX}") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise StoreError(f"{path} is corrupt (not valid JSON at line {exc.lineno}); {FIX}") from None
    if not isinstance(data, dict):
        raise StoreError(f"{path} is corrupt (not a JSON object); {FIX}")
    return data


def _parse_metadata(data: dict[str, Any], path: Path) -> tuple[PlanDefinition, datetime]:
    try:
        from thrifty.billing.plan_presets import PlanDefinition

        plan = PlanDefinition.from_dict(data.get("plan"))
        created = data.get("createdAt")
        if not isinstance(created, str):
            raise ValueError("createdAt is missing")
        created_at = datetime.fromisoformat(created)
    except ValueError as exc:
        raise StoreError(f"{path} is corrupt ({exc}); {FIX}") from None
    if created_at.tzinfo is None:
        created_at = created_at.replace(tzinfo=UTC)
    return plan, created_at


def _metadata(login: StoredLogin) -> dict[str, Any]:
    return {"version": VERSION, "plan": login.plan.to_dict(), "createdAt": login.created_at.isoformat()}


class CredentialStore:
    """The one stored plan login. Chooses keyring or file once, when constructed."""

    def __init__(self, environ: Mapping[str, str] | None = None) -> None:
        env = os.environ if environ is None else environ
        self.directory = config_dir(env)
        self.credentials_file = self.directory / CREDENTIALS_FILE
        self.login_file = self.directory / LOGIN_FILE
        self._environ = env

    @functools.cached_property
    def _keyring(self) -> Any | None:
        """Looked up on first use: importing keyring costs start-up time a run that never reaches
        the stored login (an API key won) should not pay."""
        return viable_keyring(self._environ)

    @property
    def uses_keyring(self) -> bool:
        return self._keyring is not None

    @property
    def location(self) -> str:
        if self._keyring is not None:
            return f"OS keyring ({type(self._keyring).name})"
        return str(self.credentials_file)

    def exists(self) -> bool:
        """Whether a login is stored, without reading the secret (no keyring prompt)."""
        return self.credentials_file.exists() or (self.login_file.exists() and self._keyring is not None)

    def load(self) -> StoredLogin | None:
        if self._keyring is not None:
            login = self._load_keyring()
            if login is not None:
                return login
        # Also read the file when a keyring is available: it may predate installing keyring.
        return self._load_file()

    def save(self, login: StoredLogin) -> None:
        if self._keyring is None:
            _write_private(self.credentials_file, {**_metadata(login), "token": login.token.reveal()})
            return
        try:
            self._keyring.set_password(SERVICE, USERNAME, login.token.reveal())
        except Exception as exc:
            raise StoreError(
                f"the OS keyring ({type(self._keyring).name}) refused the token ({type(exc).__name__}); "
                "set THRIFTY_KEYRING=0 to store it in a 0600 file instead"
            ) from None
        _write_private(self.login_file, _metadata(login))
        # One login at a time: an older file-stored token must not resurface after logout.
        with contextlib.suppress(FileNotFoundError):
            self.credentials_file.unlink()

    def delete(self) -> bool:
        removed = False
        if self._keyring is not None:
            try:
                if self._keyring.get_password(SERVICE, USERNAME) is not None:
                    self._keyring.delete_password(SERVICE, USERNAME)
                    removed = True
            except Exception as exc:
                raise StoreError(
                    f"the OS keyring ({type(self._keyring).name}) could not delete the token "
                    f"({type(exc).__name__})"
                ) from None
        for path in (self.credentials_file, self.login_file):
            try:
                path.unlink()
                removed = True
            except FileNotFoundError:
                pass
        return removed

    def _load_file(self) -> StoredLogin | None:
        data = _read_json(self.credentials_file)
        if data is None:
            return None
        token = data.get("token")
        if not isinstance(token, str) or not token.strip():
            raise StoreError(f"{self.credentials_file} is corrupt (no token); {FIX}")
        plan, created_at = _parse_metadata(data, self.credentials_file)
        return StoredLogin(Secret(token.strip()), plan, created_at)

    def _load_keyring(self) -> StoredLogin | None:
        assert self._keyring is not None
        where = f"OS keyring ({type(self._keyring).name})"
        try:
            token = self._keyring.get_password(SERVICE, USERNAME)
        except Exception as exc:
            raise StoreError(f"the {where} could not be read ({type(exc).__name__}); {FIX}") from None
        data = _read_json(self.login_file)
        if token is None and data is None:
            return None
        if token is None or not token.strip():
            raise StoreError(f"{self.login_file} has no matching token in the {where}; {FIX}")
        if data is None:
            raise StoreError(f"the {where} holds a thrifty token but {self.login_file} is missing; {FIX}")
        plan, created_at = _parse_metadata(data, self.login_file)
        return StoredLogin(Secret(token.strip()), plan, created_at)
