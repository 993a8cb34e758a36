"""The SDK's errors.

``SetupError`` (a ``ValueError``) is the one error for a configuration mistake: an invalid option,
a bad schema, an unknown ``resume`` id. It is raised before any request is sent, so a mistake
never costs a token. Problems during a run are not exceptions: they end the run in a ``Result``
whose ``is_error`` is true (``subtype`` and ``errors`` say why), exactly as in Claude Code.
"""

from __future__ import annotations

from thrifty.agent.validate import SetupError

__all__ = ["NotConnectedError", "SetupError"]


class NotConnectedError(RuntimeError):
    """A ``Client`` method that needs a session was called before ``connect()`` or after
    ``disconnect()``."""
