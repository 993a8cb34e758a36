"""Structured output: a JSON schema or a pydantic model, validated, corrected a bounded number of times."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import BaseModel, field_validator

import thrifty
from tests.sdk.conftest import MakeOptions, sent
from thrifty.testing import Simulator

SCHEMA = {
    "type": "object",
    "properties": {"city": {"type": "string"}, "population": {"type": "integer"}},
    "required": ["city", "population"],
}


class City(BaseModel):
    city: str
    population: int

    @field_validator("city")
    @classmethod
    def capitalised(cls, value: str) -> str:
        if not value[:1].isupper():
            raise ValueError("city must be capitalised")
        return value


def answer(value: dict[str, Any]) -> dict[str, Any]:
    return {"tool_use": {"name": "StructuredOutput", "input": value}}


def test_json_schema_output(sim: Simulator, options: MakeOptions) -> None:
    sim.set_script([answer({"city": "Paris", "population": 2_100_000})])
    opts = options(output_format={"type": "json_schema", "schema": SCHEMA})
    result = thrifty.run_sync("largest city of France?", opts)
    assert result.subtype == "success" and result.structured_output == {
        "city": "Paris",
        "population": 2_100_000,
    }
    offered = {t["name"]: t for t in sent(sim)["tools"]}
    assert offered["StructuredOutput"]["input_schema"]["required"] == ["city", "population"]


def test_pydantic_output_is_corrected_once_then_parsed(sim: Simulator, options: MakeOptions) -> None:
    # schema-valid but rejected by the model's validator, then corrected
    sim.set_script([answer({"city": "paris", "population": 1}), answer({"city": "Paris", "population": 2})])
    result = thrifty.run_sync("x", options(output_type=City))
    assert result.subtype == "success" and len(sim.message_requests()) == 2
    city = thrifty.parse_output(result, City)
    assert isinstance(city, City) and city == City(city="Paris", population=2)
    feedback = sent(sim)["messages"][-1]["content"][0]
    assert feedback["is_error"] is True and "city must be capitalised" in feedback["content"]
    schema = {t["name"]: t for t in sent(sim, 0)["tools"]}["StructuredOutput"]["input_schema"]
    assert set(schema["required"]) == {"city", "population"}


def test_retries_are_bounded(sim: Simulator, options: MakeOptions) -> None:
    bad = answer({"city": "paris", "population": 1})
    sim.set_script([bad, bad, bad, bad])
    result = thrifty.run_sync("x", options(output_type=City, structured_output_retries=1))
    assert result.subtype == "error_max_structured_output_retries" and result.is_error
    assert len(sim.message_requests()) == 2 and result.structured_output is None
    with pytest.raises(ValueError, match="no structured output"):
        thrifty.parse_output(result, City)


def test_output_options_are_checked() -> None:
    with pytest.raises(thrifty.SetupError, match="needs a 'schema'"):
        thrifty.Options(output_format={"type": "json_schema"})
    with pytest.raises(thrifty.SetupError, match="cannot be used together"):
        thrifty.Options(output_format={"type": "json_schema", "schema": SCHEMA}, output_type=City)
    with pytest.raises(thrifty.SetupError, match="BaseModel"):
        thrifty.Options(output_type=dict)  # type: ignore[arg-type]
