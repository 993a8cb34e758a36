"""Message Batches at half the price, metered like every other call (docs/batch.md).

``submit_batch``, ``batch_status``, ``batch_results`` and ``cancel_batch`` (coroutines) are the SDK,
also exported as ``thrifty.submit_batch`` and so on; ``thrifty batch`` is the same on the command
line. Importing this package does not import ``anthropic``: the client loads on the first call.
"""

from thrifty.batch.api import BatchResults, BatchStatus, batch_results, batch_status, cancel_batch
from thrifty.batch.context import BatchError, CostRefused, NotReady
from thrifty.batch.costs import Estimate
from thrifty.batch.input import BatchInputError
from thrifty.batch.submit import Submitted, submit_batch

__all__ = [
    "BatchError",
    "BatchInputError",
    "BatchResults",
    "BatchStatus",
    "CostRefused",
    "Estimate",
    "NotReady",
    "Submitted",
    "batch_results",
    "batch_status",
    "cancel_batch",
    "submit_batch",
]
