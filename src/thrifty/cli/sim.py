"""``thrifty sim serve``: run the Messages API simulator as a server for other processes."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from thrifty.cli.errors import EXIT_OK, UsageError
from thrifty.testing import AccountSpec, ChaosSpec, ScriptError, Simulator


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    sim = sub.add_parser(
        "sim",
        help="run the bundled Messages API simulator",
        description="The Messages API simulator: a local server the official anthropic SDK accepts.",
    )
    sim_sub = sim.add_subparsers(dest="sim_command", required=True, metavar="COMMAND")
    serve = sim_sub.add_parser(
        "serve",
        help="serve the simulator on loopback until interrupted",
        description=(
            "Serve POST /v1/messages (JSON and SSE), count_tokens, models, batches and files on "
            "loopback. Point a client at it with ANTHROPIC_BASE_URL=http://127.0.0.1:PORT and one of "
            "the printed keys. Script format: docs/simulator.md."
        ),
    )
    serve.add_argument("--port", type=int, default=8787, help="port to listen on (0 picks a free one)")
    serve.add_argument("--host", default="127.0.0.1", help="address to bind (default: 127.0.0.1)")
    serve.add_argument("--script", type=Path, help="JSON or YAML script of assistant turns")
    serve.add_argument("--api-key", action="append", default=[], help="accept this key as an API account")
    serve.add_argument(
        "--plan-token", action="append", default=[], help="accept this token as a plan account"
    )
    serve.add_argument(
        "--chaos-rate", type=float, default=0.0, help="fraction of requests given a random fault"
    )
    serve.add_argument("--chaos-seed", type=int, default=0, help="seed for --chaos-rate (reproducible)")


def run(args: argparse.Namespace) -> int:
    accounts = [AccountSpec(key=k, mode="api") for k in args.api_key]
    accounts += [AccountSpec(key=k, mode="plan") for k in args.plan_token]
    chaos = (
        ChaosSpec(
            seed=args.chaos_seed, rate=args.chaos_rate, kinds=["overloaded", "rate_limit", "server_error"]
        )
        if args.chaos_rate
        else None
    )
    if not 0.0 <= args.chaos_rate <= 1.0:
        raise UsageError("--chaos-rate must be between 0 and 1")
    try:
        sim = Simulator(args.script, host=args.host, port=args.port, accounts=accounts or None, chaos=chaos)
        sim.start()
    except ScriptError as exc:
        raise UsageError(str(exc)) from exc
    except OSError as exc:
        raise UsageError(f"cannot listen on {args.host}:{args.port}: {exc.strerror}") from exc
    print(f"thrifty simulator listening on {sim.base_url}", flush=True)
    print(f"  api key:    {sim.api_key}", flush=True)
    print(f"  plan token: {sim.plan_token}", flush=True)
    print("  (simulated endpoint: nothing is billed; Ctrl-C stops it)", flush=True)
    try:
        sim.serve_forever()
    except KeyboardInterrupt:
        sim.stop()
        print("stopped", file=sys.stderr)
    return EXIT_OK
