"""How a Bash command line is split into the simple commands the shell would run, and judged.

``split`` scans a line the way Bash tokenizes it into the words and redirections of ``syntax``;
``commands`` answers per simple command whether it is read-only, which rule texts it matches and
which paths it edits; ``permissions`` folds those answers into one verdict against the rules.
Other packages import from the modules themselves; nothing is re-exported here.
"""
