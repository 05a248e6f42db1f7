"""A throw-away PostgreSQL server for tests and proofs: ``initdb`` into a temp folder, ``pg_ctl start`` on
a free loopback port, a migrated template database, and a fresh database per test copied from it.

Needs Debian's ``postgresql`` package (or any ``initdb`` on PATH) and psycopg; :func:`missing` says in
one line what is absent, for a skip reason. As root, the server runs as the ``postgres`` user, since
PostgreSQL refuses to run as root.

The server goes away with the process that started it, however that process ends: a watchdog process
holds the read end of a pipe whose only write end the starting process holds; when that end closes (on
:meth:`Server.stop`, or because the process was killed, even with SIGKILL) the watchdog stops the server
and deletes its folder.
"""

from __future__ import annotations

import glob
import itertools
import os
import shutil
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

ADMIN = "unpaid_admin"
PASSWORD = "test-only-secret"  # a throw-away server on loopback: the password tests check is refused
TEMPLATE = "unpaid_template"

# Run by the watchdog (``python -c``, no import of unpaid): wait for EOF on stdin, then the stop command
# (argv[2:]) and the folder's removal (argv[1]).
_WATCHDOG = """
import os, shutil, subprocess, sys
while os.read(0, 4096):
    pass
subprocess.run(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
shutil.rmtree(sys.argv[1], ignore_errors=True)
"""


def bin_dir() -> Path | None:
    """The folder of initdb and pg_ctl: PATH first, then Debian's /usr/lib/postgresql/N/bin (newest)."""
    found = shutil.which("initdb")
    if found:
        return Path(found).parent
    dirs = sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=lambda d: int(Path(d).parent.name or 0))
    return Path(dirs[-1]) if dirs and (Path(dirs[-1]) / "initdb").exists() else None


def missing() -> str | None:
    """Why no server can be started here (one line), or None."""
    if bin_dir() is None:
        return "PostgreSQL server binaries not found (apt-get install postgresql)"
    try:
        import psycopg  # noqa: F401
    except ImportError:
        return "psycopg not installed (pip install 'unpaid[postgres]')"
    return None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """One running server; :meth:`new_database` gives each test a migrated database of its own."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="unpaid-pg-"))
        self.port = _free_port()
        self._names = itertools.count(1)
        self._as: list[str] = []
        if hasattr(os, "geteuid") and os.geteuid() == 0:
            shutil.chown(self.folder, "postgres", "postgres")
            self._as = ["runuser", "-u", "postgres", "--"]
        bins = bin_dir()
        assert bins is not None, missing()
        self.bins = bins
        self.data = self.folder / "data"
        self._watch()
        try:
            self._start()
        except BaseException:
            self.stop()
            raise

    def _start(self) -> None:
        pwfile = self.folder / "pw"
        pwfile.write_text(PASSWORD)
        if self._as:
            shutil.chown(pwfile, "postgres", "postgres")
        self._run([str(self.bins / "initdb"), "-D", str(self.data), "-U", ADMIN, "--pwfile", str(pwfile),
                   "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C.UTF-8"])
        self._run([str(self.bins / "pg_ctl"), "-D", str(self.data), "-l", str(self.folder / "log"), "-w", "-s",
                   "-o", f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
                         " -c synchronous_commit=off -c full_page_writes=off -c max_connections=200",
                   "start"])
        self._template()

    def _stop_command(self) -> list[str]:
        return self._as + [str(self.bins / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "-s", "stop"]

    def _watch(self) -> None:
        """Start the watchdog before the server, so that a kill at any later moment is covered."""
        read_end, self._lifeline = os.pipe()  # not inheritable: initdb, pg_ctl and postgres never hold it
        try:
            self._watchdog = subprocess.Popen(
                [sys.executable, "-c", _WATCHDOG, str(self.folder), *self._stop_command()], stdin=read_end,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/", start_new_session=True)
        finally:
            os.close(read_end)

    def _run(self, args: list[str]) -> None:
        subprocess.run(self._as + args, check=True, capture_output=True, cwd=self.folder)

    def url(self, dbname: str, user: str = ADMIN) -> str:
        return f"postgresql://{user}@127.0.0.1:{self.port}/{dbname}"

    def admin(self, dbname: str = "postgres"):
        import psycopg

        return psycopg.connect(host="127.0.0.1", port=self.port, user=ADMIN, password=PASSWORD, dbname=dbname,
                               autocommit=True)

    def _template(self) -> None:
        from unpaid.store import Store

        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {TEMPLATE}")
        os.environ.setdefault("UNPAID_DB_PASSWORD", PASSWORD)
        Store.open(self.url(TEMPLATE)).close()

    def new_database(self, empty: bool = False) -> str:
        """The URL of a new database: a copy of the migrated template (``empty``: a blank one)."""
        name = f"t{os.getpid()}_{next(self._names)}"
        with self.admin() as conn:
            conn.execute(f"CREATE DATABASE {name}" + ("" if empty else f" TEMPLATE {TEMPLATE}"))
        return self.url(name)

    def stop(self) -> None:
        """Stop the server and delete its folder: the watchdog's work, done now and waited for."""
        if self._lifeline is None:
            return
        os.close(self._lifeline)
        self._lifeline = None
        try:
            self._watchdog.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self._watchdog.kill()
        if self.folder.exists():  # the watchdog did not get to it
            subprocess.run(self._stop_command(), capture_output=True)
            shutil.rmtree(self.folder, ignore_errors=True)
