"""``thrifty sim serve`` and ``thrifty demo`` as a user runs them: subprocesses."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import anthropic

THRIFTY = [sys.executable, "-m", "thrifty"]


def clean_env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ANTHROPIC_")}
    env["PYTHONUNBUFFERED"] = "1"
    return env


def test_sim_serve_answers_the_official_sdk(tmp_path: Path) -> None:
    script = tmp_path / "s.yaml"
    script.write_text("turns:\n  - text: served from a subprocess\n")
    proc = subprocess.Popen(
        [*THRIFTY, "sim", "serve", "--port", "0", "--script", str(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=clean_env(),
    )
    try:
        assert proc.stdout is not None
        first = proc.stdout.readline()
        assert first.startswith("thrifty simulator listening on http://127.0.0.1:")
        base_url = first.rsplit(" ", 1)[1].strip()
        api_key = proc.stdout.readline().split(":", 1)[1].strip()
        client = anthropic.Anthropic(base_url=base_url, api_key=api_key)
        reply = client.messages.create(
            model="claude-sonnet-5-5", max_tokens=32, messages=[{"role": "user", "content": "hi"}]
        )
        assert reply.content[0].text == "served from a subprocess"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_sim_serve_bad_script_is_one_line_and_exit_1(tmp_path: Path) -> None:
    script = tmp_path / "s.yaml"
    script.write_text("turns:\n  - txet: typo\n")
    result = subprocess.run(
        [*THRIFTY, "sim", "serve", "--port", "0", "--script", str(script)],
        capture_output=True,
        text=True,
        env=clean_env(),
        timeout=30,
    )
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and "txet" in lines[0]
    assert "Traceback" not in result.stderr


def test_unknown_flag_is_one_line_and_exit_1() -> None:
    result = subprocess.run([*THRIFTY, "sim", "serve", "--nope"], capture_output=True, text=True, timeout=30)
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "unrecognized arguments: --nope" in result.stderr


def test_demo_runs_offline_without_a_key(tmp_path: Path) -> None:
    # A user whose config pins plan billing still gets the demo, and its spend stays out of their ledger.
    (tmp_path / "config").mkdir()
    (tmp_path / "config" / "config.json").write_text('{"billingMode": "plan"}')
    env = {
        **clean_env(),
        "THRIFTY_CONFIG_DIR": str(tmp_path / "config"),
        "THRIFTY_DATA_DIR": str(tmp_path / "data"),
    }
    result = subprocess.run([*THRIFTY, "demo"], capture_output=True, text=True, env=env, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "[simulated]" in result.stdout
    assert "nothing was billed" in result.stdout
    # a real run: the tools executed against the scratch project and the meter priced it
    assert "- [x] simulator" in result.stdout and "tool result: 3" in result.stdout
    assert "would cost $0.0" in result.stdout
    assert "throwaway ledger (4 rows)" in result.stdout
    assert not (tmp_path / "data").exists()
