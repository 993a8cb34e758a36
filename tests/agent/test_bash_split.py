"""The shell splitter: every simple command must come out, and doubt must show as a flag."""

from __future__ import annotations

import pytest

from thrifty.agent.bash.split import split_command


def texts(command: str) -> list[str]:
    return [c.text for c in split_command(command).commands]


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("git diff; rm -rf x", ["git diff", "rm -rf x"]),
        ("a && b || c", ["a", "b", "c"]),
        ("a|b|&c", ["a", "b", "c"]),
        ("a & b", ["a", "b"]),
        ("a\nb\n\nc", ["a", "b", "c"]),
        ("a;b", ["a", "b"]),
        ("(a; b) && { c; }", ["a", "b", "{ c", "}"]),
        ("  ls   -la  ", ["ls -la"]),
    ],
)
def test_operators_separate_commands(command: str, expected: list[str]) -> None:
    assert texts(command) == expected


@pytest.mark.parametrize(
    "command",
    ["git diff -- 'a;b'", 'git diff -- "a && b"', "git diff -- a\\;b", "echo $'x;y\\'z'", "echo 'a\nb'"],
)
def test_quoted_or_escaped_operators_are_arguments(command: str) -> None:
    parsed = split_command(command)
    assert parsed.error is None
    assert len(parsed.commands) == 1


def test_words_keep_their_text_and_lose_their_quotes() -> None:
    cmd = split_command('grep -e \'a b\' "c\\"d" e\\ f').commands[0]
    assert cmd.argv == ("grep", "-e", "a b", 'c"d', "e f")
    assert cmd.text == 'grep -e \'a b\' "c\\"d" e\\ f'


def test_line_continuation_joins_words() -> None:
    assert split_command("git di\\\nff").commands[0].argv == ("git", "diff")


@pytest.mark.parametrize(
    ("command", "expected"),
    [
        ("echo # ; rm x", ["echo"]),
        ("echo a#b", ["echo a#b"]),
        ("echo $# ${#x}", ["echo $# ${#x}"]),
        ("ls;#x\npwd", ["ls", "pwd"]),
        # No line continuation inside a comment: the newline ends it and rm is a command.
        ("git diff # note \\\nrm x", ["git diff", "rm x"]),
        ("git diff # it's\nrm x", ["git diff", "rm x"]),
    ],
)
def test_comments_run_to_the_end_of_the_line(command: str, expected: list[str]) -> None:
    parsed = split_command(command)
    assert parsed.error is None
    assert [c.text for c in parsed.commands] == expected


@pytest.mark.parametrize(
    ("command", "op", "fd", "target", "writes"),
    [
        ("cmd > out", ">", None, "out", True),
        ("cmd >> out", ">>", None, "out", True),
        ("cmd 2>err", ">", "2", "err", True),
        ("cmd 2>&1", ">&", "2", "1", False),
        ("cmd >&2", ">&", None, "2", False),
        ("cmd >&file", ">&", None, "file", True),
        ("cmd &> all", "&>", None, "all", True),
        ("cmd >| clobber", ">|", None, "clobber", True),
        ("cmd <> rw", "<>", None, "rw", True),
        ("cmd < in", "<", None, "in", False),
    ],
)
def test_redirections(command: str, op: str, fd: str | None, target: str, writes: bool) -> None:
    cmd = split_command(command).commands[0]
    assert cmd.argv == ("cmd",)
    (redirect,) = cmd.redirects
    assert (redirect.op, redirect.fd, redirect.writes_file) == (op, fd, writes)
    assert redirect.target is not None and redirect.target.value == target


def test_a_digit_separated_from_the_operator_is_an_argument() -> None:
    cmd = split_command("echo 2 >x").commands[0]
    assert cmd.argv == ("echo", "2")
    assert cmd.redirects[0].fd is None


@pytest.mark.parametrize(
    "command",
    ["echo $(id)", "echo `id`", 'echo "$(id)"', "diff <(ls) >(cat)", "echo $((1+2))", "echo $[$(id)]"],
)
def test_substitution_is_flagged(command: str) -> None:
    assert split_command(command).substitution


@pytest.mark.parametrize("command", ["echo '$(id)'", "echo '`id`'", "echo \\$(id)", "echo $HOME ${HOME}"])
def test_literal_dollars_are_not_substitution(command: str) -> None:
    parsed = split_command(command)
    assert not parsed.substitution
    assert parsed.error is None


def test_commands_inside_substitutions_are_parsed_and_marked_nested() -> None:
    parsed = split_command("echo $(rm -rf x; ls `whoami`)")
    nested = {c.text: c.nested for c in parsed.commands}
    assert nested == {
        "echo $(rm -rf x; ls `whoami`)": False,
        "rm -rf x": True,
        "ls `whoami`": True,
        "whoami": True,
    }
    assert [c.text for c in parsed.top_level] == ["echo $(rm -rf x; ls `whoami`)"]


@pytest.mark.parametrize(
    "command", ["sh -c 'rm -rf x'", "bash -lc 'rm -rf x'", "/bin/zsh -e -c 'rm -rf x'", "eval 'rm -rf x'"]
)
def test_shell_strings_are_parsed_too(command: str) -> None:
    assert "rm -rf x" in texts(command)


def test_here_document_bodies_are_data() -> None:
    parsed = split_command("cat <<EOF > notes.txt\nrm -rf x; ls\nEOF\necho done")
    assert [c.text for c in parsed.commands] == ["cat", "echo done"]
    assert not parsed.substitution
    assert parsed.error is None


def test_unquoted_here_document_expands_substitutions() -> None:
    parsed = split_command("cat <<EOF\n$(rm -rf x)\nEOF")
    assert parsed.substitution
    assert "rm -rf x" in [c.text for c in parsed.commands]


def test_quoted_here_document_does_not_expand() -> None:
    parsed = split_command("cat <<'EOF'\n$(rm -rf x)\nEOF")
    assert not parsed.substitution
    assert parsed.error is None


def test_tab_stripping_here_document() -> None:
    parsed = split_command("cat <<-END\n\tbody\n\tEND\nls")
    assert [c.text for c in parsed.commands] == ["cat", "ls"]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("echo 'open", "single quote"),
        ('echo "open', "double quote"),
        ("echo `open", "backquote"),
        ("echo $(open", "substitution"),
        ("echo >", "no target"),
        ("cat <<EOF\nbody", "not terminated"),
        ("echo ${x:-'}'}", "complex"),
        ("echo a\x00b", "NUL"),
        ("cat <<EOF\nx\\\nEOF\ngit diff '\nEOF\nrm x\n'", "continuation"),
    ],
)
def test_unparseable_lines_report_an_error(command: str, message: str) -> None:
    error = split_command(command).error
    assert error is not None
    assert message in error


def test_a_quote_inside_a_parameter_expansion_cannot_hide_a_newline() -> None:
    # Bash reads ``'}'`` as quoted inside ${...}, so the newline after it ends the command and
    # ``rm`` runs; a scanner closing the expansion at the first brace would see one long echo.
    parsed = split_command("echo ${x:-'}'}\nrm -rf x\necho '")
    assert parsed.error is not None


def test_ansi_c_quotes_are_decoded() -> None:
    assert split_command("printf $'a\\tb\\n'").commands[0].argv == ("printf", "a\tb\n")
