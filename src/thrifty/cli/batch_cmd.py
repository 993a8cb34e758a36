"""``thrifty batch``: submit a JSONL of prompts as a Message Batch, watch it, collect and cancel it.

The work is ``thrifty.batch`` (the same functions the SDK exports); this maps argv onto them and
prints. Notes and the estimate go to stderr, so stdout is only what a script wants: the batch id,
the status, or the results JSONL. Exit codes are in EPILOG and docs/batch.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

from thrifty.cli.errors import EXIT_OK, UsageError

#: ``submit``: the high estimate passes --max-cost-usd; nothing was sent.
EXIT_REFUSED = 2
#: ``results``: the batch has not ended (without --wait, or past --timeout): try again later.
EXIT_NOT_READY = 75

DESCRIPTION = """\
Run many single-turn prompts through the Message Batches API at half the price. Every succeeded
result is one ledger row (mode batch, at the batch price), recorded once however often you rerun.

  thrifty batch submit prompts.jsonl     estimate at batch prices, then submit (once)
  thrifty batch status BATCH_ID          processing status and request counts
  thrifty batch results BATCH_ID         results JSONL keyed by your ids; records the ledger rows
  thrifty batch cancel BATCH_ID          cancel a batch still in progress

Each input line: {"id": ..., "prompt": "..."} or {"id": ..., "messages": [...]}, optionally with
"model", "system", "max_tokens" and "json_schema"."""

EPILOG = f"""\
Exit 0 on success; 1 for a bad argument or input line, a missing credential (plan credentials
cannot use batches) or an API error; {EXIT_REFUSED} when submit's high estimate passes --max-cost-usd
(nothing sent); {EXIT_NOT_READY} when results are asked for before the batch has ended."""


def add_parser(sub: argparse._SubParsersAction[Any]) -> None:
    p = sub.add_parser(
        "batch",
        help="run prompts through the Message Batches API at half the price",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    submit = verbs.add_parser("submit", help="estimate and submit a JSONL of prompts", epilog=EPILOG)
    submit.add_argument("file", type=Path, help="JSONL: one request per line")
    submit.add_argument("--model", help="model for lines that name none (default: as a run would pick)")
    submit.add_argument("--max-tokens", type=int, metavar="N", help="max_tokens for lines that set none")
    submit.add_argument("--max-cost-usd", metavar="USD", help="refuse when the high estimate passes this")
    submit.add_argument("--dry-run", action="store_true", help="print the estimate only; send nothing")
    submit.add_argument("--new", action="store_true", help="submit again even if this input was submitted")
    submit.add_argument("-j", "--json", action="store_true", help="print one JSON object")
    for name, text in (("status", "processing status and counts"), ("cancel", "cancel the batch")):
        verb = verbs.add_parser(name, help=text, epilog=EPILOG)
        verb.add_argument("batch_id", metavar="BATCH_ID")
        verb.add_argument("-j", "--json", action="store_true", help="print one JSON object")
        if name == "status":
            _wait_flags(verb)
    results = verbs.add_parser("results", help="results JSONL keyed by your ids", epilog=EPILOG)
    results.add_argument("batch_id", metavar="BATCH_ID")
    results.add_argument(
        "--output", "-o", type=Path, metavar="FILE", help="write the JSONL here (default: stdout)"
    )
    results.add_argument("--no-ledger", action="store_true", help="do not record the results in the ledger")
    _wait_flags(results)
    for verb in (submit, results):
        verb.add_argument("--ledger", metavar="URL", help="ledger path, sqlite:/// or postgresql:// URL")


def _wait_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--wait", action="store_true", help="poll until the batch has ended")
    p.add_argument(
        "--poll-interval", type=float, default=30.0, metavar="S", help="seconds between polls (30)"
    )
    p.add_argument("--timeout", type=float, metavar="S", help="stop waiting after this many seconds")


def _cap(text: str | None) -> Decimal | None:
    if text is None:
        return None
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise UsageError(f"--max-cost-usd: {text!r} is not an amount in USD") from None
    if not value.is_finite() or value < 0:
        raise UsageError(f"--max-cost-usd: {text!r} is not an amount in USD")
    return value


def _say(text: str) -> None:
    print(text, file=sys.stderr)


def run(args: argparse.Namespace) -> int:
    from thrifty import batch

    try:
        if args.verb == "submit":
            return _submit(args)
        if args.verb == "results":
            return _results(args)
        if args.verb == "status":
            wait = {"wait": args.wait, "poll_interval": args.poll_interval, "timeout": args.timeout}
            status = asyncio.run(batch.batch_status(args.batch_id, **wait))
        else:
            status = asyncio.run(batch.cancel_batch(args.batch_id))
    except batch.BatchInputError as exc:
        raise UsageError(str(exc)) from None
    except batch.CostRefused as exc:
        _say(f"error: {exc}")
        return EXIT_REFUSED
    except batch.NotReady as exc:
        _say(f"error: {exc}; rerun later, or pass --wait")
        return EXIT_NOT_READY
    except batch.BatchError as exc:
        raise UsageError(str(exc)) from None
    _print_status(status, args.json)
    return EXIT_OK


def _print_status(status: Any, as_json: bool) -> None:
    if as_json:
        print(json.dumps(status.to_json()))
        return
    counts = ", ".join(f"{k} {v}" for k, v in status.counts.items() if v)
    print(f"{status.batch_id}: {status.processing_status}" + (f" ({counts})" if counts else ""))


def _submit(args: argparse.Namespace) -> int:
    from thrifty import batch

    cap = _cap(args.max_cost_usd)
    if args.max_tokens is not None and args.max_tokens < 1:
        raise UsageError("--max-tokens must be a positive integer")
    try:
        done = asyncio.run(
            batch.submit_batch(
                args.file,
                model=args.model,
                max_tokens=args.max_tokens,
                max_cost_usd=cap,
                dry_run=args.dry_run,
                new=args.new,
                ledger=args.ledger,
            )
        )
    except batch.CostRefused as exc:
        _say(exc.estimate.describe())  # the refusal is about the estimate: show it first
        raise
    if args.json:
        print(json.dumps({"batch_id": done.batch_id, "how": done.how, "estimate": done.estimate.to_json()}))
        return EXIT_OK
    _say(done.estimate.describe())
    if done.how == "dry-run":
        _say("dry run: nothing was sent")
        return EXIT_OK
    notes = {
        "journaled": "already submitted (journaled); nothing sent. Pass --new to submit it again",
        "recovered": "an earlier submit of this input was interrupted; found its batch, nothing sent",
        "created": "submitted",
    }
    _say(notes[done.how])
    print(done.batch_id)
    return EXIT_OK


def _results(args: argparse.Namespace) -> int:
    from thrifty import batch

    done = asyncio.run(
        batch.batch_results(
            args.batch_id,
            wait=args.wait,
            poll_interval=args.poll_interval,
            timeout=args.timeout,
            ledger=args.ledger,
            record=not args.no_ledger,
        )
    )
    text = "".join(json.dumps(line, ensure_ascii=False) + "\n" for line in done.lines)
    if args.output is not None:
        try:
            args.output.write_text(text, "utf-8")
        except OSError as exc:
            raise UsageError(f"--output {args.output}: {exc.strerror or type(exc).__name__}") from None
    else:
        sys.stdout.write(text)
    counts: dict[str, int] = {}
    for line in done.lines:
        counts[line["status"]] = counts.get(line["status"], 0) + 1
    summary = ", ".join(f"{v} {k}" for k, v in sorted(counts.items()))
    ledger = (
        "not recorded (--no-ledger)"
        if args.no_ledger
        else f"{done.recorded} ledger rows recorded, {done.already_recorded} already there"
    )
    _say(f"{args.batch_id}: {summary}; ${done.cost_usd:f} at batch prices; {ledger}")
    return EXIT_OK
