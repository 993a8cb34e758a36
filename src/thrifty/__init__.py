"""thrifty: a headless coding agent and Agent SDK that knows who pays for every token.

    import thrifty

    async for message in thrifty.query("What does main.py do?", thrifty.Options(cwd="repo")):
        if isinstance(message, thrifty.ResultMessage):
            print(message.result, message.total_cost_usd)

The SDK names (``query``, ``Client``, ``Options``, ``tool``, ...) load on first use, so
``import thrifty`` stays cheap for the CLI; they live in ``thrifty.sdk``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from thrifty.sdk import (
        ApiRetry,
        ApiUsage,
        AssistantMessage,
        BillingNotice,
        CanUseTool,
        ClaudeAgentOptions,
        ClaudeSDKClient,
        Client,
        HookCallback,
        HookContext,
        HookMatcher,
        Message,
        NotConnectedError,
        Options,
        PermissionDenied,
        PermissionResult,
        PermissionResultAllow,
        PermissionResultDeny,
        PermissionRuleValue,
        PermissionUpdate,
        RateLimit,
        RateLimitEvent,
        Result,
        ResultMessage,
        SdkMcpServer,
        SdkMcpTool,
        SetupError,
        StreamEvent,
        SystemInit,
        SystemMessage,
        ToolAnnotations,
        ToolPermissionContext,
        UserMessage,
        create_sdk_mcp_server,
        parse_output,
        query,
        query_sync,
        run_sync,
        tool,
    )

__all__ = [
    "ApiRetry",
    "ApiUsage",
    "AssistantMessage",
    "BillingNotice",
    "CanUseTool",
    "ClaudeAgentOptions",
    "ClaudeSDKClient",
    "Client",
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
    "SystemInit",
    "SystemMessage",
    "ToolAnnotations",
    "ToolPermissionContext",
    "UserMessage",
    "__version__",
    "create_sdk_mcp_server",
    "parse_output",
    "query",
    "query_sync",
    "run_sync",
    "tool",
]

_SDK_NAMES = frozenset(__all__) - {"__version__"}


def __getattr__(name: str) -> Any:
    """Load the SDK (and ``anthropic``) only when one of its names is first used."""
    if name not in _SDK_NAMES:
        raise AttributeError(f"module 'thrifty' has no attribute {name!r}")
    value = getattr(importlib.import_module("thrifty.sdk"), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_SDK_NAMES})
