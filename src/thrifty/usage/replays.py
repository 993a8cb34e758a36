"""``/btw`` side questions: an earlier answer logged again under a new request id is not a call.

Claude Code logs a ``/btw`` side question by replaying an earlier assistant message, with its
message id and usage, under the side request's own request id. Keyed by (message id, request
id), that replay would be one more call. The rule: a line whose message id was already seen
under another request id with the very same usage (every token count and server tool count)
is a replay of that call. The same message id with other usage is another call: the API has
been seen to reuse a message id under load, and two real calls with identical counts to the
token are not a case worth a wrong total either way.

"Seen" means in this import, or, for a file read on from where an earlier import stopped, in
the ledger (the replayed answer may be in the part already read): one indexed lookup per new
message id there, which a fresh or full import (everything in memory) never pays.
"""

from __future__ import annotations

from thrifty.billing.ledger import Ledger, LedgerRow, RowQuery


class Replays:
    """Tells a ``/btw`` replay (an earlier message logged again under another request id, with
    the very same usage) from a call, by the usage each message id was seen with: in this run,
    and for a file read on from where an earlier import stopped, in the ledger too (the replayed
    message may be in the part already read)."""

    def __init__(self, ledger: Ledger, source: str) -> None:
        self.ledger = ledger
        #: The source the importer records rows under: the ledger's copies of its calls.
        self.source = source
        #: message id -> {usage signature: the request id first seen with it}
        self.seen: dict[str, dict[tuple[int, ...], str]] = {}
        self.keys: set[tuple[str, str | None]] = set()

    @staticmethod
    def signature(row: LedgerRow) -> tuple[int, ...]:
        return (
            row.input_tokens,
            row.output_tokens,
            row.cache_write_5m_tokens,
            row.cache_write_1h_tokens,
            row.cache_read_tokens,
            row.web_search_requests,
            row.web_fetch_requests,
        )

    def is_replay(self, key: tuple[str, str | None], row: LedgerRow, look_up: bool) -> bool:
        message_id, request_id = key
        if request_id is None:  # a replay is told by its other request id
            return False
        seen = self.seen.get(message_id)
        if seen is None:
            seen = self.seen[message_id] = {}
            if look_up:
                for held in self.ledger.query(RowQuery(message_id=message_id, source=self.source)):
                    seen.setdefault(self.signature(held), held.request_id)
        first = seen.setdefault(self.signature(row), row.request_id)
        if first == row.request_id:
            return False
        self.keys.add(key)
        return True
