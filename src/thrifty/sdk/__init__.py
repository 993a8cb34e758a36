"""The in-process Agent SDK: ``query``, ``Client``, ``Options``, ``@tool``, ``can_use_tool``, hooks.

Pure Python and in-process: the same session and loop as ``thrifty -p``, no subprocess. The names
follow ``claude-agent-sdk`` where the meaning is the same; see docs/sdk.md for the differences.
``import thrifty`` exposes all of these lazily, so ``thrifty.query`` is the usual spelling.
"""

from thrifty.sdk.client import ClaudeSDKClient, Client
from thrifty.sdk.errors import NotConnectedError, SetupError
from thrifty.sdk.hooks import HookCallback, HookContext, HookMatcher
from thrifty.sdk.messages import (
    ApiRetry,
    ApiUsage,
    AssistantMessage,
    BillingNotice,
    Message,
    PermissionDenied,
    RateLimit,
    RateLimitEvent,
    Result,
    ResultMessage,
    StreamEvent,
    SystemInit,
    SystemMessage,
    UserMessage,
    parse_output,
)
from thrifty.sdk.options import ClaudeAgentOptions, Options
from thrifty.sdk.permissions import (
    CanUseTool,
    PermissionResult,
    PermissionResultAllow,
    PermissionResultDeny,
    PermissionRuleValue,
    PermissionUpdate,
    ToolPermissionContext,
)
from thrifty.sdk.runner import query, query_sync, run_sync
from thrifty.sdk.tools import SdkMcpServer, SdkMcpTool, ToolAnnotations, create_sdk_mcp_server, tool

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
    "create_sdk_mcp_server",
    "parse_output",
    "query",
    "query_sync",
    "run_sync",
    "tool",
]
