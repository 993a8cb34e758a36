"""A job's git checkout: ``repo`` at ``ref``, cloned into the fleet's state directory.

A local repository is cloned with ``--shared`` (its objects are borrowed, nothing is copied); a
URL is cloned as usual. Every attempt starts from a fresh checkout, so a job killed halfway
through its edits reruns on clean files. ``git`` runs as a subprocess with no terminal prompts.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path


class CheckoutError(RuntimeError):
    """git could not clone or check out the job's repository: one line."""


async def _git(*args: str, cwd: Path | None = None) -> str:
    env = {**os.environ, "GIT_TERMINAL_PROMPT": "0", "GIT_ASKPASS": "true"}
    try:
        proc = await asyncio.create_subprocess_exec(
            "git",
            *args,
            cwd=cwd,
            env=env,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
    except FileNotFoundError:
        raise CheckoutError("git is not installed (a job with a repo needs it)") from None
    out, err = await proc.communicate()
    if proc.returncode != 0:
        lines = [line for line in err.decode("utf-8", "replace").splitlines() if line.strip()]
        raise CheckoutError(f"git {args[0]}: {lines[-1] if lines else f'exit {proc.returncode}'}")
    return out.decode("utf-8", "replace").strip()


async def checkout(repo: str, ref: str | None, dest: Path) -> str:
    """Clone ``repo`` into ``dest`` (replacing what was there) and check out ``ref`` detached
    (default: the repository's HEAD). Returns the commit checked out."""
    if dest.exists():
        await asyncio.to_thread(shutil.rmtree, dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    local = "://" not in repo and not repo.startswith("git@")
    if local and not Path(repo).exists():
        raise CheckoutError(f"repo {repo}: no such directory")
    shared = ["--shared"] if local else []
    await _git("clone", "--quiet", "--no-checkout", *shared, "--", repo, str(dest))
    target = ref or "HEAD"
    commit = ""
    for candidate in (target, f"origin/{target}"):
        try:
            commit = await _git("rev-parse", "--verify", "--quiet", f"{candidate}^{{commit}}", cwd=dest)
            break
        except CheckoutError:
            continue
    if not commit:
        raise CheckoutError(f"ref {target!r} is not in {repo}")
    await _git("checkout", "--quiet", "--detach", commit, cwd=dest)
    return commit
