"""A budget cap that cannot be checked does not pass: ``thrifty -p`` with a model the price table
does not know, under a cap, stops before any request; a price in config lets it run and meters it.

The simulator here knows ``acme-model-1`` (a model thrifty has no price for), so without the
refusal the run would go through and its cost would count as $0 against the cap.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from tests.cli.conftest import Cli
from tests.cli.test_stream_input import control, responses, stream, user
from thrifty.billing.ledger import RowQuery, open_ledger
from thrifty.billing.prices import bundled_prices
from thrifty.testing import Simulator
from thrifty.testing.models import ModelCatalog, ModelSpec

UNKNOWN = "acme-model-1"
LOOP = {"tool_use": {"name": "Bash", "input": {"command": "echo spend"}}}


@pytest.fixture
def cli(tmp_path: Path) -> Iterator[Cli]:
    """Like the shared fixture, but the simulator also serves a model thrifty has no price for."""
    project, home = tmp_path / "project", tmp_path / "home"
    project.mkdir()
    home.mkdir()
    catalog = ModelCatalog([*ModelCatalog.load().specs, ModelSpec(UNKNOWN, "Acme 1", "2026-01-01T00:00:00Z")])
    with Simulator(catalog=catalog) as sim:
        yield Cli(sim, project, home)


def write_json(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data))
    return path


def rows(cli: Cli) -> list[Any]:
    ledger = open_ledger(str(cli.ledger_path))
    try:
        return ledger.query(RowQuery())
    finally:
        ledger.close()


def test_an_unpriced_model_under_the_run_cap_is_refused_before_any_request(cli: Cli) -> None:
    cli.sim.set_script([LOOP] * 100)
    run = cli("-p", "spend", "--model", UNKNOWN, "--max-budget-usd", "0.01", "--allowedTools", "Bash")
    assert run.code == 1
    assert run.stdout == ""
    assert run.stderr.splitlines() == [
        f"error: model '{UNKNOWN}' has no known price, so the run's maximum budget ($0.01) cannot be "
        f"checked; give it a price in .thrifty.json or {cli.config_dir / 'config.json'}, e.g. "
        f'"prices": {{"{UNKNOWN}": {{"input": "3", "output": "15"}}}} (USD per million tokens)'
    ]
    assert cli.sim.message_requests() == []


def test_an_unpriced_model_under_a_daily_cap_is_refused_before_any_request(cli: Cli) -> None:
    write_json(cli.cwd / ".thrifty.json", {"budgets": {"api": {"daily": "5"}}})
    run = cli("-p", "hi", "--model", UNKNOWN, "--output-format", "json")
    assert run.code == 1 and run.stdout == ""
    [line] = run.stderr.splitlines()
    assert line.startswith(f"error: model '{UNKNOWN}' has no known price, so the daily api budget ($5.00)")
    assert cli.sim.message_requests() == []
    # a cap for another mode is not in force for an api run
    write_json(cli.cwd / ".thrifty.json", {"budgets": {"plan": {"daily": "5"}}})
    cli.sim.set_script([{"text": "ok"}])
    assert cli("-p", "hi", "--model", UNKNOWN).code == 0


def test_without_a_cap_an_unpriced_model_runs_and_its_cost_is_unknown(cli: Cli) -> None:
    cli.sim.set_script([{"text": "fine"}])
    run = cli("-p", "hi", "--model", UNKNOWN, "--output-format", "json")
    assert run.code == 0, run.stderr
    assert run.json["result"] == "fine"
    assert run.json["modelUsage"][UNKNOWN]["costBasis"] == "unknown"
    [row] = rows(cli)
    assert row.model == UNKNOWN and row.cost_usd is None


def test_a_price_in_config_lets_the_run_go_on_and_meters_it(cli: Cli) -> None:
    project_file = write_json(
        cli.cwd / ".thrifty.json", {"prices": {UNKNOWN: {"input": "3", "output": "15", "cache_read": "0.3"}}}
    )
    cli.sim.set_script([{"text": "priced"}])
    run = cli("-p", "hi", "--model", UNKNOWN, "--max-budget-usd", "1", "--output-format", "json")
    assert run.code == 0, run.stderr
    assert run.json["modelUsage"][UNKNOWN]["costBasis"] == "list"
    [row] = rows(cli)
    w5, w1 = row.cache_write_5m_tokens, row.cache_write_1h_tokens
    expected = (
        Decimal(row.input_tokens) * 3
        + Decimal(row.output_tokens) * 15
        + Decimal(w5) * Decimal("3.75")
        + Decimal(w1) * 6
        + Decimal(row.cache_read_tokens) * Decimal("0.3")
    ) / 1_000_000
    assert expected > 0 and row.cost_usd == expected
    assert row.price_version == f"override:{project_file}"
    assert Decimal(str(run.json["total_cost_usd"])) == pytest.approx(expected)
    status = cli("status", "--json").json
    assert status["priceOverrides"] == {UNKNOWN: str(project_file)}


def test_a_price_in_the_user_config_works_too_and_status_shows_it(cli: Cli) -> None:
    prices = {"prices": {UNKNOWN: {"input": "1", "output": "1"}}}
    user_file = write_json(cli.config_dir / "config.json", prices)
    cli.sim.set_script([{"text": "ok"}])
    run = cli("-p", "hi", "--model", UNKNOWN, "--max-budget-usd", "1")
    assert run.code == 0, run.stderr
    [row] = rows(cli)
    assert row.cost_usd is not None and row.price_version == f"override:{user_file}"
    text = cli("status", env=cli.env(ANTHROPIC_MODEL=UNKNOWN)).stdout
    assert f"Model:         {UNKNOWN} (price: override:{user_file})" in text
    assert f"Price:         {UNKNOWN} from {user_file}" in text
    assert "(price: prices.json " + bundled_prices().version + ")" in cli("status").stdout


def test_a_bad_price_is_one_line_naming_the_file_and_key(cli: Cli) -> None:
    path = write_json(cli.cwd / ".thrifty.json", {"prices": {UNKNOWN: {"input": "three", "output": "15"}}})
    run = cli("-p", "hi", "--model", UNKNOWN)
    assert run.code == 1
    assert run.stderr.splitlines() == [
        f'error: {path}: prices.{UNKNOWN}.input must be an amount in USD like "5.00", got "three"'
    ]
    assert cli.sim.message_requests() == []


def test_switching_to_an_unpriced_model_under_a_cap_is_refused(cli: Cli) -> None:
    cli.sim.set_script([{"text": "still sonnet"}])
    run = stream(
        cli,
        control("m", "set_model", model=UNKNOWN),
        user("go"),
        args=("--max-budget-usd", "1"),
    )
    assert run.code == 0, run.stderr
    answer = responses(run)["m"]
    assert answer["subtype"] == "error"
    refusal = f"model '{UNKNOWN}' has no known price, so the run's maximum budget ($1) cannot be checked"
    assert answer["error"].startswith(refusal)
    assert [r.body["model"] for r in cli.sim.message_requests()] == ["claude-sonnet-5-5"]
    assert run.lines[-1]["subtype"] == "success"
