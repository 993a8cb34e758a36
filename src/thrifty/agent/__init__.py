"""The agent loop, its typed event stream, permissions, memory and hooks."""
