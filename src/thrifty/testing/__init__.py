"""The Messages API simulator: a real HTTP server on loopback that the official SDK accepts.

Everything thrifty is tested against goes through here: scripted assistant turns, token and
prompt-cache accounting like the real API, strict validation, and injectable faults.

    from thrifty.testing import Simulator

    with Simulator([{"text": "hi"}]) as sim:
        reply = sim.client().messages.create(model="claude-sonnet-5-5", max_tokens=64,
                                             messages=[{"role": "user", "content": "hello"}])
"""

from thrifty.testing.accounts import DEFAULT_API_KEY, DEFAULT_PLAN_TOKEN
from thrifty.testing.clock import ManualClock, SystemClock
from thrifty.testing.models import ModelCatalog, ModelSpec
from thrifty.testing.script import (
    AccountSpec,
    ChaosSpec,
    Conversation,
    Fault,
    ScriptError,
    ScriptFile,
    SimRequest,
    ToolCall,
    Turn,
    load_script,
)
from thrifty.testing.server import LoggedRequest
from thrifty.testing.simulator import Simulator
from thrifty.testing.tokens import count_input_tokens, count_text

__all__ = [
    "DEFAULT_API_KEY",
    "DEFAULT_PLAN_TOKEN",
    "AccountSpec",
    "ChaosSpec",
    "Conversation",
    "Fault",
    "LoggedRequest",
    "ManualClock",
    "ModelCatalog",
    "ModelSpec",
    "ScriptError",
    "ScriptFile",
    "SimRequest",
    "Simulator",
    "SystemClock",
    "ToolCall",
    "Turn",
    "count_input_tokens",
    "count_text",
    "load_script",
]
