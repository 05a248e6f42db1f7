#!/usr/bin/env python3
"""`unpaid migrate` at scale: a SQLite store copied into PostgreSQL and back, each table's digest compared.

    python benchmarks/migrate_bench.py --store /tmp/perf/table/playbooks-1000000.db   # a throw-away server
    python benchmarks/migrate_bench.py --store shop.db --db postgresql://me@host/empty_db

The store is copied to a scratch folder first (the given one is only read). Prints the time and rows/s of
each direction and one line per table: rows, and whether the three digests (SQLite, PostgreSQL, SQLite
again) are equal. Exit 1 when any count or digest differs.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from unpaid.store import Store, migrate  # noqa: E402


def server_cpu(data: Path | None) -> float:
    """CPU seconds the PostgreSQL server has used so far: its postmaster and every backend that ended (the
    postmaster waits for them, so theirs is in its children's time). 0 when the server is not ours."""
    import os

    if data is None:
        return 0.0
    pid = (data / "postmaster.pid").read_text().split()[0]
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def process_cpu() -> float:
    import os

    t = os.times()
    return t.user + t.system


def digests(db: str) -> dict[str, str]:
    with Store.open(db, create=False) as store:
        return {t: migrate.digest(store, t) for t in migrate.tables(store)}


def timed_copy(source: str, target: str, data: Path | None) -> str:
    """Copy; one line with rows, wall seconds, rows/s and CPU seconds (this process + the server's)."""
    started, cpu, server = time.perf_counter(), process_cpu(), server_cpu(data)
    counts = migrate.run(source, target)
    wall, cpu, server = time.perf_counter() - started, process_cpu() - cpu, server_cpu(data) - server
    rows = sum(c.source for c in counts)
    TIMES.append(all(c.ok for c in counts))
    return (f"{rows:,} rows in {wall:.1f} s = {rows / wall:,.0f} rows/s; CPU {cpu:.1f} s here + {server:.1f} s"
            f" server = {rows / max(cpu + server, 1e-9):,.0f} rows per CPU second")


TIMES: list[bool] = []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--store", type=Path, default=Path("/tmp/perf/table/playbooks-1000000.db"))
    parser.add_argument("--db", help="an empty PostgreSQL database to copy into [a throw-away server]")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="unpaid-migrate-bench-"))
    server = None
    try:
        source, back = str(folder / "source.db"), str(folder / "back.db")
        shutil.copy(args.store, source)
        url = args.db
        if url is None:
            from unpaid.testing.pgserver import Server

            server = Server()
            url = server.new_database()
        data = server.data if server is not None else None
        print(f"SQLite -> PostgreSQL: {timed_copy(source, url, data)}", flush=True)
        print(f"PostgreSQL -> SQLite: {timed_copy(url, back, data)}", flush=True)
        started = time.perf_counter()
        a, b, c = digests(source), digests(url), digests(back)
        print(f"digests of the three stores: {time.perf_counter() - started:.1f} s")
        equal = True
        with Store.open(source, create=False) as store:
            for table in sorted(a):
                same = a[table] == b.get(table) == c.get(table)
                equal &= same
                print(f"  {table:<14} {migrate.count(store, table):>10,} rows  digests "
                      f"{'equal' if same else 'DIFFER'}  {a[table][:16]}")
        return 0 if all(TIMES) and equal else 1
    finally:
        if server is not None:
            server.stop()
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
