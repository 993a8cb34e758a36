"""The system prompt: thrifty's instructions, the environment, then memory, cache-friendly.

Blocks are ordered from most to least stable so the prompt cache keeps the long prefix across
runs: the fixed instructions first, then per-machine facts, then CLAUDE.md memory.
"""

from __future__ import annotations

import platform
from datetime import date
from pathlib import Path
from typing import Any

BASE_PROMPT = """You are thrifty, a headless coding agent working in a user's repository.
You have tools to read, search, edit and write files and to run shell commands. Use them to do
the task you are given, then answer with a short, plain summary of what you did and found.

- Read a file before you edit or overwrite it; prefer Edit for changes to existing files.
- Keep changes minimal and focused on the task; do not invent files or APIs you have not seen.
- Shell commands run non-interactively; avoid commands that wait for input.
- If a tool call is denied, do not retry the same call: explain what you needed instead.
- Your final message is what the user sees: lead with the answer."""


def environment_block(cwd: Path, additional_dirs: list[Path]) -> str:
    lines = [
        "<env>",
        f"Working directory: {cwd}",
        f"Is directory a git repo: {'yes' if (cwd / '.git').exists() else 'no'}",
        f"Platform: {platform.system().lower()}",
        f"Today's date: {date.today().isoformat()}",
    ]
    if additional_dirs:
        lines.append("Additional working directories: " + ", ".join(str(d) for d in additional_dirs))
    lines.append("</env>")
    return "\n".join(lines)


def system_blocks(
    *,
    cwd: Path,
    additional_dirs: list[Path],
    replace: str | None,
    append: str | None,
    memory: str,
    structured_output: bool,
) -> list[dict[str, Any]]:
    main = replace if replace is not None else BASE_PROMPT + "\n\n" + environment_block(cwd, additional_dirs)
    if structured_output:
        main += (
            "\n\nWhen you have the answer, you MUST call the StructuredOutput tool with it; "
            "its input is validated against the requested JSON schema."
        )
    blocks = [{"type": "text", "text": main}]
    tail = "\n\n".join(part for part in (memory.strip(), (append or "").strip()) if part)
    if tail:
        blocks.append({"type": "text", "text": tail})
    return blocks
