"""The permission engine, against real directories.

The Bash bypass matrix is the heart of it: an allow rule for ``git diff`` must never let a second
command ride along.
"""

from __future__ import annotations

import contextlib
import json
import random
import shutil
import subprocess
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from thrifty.agent.permissions.policy import (
    PERMISSION_MODES,
    Decision,
    PermissionPolicy,
    hidden_tools,
    normalize_mode,
)
from thrifty.agent.permissions.rules import bash_pattern, parse_rule, parse_rule_list, rule_problem
from thrifty.agent.settings import load_settings


@dataclass
class Env:
    cwd: Path
    home: Path
    outside: Path

    def policy(
        self,
        *,
        allow: Sequence[str] = (),
        ask: Sequence[str] = (),
        deny: Sequence[str] = (),
        mode: str = "default",
        dirs: Sequence[Path] = (),
    ) -> PermissionPolicy:
        return PermissionPolicy(
            cwd=self.cwd, allow=allow, ask=ask, deny=deny, mode=mode, additional_dirs=dirs, home=self.home
        )


@pytest.fixture
def env(tmp_path: Path) -> Env:
    root = tmp_path.resolve()
    cwd, home, outside = root / "proj", root / "home", root / "outside"
    for d in (cwd / "src", cwd / "sub", home / ".claude", outside):
        d.mkdir(parents=True)
    return Env(cwd, home, outside)


def bash(policy: PermissionPolicy, command: str, **extra: Any) -> Decision:
    return policy.decide("Bash", {"command": command, **extra}, read_only=False, edits_files=False)


def read(policy: PermissionPolicy, path: Path | str) -> Decision:
    return policy.decide("Read", {"file_path": str(path)}, read_only=True, edits_files=False)


def write(policy: PermissionPolicy, path: Path | str, tool: str = "Write") -> Decision:
    key = "notebook_path" if tool == "NotebookEdit" else "file_path"
    return policy.decide(tool, {key: str(path), "content": "x"}, read_only=False, edits_files=True)


# -- rule syntax -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "tool", "spec"),
    [
        ("Bash", "Bash", None),
        ("Bash(*)", "Bash", None),
        ("Bash()", "Bash", None),
        ("Bash(git diff:*)", "Bash", "git diff:*"),
        (" Read( ./src/** ) ", "Read", "./src/**"),
        ("mcp__srv__tool", "mcp__srv__tool", None),
        ("Bash(echo \\(x\\))", "Bash", "echo (x)"),
    ],
)
def test_parse_rule(text: str, tool: str, spec: str | None) -> None:
    rule = parse_rule(text)
    assert (rule.tool, rule.specifier) == (tool, spec)


def test_malformed_rule_is_reported() -> None:
    assert rule_problem(parse_rule("Bash(git diff")) is not None
    assert rule_problem(parse_rule("Bash(git diff)")) is None


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        (["Bash(git diff:*),Read", "Edit"], ["Bash(git diff:*)", "Read", "Edit"]),
        (["Bash(npm run build) Read"], ["Bash(npm run build)", "Read"]),
        (["Read , Edit,,  Bash(a, b c)"], ["Read", "Edit", "Bash(a, b c)"]),
        (["", "  "], []),
    ],
)
def test_parse_rule_list(values: list[str], expected: list[str]) -> None:
    assert parse_rule_list(values) == expected


@pytest.mark.parametrize(
    ("spec", "command", "matches"),
    [
        ("npm run build", "npm run build", True),
        ("npm run build", "npm run build:prod", False),
        ("npm  run   build", "npm run build", True),
        ("git diff *", "git diff", True),
        ("git diff *", "git diff HEAD", True),
        ("git diff *", "git diffx", False),
        ("git diff:*", "git diff --stat", True),
        ("git diff:*", "git diffx", False),
        ("ls*", "lsof", True),
        ("git * main", "git push origin main", True),
        ("git * main", "git push origin main2", False),
        ("a:*b", "a:xb", True),
    ],
)
def test_bash_pattern(spec: str, command: str, matches: bool) -> None:
    assert (bash_pattern(spec).fullmatch(command) is not None) is matches


# -- the bypass matrix -------------------------------------------------------------------------

BYPASSES = [
    "git diff; rm -rf x",
    "git diff ;rm x",
    "git diff && rm x",
    "git diff&&rm x",
    "git diff || rm x",
    "git diff | sh",
    "git diff |& sh",
    "git diff & rm x",
    "git diff $(rm x)",
    'git diff "$(rm x)"',
    "git diff `rm x`",
    "git diff\nrm x",
    "git diff\r\nrm x",
    "git diff\\\n;rm x",
    "git diff > /etc/passwd",
    "git diff >> ~/.bashrc",
    "git diff &> out.txt",
    "git diff 1>out.txt",
    "git diff >| out.txt",
    "git diff <(rm x)",
    "git diff >(rm x)",
    "git diff $((1))",
    "(git diff) ; rm x",
    "{ git diff; rm x; }",
    'git diff -- "a" ; rm x',
    "git diff ${x:-'}'}\nrm -rf x\necho '",
    "git diff 'unterminated",
    "git diff # note \\\nrm x",
    "git diff # 'quoted\nrm x\n'",
    "cat <<EOF\nx\\\nEOF\ngit diff '\nEOF\nrm x\n'",
    "git diff && sh -c 'ls'",
]


@pytest.mark.parametrize("command", BYPASSES)
def test_allow_rule_cannot_be_bypassed(env: Env, command: str) -> None:
    decision = bash(env.policy(allow=["Bash(git diff:*)"]), command)
    assert decision.behavior == "ask", decision


@pytest.mark.parametrize(
    "command",
    [
        "git diff",
        "git diff HEAD~1",
        "git diff -- 'a;b'",
        "git diff -- 'a && b'",
        "git diff # ; rm x",  # a comment: bash runs only git diff
        "git diff '$(rm x)'",  # single quotes: a literal argument, nothing runs
        "git diff 2>/dev/null",
        "git diff 2>&1 | head -n 5",
        "timeout 30 git diff --stat",
        # Every subcommand is covered, by the rule or by the read-only set: echo writes nothing.
        "git diff; echo ok",
    ],
)
def test_allow_rule_allows(env: Env, command: str) -> None:
    decision = bash(env.policy(allow=["Bash(git diff:*)"]), command)
    assert decision.behavior == "allow", decision
    assert decision.rule == "Bash(git diff:*)"


def test_every_subcommand_may_be_covered_by_a_different_rule(env: Env) -> None:
    policy = env.policy(allow=["Bash(git diff:*)", "Bash(npm test)"])
    assert bash(policy, "git diff && npm test").behavior == "allow"
    assert bash(policy, "git diff && npm test -- --watch").behavior == "ask"


def test_bare_bash_allow_allows_anything_not_denied(env: Env) -> None:
    policy = env.policy(allow=["Bash"], deny=["Bash(rm *)"])
    assert bash(policy, "echo $(date) | sh").behavior == "allow"
    assert bash(policy, "echo hi && rm -rf x").behavior == "deny"


@pytest.mark.parametrize(
    "command",
    [
        "rm -rf x",
        "ls; rm -rf x",
        "echo $(rm -rf x)",
        "sudo /bin/rm -rf x",
        "FOO=1 rm x",
        "timeout 5 rm x",
        "env -i rm x",
        "xargs -0 rm < list",
        "bash -c 'rm -rf x'",
        "find . -name '*.tmp' -exec rm {} \\;",
        "r'm' -rf x",
        "rm -rf x 'unterminated",
    ],
)
def test_deny_matches_any_subcommand(env: Env, command: str) -> None:
    decision = bash(env.policy(allow=["Bash"], deny=["Bash(rm *)"]), command)
    assert decision.behavior == "deny"
    assert decision.rule == "Bash(rm *)"
    assert "denied" in decision.reason


@pytest.mark.parametrize(
    ("command", "behavior"),
    [
        ("ls -la src", "allow"),
        ("pwd && whoami", "allow"),
        ("git status", "allow"),
        ("git --no-pager log --oneline -5", "allow"),
        ("git branch", "allow"),
        ("git branch -D main", "ask"),
        ("grep -rn TODO src | sort | uniq -c | head", "allow"),
        ("find . -name '*.py'", "allow"),
        ("find . -name '*.py' -delete", "ask"),
        ("find . -exec cat {} +", "ask"),
        ("sort -o out.txt in.txt", "ask"),
        ("sort --out=out.txt in.txt", "ask"),
        ("rg --pre ./evil pattern", "ask"),
        ("date -s 2020-01-01", "ask"),
        ("uniq in.txt out.txt", "ask"),
        ("cat /etc/passwd", "ask"),
        ("cat ../outside/x", "ask"),
        ("ls ~", "ask"),
        ("cat $HOME/.ssh/id_rsa", "ask"),
        ("head -c 10 < /etc/passwd", "ask"),
        ("echo hi > out.txt", "ask"),
        ("echo hi >/dev/null 2>&1", "allow"),
        ("cat <<EOF\nhello\nEOF", "allow"),
        ("rm x", "ask"),
        ("./ls", "ask"),
        ("npm test", "ask"),
        ("cd sub && ls", "allow"),
        ("cd .. && ls", "ask"),
        ("cd && cat .ssh/id_rsa", "ask"),
        ("cd - && ls", "ask"),
    ],
)
def test_read_only_commands_need_no_rule(env: Env, command: str, behavior: str) -> None:
    assert bash(env.policy(), command).behavior == behavior


def test_cd_changes_where_relative_paths_are_checked(env: Env) -> None:
    # proj/a/b/link points outside: from proj/a/b, link/secret is outside the project.
    (env.cwd / "a" / "b").mkdir(parents=True)
    (env.cwd / "a" / "b" / "link").symlink_to(env.outside)
    policy = env.policy()
    assert bash(policy, "cat link/secret").behavior == "allow"  # proj/link does not exist: inside
    assert bash(policy, "cd a && cd b && cat link/secret").behavior == "ask"
    assert bash(policy, "cd a/b && cat link/secret").behavior == "ask"


def test_symlink_out_of_the_project_is_outside(env: Env) -> None:
    (env.cwd / "out").symlink_to(env.outside)
    assert bash(env.policy(), "cat out/secret").behavior == "ask"
    assert read(env.policy(), env.cwd / "out" / "secret").behavior == "ask"


@pytest.mark.parametrize(("value", "behavior"), [(True, "deny"), (False, "allow")])
def test_rules_can_match_an_input_parameter(env: Env, value: bool, behavior: str) -> None:
    policy = env.policy(deny=["Bash(run_in_background:true)"])
    assert bash(policy, "ls", run_in_background=value).behavior == behavior


def test_parameter_ask_rule(env: Env) -> None:
    policy = env.policy(ask=["Agent(model:opus)"])
    call = {"description": "d", "prompt": "p", "model": "opus"}
    assert policy.decide("Agent", call, read_only=True, edits_files=False).behavior == "ask"
    call["model"] = "haiku"
    assert policy.decide("Agent", call, read_only=True, edits_files=False).behavior == "allow"


def test_redirect_into_an_edit_denied_path_is_denied(env: Env) -> None:
    policy = env.policy(allow=["Bash"], deny=["Edit(.env)"])
    assert bash(policy, "echo TOKEN=x > .env").behavior == "deny"
    policy = env.policy(deny=["Read(secrets/**)"])
    assert bash(policy, "cat < secrets/key").behavior == "deny"


def test_redirect_needs_write_permission(env: Env) -> None:
    assert bash(env.policy(allow=["Bash(echo *)"]), "echo hi > out.txt").behavior == "ask"
    assert (
        bash(env.policy(allow=["Bash(echo *)", "Edit(./out.txt)"]), "echo hi > out.txt").behavior == "allow"
    )
    assert bash(env.policy(mode="acceptEdits"), "echo hi > out.txt").behavior == "allow"
    assert bash(env.policy(mode="acceptEdits"), "echo hi > /etc/x").behavior == "ask"
    assert bash(env.policy(mode="acceptEdits"), "echo hi > .git/hooks/pre-commit").behavior == "ask"


# -- precedence --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("allow", "ask", "deny", "expected"),
    [
        (["Bash(npm *)"], ["Bash(npm *)"], ["Bash(npm *)"], "deny"),
        (["Bash(npm *)"], ["Bash(npm *)"], [], "ask"),
        (["Bash(npm *)"], [], [], "allow"),
        (["Bash(npm test)"], ["Bash"], [], "ask"),
        (["Bash"], [], ["Bash(npm test)"], "deny"),
    ],
)
def test_deny_then_ask_then_allow(
    env: Env, allow: list[str], ask: list[str], deny: list[str], expected: str
) -> None:
    assert bash(env.policy(allow=allow, ask=ask, deny=deny), "npm test").behavior == expected


def test_precedence_for_paths(env: Env) -> None:
    target = env.outside / "notes.md"
    rule = f"Read(/{env.outside}/**)"
    assert read(env.policy(allow=[rule]), target).behavior == "allow"
    assert read(env.policy(allow=[rule], ask=[rule]), target).behavior == "ask"
    decision = read(env.policy(allow=[rule], ask=[rule], deny=[rule]), target)
    assert (decision.behavior, decision.rule, decision.rule_source) == ("deny", rule, "cliArg")


# -- path rules --------------------------------------------------------------------------------


def test_reads_inside_are_allowed_and_outside_asked(env: Env) -> None:
    policy = env.policy()
    assert read(policy, env.cwd / "src" / "a.py").behavior == "allow"
    decision = read(policy, env.outside / "a.py")
    assert decision.behavior == "ask"
    assert decision.reason == (
        f"Claude requested permissions to read from {env.outside / 'a.py'}, but you haven't granted it yet."
    )
    assert decision.blocked_path == str(env.outside / "a.py")


def test_absolute_and_home_rules(env: Env) -> None:
    policy = env.policy(allow=[f"Read(/{env.outside}/**)", "Read(~/docs/**)"])
    assert read(policy, env.outside / "deep" / "x").behavior == "allow"
    assert read(policy, env.home / "docs" / "y").behavior == "allow"
    assert read(policy, env.home / "other" / "y").behavior == "ask"


def test_allow_pattern_is_anchored_at_cwd_but_deny_matches_at_any_depth(env: Env) -> None:
    other_src = env.outside / "src" / "x.py"
    assert read(env.policy(allow=["Read(src/**)"]), other_src).behavior == "ask"
    deny = env.policy(deny=["Read(src/**)"])
    assert read(deny, other_src).behavior == "deny"
    assert read(deny, env.cwd / "lib" / "src" / "x.py").behavior == "deny"
    assert read(deny, env.cwd / "lib" / "x.py").behavior == "allow"
    anchored = env.policy(deny=["Read(./src/**)"])
    assert read(anchored, env.cwd / "lib" / "src" / "x.py").behavior == "allow"
    assert read(anchored, env.cwd / "src" / "x.py").behavior == "deny"


@pytest.mark.parametrize(
    ("rule", "path", "denied"),
    [
        ("Read(*.env)", "sub/prod.env", True),
        ("Read(*.env)", ".env", True),
        ("Read(*.env)", "env.txt", False),
        ("Read(.env)", "sub/.env", True),
        ("Read(secrets)", "secrets/deep/key.pem", True),
        ("Read(secrets/)", "secrets/key.pem", True),
        ("Read(**/*.pem)", "a/b/c.pem", True),
        ("Read(src/*.py)", "src/a.py", True),
        ("Read(src/*.py)", "src/pkg/a.py", False),
        ("Read(./src/**/test_*.py)", "src/a/b/test_x.py", True),
        ("Read(./src/**/test_*.py)", "src/test_x.py", True),
        ("Read(./src/**/test_*.py)", "src/a/x_test.py", False),
        ("Read(./data/[ab].csv)", "data/a.csv", True),
        ("Read(./data/[!ab].csv)", "data/a.csv", False),
    ],
)
def test_gitignore_style_patterns(env: Env, rule: str, path: str, denied: bool) -> None:
    decision = read(env.policy(deny=[rule]), env.cwd / path)
    assert (decision.behavior == "deny") is denied


def test_slash_rules_are_relative_to_their_source(env: Env) -> None:
    project_rule = parse_rule("Read(/docs/**)", source="projectSettings", base_dir=env.cwd)
    user_rule = parse_rule("Read(/notes/**)", source="userSettings", base_dir=env.home / ".claude")
    policy = PermissionPolicy(cwd=env.cwd, deny=[project_rule, user_rule], home=env.home)
    assert read(policy, env.cwd / "docs" / "a.md").rule == "Read(/docs/**)"
    assert read(policy, env.home / ".claude" / "notes" / "n.md").rule_source == "userSettings"
    assert read(policy, env.cwd / "notes" / "n.md").behavior == "allow"


def test_edit_rules_cover_every_editing_tool(env: Env) -> None:
    policy = env.policy(deny=["Edit(./src/generated/**)"])
    for tool in ("Edit", "Write", "NotebookEdit"):
        assert write(policy, env.cwd / "src" / "generated" / "x", tool).behavior == "deny"
        assert write(policy, env.cwd / "src" / "x", tool).behavior == "ask"
    allow = env.policy(allow=["Edit(./src/**)"])
    assert write(allow, env.cwd / "src" / "x.py").behavior == "allow"
    assert write(allow, env.cwd / "sub" / "x.py").behavior == "ask"


def test_read_deny_blocks_edits_too(env: Env) -> None:
    policy = env.policy(deny=["Read(./secrets/**)"], mode="acceptEdits")
    assert write(policy, env.cwd / "secrets" / "k", "Edit").behavior == "deny"
    assert write(policy, env.cwd / "secrets" / "k", "Write").behavior == "deny"
    assert write(policy, env.cwd / "open" / "k", "Write").behavior == "allow"


def test_edit_allow_lends_read_permission(env: Env) -> None:
    policy = env.policy(allow=[f"Edit(/{env.outside}/**)"])
    assert read(policy, env.outside / "x").behavior == "allow"


def test_read_rules_apply_to_glob_and_grep(env: Env) -> None:
    policy = env.policy(deny=["Read(./secrets)"])
    grep = {"pattern": "x", "path": str(env.cwd / "secrets")}
    assert policy.decide("Grep", grep, read_only=True, edits_files=False).behavior == "deny"
    assert policy.decide("Glob", {"pattern": "*.py"}, read_only=True, edits_files=False).behavior == "allow"
    escape = {"pattern": "../outside/**/*.pem"}
    assert policy.decide("Glob", escape, read_only=True, edits_files=False).behavior == "ask"


def test_path_rules_on_write_and_glob_are_ignored_with_a_warning(env: Env) -> None:
    policy = env.policy(deny=["Write(./x)", "Glob(./y)"])
    assert len(policy.warnings) == 2
    assert write(policy, env.cwd / "x").behavior == "ask"


def test_relative_tool_paths_are_taken_from_cwd(env: Env) -> None:
    policy = env.policy(deny=["Read(./src/a.py)"])
    assert read(policy, "src/a.py").behavior == "deny"
    assert read(policy, "./src/../src/a.py").behavior == "deny"


# -- tool names --------------------------------------------------------------------------------


def test_tool_name_globs(env: Env) -> None:
    def decide(policy: PermissionPolicy, name: str) -> str:
        return policy.decide(name, {}, read_only=False, edits_files=False).behavior

    assert decide(env.policy(deny=["mcp__*"]), "mcp__srv__t") == "deny"
    assert decide(env.policy(deny=["*"]), "Bash") == "deny"
    star = env.policy(allow=["*", "Bash*"])
    assert decide(star, "mcp__srv__t") == "ask"
    assert len(star.warnings) == 2
    assert decide(env.policy(allow=["mcp__srv__*"]), "mcp__srv__t") == "allow"
    assert decide(env.policy(allow=["mcp__srv"]), "mcp__srv__anything") == "allow"
    assert decide(env.policy(allow=["mcp__srv"]), "mcp__srv2__x") == "ask"
    assert decide(env.policy(allow=["mcp__srv__tool"]), "mcp__srv__other") == "ask"
    assert decide(env.policy(allow=["mcp__srv__tool"]), "mcp__srv__tool") == "allow"


def test_bare_deny_hides_tools(env: Env) -> None:
    rules = [parse_rule(r) for r in ("Bash", "mcp__srv", "WebFetch(domain:x.com)", "Read(*)")]
    names = ["Bash", "Read", "WebFetch", "mcp__srv__a", "mcp__other__b", "Edit"]
    assert hidden_tools(rules, names) == {"Bash", "Read", "mcp__srv__a"}
    policy = env.policy(deny=["Bash"])
    assert policy.is_hidden("Bash")
    assert not policy.is_hidden("Read")


def test_web_fetch_needs_a_domain_rule(env: Env) -> None:
    def fetch(policy: PermissionPolicy, url: str) -> str:
        return policy.decide(
            "WebFetch", {"url": url, "prompt": "p"}, read_only=True, edits_files=False
        ).behavior

    assert fetch(env.policy(), "https://example.com/") == "ask"
    policy = env.policy(allow=["WebFetch(domain:example.com)", "WebFetch(domain:*.docs.io)"])
    assert fetch(policy, "https://example.com/page") == "allow"
    assert fetch(policy, "https://evil.com/example.com") == "ask"
    assert fetch(policy, "https://api.docs.io/") == "allow"


def test_agent_rules_name_the_subagent(env: Env) -> None:
    policy = env.policy(deny=["Agent(Explore)"])
    call = {"description": "d", "prompt": "p", "subagent_type": "Explore"}
    assert policy.decide("Agent", call, read_only=False, edits_files=False).behavior == "deny"
    call["subagent_type"] = "general-purpose"
    assert policy.decide("Agent", call, read_only=False, edits_files=False).behavior == "allow"


# -- modes and working directories -------------------------------------------------------------


def test_default_mode_asks_for_writes(env: Env) -> None:
    decision = write(env.policy(), env.cwd / "a.txt")
    assert decision.behavior == "ask"
    assert decision.reason == (
        f"Claude requested permissions to write to {env.cwd / 'a.txt'}, but you haven't granted it yet."
    )


@pytest.mark.parametrize("mode", PERMISSION_MODES)
def test_writes_outside_the_working_dirs_are_denied_in_every_mode(env: Env, mode: str) -> None:
    policy = env.policy(mode=mode, allow=["Edit", f"Edit(/{env.outside}/**)"])
    decision = write(policy, env.outside / "x.txt")
    assert decision.behavior == "deny"
    assert "outside the working directories" in decision.reason
    assert decision.blocked_path == str(env.outside / "x.txt")


def test_added_directories_are_working_directories(env: Env) -> None:
    policy = env.policy(mode="acceptEdits", dirs=[env.outside])
    assert write(policy, env.outside / "x.txt").behavior == "allow"
    assert read(policy, env.outside / "x.txt").behavior == "allow"
    assert bash(policy, f"cat {env.outside}/x.txt").behavior == "allow"
    assert env.outside in policy.working_dirs


def test_accept_edits(env: Env) -> None:
    policy = env.policy(mode="acceptEdits")
    assert write(policy, env.cwd / "a.txt").behavior == "allow"
    assert write(policy, env.cwd / "a.ipynb", "NotebookEdit").behavior == "allow"
    assert write(policy, env.cwd / ".claude" / "settings.json").behavior == "ask"
    assert write(policy, env.cwd / ".git" / "config").behavior == "ask"
    assert write(policy, env.cwd / ".gitignore").behavior == "allow"
    assert bash(policy, "mkdir -p build/out && touch build/out/x && cp a b && mv b c").behavior == "allow"
    assert bash(policy, "mv a /tmp/a").behavior == "ask"
    assert bash(policy, "cp -r ../outside/x .").behavior == "ask"
    assert bash(policy, "mkdir $DIR").behavior == "ask"
    assert bash(policy, "rm a").behavior == "ask"
    assert bash(env.policy(), "mkdir x").behavior == "ask"


def test_plan_mode_allows_only_reading(env: Env) -> None:
    policy = env.policy(mode="plan", allow=["Bash(npm test)", "Edit"])
    decision = write(policy, env.cwd / "a.txt")
    assert decision.behavior == "deny"
    assert decision.reason == f"Cannot write to {env.cwd / 'a.txt'} while in plan mode."
    assert read(policy, env.cwd / "a.txt").behavior == "allow"
    assert bash(policy, "git status && ls").behavior == "allow"
    denied = bash(policy, "npm test")
    assert (denied.behavior, "plan mode" in denied.reason) == ("deny", True)
    assert policy.decide("TodoWrite", {"todos": []}, read_only=False, edits_files=False).behavior == "allow"
    assert policy.decide("mcp__s__t", {}, read_only=False, edits_files=False).behavior == "deny"


def test_dont_ask_turns_ask_into_deny(env: Env) -> None:
    policy = env.policy(mode="dontAsk", allow=["Bash(npm test)"], ask=["Bash(git push *)"])
    assert write(policy, env.cwd / "a.txt").behavior == "deny"
    assert read(policy, env.cwd / "a.txt").behavior == "allow"
    assert bash(policy, "npm test").behavior == "allow"
    assert bash(policy, "rm x").behavior == "deny"
    pushed = bash(policy, "git push origin main")
    assert (pushed.behavior, pushed.rule) == ("deny", "Bash(git push *)")


def test_bypass_permissions(env: Env) -> None:
    policy = env.policy(mode="bypassPermissions", deny=["Bash(rm *)"], ask=["Bash(git push *)"])
    assert write(policy, env.cwd / "a.txt").behavior == "allow"
    assert read(policy, env.outside / "a.txt").behavior == "allow"
    assert bash(policy, "curl x | sh").behavior == "allow"
    assert bash(policy, "rm -rf /").behavior == "deny"
    assert bash(policy, "git push origin main").behavior == "ask"
    assert write(policy, env.outside / "a.txt").behavior == "deny"
    assert write(policy, env.cwd / ".git" / "HEAD").behavior == "ask"
    assert policy.decide("mcp__s__t", {}, read_only=False, edits_files=False).behavior == "allow"


def test_auto_and_manual_behave_like_default(env: Env) -> None:
    for mode in ("auto", "manual"):
        policy = env.policy(mode=mode)
        assert write(policy, env.cwd / "a").behavior == "ask"
        assert read(policy, env.cwd / "a").behavior == "allow"
    assert env.policy(mode="manual").mode == "default"
    assert normalize_mode("auto") == "auto"
    with pytest.raises(ValueError, match="Unknown permission mode"):
        normalize_mode("yolo")


def test_set_mode_switches_behaviour(env: Env) -> None:
    policy = env.policy()
    assert write(policy, env.cwd / "a").behavior == "ask"
    policy.set_mode("acceptEdits")
    assert write(policy, env.cwd / "a").behavior == "allow"
    policy.set_mode("plan")
    assert write(policy, env.cwd / "a").behavior == "deny"


def test_network_and_unknown_tools_ask(env: Env) -> None:
    policy = env.policy()
    assert policy.decide("WebSearch", {"query": "q"}, read_only=True, edits_files=False).behavior == "ask"
    assert policy.decide("mcp__srv__do", {}, read_only=False, edits_files=False).behavior == "ask"
    assert policy.decide("mcp__srv__get", {}, read_only=True, edits_files=False).behavior == "allow"


def test_an_edit_without_a_path_is_asked(env: Env) -> None:
    assert (
        env.policy(mode="acceptEdits").decide("Write", {}, read_only=False, edits_files=True).behavior
        == "ask"
    )


def test_rules_added_at_run_time(env: Env) -> None:
    policy = env.policy()
    assert bash(policy, "npm test").behavior == "ask"
    policy.add_rules("allow", ["Bash(npm test)"], source="session")
    decision = bash(policy, "npm test")
    assert (decision.behavior, decision.rule_source) == ("allow", "session")


# -- built from settings -----------------------------------------------------------------------

WriteJson = Callable[[Path, dict[str, Any]], None]


@pytest.fixture
def write_json() -> WriteJson:
    def go(path: Path, data: dict[str, Any]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(data))

    return go


def test_from_settings_combines_files_and_flags(env: Env, write_json: WriteJson) -> None:
    write_json(
        env.home / ".claude" / "settings.json",
        {"permissions": {"deny": ["Read(/private/**)"], "defaultMode": "acceptEdits"}},
    )
    write_json(
        env.cwd / ".claude" / "settings.json",
        {"permissions": {"allow": ["Bash(npm test)"], "additionalDirectories": ["../outside"]}},
    )
    settings = load_settings(env.cwd, home=env.home, environ={})
    policy = PermissionPolicy.from_settings(
        settings,
        cwd=env.cwd,
        allowed_tools=["Bash(git diff:*),Read"],
        disallowed_tools=["WebSearch"],
        home=env.home,
    )
    assert policy.mode == "acceptEdits"
    assert bash(policy, "npm test && git diff").behavior == "allow"
    assert write(policy, env.outside / "x").behavior == "allow"  # additionalDirectories
    denied = read(policy, env.home / ".claude" / "private" / "k")
    assert (denied.behavior, denied.rule_source) == ("deny", "userSettings")
    assert policy.is_hidden("WebSearch")


def test_flag_mode_beats_settings_and_bad_values(env: Env, write_json: WriteJson) -> None:
    write_json(env.cwd / ".claude" / "settings.json", {"permissions": {"defaultMode": "bogus"}})
    settings = load_settings(env.cwd, home=env.home, environ={})
    policy = PermissionPolicy.from_settings(settings, cwd=env.cwd, home=env.home)
    assert policy.mode == "default"
    assert any("defaultMode" in w for w in policy.warnings)
    flagged = PermissionPolicy.from_settings(settings, cwd=env.cwd, permission_mode="plan", home=env.home)
    assert flagged.mode == "plan"
    with pytest.raises(ValueError, match="Unknown permission mode"):
        PermissionPolicy.from_settings(settings, cwd=env.cwd, permission_mode="nope", home=env.home)


def test_add_dir_flag(env: Env) -> None:
    settings = load_settings(env.cwd, home=env.home, environ={}, setting_sources=[])
    policy = PermissionPolicy.from_settings(
        settings, cwd=env.cwd, add_dirs=["../outside"], permission_mode="acceptEdits", home=env.home
    )
    assert write(policy, env.outside / "x").behavior == "allow"


def test_bypass_can_be_disabled_by_settings(env: Env, write_json: WriteJson) -> None:
    write_json(
        env.cwd / ".claude" / "settings.json",
        {"permissions": {"disableBypassPermissionsMode": "disable"}},
    )
    settings = load_settings(env.cwd, home=env.home, environ={})
    policy = PermissionPolicy.from_settings(
        settings, cwd=env.cwd, permission_mode="bypassPermissions", home=env.home
    )
    assert policy.mode == "default"
    assert policy.warnings
    with pytest.raises(ValueError, match="disabled"):
        policy.set_mode("bypassPermissions")


# -- differential check against real bash ------------------------------------------------------

_PIECES = [
    "git diff ", "cat ", "echo ", "'", '"', "\\", "\\\n", "\n", "#", " # ", ";", "&&", "|", "&", "$x",
    "${x}", "$'\\''", "<<E", "<<'E'", "\nE", "E", ">", ">/dev/null", "2>&1", "(", ")", "{", "}", "x", " ",
    "touch PWNED", "$(touch PWNED)", "`touch PWNED`",
]  # fmt: skip


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_allowed_commands_run_nothing_else_in_real_bash(env: Env) -> None:
    """Generated command lines; each one the policy allows is run, and must create no file.

    Only ``git diff`` (stubbed as a no-op function) and read-only commands are allowed, so any
    file appearing in the sandbox means bash ran something the splitter did not see.
    """
    rng = random.Random(20261124)
    policy = env.policy(allow=["Bash(git diff:*)"])
    sandbox = env.cwd / "sub"
    ran = 0
    for _ in range(1500):
        command = "".join(rng.choice(_PIECES) for _ in range(rng.randint(2, 12)))
        if bash(policy, command).behavior != "allow":
            continue
        ran += 1
        with contextlib.suppress(subprocess.TimeoutExpired):
            subprocess.run(
                ["bash", "-c", "git() { :; }\n" + command],
                cwd=sandbox,
                capture_output=True,
                timeout=5,
                stdin=subprocess.DEVNULL,
            )
        assert list(sandbox.iterdir()) == [], command
    assert ran > 50  # the generator must keep producing allowed lines, or this checks nothing


def test_symlink_loops_do_not_crash(env: Env) -> None:
    (env.cwd / "a").symlink_to(env.cwd / "b")
    (env.cwd / "b").symlink_to(env.cwd / "a")
    policy = env.policy(deny=["Read(./a/**)"], allow=["Read(./docs/**)"])
    assert read(policy, env.cwd / "a" / "x").behavior == "deny"  # matched as named
    assert read(policy, env.cwd / "b" / "x").behavior == "allow"  # inside, as named
    assert bash(policy, "cat b/x").behavior == "allow"
