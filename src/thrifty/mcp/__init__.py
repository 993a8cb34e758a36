"""An MCP client that both the CLI and the SDK can use: JSON-RPC 2.0 over a pluggable ``Transport``.

- ``config``: ``--mcp-config`` parsing and the ``McpServer`` status record.
- ``transport``: the ``Transport`` protocol, the one seam between the client and a server.
- ``client``: ``McpClient``, the handshake and ``tools/call`` over any transport.
- ``tools``: each listed tool as a ``mcp__<server>__<tool>`` proxy tool.
- ``external``: stdio, SSE and streamable-HTTP servers, over the ``mcp`` package's transports
  (the optional extra ``thrifty[mcp]``, imported only when such a server starts).
- ``servers``: ``McpServers``, a session's servers: which ones (with ``.mcp.json`` approval and
  ``${VAR}`` expansion), started together, their tools and statuses, reconnect, toggle, close.

This package sits below ``thrifty.cli`` and ``thrifty.sdk`` and imports neither
(``tests/test_layers.py``); a transport that needs one of them (the CLI's control channel) lives
there and is handed in.
"""
