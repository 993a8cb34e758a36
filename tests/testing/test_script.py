"""Scripts: file formats, conversation matching, turn derivation, callables, shaping rules."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from typing import Any

import anthropic
import pytest

from thrifty.testing import ScriptError, SimRequest, Simulator, Turn, load_script

MODEL = "claude-sonnet-5-5"
TOOLS = [{"name": "step", "input_schema": {"type": "object"}}]


def user(text: str) -> list[dict[str, Any]]:
    return [{"role": "user", "content": text}]


def test_yaml_script_with_matched_conversations(tmp_path: Path, simulator: Simulator) -> None:
    path = tmp_path / "script.yaml"
    path.write_text(
        "conversations:\n"
        "  - match: 'weather'\n"
        "    turns:\n"
        "      - text: 'Sunny.'\n"
        "  - match: 're:^count \\d+$'\n"
        "    turns:\n"
        "      - text: 'Counted.'\n"
        "        usage: {output_tokens: 99}\n"
    )
    simulator.set_script(load_script(path))
    client = simulator.client()
    assert (
        client.messages.create(model=MODEL, max_tokens=32, messages=user("the weather?")).content[0].text
        == "Sunny."
    )
    counted = client.messages.create(model=MODEL, max_tokens=32, messages=user("count 12"))
    assert counted.content[0].text == "Counted."
    assert counted.usage.output_tokens == 99


def test_json_list_script_is_one_conversation(tmp_path: Path) -> None:
    path = tmp_path / "turns.json"
    path.write_text(json.dumps([{"text": "one"}, {"text": "two"}]))
    assert [t.text for t in load_script(path).all_conversations()[0].turns] == ["one", "two"]


@pytest.mark.parametrize(
    ("name", "text", "needle"),
    [
        ("bad.yaml", "turns: [\n", "not valid YAML"),
        ("bad.json", "{", "not valid JSON"),
        ("typo.yaml", "turns:\n  - txet: hi\n", "turns.0.txet"),
        ("fault.yaml", "turns:\n  - fault: {kind: meteor}\n", "fault.0.kind"),
    ],
)
def test_invalid_scripts_name_the_problem(tmp_path: Path, name: str, text: str, needle: str) -> None:
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ScriptError, match=needle.replace(".", r"\.")):
        load_script(path)


def test_turn_is_derived_from_the_request_so_retries_replay(simulator: Simulator) -> None:
    simulator.set_script([{"tool_use": {"name": "step", "input": {"n": 1}}}, {"text": "done"}])
    client = simulator.client()
    a = client.messages.create(model=MODEL, max_tokens=64, messages=user("go"), tools=TOOLS)
    b = client.messages.create(model=MODEL, max_tokens=64, messages=user("go"), tools=TOOLS)
    assert a.content[0].id == b.content[0].id
    history = [
        *user("go"),
        {"role": "assistant", "content": [a.content[0].model_dump(exclude_none=True)]},
        {
            "role": "user",
            "content": [{"type": "tool_result", "tool_use_id": a.content[0].id, "content": "ok"}],
        },
    ]
    assert (
        client.messages.create(model=MODEL, max_tokens=64, messages=history, tools=TOOLS).content[0].text
        == "done"
    )


def test_concurrent_conversations_each_get_their_own_turns() -> None:
    script = {
        "conversations": [
            {"match": f"worker {i}", "turns": [{"tool_use": {"name": "step"}}, {"text": f"finished {i}"}]}
            for i in range(8)
        ]
    }
    results: dict[int, str] = {}
    with Simulator(script) as sim:

        def converse(i: int) -> None:
            client = sim.client()
            first = client.messages.create(
                model=MODEL, max_tokens=64, messages=user(f"worker {i}"), tools=TOOLS
            )
            call = first.content[0]
            history = [
                *user(f"worker {i}"),
                {"role": "assistant", "content": [call.model_dump(exclude_none=True)]},
                {
                    "role": "user",
                    "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "ok"}],
                },
            ]
            final = client.messages.create(model=MODEL, max_tokens=64, messages=history, tools=TOOLS)
            results[i] = final.content[0].text

        threads = [threading.Thread(target=converse, args=(i,)) for i in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    assert results == {i: f"finished {i}" for i in range(8)}


def test_callable_script_decides_each_turn(simulator: Simulator) -> None:
    seen: list[SimRequest] = []

    def script(request: SimRequest) -> Turn:
        seen.append(request)
        return Turn(text=f"turn {request.turn_index} for {request.first_user_text}")

    simulator.set_script(script)
    msg = simulator.client().messages.create(model=MODEL, max_tokens=32, messages=user("ping"))
    assert msg.content[0].text == "turn 0 for ping"
    assert seen[0].account == "sim-api"


def test_exhausted_script_ends_or_errors(simulator: Simulator) -> None:
    simulator.set_script({"turns": [{"text": "only"}], "on_exhausted": "error"})
    history = [*user("a"), {"role": "assistant", "content": "only"}, *user("b")]
    with pytest.raises(anthropic.BadRequestError) as info:
        simulator.client(max_retries=0).messages.create(model=MODEL, max_tokens=32, messages=history)
    assert isinstance(info.value.body, dict) and "no turn 1" in info.value.body["error"]["message"]
    simulator.set_script([{"text": "only"}])
    reply = simulator.client().messages.create(model=MODEL, max_tokens=32, messages=history)
    assert "no more turns" in reply.content[0].text


def test_stop_sequences_and_max_tokens_shape_the_reply(simulator: Simulator) -> None:
    simulator.set_script([{"text": "alpha beta STOP gamma"}])
    client = simulator.client()
    stopped = client.messages.create(model=MODEL, max_tokens=64, messages=user("x"), stop_sequences=["STOP"])
    assert stopped.stop_reason == "stop_sequence" and stopped.stop_sequence == "STOP"
    assert stopped.content[0].text == "alpha beta "
    cut = client.messages.create(model=MODEL, max_tokens=2, messages=user("x"))
    assert cut.stop_reason == "max_tokens" and cut.usage.output_tokens == 2
    warm = client.messages.create(model=MODEL, max_tokens=0, messages=user("x"))
    assert warm.content == [] and warm.stop_reason == "max_tokens" and warm.usage.output_tokens == 0
