"""Helpers shared by the benchmark scripts (not a benchmark itself).

The CLI wrapper below imports this module in the measured child process, so it imports only the
standard library and ``unpaid``'s plugin marker at the top.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Iterator, Sequence

ROOT = Path(__file__).resolve().parent.parent
#: The moment every benchmark pretends it is (a Tuesday, 12:00 in Moscow).
NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)

ORDER_COLUMNS = ("id", "source", "native_id", "number", "status", "native_status", "created_at", "updated_at",
                 "customer_key", "email", "phone", "name", "product_key", "product_title", "total_minor",
                 "currency", "synced_at")
TASK_COLUMNS = ("key", "order_id", "playbook", "step", "due_at", "script", "state", "attempts", "created_at")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def insert_rows(conn: Any, table: str, columns: Sequence[str], rows: list) -> None:
    """Bulk-insert ``rows`` (tuples in ``columns`` order) with plain SQL, then empty the list."""
    if rows:
        conn.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                         rows)
        rows.clear()


def clean_env(**extra: str) -> dict[str, str]:
    """This process's environment without any UNPAID_* setting, plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNPAID_")}
    env.update(extra)
    return env


@contextmanager
def scratch_folder(prefix: str, keep: bool = False) -> Iterator[Path]:
    """A temporary folder, removed afterwards unless ``keep`` (then its path is printed)."""
    folder = Path(tempfile.mkdtemp(prefix=prefix))
    try:
        yield folder
    finally:
        if keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


def timed(cmd: list[str], *, check: bool = True, **kwargs) -> tuple[float, int, subprocess.CompletedProcess]:
    """Wall seconds and peak RSS (KiB) of one command, via GNU time when present (else RSS is 0).

    The process's CPU seconds (user + system) are in ``proc.cpu`` (0.0 without GNU time): on a busy
    machine they vary less than the wall time.
    """
    gnu_time = Path("/usr/bin/time")
    report = tempfile.NamedTemporaryFile(suffix=".time", delete=False).name
    full = [str(gnu_time), "-v", "-o", report, *cmd] if gnu_time.exists() else cmd
    kwargs.setdefault("capture_output", "stdout" not in kwargs)
    start = time.perf_counter()
    proc = subprocess.run(full, text=True, **kwargs)
    wall = time.perf_counter() - start
    rss, cpu = 0, 0.0
    if gnu_time.exists():
        for line in Path(report).read_text().splitlines():
            if "Maximum resident set size" in line:
                rss = int(line.rsplit(":", 1)[1])
            elif "User time (seconds)" in line or "System time (seconds)" in line:
                cpu += float(line.rsplit(":", 1)[1])
    proc.cpu = cpu
    os.unlink(report)
    if check and proc.returncode != 0:
        sys.exit(f"{' '.join(cmd)} failed ({proc.returncode}):\n{(proc.stderr or '')[-2000:]}")
    return wall, rss, proc


# ---- a connector type for benchmarks that drive `unpaid` with the example playbooks ----

#: Runs the real CLI (``unpaid ARGS...``) with :class:`BenchPlugin` registered next to the installed plugins.
CLI_WITH_BENCH_PLUGIN = (
    "import sys\n"
    f"sys.path.insert(0, {str(ROOT)!r})\n"
    "from unpaid import plugins\n"
    "from benchmarks._common import BenchPlugin\n"
    "plugins.set_plugins(plugins.load(extra=[('bench', BenchPlugin)]))\n"
    "from unpaid.cli import main\n"
    "main(sys.argv[1:])\n"
)


def bench_cli(*args: str) -> list[str]:
    """The command line of ``unpaid ARGS`` with the ``bench-events`` connector type available."""
    return [sys.executable, "-c", CLI_WITH_BENCH_PLUGIN, *args]


def _bench_spec():
    from unpaid.connector import Capability, Connector, ConnectorSpec

    class StoreOnly(Connector):
        """A source whose orders are already in the store: nothing to fetch, no opens reported yet.

        It has no FETCH_ONE, so `unpaid run` acts on the stored order without a re-check at the source.
        """

        def __init__(self, name: str):
            self.name = name
            self.spec = SPEC

        def fetch_orders(self, since: str | None) -> Iterable[Any]:
            return iter(())

        def fetch_events(self, since: str | None) -> Iterable[Any]:
            return iter(())

    SPEC = ConnectorSpec(name="bench-events", title="Benchmark source: the store's orders, reports opens and clicks",
                         capabilities=frozenset({Capability.FETCH, Capability.EVENTS}),
                         factory=lambda name, settings, secrets: StoreOnly(name), events=("open", "click"))
    return SPEC


class BenchPlugin:
    """Registers the ``bench-events`` connector type (a source that reports opens, like a mail service)."""

    from unpaid import hookimpl as _hookimpl

    @staticmethod
    @_hookimpl
    def register_connectors(register):
        register(_bench_spec())
