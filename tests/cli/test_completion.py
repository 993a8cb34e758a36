"""``thrifty completion bash|zsh|fish``: the bash script is loaded into a real bash and asked
for completions the way bash's ``complete -F`` asks (``COMP_WORDS``/``COMP_CWORD``); zsh and
fish scripts are syntax-checked by their shells where those are installed.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from thrifty.cli.completion import tree
from thrifty.cli.help_text import VIEWS

#: Reads the script, sets COMP_WORDS from "$1" (a trailing space: a new, empty word) and prints
#: what _thrifty offers, one per line.
ASK = """
source "$SCRIPT"
read -ra COMP_WORDS <<< "$1"
if [[ "$1" == *" " ]]; then COMP_WORDS+=(""); fi
COMP_CWORD=$(( ${#COMP_WORDS[@]} - 1 ))
_thrifty
printf '%s\\n' "${COMPREPLY[@]}"
"""


def script(shell: str) -> str:
    result = subprocess.run(
        [sys.executable, "-m", "thrifty", "completion", shell],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def bash_script(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("completion") / "thrifty.bash"
    path.write_text(script("bash"))
    return path


def offered(bash_script: Path, line: str) -> list[str]:
    result = subprocess.run(
        ["bash", "-c", ASK, "ask", line],
        env={**os.environ, "SCRIPT": str(bash_script)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    return [word for word in result.stdout.splitlines() if word]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("thrifty usa", ["usage"]),
        ("thrifty usage da", ["daily"]),
        ("thrifty usage --mo", ["--mode"]),
        ("thrifty usage --mode ", ["api", "plan", "batch"]),
        ("thrifty usage daily --ord", ["--order"]),
        ("thrifty usage daily --order ", ["asc", "desc"]),
        ("thrifty batch su", ["submit"]),
        ("thrifty batch submit --dry", ["--dry-run"]),
        ("thrifty --output-format ", ["text", "json", "stream-json"]),
        ("thrifty completion ", ["bash", "zsh", "fish"]),
        ("thrifty advise -", None),
    ],
)
def test_bash_completes_commands_views_flags_and_choices(
    bash_script: Path, line: str, expected: list[str] | None
) -> None:
    got = offered(bash_script, line)
    if expected is None:  # every advise flag, including the short ones
        assert {"-j", "-s", "--json", "--since", "--compact", "--plan"} <= set(got)
    else:
        assert got == expected


def test_bash_offers_every_command_and_every_view(bash_script: Path) -> None:
    from thrifty.cli.commands import COMMANDS

    assert set(COMMANDS) <= set(offered(bash_script, "thrifty "))
    assert set(VIEWS) <= set(offered(bash_script, "thrifty usage "))


def test_the_script_follows_the_parsers() -> None:
    nodes = tree()
    assert "--last" in nodes["usage"].flags and "-j" in nodes["usage"].flags
    assert nodes["usage"].values["--order"] == ["asc", "desc"]
    assert "fleet run" in nodes and "--concurrency" in nodes["fleet run"].flags


@pytest.mark.parametrize("shell", ["zsh", "fish"])
def test_zsh_and_fish_scripts_parse(shell: str, tmp_path: Path) -> None:
    text = script(shell)
    assert "usage" in text and "daily" in text and "compact" in text
    if shutil.which(shell) is None:
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(f"{shell} is missing; CI installs it (scripts/ensure-packages.sh)")
        pytest.skip(f"{shell} is not installed here: only the script's content is checked")
    path = tmp_path / f"thrifty.{shell}"
    path.write_text(text)
    result = subprocess.run([shell, "-n", str(path)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
