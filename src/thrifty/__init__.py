"""thrifty: a headless coding agent and Agent SDK that knows who pays for every token.

    import thrifty

    async for message in thrifty.query("What does main.py do?", thrifty.Options(cwd="repo")):
        if isinstance(message, thrifty.ResultMessage):
            print(message.result, message.total_cost_usd)

The SDK names (``query``, ``Client``, ``Options``, ``tool``, ...) load on first use, so
``import thrifty`` stays cheap for the CLI; they live in ``thrifty.sdk``. The public API is
``__all__`` below plus the simulator in ``thrifty.testing``; every other module is internal
(docs/sdk.md, "Public API"). The helpers here are imported under private names so that
nothing but ``__all__`` looks public (``tests/sdk/test_exports.py``).
"""

import importlib as _importlib
import typing as _typing

__version__ = "0.1.0"

# The names and their types, for type checkers only; at run time ``__getattr__`` loads them.
# ruff: noqa: F405 (so ruff cannot see where the names in ``__all__`` come from)
if _typing.TYPE_CHECKING:
    from thrifty.sdk import *  # noqa: F403

#: The public API, and the one list of it: ``thrifty.sdk`` derives its ``__all__`` from this one
#: (less ``__version__``), because ``import thrifty`` must know the names without importing it.
__all__ = [
    "ApiRetry",
    "ApiUsage",
    "AssistantMessage",
    "BillingNotice",
    "CanUseTool",
    "ClaudeAgentOptions",
    "ClaudeSDKClient",
    "Client",
    "CompactBoundary",
    "HookCallback",
    "HookContext",
    "HookMatcher",
    "Message",
    "NotConnectedError",
    "Options",
    "PermissionDenied",
    "PermissionResult",
    "PermissionResultAllow",
    "PermissionResultDeny",
    "PermissionRuleValue",
    "PermissionUpdate",
    "RateLimit",
    "RateLimitEvent",
    "Result",
    "ResultMessage",
    "SdkMcpServer",
    "SdkMcpTool",
    "SetupError",
    "StreamEvent",
    "SystemFrame",
    "SystemInit",
    "SystemMessage",
    "TaskEvent",
    "ToolAnnotations",
    "ToolPermissionContext",
    "Usage",
    "UserMessage",
    "__version__",
    "batch_results",
    "batch_status",
    "cancel_batch",
    "create_sdk_mcp_server",
    "parse_output",
    "query",
    "query_sync",
    "run_sync",
    "submit_batch",
    "tool",
]

_SDK_NAMES = frozenset(__all__) - {"__version__"}
#: The Message Batches functions load from ``thrifty.batch`` alone (no agent, no ``anthropic``).
_BATCH_NAMES = frozenset({"batch_results", "batch_status", "cancel_batch", "submit_batch"})


def __getattr__(name: str) -> _typing.Any:
    """Load the SDK (and ``anthropic``) only when one of its names is first used."""
    if name not in _SDK_NAMES:
        raise AttributeError(f"module 'thrifty' has no attribute {name!r}")
    home = "thrifty.batch" if name in _BATCH_NAMES else "thrifty.sdk"
    value = getattr(_importlib.import_module(home), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_SDK_NAMES})
