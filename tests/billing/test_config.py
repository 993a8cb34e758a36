"""thrifty's own config: where each value comes from, and one clear line when a file is wrong."""

from __future__ import annotations

import json
import os
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from thrifty.billing.config import Budget, ConfigError, PlanWindows, find_project_file, load_billing_config


@pytest.fixture
def home(tmp_path: Path) -> Path:
    (tmp_path / "config").mkdir()
    return tmp_path


@pytest.fixture
def env(home: Path) -> dict[str, str]:
    return {"THRIFTY_CONFIG_DIR": str(home / "config"), "THRIFTY_DATA_DIR": str(home / "data")}


@pytest.fixture
def repo(home: Path) -> Path:
    root = home / "work" / "repo"
    (root / ".git").mkdir(parents=True)
    (root / "src" / "pkg").mkdir(parents=True)
    return root


def write(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, bytes):
        path.write_bytes(data)
    else:
        path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


def user_file(env: dict[str, str], data: Any) -> Path:
    return write(Path(env["THRIFTY_CONFIG_DIR"]) / "config.json", data)


def test_defaults_without_any_file(env: dict[str, str], repo: Path) -> None:
    config = load_billing_config(repo, env)
    assert config.mode_pin is None and config.ledger is None and config.project is None
    assert config.budgets == {} and config.plan_windows == PlanWindows(0.8, None) and config.files == ()


def test_precedence_flag_over_env_over_project_over_user(env: dict[str, str], repo: Path) -> None:
    user = user_file(env, {"billingMode": "api", "ledger": "/ledgers/user.sqlite3"})
    assert load_billing_config(repo, env).mode_pin == ("api", str(user))
    project = write(repo / ".thrifty.json", {"billingMode": "plan", "ledger": "/ledgers/project.sqlite3"})
    config = load_billing_config(repo, env)
    assert config.mode_pin == ("plan", str(project))
    assert config.ledger == ("/ledgers/project.sqlite3", str(project))
    assert config.files == (user, project)
    env.update(THRIFTY_BILLING_MODE="api", THRIFTY_LEDGER="postgresql://db/ledger")
    config = load_billing_config(repo, env)
    assert config.mode_pin == ("api", "THRIFTY_BILLING_MODE")
    assert config.ledger == ("postgresql://db/ledger", "THRIFTY_LEDGER")
    config = load_billing_config(repo, env, flag_mode="plan", flag_ledger="/tmp/flag.sqlite3")
    assert config.mode_pin == ("plan", "--billing-mode")
    assert config.ledger == ("/tmp/flag.sqlite3", "--ledger")


def test_empty_environment_values_are_unset(env: dict[str, str], repo: Path) -> None:
    project = write(repo / ".thrifty.json", {"billingMode": "plan"})
    env.update(THRIFTY_BILLING_MODE=" ", THRIFTY_LEDGER="")
    assert load_billing_config(repo, env).mode_pin == ("plan", str(project))


def test_project_file_is_found_up_to_the_repository_root(env: dict[str, str], repo: Path) -> None:
    deep = repo / "src" / "pkg"
    write(repo.parent / ".thrifty.json", {"billingMode": "api"})  # outside the repo: never read
    assert find_project_file(deep) is None
    at_root = write(repo / ".thrifty.json", {"billingMode": "plan"})
    assert find_project_file(deep) == at_root
    nearer = write(repo / "src" / ".thrifty.json", {"billingMode": "api"})
    assert load_billing_config(deep, env).mode_pin == ("api", str(nearer))


def test_a_git_file_marks_a_worktree_root(env: dict[str, str], home: Path) -> None:
    root = home / "worktree"
    write(root / ".git", "gitdir: /elsewhere\n")
    write(home / ".thrifty.json", {"billingMode": "api"})
    (root / "sub").mkdir()
    assert find_project_file(root / "sub") is None


def test_outside_a_repository_only_the_working_directory_counts(env: dict[str, str], home: Path) -> None:
    write(home / ".thrifty.json", {"billingMode": "plan"})
    child = home / "scratch"
    child.mkdir()
    assert load_billing_config(child, env).mode_pin is None
    assert load_billing_config(home, env).mode_pin == ("plan", str(home / ".thrifty.json"))


def test_relative_ledger_paths_are_relative_to_whoever_said_them(env: dict[str, str], repo: Path) -> None:
    project = write(repo / ".thrifty.json", {"ledger": "costs/ledger.sqlite3"})
    deep = repo / "src" / "pkg"
    assert load_billing_config(deep, env).ledger == (str(repo / "costs" / "ledger.sqlite3"), str(project))
    env["THRIFTY_LEDGER"] = "mine.sqlite3"
    assert load_billing_config(deep, env).ledger == (str(deep / "mine.sqlite3"), "THRIFTY_LEDGER")
    config = load_billing_config(deep, env, flag_ledger="sqlite:///x.db")
    assert config.ledger == ("sqlite:///x.db", "--ledger")


def test_budgets_and_windows_merge_key_by_key(env: dict[str, str], repo: Path) -> None:
    user_file(
        env,
        {
            "project": "user-default",
            "budgets": {"api": {"daily": "5.00", "monthly": 100}, "batch": {"monthly": 20.5}},
            "planWindows": {"warnAt": 0.9, "stopAt": 1.0},
        },
    )
    write(
        repo / ".thrifty.json",
        {
            "project": "thrifty",
            "budgets": {"api": {"daily": "2.50"}, "plan": {"daily": None}},
            "planWindows": {},
        },
    )
    config = load_billing_config(repo, env)
    assert config.project == "thrifty"
    assert config.budgets == {
        "api": Budget(daily=Decimal("2.50"), monthly=Decimal("100")),
        "batch": Budget(monthly=Decimal("20.5")),
        "plan": Budget(),
    }
    assert config.plan_windows == PlanWindows(warn_at=0.9, stop_at=1.0)
    write(repo / ".thrifty.json", {"planWindows": {"stopAt": None}})
    assert load_billing_config(repo, env).plan_windows == PlanWindows(warn_at=0.9, stop_at=None)


BAD_FILES = [
    ("{oops", "not valid JSON (line 1"),
    (b'{"project": "caf\xe9"}', "not UTF-8 text (byte 0xe9 at offset 16)"),
    (b"\xff\xfe{\x00}\x00", "not UTF-8 text (byte 0xff at offset 0)"),
    ("[" * 100_000 + "]" * 100_000, "not valid JSON (nested too deeply)"),
    ("[]", "must be a JSON object"),
    ({"billingmode": "plan"}, "unknown key 'billingmode'; allowed: billingMode"),
    ({"billingMode": "free"}, 'billingMode must be "api" or "plan", got "free"'),
    ({"billingMode": None}, 'billingMode must be "api" or "plan", got null'),
    ({"ledger": ""}, "ledger must be a non-empty string"),
    ({"ledger": 3}, "ledger must be a non-empty string"),
    ({"project": ["x"]}, "project must be a non-empty string"),
    ({"budgets": []}, "budgets must be an object"),
    ({"budgets": {"subscription": {}}}, "budgets.subscription is not a mode; allowed: api, plan, batch"),
    ({"budgets": {"api": 5}}, "budgets.api must be an object"),
    ({"budgets": {"api": {"weekly": 5}}}, "budgets.api.weekly is not a period; allowed: daily, monthly"),
    (
        {"budgets": {"api": {"daily": "five"}}},
        'budgets.api.daily must be an amount in USD like "5.00", got "five"',
    ),
    ({"budgets": {"api": {"daily": -1}}}, "budgets.api.daily must be a non-negative amount"),
    ({"budgets": {"api": {"daily": "NaN"}}}, "budgets.api.daily must be a non-negative amount"),
    ({"budgets": {"api": {"daily": True}}}, "budgets.api.daily must be an amount in USD"),
    ({"planWindows": 0.8}, "planWindows must be an object"),
    ({"planWindows": {"warnAt": 80}}, "planWindows.warnAt must be a fraction in (0, 1] like 0.8, got 80"),
    ({"planWindows": {"warnAt": None}}, "planWindows.warnAt must be a fraction"),
    (
        {"planWindows": {"stopAt": "1"}},
        'planWindows.stopAt must be a fraction in (0, 1] like 0.8, or null, got "1"',
    ),
    ({"planWindows": {"resetAt": 1}}, "planWindows.resetAt is not a key; allowed: warnAt, stopAt"),
]


@pytest.mark.parametrize(("content", "message"), BAD_FILES)
@pytest.mark.parametrize("where", ["user", "project"])
def test_invalid_files_are_one_line_naming_file_and_key(
    env: dict[str, str], repo: Path, where: str, content: Any, message: str
) -> None:
    path = user_file(env, content) if where == "user" else write(repo / ".thrifty.json", content)
    with pytest.raises(ConfigError) as info:
        load_billing_config(repo, env)
    text = str(info.value)
    assert "\n" not in text and text.startswith(f"{path}: ") and message in text


def test_invalid_environment_and_flag_values_name_their_source(env: dict[str, str], repo: Path) -> None:
    with pytest.raises(ConfigError, match=r'^THRIFTY_BILLING_MODE must be "api" or "plan", got "both"$'):
        load_billing_config(repo, {**env, "THRIFTY_BILLING_MODE": "both"})
    with pytest.raises(ConfigError, match=r'^--billing-mode must be "api" or "plan", got "API"$'):
        load_billing_config(repo, env, flag_mode="API")
    with pytest.raises(ConfigError, match=r"^--ledger must be a non-empty string$"):
        load_billing_config(repo, env, flag_ledger=" ")


def test_a_config_error_is_a_value_error() -> None:
    assert issubclass(ConfigError, ValueError)


@pytest.mark.parametrize("where", ["user", "project"])
def test_a_directory_in_place_of_a_file_is_refused(env: dict[str, str], repo: Path, where: str) -> None:
    path = Path(env["THRIFTY_CONFIG_DIR"]) / "config.json" if where == "user" else repo / ".thrifty.json"
    path.mkdir()
    with pytest.raises(ConfigError, match=f"^{path}: not a regular file$"):
        load_billing_config(repo, env)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_is_refused(env: dict[str, str], repo: Path) -> None:
    path = user_file(env, {"budgets": {"api": {"daily": "1"}}})
    path.chmod(0)
    try:
        with pytest.raises(ConfigError, match=r"config\.json: cannot be read \(Permission denied\)$"):
            load_billing_config(repo, env)
    finally:
        path.chmod(0o600)


def test_a_byte_order_mark_is_accepted(env: dict[str, str], repo: Path) -> None:
    write(repo / ".thrifty.json", b'\xef\xbb\xbf{"project": "bom"}')
    assert load_billing_config(repo, env).project == "bom"


def test_a_ledger_under_an_unknown_users_home_is_a_config_error(env: dict[str, str], repo: Path) -> None:
    path = write(repo / ".thrifty.json", {"ledger": "~no-such-user-here-4242/ledger.sqlite3"})
    with pytest.raises(ConfigError, match=f"^{path}: ledger: cannot expand"):
        load_billing_config(repo, env)
