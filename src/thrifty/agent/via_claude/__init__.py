"""Plan runs: the user's own ``claude`` does the work, thrifty drives it and meters every call.

Plan credentials (OAuth ``sk-ant-oat...`` tokens) are for Anthropic's own clients, so thrifty
never sends one itself (``billing/claude_cli.py`` says why and checks the login). A plan run starts
the user's logged-in ``claude`` in stream-json mode and speaks the protocol thrifty itself serves
from the other side: the prompt goes in as a stream-json user message, claude's frames come back
as thrifty's typed events, and each API call claude reports is metered into the ledger the moment
it ends, so budgets, plan windows and reports work exactly as in an API run.

We drive the protocol directly rather than through the official ``claude-agent-sdk`` package:
its message parser drops the per-call ``request_id``, which the ledger needs as its idempotency
key (and to de-duplicate against Claude Code's own transcripts imported later), and thrifty
renders the same frames itself, so a second parser in between would only lose information.

- ``argv``: ``AgentOptions`` -> claude's flags (and what a plan run cannot do);
- ``frames``: claude's stream-json frames -> thrifty events, with exact per-call usage;
- ``run``: the long-lived ``claude`` process of a session, metering and budget stops.
"""

from thrifty.agent.via_claude.argv import check_plan_options, claude_argv
from thrifty.agent.via_claude.run import ClaudeProcess

__all__ = ["ClaudeProcess", "check_plan_options", "claude_argv"]
