"""A real MCP server written with the ``mcp`` package, for thrifty's tests.

``python -m tests.mcp.servers.calc`` serves over stdio; ``... http PORT`` over streamable HTTP
and ``... sse PORT`` over SSE, both on 127.0.0.1. Tools: ``add``, ``env`` (reads a variable of
the server's environment), ``header`` (reads a request header, HTTP only), ``slow``, ``pid``, ``crash``
(the process exits at once, as a server that dies mid-session).
"""

from __future__ import annotations

import os
import sys

import anyio
from mcp.server.mcpserver import Context, MCPServer

server = MCPServer("calc", version="4.5.6")


@server.tool(description="Add two numbers")
def add(a: float, b: float) -> str:
    return f"sum is {a + b:g}"


@server.tool(description="The value of an environment variable of the server")
def env(name: str) -> str:
    return os.environ.get(name, "<unset>")


@server.tool(description="The value of a header of the HTTP request")
def header(name: str, ctx: Context) -> str:
    request = ctx.request_context.request
    headers = getattr(request, "headers", None)
    return str(headers.get(name, "<none>")) if headers is not None else "<no request>"


@server.tool(description="Answer after a while")
async def slow(seconds: float) -> str:
    await anyio.sleep(seconds)
    return "done"


@server.tool(description="The server's process id")
def pid() -> str:
    return str(os.getpid())


@server.tool(description="End the server process at once")
def crash() -> str:
    os._exit(3)


def main(argv: list[str]) -> None:
    if len(argv) >= 2 and argv[0] in ("http", "sse"):
        kind = "streamable-http" if argv[0] == "http" else "sse"
        server.run(kind, host="127.0.0.1", port=int(argv[1]))  # type: ignore[call-overload]
    else:
        server.run("stdio")


if __name__ == "__main__":
    main(sys.argv[1:])
