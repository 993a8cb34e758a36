"""``thrifty reconcile`` as a user runs it: thrifty's own calls land in a real SQLite ledger, other
calls go straight to the simulator with the official SDK, and the simulator's Admin API reports
(its own billing log) are the bill the ledger is compared with."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import anthropic

from tests.cli.conftest import Cli, Run

SONNET = "claude-sonnet-5-5"
HAIKU = "claude-haiku-5-5"


def reconcile(cli: Cli, *args: str, key: str | None = None, **env: str) -> Run:
    admin = {"ANTHROPIC_ADMIN_KEY": cli.sim.admin_key if key is None else key}
    return cli("reconcile", *args, env=cli.env(COLUMNS="200", **admin, **env))


def thrifty_call(cli: Cli, model: str = SONNET, prompt: str = "hello") -> None:
    run = cli("-p", prompt, "--model", model)
    assert run.code == 0, run.stderr


def outside_call(cli: Cli, model: str, *, plan: bool = False) -> Any:
    client = cli.sim.client(plan=plan, max_retries=0)
    return client.messages.create(
        model=model, max_tokens=64, messages=[{"role": "user", "content": "outside"}]
    )


def no_secret(cli: Cli, *runs: Run) -> None:
    for run in runs:
        assert cli.sim.admin_key not in run.stdout + run.stderr


def test_everything_through_thrifty_matches(cli: Cli) -> None:
    thrifty_call(cli, SONNET)
    thrifty_call(cli, SONNET, "again")
    thrifty_call(cli, HAIKU)
    text = reconcile(cli, "--since", "7d", "--tolerance", "0")
    assert text.code == 0, text.stderr
    assert "match" in text.stdout and "within tolerance" in text.stdout
    assert "missing-locally" not in text.stdout
    # Into a pipe the table keeps every column whole (a model id is never cut to "claude-so…").
    # Into a pipe the table keeps every column whole, whatever COLUMNS says.
    narrow = cli("reconcile", env=cli.env(COLUMNS="80", ANTHROPIC_ADMIN_KEY=cli.sim.admin_key))
    rows = [line for line in narrow.stdout.splitlines() if SONNET in line]
    assert rows and all("match" in row for row in rows), narrow.stdout
    doc = reconcile(cli, "--json", "--tolerance", "0")
    assert doc.code == 0, doc.stderr
    body = doc.json
    assert body["within_tolerance"] is True
    assert {(line["model"], line["status"]) for line in body["lines"]} == {
        (SONNET, "match"),
        (HAIKU, "match"),
    }
    sonnet = next(line for line in body["lines"] if line["model"] == SONNET)
    assert sonnet["local"]["calls"] == 2
    assert sonnet["local"]["total_tokens"] == sonnet["remote"]["total_tokens"] > 0
    assert sonnet["local"]["cost"] == sonnet["remote"]["cost"]
    assert Decimal(sonnet["difference"]["cost"]) == 0
    no_secret(cli, text, doc)


def test_calls_made_outside_thrifty_are_missing_locally_and_fail_the_tolerance(cli: Cli) -> None:
    thrifty_call(cli, SONNET)
    same = outside_call(cli, SONNET)
    other = outside_call(cli, HAIKU)
    outside_call(cli, HAIKU, plan=True)  # a plan's usage is not on the organisation's bill
    run = reconcile(cli, "--json", "--tolerance", "0")
    assert run.code == 2, run.stderr
    body = run.json
    assert body["within_tolerance"] is False
    lines = {line["model"]: line for line in body["lines"]}
    assert lines[SONNET]["status"] == "missing-locally"
    assert lines[SONNET]["difference"]["output_tokens"] == -same.usage.output_tokens
    assert lines[HAIKU]["status"] == "missing-locally"
    assert lines[HAIKU]["local"] is None
    assert lines[HAIKU]["remote"]["output_tokens"] == other.usage.output_tokens  # the plan call is not there
    assert lines[HAIKU]["remote"]["input_tokens"] == other.usage.input_tokens
    assert body["counts"]["missing-locally"] == 2
    text = reconcile(cli, "--tolerance", "0")
    assert text.code == 2
    assert "missing-locally" in text.stdout and "NOT within tolerance" in text.stdout
    no_secret(cli, run, text)


def test_json_shape(cli: Cli) -> None:
    thrifty_call(cli)
    body = reconcile(cli, "--json", "--since", "2d").json
    assert set(body) == {
        "since",
        "until",
        "ledger",
        "base_url",
        "tolerance",
        "within_tolerance",
        "counts",
        "lines",
        "totals",
    }
    assert body["tolerance"] == "1%"
    assert body["since"].endswith("T00:00:00Z") and body["until"].endswith("T00:00:00Z")
    assert set(body["counts"]) == {
        "match",
        "missing-locally",
        "over-counted",
        "missing-remotely",
        "unattributed",
    }
    (line,) = body["lines"]
    assert set(line) == {"day", "model", "service_tier", "status", "local", "remote", "difference"}
    sides = {
        "input_tokens",
        "output_tokens",
        "cache_write_tokens",
        "cache_read_tokens",
        "total_tokens",
        "cost",
    }
    assert set(line["remote"]) == sides
    assert set(line["local"]) == {*sides, "calls"}
    assert isinstance(line["local"]["cost"], str)  # exact decimal strings, never floats
    assert line["service_tier"] == "standard"
    assert set(body["totals"]) == {"local", "remote", "difference"}


def test_without_an_admin_key_it_says_what_to_set(cli: Cli) -> None:
    run = reconcile(cli, key="")
    assert run.code == 1
    assert run.stdout == ""
    assert run.stderr.count("\n") == 1
    assert "ANTHROPIC_ADMIN_KEY" in run.stderr and "sk-ant-admin" in run.stderr


def test_a_model_api_key_is_refused_in_one_line_without_echoing_it(cli: Cli) -> None:
    run = reconcile(cli, key=cli.sim.api_key)
    assert run.code == 1
    assert run.stderr.startswith("error: the Admin API refused ANTHROPIC_ADMIN_KEY (401 authentication_error")
    assert run.stderr.count("\n") == 1
    assert cli.sim.api_key not in run.stdout + run.stderr


def test_an_unreachable_api_is_one_line(cli: Cli) -> None:
    run = reconcile(cli, "--base-url", "http://127.0.0.1:9")
    assert run.code == 1
    assert run.stderr.startswith("error: cannot reach the Admin API at http://127.0.0.1:9")
    assert run.stderr.count("\n") == 1
    no_secret(cli, run)


def test_the_key_cannot_be_given_on_the_command_line(cli: Cli) -> None:
    run = reconcile(cli, "--admin-key", cli.sim.admin_key)
    assert run.code == 1
    assert "unrecognized arguments" in run.stderr
    helped = cli("help", "reconcile")
    assert helped.code == 0
    assert "ANTHROPIC_ADMIN_KEY" in helped.stdout and "--admin-key" not in helped.stdout


def test_bad_arguments_are_one_line_errors(cli: Cli) -> None:
    for args in (["--tolerance", "lots"], ["--since", "someday"], ["--since", "2030-01-01"]):
        run = reconcile(cli, *args)
        assert run.code == 1, args
        assert run.stderr.startswith("error: ") and run.stderr.count("\n") == 1


def test_the_sdk_sees_the_simulators_admin_key_refused_for_messages(cli: Cli) -> None:
    client = anthropic.Anthropic(base_url=cli.sim.base_url, api_key=cli.sim.admin_key, max_retries=0)
    try:
        client.messages.create(model=SONNET, max_tokens=8, messages=[{"role": "user", "content": "hi"}])
    except anthropic.AuthenticationError as exc:
        assert exc.status_code == 401
    else:  # pragma: no cover - the assertion is the point
        raise AssertionError("an Admin API key must not call the Messages API")


def test_a_refused_start_loads_no_http_client(cli: Cli) -> None:
    """Reading the key, the period and the tolerance needs neither ``httpx2`` nor the SDK: only a
    reconciliation that goes on to the Admin API loads its client."""
    from tests.cli.test_light_commands import heavy, imported

    names = imported(cli, "reconcile", ok=(1,), ANTHROPIC_ADMIN_KEY="")
    assert "thrifty.cli.reconcile_cmd" in names
    assert heavy(names) == []
