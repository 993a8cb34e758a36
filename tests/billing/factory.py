"""Ledger rows for tests and the bench: every field set to something a backend could get wrong.

The rows are the conformance suite's own (``thrifty.billing.ledger.conformance``), so the
tests, the bench and a third-party backend's tests all write the same ones.
"""

from __future__ import annotations

from thrifty.billing.ledger.conformance import T0, at, make_row

__all__ = ["T0", "at", "make_row"]
