"""CLAUDE.md memory: finding the files to load, and the Markdown rules for reading them.

``loader`` discovers and concatenates memory files; ``markdown`` strips comments and finds
``@path`` imports. Nothing is re-exported here.
"""
