"""What setup needs of commands and skills: the catalog, the ``Skill`` tool and its listing.

The ``Skill`` tool is offered only when the session has something for it to run (a skill, or a
command the model may invoke), unless the caller named it in ``tools``: a project without skills
pays nothing for it on any request, and ``--disable-slash-commands`` removes it, as in Claude Code.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar

from thrifty.agent.commands.catalog import Catalog, load_catalog
from thrifty.agent.commands.expand import listing
from thrifty.agent.commands.turn import report, skill_runner
from thrifty.tools import registry
from thrifty.tools.base import Tool, ToolContext, ToolResult

if TYPE_CHECKING:
    from thrifty.agent.options import AgentOptions
    from thrifty.agent.permissions.policy import PermissionPolicy
    from thrifty.tools.skill import SkillRunner

__all__ = ["SKILL", "offer_skills", "skill_tools", "with_listing"]

SKILL = "Skill"


def offer_skills(
    builtin: list[str],
    options: AgentOptions,
    policy: PermissionPolicy,
    cwd: Path,
    plugins: Sequence[tuple[str, Path]] = (),
) -> tuple[Catalog, list[str]]:
    """The session's catalog (with the ``plugins``' commands and skills: (namespace, directory)
    pairs), and the built-in tool names with ``Skill`` kept only if it is of use."""
    catalog = load_catalog(
        cwd,
        environ=options.environ,
        setting_sources=options.setting_sources,
        bare=options.bare,
        disabled=options.disable_slash_commands,
        additional_dirs=[Path(d) for d in policy.working_dirs[1:]],
        plugins=plugins,
    )
    report(catalog)
    if options.skills is not None:
        catalog.restrict(options.skills)
    named = options.tools is not None and SKILL in options.tools
    if SKILL in builtin and not named and not catalog.model_invocable():
        builtin = [name for name in builtin if name != SKILL]
    return catalog, builtin


class _SessionSkill(Tool):
    """The ``Skill`` tool bound to one session's catalog; its module (and pydantic) load on first call."""

    name: ClassVar[str] = SKILL
    description: ClassVar[str] = ""
    read_only: ClassVar[bool] = True
    path_keys: ClassVar[tuple[str, ...] | None] = ()
    primary_field: ClassVar[str | None] = "skill"

    def __init__(self, runner: SkillRunner) -> None:
        self.runner = runner

    def definition(self) -> dict[str, Any]:
        return registry.definition(SKILL)

    async def run(self, raw_input: dict[str, Any], ctx: ToolContext) -> ToolResult:
        from thrifty.tools.skill import SkillTool

        return await SkillTool(self.runner).run(raw_input, ctx)


def skill_tools(builtin: list[str], catalog: Catalog, policy: PermissionPolicy, cwd: Path) -> list[Tool]:
    """The session's own ``Skill`` tool, to lay over the registry's unbound one; [] without it."""
    if SKILL not in builtin:
        return []
    return [_SessionSkill(skill_runner(catalog, policy, cwd))]


def with_listing(system: list[dict[str, Any]], catalog: Catalog, builtin: list[str]) -> list[dict[str, Any]]:
    """The system prompt with the list of what ``Skill`` can run, when the tool is offered."""
    text = listing(catalog) if SKILL in builtin else None
    return [*system, {"type": "text", "text": text}] if text else system
