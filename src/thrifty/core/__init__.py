"""The shared kernel: the few modules every layer may import, and which import no other layer.

The event stream, the ways a run ends and the reading of hand-edited JSON files are spoken by
the agent loop, billing, the CLI and the SDK alike. Keeping them here, below all of those, is
what lets billing meter an event or refuse a budget without importing the agent. A module in
``core`` imports nothing from thrifty outside ``core`` (``thrifty.__version__`` aside, should one
need it); ``tests/test_layers.py`` holds it to that.
"""
