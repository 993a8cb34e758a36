"""Argument parsing and the renderers of the event stream."""
