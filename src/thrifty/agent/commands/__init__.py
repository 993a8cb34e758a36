"""Custom slash commands (``.claude/commands``) and skills (``.claude/skills``): docs/commands.md."""

from thrifty.agent.commands.catalog import Catalog, Command, load_catalog
from thrifty.agent.commands.expand import CommandFailed, Expansion, expand_prompt, listing

__all__ = ["Catalog", "Command", "CommandFailed", "Expansion", "expand_prompt", "listing", "load_catalog"]
