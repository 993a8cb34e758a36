"""thrifty's own billing config: which mode to bill, where the ledger lives, budgets, plan windows,
and the user's own prices (``"prices"``: model -> USD per million tokens, as in ``prices.json``).

This is deliberately separate from Claude's settings files, which thrifty reads for
compatibility and must not grow keys of its own. Two files, merged key by key:

- user: ``config_dir()/config.json``;
- project: ``.thrifty.json`` in the working directory or the nearest parent, searching up to and
  including the repository root (the first directory holding ``.git``). Outside a repository
  only the working directory is looked at, so a stray file in ``$HOME`` cannot silently pin
  every project.

Precedence, highest first: command-line flag > environment (``THRIFTY_BILLING_MODE``,
``THRIFTY_LEDGER``) > project file > user file. The mode pin and the ledger remember where their
value came from, because "why is this billed to my plan?" is answered by naming that place.

Every problem with either file (unreadable, not UTF-8, not JSON, a key of the wrong shape) is one
``ConfigError`` line naming the file and what is wrong; the CLI prints it as ``error: ...`` with
exit 1 and the SDK raises it as ``SetupError``. A file that does not exist is no problem.

``"plan"``: the user's Claude plan, billing cycle and Agent SDK credit settings, parsed into
``BillingConfig.plan`` (a ``thrifty.billing.plan_settings.PlanSettings``; its docstring has the
format). The blocks of both files merge key by key; a block that sets ``name`` starts the plan over.
"""

from __future__ import annotations

import json
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING, Any

from thrifty.billing.paths import config_dir
from thrifty.billing.prices import PRICE_FIELDS, ModelPrice, model_price
from thrifty.core import jsonfile

if TYPE_CHECKING:
    from thrifty.billing.plan_settings import PlanSettings

MODES = ("api", "plan")
BUDGET_MODES = ("api", "plan", "batch")
#: ``total`` counts a scope's whole life (every row since the ledger began): a fleet's budget.
BUDGET_PERIODS = ("daily", "monthly", "total")
#: ``budgets`` keys besides the modes: ``project:<name>``, ``tag:<key>=<value>``, ``account:<label>``.
BUDGET_SCOPES = ("project", "tag", "account")
PROJECT_FILE = ".thrifty.json"
USER_FILE = "config.json"
KEYS = ("billingMode", "ledger", "project", "budgets", "planWindows", "prices", "plan")
#: What a price override may say: the bundled table's fields, plus ``tiers`` as there.
PRICE_KEYS = (*PRICE_FIELDS, "tiers")
TIER_KEYS = ("above", *PRICE_FIELDS)
DEFAULT_WARN_AT = 0.8


class ConfigError(ValueError):
    """One line naming the file, the key and what is allowed."""


@dataclass(frozen=True)
class Budget:
    """A scope's caps in USD (``None``: no cap for that period)."""

    daily: Decimal | None = None
    monthly: Decimal | None = None
    #: A cap on everything the scope ever spent, whatever the calendar (a fleet, a project's grant).
    total: Decimal | None = None

    def periods(self) -> list[tuple[str, Decimal]]:
        """The caps that are set, as ``(period, cap)`` in ``BUDGET_PERIODS`` order."""
        caps = ((p, getattr(self, p)) for p in BUDGET_PERIODS)
        return [(period, cap) for period, cap in caps if cap is not None]


@dataclass(frozen=True)
class PlanWindows:
    #: Warn when a plan window's utilization reaches this fraction.
    warn_at: float = DEFAULT_WARN_AT
    #: Stop starting new requests at this fraction; ``None`` lets the server decide (429).
    stop_at: float | None = None


@dataclass(frozen=True)
class BillingConfig:
    #: ``(mode, where)``, e.g. ``("plan", "--billing-mode")``; ``None`` when nothing pins it.
    mode_pin: tuple[str, str] | None = None
    #: ``(path or URL, where)``; ``None`` means the default ledger under the data dir.
    ledger: tuple[str, str] | None = None
    project: str | None = None
    #: Caps by mode (``api``, ``plan``, ``batch``) and by scope (``project:payments``,
    #: ``tag:team=infra``, ``account:ANTHROPIC_API_KEY``), as written in ``"budgets"``.
    budgets: Mapping[str, Budget] = field(default_factory=dict)
    plan_windows: PlanWindows = field(default_factory=PlanWindows)
    #: The files that were read, lowest precedence first (for ``thrifty status``).
    files: tuple[Path, ...] = ()
    #: The user's price overrides: model id -> (price, the file that set it). A project file's
    #: entry for a model replaces the user file's entry for it as a whole.
    prices: Mapping[str, tuple[ModelPrice, str]] = field(default_factory=dict)
    #: Where the user file is (read or not), for messages that tell the user where to write.
    user_file: Path | None = None
    #: The ``"plan"`` block: plan, billing cycle day, Agent SDK credit settings; ``None`` if absent.
    plan: PlanSettings | None = None


def _present(path: Path) -> bool:
    """Whether a config file is there to read; one that is there but cannot be used is an error.

    A file that cannot be looked at (permission denied on its directory) or is not a regular file
    is refused rather than skipped: skipping it could drop a budget cap or a billing-mode pin.
    """
    try:
        mode = path.stat().st_mode
    except (FileNotFoundError, NotADirectoryError):
        return False
    except OSError as exc:
        raise ConfigError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    if not stat.S_ISREG(mode):
        raise ConfigError(f"{path}: not a regular file")
    return True


def _is_repo_root(directory: Path) -> bool:
    try:
        return (directory / ".git").exists()
    except OSError:  # an unreadable parent only narrows the search
        return False


def find_project_file(cwd: Path) -> Path | None:
    start = Path(cwd).absolute()
    chain = [start, *start.parents]
    root = next((i for i, d in enumerate(chain) if _is_repo_root(d)), None)
    for directory in chain[: root + 1] if root is not None else chain[:1]:
        candidate = directory / PROJECT_FILE
        if _present(candidate):
            return candidate
    return None


def user_config_file(environ: Mapping[str, str]) -> Path:
    return config_dir(environ) / USER_FILE


def _read(path: Path) -> dict[str, Any]:
    try:
        data = jsonfile.read_object(path, ConfigError)
    except FileNotFoundError:  # removed between the look and the read
        return {}
    for key in data:
        if key not in KEYS:
            raise ConfigError(f"{path}: unknown key {key!r}; allowed: {', '.join(KEYS)}")
    return data


def _mode(value: Any, where: str) -> str:
    if value not in MODES:
        raise ConfigError(f'{where} must be "api" or "plan", got {json.dumps(value)}')
    return str(value)


def _text(value: Any, where: str) -> str:
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{where} must be a non-empty string")
    return value.strip()


def _amount(value: Any, where: str) -> Decimal | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ConfigError(f'{where} must be an amount in USD like "5.00", or null')
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise ConfigError(f'{where} must be an amount in USD like "5.00", got {json.dumps(value)}') from None
    if not amount.is_finite() or amount < 0:
        raise ConfigError(f"{where} must be a non-negative amount in USD, got {json.dumps(value)}")
    return amount


def _fraction(value: Any, where: str, *, nullable: bool) -> float | None:
    if value is None and nullable:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 < value <= 1:
        allowed = "a fraction in (0, 1] like 0.8" + (", or null" if nullable else "")
        raise ConfigError(f"{where} must be {allowed}, got {json.dumps(value)}")
    return float(value)


def _ledger(value: Any, where: str, base: Path) -> str:
    text = _text(value, where)
    if "://" in text:
        return text
    try:
        path = Path(text).expanduser()
    except RuntimeError:  # "~someone" for a user this machine does not know
        raise ConfigError(f"{where}: cannot expand {text!r} (no such user's home directory)") from None
    # A relative path means relative to the file that says it, not to wherever thrifty runs.
    return str((base / path).absolute())


def load_billing_config(
    cwd: Path,
    environ: Mapping[str, str],
    *,
    flag_mode: str | None = None,
    flag_ledger: str | None = None,
) -> BillingConfig:
    cwd = Path(cwd).absolute()
    layers: list[tuple[Path, dict[str, Any]]] = []
    user = user_config_file(environ)
    if _present(user):
        layers.append((user, _read(user)))
    project_file = find_project_file(cwd)
    if project_file is not None:
        layers.append((project_file, _read(project_file)))

    mode_pin: tuple[str, str] | None = None
    ledger: tuple[str, str] | None = None
    project: str | None = None
    budgets: dict[str, dict[str, Decimal | None]] = {}
    windows: dict[str, float | None] = {}
    prices: dict[str, tuple[ModelPrice, str]] = {}
    plan_block: dict[str, Any] = {}
    plan_from: Path | None = None
    for path, data in layers:
        if "billingMode" in data:
            mode_pin = (_mode(data["billingMode"], f"{path}: billingMode"), str(path))
        if "ledger" in data:
            ledger = (_ledger(data["ledger"], f"{path}: ledger", path.parent), str(path))
        if "project" in data:
            project = _text(data["project"], f"{path}: project")
        if "budgets" in data:
            _merge_budgets(budgets, data["budgets"], path)
        if "planWindows" in data:
            _merge_windows(windows, data["planWindows"], path)
        if "prices" in data:
            _merge_prices(prices, data["prices"], path)
        if "plan" in data:
            # Loaded only where a config has a plan block: an API run never needs the presets.
            from thrifty.billing.plan_settings import check_block, merge_blocks

            try:
                check_block(data["plan"])
            except ValueError as exc:
                raise ConfigError(f"{path}: {exc}") from None
            merge_blocks(plan_block, data["plan"])
            plan_from = path

    env_mode = environ.get("THRIFTY_BILLING_MODE", "").strip()
    if env_mode:
        mode_pin = (_mode(env_mode, "THRIFTY_BILLING_MODE"), "THRIFTY_BILLING_MODE")
    env_ledger = environ.get("THRIFTY_LEDGER", "").strip()
    if env_ledger:
        ledger = (_ledger(env_ledger, "THRIFTY_LEDGER", cwd), "THRIFTY_LEDGER")
    if flag_mode is not None:
        mode_pin = (_mode(flag_mode, "--billing-mode"), "--billing-mode")
    if flag_ledger is not None:
        ledger = (_ledger(flag_ledger, "--ledger", cwd), "--ledger")

    plan = None
    if plan_from is not None:
        try:
            from thrifty.billing.plan_settings import PlanSettings

            plan = PlanSettings.from_dict(plan_block)
        except ValueError as exc:
            raise ConfigError(f"{plan_from}: {exc}") from None

    warn_at = windows.get("warnAt")
    return BillingConfig(
        mode_pin=mode_pin,
        ledger=ledger,
        project=project,
        budgets={m: Budget(v.get("daily"), v.get("monthly"), v.get("total")) for m, v in budgets.items()},
        plan_windows=PlanWindows(
            warn_at=DEFAULT_WARN_AT if warn_at is None else warn_at, stop_at=windows.get("stopAt")
        ),
        files=tuple(path for path, _ in layers),
        prices=prices,
        user_file=user,
        plan=plan,
    )


def _merge_budgets(into: dict[str, dict[str, Decimal | None]], value: Any, path: Path) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f'{path}: budgets must be an object like {{"api": {{"daily": "5.00"}}}}')
    for mode, periods in value.items():
        if mode not in BUDGET_MODES:
            _check_scope(mode, path)
        if not isinstance(periods, dict):
            raise ConfigError(f'{path}: budgets.{mode} must be an object like {{"daily": "5.00"}}')
        for period, amount in periods.items():
            if period not in BUDGET_PERIODS:
                raise ConfigError(
                    f"{path}: budgets.{mode}.{period} is not a period; allowed: {', '.join(BUDGET_PERIODS)}"
                )
            into.setdefault(mode, {})[period] = _amount(amount, f"{path}: budgets.{mode}.{period}")


SCOPE_FORMS = "project:<name>, tag:<key>=<value>, account:<label>"


def _check_scope(key: str, path: Path) -> None:
    """A ``budgets`` key other than a mode must name a scope: ``project:``, ``tag:k=v``, ``account:``."""
    kind, colon, rest = key.partition(":")
    if not colon or kind not in BUDGET_SCOPES:
        raise ConfigError(
            f"{path}: budgets.{key} is not a mode; allowed: {', '.join(BUDGET_MODES)}, "
            f"or a scope {SCOPE_FORMS}"
        )
    if not rest.strip() or rest != rest.strip():
        raise ConfigError(
            f"{path}: budgets.{key} names no {kind} (or has spaces around it); e.g. {kind}:payments"
        )
    if kind == "tag":
        tag, eq, _value = rest.partition("=")
        if not eq or not tag or '"' in tag or "\\" in tag:
            raise ConfigError(
                f"{path}: budgets.{key} must be tag:<key>=<value> (as given to --tag; no quote or "
                "backslash in the key), e.g. tag:team=infra"
            )


def _merge_windows(into: dict[str, float | None], value: Any, path: Path) -> None:
    if not isinstance(value, dict):
        raise ConfigError(f'{path}: planWindows must be an object like {{"warnAt": 0.8, "stopAt": null}}')
    for key, item in value.items():
        if key == "warnAt":
            into[key] = _fraction(item, f"{path}: planWindows.warnAt", nullable=False)
        elif key == "stopAt":
            into[key] = _fraction(item, f"{path}: planWindows.stopAt", nullable=True)
        else:
            raise ConfigError(f"{path}: planWindows.{key} is not a key; allowed: warnAt, stopAt")


PRICE_EXAMPLE = '{"my-model": {"input": "3", "output": "15"}}'


def _merge_prices(into: dict[str, tuple[ModelPrice, str]], value: Any, path: Path) -> None:
    """``"prices": {model: {"input": "3", "output": "15", ...}}``, USD per million tokens."""
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: prices must be an object like {PRICE_EXAMPLE} (USD per million tokens)")
    for model, raw in value.items():
        if not model.strip():
            raise ConfigError(f"{path}: prices has an empty model id")
        into[model] = (model_price(_price(raw, f"{path}: prices.{model}", PRICE_KEYS)), str(path))


def _price(raw: Any, where: str, allowed: tuple[str, ...]) -> dict[str, Any]:
    """Check one price object (or tier) and return it in ``prices.json`` shape for ``model_price``."""
    if not isinstance(raw, dict):
        raise ConfigError(f'{where} must be an object like {{"input": "3", "output": "15"}}')
    for key in raw:
        if key not in allowed:
            raise ConfigError(f"{where}.{key} is not a price field; allowed: {', '.join(allowed)}")
    for key in ("input", "output"):
        if key not in raw:
            raise ConfigError(f'{where}.{key} is required (USD per million tokens, like "3")')
    out: dict[str, Any] = {}
    for key, item in raw.items():
        if key == "tiers":
            out[key] = _tiers(item, f"{where}.tiers")
        elif key == "above":
            if isinstance(item, bool) or not isinstance(item, int) or item < 0:
                raise ConfigError(
                    f"{where}.above must be a whole number of prompt tokens, got {json.dumps(item)}"
                )
            out[key] = item
        else:
            amount = _amount(item, f"{where}.{key}")
            if amount is None:
                raise ConfigError(
                    f'{where}.{key} must be an amount in USD per million tokens like "3", not null'
                )
            out[key] = str(amount)
    return out


def _tiers(value: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(value, list):
        raise ConfigError(
            f'{where} must be a list like [{{"above": 200000, "input": "6", "output": "22.50"}}]'
        )
    tiers = []
    for i, tier in enumerate(value):
        checked = _price(tier, f"{where}[{i}]", TIER_KEYS)
        if "above" not in checked:
            raise ConfigError(f"{where}[{i}].above is required (prompt tokens above which the tier applies)")
        tiers.append(checked)
    return tiers
