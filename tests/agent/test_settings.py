"""Settings layers from real files: precedence, concatenation, and broken files that only warn."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest

from thrifty.agent.settings import Settings, SourcedRule, load_settings, parse_setting_sources


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


def test_unknown_setting_source_warns(layout: Layout) -> None:
    put(layout.user, {"model": "m"})
    settings = layout.load(setting_sources=["user", "managed"])
    assert settings.model == "m"
    assert any("managed" in w for w in settings.warnings)


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


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "invalid JSON"),
        ("[1, 2]", "expected a JSON object, got list"),
        ('"text"', "got str"),
        (b"\xff\xfe\x00", "cannot read"),
    ],
)
def test_broken_file_is_skipped_with_a_warning(layout: Layout, content: str | bytes, message: str) -> None:
    put(layout.user, {"model": "user-model", "permissions": {"allow": ["Read"]}})
    layout.project.parent.mkdir(parents=True)
    if isinstance(content, bytes):
        layout.project.write_bytes(content)
    else:
        layout.project.write_text(content)
    settings = layout.load()
    assert settings.model == "user-model"
    assert [r.rule for r in settings.permissions.allow] == ["Read"]
    assert len(settings.warnings) == 1
    assert message in settings.warnings[0]
    assert str(layout.project) in settings.warnings[0]


def test_empty_file_is_an_empty_layer(layout: Layout) -> None:
    put(layout.project, "  \n")
    settings = layout.load()
    assert settings.warnings == []
    assert settings.raw_layers[0].data == {}


def test_a_directory_where_a_file_should_be_warns(layout: Layout) -> None:
    layout.local.mkdir(parents=True)
    assert "cannot read" in layout.load().warnings[0]


def test_keys_of_the_wrong_shape_are_dropped_alone(layout: Layout) -> None:
    put(
        layout.project,
        {
            "model": "kept",
            "permissions": {"allow": "Bash", "deny": ["Read(./x)", 7], "defaultMode": 3},
            "hooks": {"PreToolUse": {"not": "a list"}, "Stop": []},
            "env": {"OK": "1", "BAD": {"nested": 1}},
        },
    )
    put(layout.local, {"permissions": "nope", "hooks": "nope", "env": []})
    settings = layout.load()
    assert settings.model == "kept"
    assert settings.permissions.allow == ()
    assert [r.rule for r in settings.permissions.deny] == ["Read(./x)"]
    assert settings.permissions.default_mode is None
    assert settings.hooks == {"Stop": []}
    assert settings.env == {"OK": "1"}
    joined = "\n".join(settings.warnings)
    for fragment in ("permissions.allow", "not strings", "defaultMode", "hooks.PreToolUse", "env.BAD"):
        assert fragment in joined
    assert "'permissions' must be an object" in joined
    assert "'hooks' must be an object" in joined
    assert "'env' must be an object" in joined


def test_missing_or_oversized_flag_file_warns(layout: Layout, tmp_path: Path) -> None:
    assert "not a regular file" in layout.load(flag_settings=str(tmp_path / "missing.json")).warnings[0]
    big = tmp_path / "big.json"
    big.write_text('{"model": "x", "pad": "' + "a" * (2 * 1024 * 1024) + '"}')
    settings = layout.load(flag_settings=str(big))
    assert settings.model is None
    assert "2 MiB" in settings.warnings[0]
    assert "invalid JSON" in layout.load(flag_settings="{oops").warnings[0]


def test_non_string_model_warns(layout: Layout) -> None:
    put(layout.project, {"model": 5})
    settings = layout.load()
    assert settings.model is None
    assert "'model' must be a string" in settings.warnings[0]


def test_raw_layers_are_kept_as_read(layout: Layout) -> None:
    put(layout.user, {"permissions": {"allow": "oops"}})
    layer = layout.load().raw_layers[0]
    assert (layer.source, layer.path, layer.data) == (
        "userSettings",
        layout.user,
        {"permissions": {"allow": "oops"}},
    )
    source, path, _data = layer  # still the (source_name, path, dict) triple callers unpack
    assert (source, path) == ("userSettings", layout.user)


def test_settings_are_frozen(layout: Layout) -> None:
    settings = layout.load()
    with pytest.raises(dataclasses.FrozenInstanceError):
        settings.model = "x"  # type: ignore[misc]
