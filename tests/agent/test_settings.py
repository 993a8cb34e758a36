"""Settings layers from real files: precedence, concatenation, and broken files that fail closed."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path
from typing import Any

import pytest

from thrifty.agent.settings import Settings, SettingsError, SourcedRule, load_settings, parse_setting_sources
from thrifty.billing.config import ConfigError


@dataclasses.dataclass
class Layout:
    cwd: Path
    home: Path

    @property
    def user(self) -> Path:
        return self.home / ".claude" / "settings.json"

    @property
    def project(self) -> Path:
        return self.cwd / ".claude" / "settings.json"

    @property
    def local(self) -> Path:
        return self.cwd / ".claude" / "settings.local.json"

    def load(self, **kwargs: Any) -> Settings:
        kwargs.setdefault("environ", {})
        return load_settings(self.cwd, home=self.home, **kwargs)


def put(path: Path, data: Any) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return path


@pytest.fixture
def layout(tmp_path: Path) -> Layout:
    root = tmp_path.resolve()
    (root / "proj").mkdir()
    (root / "home").mkdir()
    return Layout(root / "proj", root / "home")


@pytest.fixture
def four_layers(layout: Layout, tmp_path: Path) -> str:
    """A model and an allow rule in every layer; returns the path of the flag settings file."""
    put(layout.user, {"model": "user-model", "permissions": {"allow": ["Bash(u)"]}})
    put(layout.project, {"model": "project-model", "permissions": {"allow": ["Bash(p)"]}})
    put(layout.local, {"model": "local-model", "permissions": {"allow": ["Bash(l)"]}})
    flag = put(tmp_path / "flags" / "s.json", {"model": "flag-model", "permissions": {"allow": ["Bash(f)"]}})
    return str(flag)


def test_no_files_gives_empty_settings(layout: Layout) -> None:
    settings = layout.load()
    assert settings == Settings()
    assert settings.warnings == []


def test_scalars_come_from_the_highest_layer(layout: Layout, four_layers: str) -> None:
    assert layout.load(flag_settings=four_layers).model == "flag-model"
    assert layout.load().model == "local-model"
    assert layout.load(setting_sources=["user", "project"]).model == "project-model"
    assert layout.load(setting_sources=["user"]).model == "user-model"


def test_rules_concatenate_with_their_sources(layout: Layout, four_layers: str) -> None:
    perms = layout.load(flag_settings=four_layers).permissions
    assert perms.allow == (
        SourcedRule("Bash(u)", "userSettings", layout.home / ".claude"),
        SourcedRule("Bash(p)", "projectSettings", layout.cwd),
        SourcedRule("Bash(l)", "localSettings", layout.cwd),
        SourcedRule("Bash(f)", "flagSettings", Path(four_layers).parent),
    )


def test_setting_sources_restrict_file_layers_but_not_flags(layout: Layout, four_layers: str) -> None:
    only_project = layout.load(setting_sources=["project"], flag_settings=four_layers)
    assert [r.rule for r in only_project.permissions.allow] == ["Bash(p)", "Bash(f)"]
    assert [layer.source for layer in only_project.raw_layers] == ["projectSettings", "flagSettings"]
    assert layout.load(setting_sources=[]).raw_layers == []


def test_bare_reads_only_flag_settings(layout: Layout, four_layers: str) -> None:
    settings = layout.load(bare=True, flag_settings=four_layers)
    assert [layer.source for layer in settings.raw_layers] == ["flagSettings"]
    assert settings.model == "flag-model"
    assert layout.load(bare=True).raw_layers == []


def test_unknown_setting_source_is_an_error(layout: Layout) -> None:
    """Reading fewer layers than asked for could drop deny rules, so a typo does not pass."""
    put(layout.user, {"model": "m"})
    with pytest.raises(SettingsError, match=r"^--setting-sources: unknown source 'managed' \(expected user"):
        layout.load(setting_sources=["user", "managed"])


def test_parse_setting_sources() -> None:
    assert parse_setting_sources("") == []
    assert parse_setting_sources("user, project") == ["user", "project"]


def test_claude_config_dir_moves_the_user_layer(layout: Layout, tmp_path: Path) -> None:
    config = tmp_path / "cfg"
    put(config / "settings.json", {"model": "from-config-dir", "permissions": {"deny": ["Read(/x)"]}})
    put(layout.user, {"model": "from-home"})
    settings = layout.load(environ={"CLAUDE_CONFIG_DIR": str(config)})
    assert settings.model == "from-config-dir"
    assert settings.permissions.deny[0].base_dir == config
    assert layout.load().model == "from-home"


def test_hooks_concatenate_per_event(layout: Layout) -> None:
    user_group = {"matcher": "Bash", "hooks": [{"type": "command", "command": "u"}]}
    project_group = {"matcher": "Edit", "hooks": [{"type": "command", "command": "p"}]}
    stop_group = {"hooks": [{"type": "command", "command": "s"}]}
    put(layout.user, {"hooks": {"PreToolUse": [user_group]}})
    put(layout.project, {"hooks": {"PreToolUse": [project_group], "Stop": [stop_group]}})
    hooks = layout.load().hooks
    assert hooks == {"PreToolUse": [user_group, project_group], "Stop": [stop_group]}


def test_env_merges_per_key(layout: Layout) -> None:
    put(layout.user, {"env": {"A": "user", "B": "user"}})
    put(layout.local, {"env": {"B": "local", "N": 3, "T": True}})
    settings = layout.load()
    assert settings.env == {"A": "user", "B": "local", "N": "3", "T": "true"}
    assert settings.warnings == []


def test_other_keys_merge_deeply_and_fallback_model_is_replaced_whole(layout: Layout) -> None:
    put(layout.user, {"fallbackModel": ["a", "b"], "statusLine": {"type": "command", "padding": 1}})
    put(layout.project, {"fallbackModel": ["c"], "statusLine": {"padding": 2}, "apiKeyHelper": "./key.sh"})
    settings = layout.load()
    assert settings.merged["fallbackModel"] == ["c"]
    assert settings.merged["statusLine"] == {"type": "command", "padding": 2}
    assert settings.api_key_helper == "./key.sh"


def test_default_mode_and_directories(layout: Layout) -> None:
    put(
        layout.user,
        {"permissions": {"defaultMode": "plan", "additionalDirectories": ["~/shared", "/abs/dir"]}},
    )
    put(
        layout.project,
        {"permissions": {"defaultMode": "acceptEdits", "additionalDirectories": ["../lib", "/abs/dir"]}},
    )
    perms = layout.load().permissions
    assert perms.default_mode == "acceptEdits"
    assert perms.additional_directories == (
        layout.home / "shared",
        Path("/abs/dir"),
        layout.cwd.parent / "lib",
    )


def test_flag_settings_as_json_string(layout: Layout) -> None:
    settings = layout.load(flag_settings='{"permissions": {"ask": ["Read(/docs/**)"]}, "model": "m"}')
    assert settings.model == "m"
    assert settings.permissions.ask == (SourcedRule("Read(/docs/**)", "flagSettings", layout.cwd),)
    assert settings.raw_layers[0].path is None


def test_relative_flag_settings_path_is_from_cwd(layout: Layout) -> None:
    put(layout.cwd / "conf" / "extra.json", {"model": "rel"})
    settings = layout.load(flag_settings="conf/extra.json")
    assert settings.model == "rel"
    assert settings.raw_layers[0].path == layout.cwd / "conf" / "extra.json"


BROKEN_FILES = [
    pytest.param(
        '{"permissions":{"deny":["Read"],}}',
        "not valid JSON (line 1, column 33: Expecting property name enclosed in double quotes)",
        id="trailing-comma",
    ),
    pytest.param(
        '{\n  "model": "x"\n  "permissions": {}\n}', "not valid JSON (line 3, column 3:", id="no-comma"
    ),
    pytest.param("[1, 2]", "must be a JSON object, got array", id="array"),
    pytest.param('"text"', "must be a JSON object, got string", id="string"),
    pytest.param("[" * 100_000 + "]" * 100_000, "not valid JSON", id="too-deep"),
    pytest.param(b'{"model": "caf\xe9"}', "not UTF-8 text (byte 0xe9 at offset 14)", id="latin-1"),
    pytest.param(b"\xff\xfe{\x00}\x00", "not UTF-8 text (byte 0xff at offset 0)", id="utf-16"),
    pytest.param(
        b'\xef\xbb\xbf{"model": "\xff"}', "not UTF-8 text (byte 0xff at offset 14)", id="bom-then-bad"
    ),
]


def write_raw(path: Path, content: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        path.write_bytes(content)
    else:
        path.write_text(content)


@pytest.mark.parametrize("which", ["user", "project", "local"])
@pytest.mark.parametrize(("content", "message"), BROKEN_FILES)
def test_a_broken_file_fails_closed_naming_it(
    layout: Layout, which: str, content: str | bytes, message: str
) -> None:
    """A file that cannot be parsed is never skipped: its deny rules would go with it."""
    put(layout.user if which != "user" else layout.project, {"permissions": {"deny": ["Bash"]}})
    broken: Path = getattr(layout, which)
    write_raw(broken, content)
    with pytest.raises(SettingsError) as caught:
        layout.load()
    text = str(caught.value)
    assert text.startswith(f"{broken}: ") and message in text
    assert "\n" not in text
    assert isinstance(caught.value, ConfigError)  # so every CLI command prints it as one line


def test_a_byte_order_mark_is_accepted(layout: Layout) -> None:
    write_raw(layout.project, b'\xef\xbb\xbf{"permissions": {"deny": ["Read"]}}')
    assert [r.rule for r in layout.load().permissions.deny] == ["Read"]


def test_empty_file_is_an_empty_layer(layout: Layout) -> None:
    put(layout.project, "  \n")
    settings = layout.load()
    assert settings.warnings == []
    assert settings.raw_layers[0].data == {}


def test_a_directory_where_a_file_should_be_fails(layout: Layout) -> None:
    layout.local.mkdir(parents=True)
    with pytest.raises(SettingsError, match=r"settings\.local\.json: cannot be read \(Is a directory\)"):
        layout.load()


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads files whatever their mode")
def test_an_unreadable_file_fails(layout: Layout) -> None:
    put(layout.project, {"permissions": {"deny": ["Read"]}})
    layout.project.chmod(0)
    try:
        with pytest.raises(SettingsError, match=r"settings\.json: cannot be read \(Permission denied\)"):
            layout.load()
    finally:
        layout.project.chmod(0o600)


def test_a_missing_file_and_a_claude_file_instead_of_a_directory_are_absent(layout: Layout) -> None:
    (layout.cwd / ".claude").write_text("not a directory")
    assert layout.load() == Settings()


def test_skipped_sources_are_not_read(layout: Layout, tmp_path: Path) -> None:
    """--bare and --setting-sources leave files unopened, so a broken one cannot fail the run."""
    for path in (layout.user, layout.project, layout.local):
        write_raw(path, "{broken")
    flag = put(tmp_path / "flag.json", {"model": "flag"})
    assert layout.load(bare=True, flag_settings=str(flag)).model == "flag"
    assert layout.load(setting_sources=[]).raw_layers == []
    write_raw(layout.local, '{"model": "local"}')
    assert layout.load(setting_sources=["local"]).model == "local"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"permissions": {"deny": "Read"}}, "permissions.deny must be an array of strings, got string"),
        ({"permissions": {"allow": ["Read", 7]}}, "permissions.allow[1] must be a string, got number"),
        ({"permissions": "nope"}, "permissions must be an object, got string"),
        ({"permissions": {"defaultMode": 3}}, "permissions.defaultMode must be a string, got number"),
        ({"permissions": {"additionalDirectories": {}}}, "additionalDirectories must be an array"),
        (
            {"permissions": {"disableBypassPermissionsMode": "disabled"}},
            'permissions.disableBypassPermissionsMode must be "disable", got "disabled"',
        ),
        ({"hooks": []}, "hooks must be an object of event names, got array"),
        ({"hooks": {"PreToolUse": {"not": "a list"}}}, "hooks.PreToolUse must be an array of matcher groups"),
        ({"hooks": {"PreToolUse": ["echo"]}}, "hooks.PreToolUse[0] must be an object"),
        (
            {"hooks": {"PreToolUse": [{"matcher": 1, "hooks": []}]}},
            "hooks.PreToolUse[0].matcher must be a string",
        ),
        ({"hooks": {"Stop": [{"hooks": {"command": "x"}}]}}, "hooks.Stop[0].hooks must be an array"),
        ({"hooks": {"Stop": [{"hooks": ["x"]}]}}, "hooks.Stop[0].hooks[0] must be an object"),
        ({"hooks": {"Stop": [{"hooks": [{"type": "command"}]}]}}, "hooks.Stop[0].hooks[0].command must be"),
        (
            {"hooks": {"Stop": [{"hooks": [{"command": "x", "timeout": "5"}]}]}},
            "hooks.Stop[0].hooks[0].timeout must be a number of seconds, got string",
        ),
        ({"env": []}, "env must be an object of strings, got array"),
        ({"env": {"OK": "1", "BAD": {"nested": 1}}}, "env.BAD must be a string, got object"),
        ({"model": 5}, "model must be a string, got number"),
        ({"apiKeyHelper": None}, "apiKeyHelper must be a string, got null"),
    ],
)
def test_a_key_of_the_wrong_shape_fails_naming_the_file_and_key(
    layout: Layout, data: dict[str, Any], message: str
) -> None:
    put(layout.project, data)
    with pytest.raises(SettingsError) as caught:
        layout.load()
    assert str(caught.value).startswith(f"{layout.project}: ") and message in str(caught.value)


def test_unknown_keys_and_other_hook_types_are_left_alone(layout: Layout) -> None:
    hooks = {"Stop": [{"hooks": [{"type": "prompt", "prompt": "done?"}]}]}
    put(layout.project, {"statusLine": {"type": "command"}, "futureKey": [1, None], "hooks": hooks})
    settings = layout.load()
    assert settings.merged["futureKey"] == [1, None] and settings.hooks == hooks


def test_flag_settings_fail_closed(layout: Layout, tmp_path: Path) -> None:
    missing = tmp_path / "missing.json"
    with pytest.raises(SettingsError, match=f"^--settings: {missing}: no such file$"):
        layout.load(flag_settings=str(missing))
    with pytest.raises(SettingsError, match="is not a regular file"):
        layout.load(flag_settings=str(tmp_path))
    big = tmp_path / "big.json"
    big.write_text('{"model": "x", "pad": "' + "a" * (2 * 1024 * 1024) + '"}')
    with pytest.raises(SettingsError, match="larger than 2 MiB"):
        layout.load(flag_settings=str(big))
    with pytest.raises(SettingsError, match=r"^--settings: not valid JSON \(line 1, column 2: "):
        layout.load(flag_settings="{oops")
    with pytest.raises(SettingsError, match=r"^--settings: permissions\.deny must be an array"):
        layout.load(flag_settings='{"permissions": {"deny": "Read"}}')
    bad_file = put(tmp_path / "bad.json", '{"permissions": {"deny": ["Read"],}}')
    with pytest.raises(SettingsError, match=f"^{bad_file}: not valid JSON \\(line 1, column 35: "):
        layout.load(flag_settings=str(bad_file))


def test_raw_layers_are_kept_as_read(layout: Layout) -> None:
    put(layout.user, {"permissions": {"allow": ["Read"]}, "statusLine": {"padding": 1}})
    layer = layout.load().raw_layers[0]
    assert (layer.source, layer.path, layer.data) == (
        "userSettings",
        layout.user,
        {"permissions": {"allow": ["Read"]}, "statusLine": {"padding": 1}},
    )
    source, path, _data = layer  # still the (source_name, path, dict) triple callers unpack
    assert (source, path) == ("userSettings", layout.user)


def test_settings_are_frozen(layout: Layout) -> None:
    settings = layout.load()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.model = "x"  # type: ignore[misc]
