"""thrifty: a headless coding agent and Agent SDK that knows who pays for every token."""

__version__ = "0.1.0"

__all__ = ["__version__"]
