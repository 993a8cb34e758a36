"""A throwaway PostgreSQL server for tests and the ledger bench: initdb into a temp dir, serve on loopback.

Nothing here touches a system cluster: the data directory, the unix socket and the log all live in
one temp dir that ``stop()`` removes. The superuser has a password and TCP logins must present it
(scram-sha-256), so code under test meets a real URL password it must never print.

PostgreSQL refuses to run as root. Under root the server binaries run as the ``postgres`` system
user (``scripts/ensure-postgres.sh`` makes sure one exists on CI); this module never creates users.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import secrets
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

SUPERUSER = "thrifty"


class PgUnavailable(RuntimeError):
    """No PostgreSQL server binaries (or, under root, no ``postgres`` user) on this machine."""


def find_bindir() -> Path | None:
    """``initdb``/``pg_ctl`` from PATH first (a developer's choice), else the newest Debian install."""
    on_path = shutil.which("pg_ctl")
    if on_path and shutil.which("initdb"):
        return Path(on_path).resolve().parent
    candidates = sorted(
        glob.glob("/usr/lib/postgresql/*/bin"),
        key=lambda p: int(Path(p).parent.name) if Path(p).parent.name.isdigit() else 0,
    )
    for bindir in reversed(candidates):
        if (Path(bindir) / "pg_ctl").exists() and (Path(bindir) / "initdb").exists():
            return Path(bindir)
    return None


def _run_as() -> tuple[list[str], int | None, int | None]:
    """The command prefix and uid/gid the server must run under (root is refused by PostgreSQL)."""
    if os.geteuid() != 0:
        return [], None, None
    try:
        pw = pwd.getpwnam("postgres")
    except KeyError:
        raise PgUnavailable(
            "running as root and there is no 'postgres' system user to run PostgreSQL as; "
            "run scripts/ensure-postgres.sh"
        ) from None
    runuser = shutil.which("runuser")
    prefix = [runuser, "-u", "postgres", "--"] if runuser else ["setpriv", *_setpriv_args(pw)]
    return prefix, pw.pw_uid, pw.pw_gid


def _setpriv_args(pw: pwd.struct_passwd) -> list[str]:
    return [f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups", "--"]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class PgServer:
    bindir: Path
    root: Path
    port: int
    password: str
    prefix: list[str] = field(default_factory=list)

    def url(self, dbname: str = "postgres") -> str:
        return f"postgresql://{SUPERUSER}:{quote(self.password, safe='')}@127.0.0.1:{self.port}/{dbname}"

    def create_database(self, name: str) -> str:
        """A fresh, empty database; returns its URL."""
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        pg_ctl = str(self.bindir / "pg_ctl")
        with contextlib.suppress(subprocess.SubprocessError, OSError):
            subprocess.run(
                [*self.prefix, pg_ctl, "-D", str(self.root / "data"), "-m", "fast", "-w", "stop"],
                cwd=self.root,
                capture_output=True,
                timeout=60,
            )
        shutil.rmtree(self.root, ignore_errors=True)


def start(*, durable: bool = True) -> PgServer:
    """Start a private server; ``durable=False`` turns fsync off (tests kill clients, never the server)."""
    bindir = find_bindir()
    if bindir is None:
        raise PgUnavailable(
            "no PostgreSQL server binaries (pg_ctl/initdb not on PATH nor in /usr/lib/postgresql/*/bin); "
            "run scripts/ensure-postgres.sh"
        )
    prefix, uid, gid = _run_as()
    root = Path(tempfile.mkdtemp(prefix="thrifty-pg-"))
    try:
        return _start_in(root, bindir, prefix, uid, gid, durable)
    except BaseException:
        shutil.rmtree(root, ignore_errors=True)
        raise


def _start_in(
    root: Path, bindir: Path, prefix: list[str], uid: int | None, gid: int | None, durable: bool
) -> PgServer:
    # A password with URL-reserved characters makes the URL-quoting and masking paths real.
    password = f"pw:{secrets.token_hex(6)}@/x"
    pwfile = root / "pwfile"
    pwfile.write_text(password + "\n")
    (root / "sock").mkdir()
    if uid is not None and gid is not None:
        for p in (root, pwfile, root / "sock"):
            os.chown(p, uid, gid)

    def run(*args: str) -> None:
        proc = subprocess.run([*prefix, *args], cwd=root, capture_output=True, text=True, timeout=120)
        if proc.returncode != 0:
            log = root / "log"
            tail = log.read_text(errors="replace")[-2000:] if log.exists() else ""
            raise RuntimeError(f"{args[0]} failed ({proc.returncode}): {proc.stderr.strip()}\n{tail}")

    run(
        str(bindir / "initdb"), "-D", str(root / "data"), "-U", SUPERUSER, f"--pwfile={pwfile}",
        "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--no-locale", "--no-sync",
    )  # fmt: skip
    settings = ["-c listen_addresses=127.0.0.1", f"-k {root / 'sock'}", "-c max_connections=60"]
    if not durable:
        settings += ["-c fsync=off", "-c full_page_writes=off"]
    last: Exception | None = None
    for _ in range(3):  # the free port can be taken between finding it and binding it
        port = _free_port()
        try:
            run(
                str(bindir / "pg_ctl"), "-D", str(root / "data"), "-l", str(root / "log"), "-w", "-t", "60",
                "-o", " ".join([f"-p {port}", *settings]), "start",
            )  # fmt: skip
        except RuntimeError as exc:
            last = exc
            time.sleep(0.2)
            continue
        return PgServer(bindir=bindir, root=root, port=port, password=password, prefix=prefix)
    raise RuntimeError(f"PostgreSQL did not start: {last}")
