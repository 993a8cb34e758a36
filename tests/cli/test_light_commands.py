"""What ``thrifty --version``, ``status`` and ``usage`` load, and what a ``-p`` run's client does
not load: startup is paid on every invocation (bench/startup_bench.py measures it).

Each command runs in a subprocess as ``python -m thrifty`` would run it (``runpy``), and writes
``sys.modules`` as it exits: every module loaded, however it was imported. No timings are
asserted; only module names.
"""

from __future__ import annotations

import ssl
import subprocess
import sys
from pathlib import Path

import pytest

from tests.cli.conftest import Cli
from thrifty.billing import auth

#: Never needed to print a version, a status or an empty report.
HEAVY = (
    "anthropic",
    "pydantic",
    "pydantic_core",
    "jsonschema",
    "yaml",
    "httpx",
    "httpx2",
    "httpcore",
    "httpcore2",
)

#: ``python -c PROBE OUT ARGS...``: ``python -m thrifty ARGS...`` that writes sys.modules to OUT.
PROBE = """
import atexit, runpy, sys
out = sys.argv[1]
atexit.register(lambda: open(out, "w").write("\\n".join(sorted(sys.modules))))
sys.argv = ["thrifty", *sys.argv[2:]]
runpy.run_module("thrifty", run_name="__main__", alter_sys=True)
"""


def imported(cli: Cli, *args: str, ok: tuple[int, ...] = (0,), **env: str) -> set[str]:
    """The modules loaded by the time ``thrifty ARGS`` exits."""
    out = cli.home / "modules.txt"
    result = subprocess.run(
        [sys.executable, "-c", PROBE, str(out), *args],
        cwd=cli.cwd,
        env=cli.env(**env),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode in ok, result.stderr[-2000:]
    names = set(out.read_text().splitlines())
    assert "thrifty.cli.main" in names  # the probe itself works
    return names


def heavy(names: set[str]) -> list[str]:
    return sorted(name for name in names if name.split(".")[0] in HEAVY)


def test_version_imports_almost_nothing(cli: Cli) -> None:
    names = imported(cli, "--version")
    assert heavy(names) == []
    # Not the billing config, the crash reporter or argparse either: just the version string.
    assert not [name for name in names if name.startswith(("thrifty.billing", "thrifty.agent"))]
    assert "argparse" not in names
    assert "thrifty.cli.crash" not in names


@pytest.mark.parametrize("key", [True, False], ids=["api-key", "no-credential"])
def test_status_loads_no_client_schema_or_yaml(cli: Cli, key: bool) -> None:
    env = {} if key else {"ANTHROPIC_API_KEY": "", "THRIFTY_CLAUDE_PATH": str(cli.home / "no-claude")}
    names = imported(cli, "status", ok=(0, 1), **env)
    assert "thrifty.cli.status" in names
    assert heavy(names) == []


def test_usage_daily_on_an_empty_ledger_loads_no_client_schema_or_yaml(cli: Cli) -> None:
    names = imported(cli, "usage", "daily")
    assert "thrifty.cli.usage" in names
    assert heavy(names) == []


def test_usage_daily_json_loads_no_client_schema_or_yaml(cli: Cli) -> None:
    names = imported(cli, "usage", "daily", "--json")
    assert heavy(names) == []


def test_api_run_loads_neither_jsonschema_nor_yaml_nor_the_sdk_client(cli: Cli) -> None:
    """A plain ``-p`` run has no --json-schema, custom tool or rule frontmatter to check, and its
    requests go through thrifty's own streaming client, not the ``anthropic`` SDK."""
    names = imported(cli, "-p", "hi")
    assert "thrifty.agent.wire.client" in names  # the probe saw the run reach the client
    assert not [name for name in names if name.split(".")[0] == "anthropic"]
    assert not [name for name in names if name.split(".")[0] in ("jsonschema", "yaml")]


def test_api_run_that_calls_no_tool_loads_no_pydantic(cli: Cli) -> None:
    """The tools' definitions are stored and their modules imported only when a tool is called:
    pydantic (and every tool module) is most of a cold start otherwise."""
    names = imported(cli, "-p", "hi")
    assert "thrifty.agent.wire.client" in names  # the probe saw the run reach the client
    assert not [name for name in names if name.split(".")[0] in ("pydantic", "pydantic_core")]
    assert "thrifty.tools.read" not in names
    assert "thrifty.tools.inputs" not in names


def test_api_run_that_calls_read_loads_it_and_pydantic(cli: Cli) -> None:
    (cli.cwd / "notes.txt").write_text("a note\n")
    read = {"tool_use": {"name": "Read", "input": {"file_path": str(cli.cwd / "notes.txt")}}}
    cli.sim.set_script([read, {"text": "Read it."}])
    names = imported(cli, "-p", "read notes.txt")
    assert {"thrifty.tools.read", "pydantic"} <= names
    assert "thrifty.tools.bash" not in names  # only the tool called
    sent = cli.sim.message_requests()[1].body["messages"][2]["content"][0]
    assert "a note" in str(sent["content"])


def test_plain_http_endpoint_loads_no_ca_bundle(cli: Cli, tmp_path: Path) -> None:
    """The simulator is ``http://``: a CA file that cannot be loaded must not matter to it."""
    bogus = tmp_path / "not-a-ca-bundle.pem"
    bogus.write_text("this is not a certificate\n")
    assert cli.sim.base_url.startswith("http://")
    run = cli("-p", "hi", env=cli.env(SSL_CERT_FILE=str(bogus)))
    assert run.code == 0, run.stderr
    assert "simulator" in run.stdout


def test_http_context_verifies_but_trusts_no_ca() -> None:
    ctx = auth.client_tls_context("http://127.0.0.1:8787")
    assert ctx.verify_mode == ssl.CERT_REQUIRED
    assert ctx.check_hostname
    assert ctx.cert_store_stats()["x509_ca"] == 0
    assert auth.client_tls_context("HTTP://localhost") is ctx  # built once per process


def test_https_endpoint_still_honours_ssl_cert_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    bogus = tmp_path / "broken-bundle.pem"
    bogus.write_text("this is not a certificate\n")
    monkeypatch.setenv("SSL_CERT_FILE", str(bogus))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    with pytest.raises(ssl.SSLError):
        auth.client_tls_context("https://api.anthropic.com")


def test_https_endpoint_loads_the_ca_file_it_is_given(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    cafile = ssl.get_default_verify_paths().cafile
    if cafile is None:
        pytest.skip("no system CA file to point SSL_CERT_FILE at")
    copy = tmp_path / "bundle.pem"
    copy.write_bytes(Path(cafile).read_bytes())
    monkeypatch.setenv("SSL_CERT_FILE", str(copy))
    monkeypatch.delenv("SSL_CERT_DIR", raising=False)
    ctx = auth.client_tls_context("https://api.anthropic.com")
    assert ctx.cert_store_stats()["x509_ca"] > 0
