"""The usage dashboard: a self-contained HTML page of the ledger's spend (``thrifty dashboard``,
``thrifty usage --html``). ``data`` computes the numbers, ``charts`` draws them, ``page`` puts
them in one file."""
