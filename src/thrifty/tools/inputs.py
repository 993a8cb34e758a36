"""The pydantic base of the built-in tools' input models.

Kept apart from ``tools.base`` so that code which only names a tool, or handles a result, never
imports pydantic: a run that calls no tool pays nothing for it (see ``tools.registry``).
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class ToolInput(BaseModel):
    """Base for tool input models: unknown keys are rejected, as the real tools do."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)
