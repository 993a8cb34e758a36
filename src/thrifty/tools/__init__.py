"""Built-in tools: one module per tool, registered in one table (``registry``)."""
