"""The in-process Agent SDK: ``query``, ``Client``, ``Options``, ``@tool``, ``can_use_tool``, hooks.

Pure Python and in-process: the same session and loop as ``thrifty -p``, no subprocess. The names
follow ``claude-agent-sdk`` where the meaning is the same; see docs/sdk.md for the differences.
``import thrifty`` exposes all of these lazily, so ``thrifty.query`` is the usual spelling.

The list of public names is ``thrifty.__all__``: ``import thrifty`` must know them without
importing this package (which imports ``anthropic``), so the one list lives there and this
package's ``__all__`` is derived from it. Each import below is written ``X as X``, the spelling
that tells type checkers a name is re-exported; ``tests/sdk/test_exports.py`` checks that the
imports and the list agree.
"""

import typing as _typing

from thrifty import __all__ as _public_names
from thrifty.batch import batch_results as batch_results
from thrifty.batch import batch_status as batch_status
from thrifty.batch import cancel_batch as cancel_batch
from thrifty.batch import submit_batch as submit_batch
from thrifty.sdk.client import ClaudeSDKClient as ClaudeSDKClient
from thrifty.sdk.client import Client as Client
from thrifty.sdk.errors import NotConnectedError as NotConnectedError
from thrifty.sdk.errors import SetupError as SetupError
from thrifty.sdk.hooks import HookCallback as HookCallback
from thrifty.sdk.hooks import HookContext as HookContext
from thrifty.sdk.hooks import HookMatcher as HookMatcher
from thrifty.sdk.messages import ApiRetry as ApiRetry
from thrifty.sdk.messages import ApiUsage as ApiUsage
from thrifty.sdk.messages import AssistantMessage as AssistantMessage
from thrifty.sdk.messages import BillingNotice as BillingNotice
from thrifty.sdk.messages import CompactBoundary as CompactBoundary
from thrifty.sdk.messages import Message as Message
from thrifty.sdk.messages import PermissionDenied as PermissionDenied
from thrifty.sdk.messages import RateLimit as RateLimit
from thrifty.sdk.messages import RateLimitEvent as RateLimitEvent
from thrifty.sdk.messages import Result as Result
from thrifty.sdk.messages import ResultMessage as ResultMessage
from thrifty.sdk.messages import StreamEvent as StreamEvent
from thrifty.sdk.messages import SystemFrame as SystemFrame
from thrifty.sdk.messages import SystemInit as SystemInit
from thrifty.sdk.messages import SystemMessage as SystemMessage
from thrifty.sdk.messages import TaskEvent as TaskEvent
from thrifty.sdk.messages import Usage as Usage
from thrifty.sdk.messages import UserMessage as UserMessage
from thrifty.sdk.messages import parse_output as parse_output
from thrifty.sdk.options import ClaudeAgentOptions as ClaudeAgentOptions
from thrifty.sdk.options import Options as Options
from thrifty.sdk.permissions import CanUseTool as CanUseTool
from thrifty.sdk.permissions import PermissionResult as PermissionResult
from thrifty.sdk.permissions import PermissionResultAllow as PermissionResultAllow
from thrifty.sdk.permissions import PermissionResultDeny as PermissionResultDeny
from thrifty.sdk.permissions import PermissionRuleValue as PermissionRuleValue
from thrifty.sdk.permissions import PermissionUpdate as PermissionUpdate
from thrifty.sdk.permissions import ToolPermissionContext as ToolPermissionContext
from thrifty.sdk.runner import query as query
from thrifty.sdk.runner import query_sync as query_sync
from thrifty.sdk.runner import run_sync as run_sync
from thrifty.sdk.tools import SdkMcpServer as SdkMcpServer
from thrifty.sdk.tools import SdkMcpTool as SdkMcpTool
from thrifty.sdk.tools import ToolAnnotations as ToolAnnotations
from thrifty.sdk.tools import create_sdk_mcp_server as create_sdk_mcp_server
from thrifty.sdk.tools import tool as tool

if not _typing.TYPE_CHECKING:  # type checkers take the names from the ``as`` imports above
    __all__ = [name for name in _public_names if name != "__version__"]
