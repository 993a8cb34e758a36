"""Whether a tool call is allowed, asked about or denied: modes, rules and the paths they cover.

``policy`` decides (and holds the permission modes); ``rules`` parses and matches a single
``Tool(specifier)`` rule; ``paths`` compiles path patterns and finds the paths a tool touches;
``updates`` applies a host's ``updatedPermissions`` to the running session. Callers import from
those modules directly, so importing one of them never pulls in the rest; nothing is re-exported.
"""
