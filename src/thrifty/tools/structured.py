"""``StructuredOutput``: the tool through which a ``--json-schema`` run delivers its answer.

Calling it ends the run; the input is checked against the user's schema first, and a failing
answer goes back to the model as an error it can correct.
"""

from __future__ import annotations

from typing import Any

from thrifty.tools.base import ToolResult, error

NAME = "StructuredOutput"


class SchemaError(ValueError):
    pass


def check_schema(schema: Any) -> dict[str, Any]:
    if not isinstance(schema, dict):
        raise SchemaError("the schema must be a JSON object")
    import jsonschema  # here, not at the top: only --json-schema runs need it

    try:
        jsonschema.validators.validator_for(schema).check_schema(schema)
    except jsonschema.SchemaError as exc:
        raise SchemaError(exc.message) from exc
    return schema


def definition(schema: dict[str, Any]) -> dict[str, Any]:
    input_schema = dict(schema)
    input_schema.setdefault("type", "object")
    return {
        "name": NAME,
        "description": "Return the final answer as structured data matching the requested schema. "
        "Call this exactly once, when the task is done.",
        "input_schema": input_schema,
    }


def validate(schema: dict[str, Any], value: Any) -> ToolResult | None:
    """``None`` when the value conforms; otherwise the error result to send back."""
    import jsonschema

    validator = jsonschema.validators.validator_for(schema)(schema)
    problems = sorted(validator.iter_errors(value), key=lambda e: list(e.path))
    if not problems:
        return None
    lines = [f"{'/'.join(str(p) for p in e.path) or '(root)'}: {e.message}" for e in problems[:5]]
    return error("Output does not match the required schema:\n" + "\n".join(lines))
