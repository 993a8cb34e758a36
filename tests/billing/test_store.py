"""The stored plan login: keyring when one is real, else a 0600 file written atomically."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import keyring
import keyring.backends.fail
import keyring.backends.null
import pytest
from keyring.backend import KeyringBackend
from keyring.errors import PasswordDeleteError, PasswordSetError

from thrifty.billing import store as store_module
from thrifty.billing.plan_presets import PRESETS, custom_plan
from thrifty.billing.secret import Secret
from thrifty.billing.store import CredentialStore, StoredLogin, StoreError

TOKEN = "sk-ant-oat01-store-test-token-" + "s" * 20


class MemoryKeyring(KeyringBackend):
    """A real backend class, registered through keyring's own plug-in point."""

    priority = 5  # type: ignore[assignment]

    def __init__(self) -> None:
        super().__init__()  # type: ignore[no-untyped-call]
        self.items: dict[tuple[str, str], str] = {}

    def get_password(self, service: str, username: str) -> str | None:
        return self.items.get((service, username))

    def set_password(self, service: str, username: str, password: str) -> None:
        self.items[(service, username)] = password

    def delete_password(self, service: str, username: str) -> None:
        if self.items.pop((service, username), None) is None:
            raise PasswordDeleteError("not found")


class RefusingKeyring(MemoryKeyring):
    def set_password(self, service: str, username: str, password: str) -> None:
        raise PasswordSetError("locked")


@pytest.fixture
def use_keyring() -> Iterator[object]:
    previous = keyring.get_keyring()

    def install(backend: KeyringBackend) -> KeyringBackend:
        keyring.set_keyring(backend)
        return backend

    yield install
    keyring.set_keyring(previous)


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {"THRIFTY_CONFIG_DIR": str(tmp_path / "config"), "THRIFTY_DATA_DIR": str(tmp_path / "data")}


def login(plan: str = "max-5x", token: str = TOKEN) -> StoredLogin:
    return StoredLogin(Secret(token), PRESETS[plan], datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC))


def mode_of(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_file_store_round_trip_with_private_permissions(env: dict[str, str], use_keyring) -> None:
    use_keyring(keyring.backends.fail.Keyring())  # type: ignore[no-untyped-call]
    store = CredentialStore(env)
    assert not store.uses_keyring and store.load() is None and not store.exists()
    store.save(login())
    path = Path(env["THRIFTY_CONFIG_DIR"]) / "credentials.json"
    assert store.location == str(path)
    assert mode_of(path) == 0o600 and mode_of(path.parent) == 0o700
    loaded = store.load()
    assert loaded is not None and store.exists()
    assert loaded.token.reveal() == TOKEN and loaded.plan == PRESETS["max-5x"]
    assert loaded.created_at == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert TOKEN not in repr(loaded)


def test_permissions_do_not_depend_on_the_umask(env: dict[str, str]) -> None:
    old = os.umask(0)
    try:
        CredentialStore({**env, "THRIFTY_KEYRING": "0"}).save(login())
    finally:
        os.umask(old)
    path = Path(env["THRIFTY_CONFIG_DIR"]) / "credentials.json"
    assert mode_of(path) == 0o600 and mode_of(path.parent) == 0o700


def test_the_token_is_never_on_disk_readable_by_others(env: dict[str, str], monkeypatch) -> None:
    """Checked at the moment the bytes are flushed, before the rename makes them visible."""
    env["THRIFTY_KEYRING"] = "0"
    store = CredentialStore(env)
    store.save(login("pro"))
    seen: list[tuple[int, str]] = []
    real_fsync = os.fsync

    def spying_fsync(fd: int) -> None:
        seen.append((stat.S_IMODE(os.fstat(fd).st_mode), store.credentials_file.read_text()))
        real_fsync(fd)

    monkeypatch.setattr(store_module.os, "fsync", spying_fsync)
    store.save(login("max-20x"))
    assert len(seen) == 1
    mode, visible = seen[0]
    assert mode == 0o600
    assert json.loads(visible)["plan"]["name"] == "pro"  # the old file stays whole until the rename


def test_a_failed_write_keeps_the_old_login_and_leaves_no_temp_file(env: dict[str, str], monkeypatch) -> None:
    env["THRIFTY_KEYRING"] = "0"
    store = CredentialStore(env)
    store.save(login("pro"))

    def failing_fsync(fd: int) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(store_module.os, "fsync", failing_fsync)
    with pytest.raises(OSError):
        store.save(login("max-20x"))
    assert sorted(p.name for p in store.directory.iterdir()) == ["credentials.json"]
    loaded = store.load()
    assert loaded is not None and loaded.plan.name == "pro"


@pytest.mark.parametrize(
    ("content", "why"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a JSON object"),
        (
            json.dumps({"plan": PRESETS["pro"].to_dict(), "createdAt": "2026-01-01T00:00:00+00:00"}),
            "no token",
        ),
        (
            json.dumps({"token": TOKEN, "plan": {"name": "x"}, "createdAt": "2026-01-01T00:00:00"}),
            "plan.label",
        ),
        (json.dumps({"token": TOKEN, "plan": PRESETS["pro"].to_dict(), "createdAt": "yesterday"}), "Invalid"),
    ],
)
def test_a_corrupt_file_is_one_line_naming_the_file_and_the_fix(
    env: dict[str, str], content: str, why: str
) -> None:
    env["THRIFTY_KEYRING"] = "0"
    store = CredentialStore(env)
    store.directory.mkdir(parents=True)
    store.credentials_file.write_text(content)
    with pytest.raises(StoreError) as info:
        store.load()
    message = str(info.value)
    assert "\n" not in message and TOKEN not in message
    assert str(store.credentials_file) in message and why in message
    assert "run `thrifty logout` then `thrifty login`" in message
    assert store.delete() and store.load() is None


def test_delete_reports_whether_anything_was_removed(env: dict[str, str]) -> None:
    store = CredentialStore({**env, "THRIFTY_KEYRING": "0"})
    assert store.delete() is False
    store.save(login())
    assert store.delete() is True
    assert store.delete() is False and not store.credentials_file.exists()


def test_custom_plans_survive_the_round_trip(env: dict[str, str]) -> None:
    plan = custom_plan(five_hour_tokens=123, weekly_tokens=4567, monthly_fee_usd="42.50")
    store = CredentialStore({**env, "THRIFTY_KEYRING": "0"})
    store.save(StoredLogin(Secret(TOKEN), plan, datetime.now(UTC)))
    loaded = store.load()
    assert loaded is not None and loaded.plan == plan and loaded.plan.estimate is False


def test_keyring_holds_the_token_and_the_file_only_metadata(env: dict[str, str], use_keyring) -> None:
    backend = use_keyring(MemoryKeyring())
    store = CredentialStore(env)
    assert store.uses_keyring and store.location == "OS keyring (test store MemoryKeyring)"
    store.save(login())
    assert backend.items == {("thrifty", "plan-login"): TOKEN}
    assert not store.credentials_file.exists()
    assert TOKEN not in store.login_file.read_text() and mode_of(store.login_file) == 0o600
    loaded = store.load()
    assert loaded is not None and loaded.token.reveal() == TOKEN and loaded.plan.name == "max-5x"
    assert store.delete() is True
    assert backend.items == {} and not store.login_file.exists()
    assert store.delete() is False and store.load() is None


def test_keyring_can_be_turned_off(env: dict[str, str], use_keyring) -> None:
    backend = use_keyring(MemoryKeyring())
    store = CredentialStore({**env, "THRIFTY_KEYRING": "0"})
    store.save(login())
    assert not store.uses_keyring and backend.items == {} and store.credentials_file.exists()


@pytest.mark.parametrize("backend", [keyring.backends.fail.Keyring, keyring.backends.null.Keyring])
def test_placeholder_backends_fall_back_to_the_file(env: dict[str, str], use_keyring, backend) -> None:
    use_keyring(backend())
    store = CredentialStore(env)
    store.save(login())
    assert not store.uses_keyring and store.credentials_file.exists()


def test_a_file_login_from_before_keyring_is_still_found(env: dict[str, str], use_keyring) -> None:
    CredentialStore({**env, "THRIFTY_KEYRING": "0"}).save(login("team"))
    use_keyring(MemoryKeyring())
    store = CredentialStore(env)
    loaded = store.load()
    assert store.uses_keyring and loaded is not None and loaded.plan.name == "team"
    assert store.delete() is True and store.load() is None


def test_half_a_keyring_login_is_an_error_with_the_fix(env: dict[str, str], use_keyring) -> None:
    backend = use_keyring(MemoryKeyring())
    store = CredentialStore(env)
    store.save(login())
    backend.items.clear()
    with pytest.raises(StoreError, match=r"no matching token.*thrifty logout"):
        store.load()
    store.save(login())
    store.login_file.unlink()
    with pytest.raises(StoreError, match=r"login\.json is missing"):
        store.load()


def test_a_refusing_keyring_says_how_to_use_the_file(env: dict[str, str], use_keyring) -> None:
    use_keyring(RefusingKeyring())
    with pytest.raises(StoreError, match="THRIFTY_KEYRING=0") as info:
        CredentialStore(env).save(login())
    assert TOKEN not in str(info.value)
