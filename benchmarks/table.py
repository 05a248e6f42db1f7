#!/usr/bin/env python3
"""`make bench`: one table of whole commands at each store size, each against an anchor timed in the same run.

    python benchmarks/table.py                        # 10k, 100k and 1M orders (builds take minutes at 1M)
    python benchmarks/table.py --sizes 10000,100000   # a quick run
    python benchmarks/table.py --keep /tmp/bench      # build stores there once and reuse them next time

Columns: command, size, unpaid (median wall seconds), anchor (the same work without unpaid: sqlite3 or a
bare smtplib loop; for sync, sqlite3's `.import` of the same file), ratio, peak RSS of unpaid, target and pass/fail. Commands without an anchor are held
to an absolute target. The shared 2-core box makes wall times swing; ratios are the figures to compare.
Where a PostgreSQL server can start (Debian's postgresql package), the desk store of 100k and 1M orders is
also moved into a throw-away one for the team's rows (benchmarks/desk_bench.py --team); else they are
skipped with the reason.
Where the time goes: benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import NOW, clean_env, free_port, timed  # noqa: E402


@dataclass
class Row:
    command: str
    size: int
    unpaid: float
    anchor: float | None
    rss_kib: int
    target: str
    passed: bool

    def cells(self) -> list[str]:
        ratio = f"{self.unpaid / self.anchor:.2f}" if self.anchor else "-"
        return [self.command, f"{self.size:,}", f"{self.unpaid:.2f}", f"{self.anchor:.2f}" if self.anchor else "-",
                ratio, f"{self.rss_kib / 1024:.0f} MiB", self.target, "pass" if self.passed else "FAIL"]


def ratio_row(command: str, size: int, unpaid: float, anchor: float, rss: int, limit: float) -> Row:
    return Row(command, size, unpaid, anchor, rss, f"<= {limit}x", unpaid <= anchor * limit)


def playbook_rows(size: int, folder: Path, runs: int) -> list[Row]:
    """dedupe, exports, plan: on a store of the playbook benchmark (history, due work, enrollments)."""
    from benchmarks import dedupe_bench, export_bench, playbook_bench

    db = folder / f"playbooks-{size}.db"
    if not db.exists():
        emails = max(100, size // 100)
        playbook_bench.build(db, size, emails, max(300, size * 3 // 100), 1)
    rows = []
    d = dedupe_bench.measure(db, folder, runs)
    rows.append(Row("dedupe (dry run)", size, d["unpaid"], d["anchor"], d["rss"], "<= 3 s, <= 300 MiB",
                    d["unpaid"] <= 3 and d["rss"] / 1024 <= 300))
    for fmt in ("json", "jsonl", "csv"):
        e = export_bench.measure(db, fmt, runs)
        rows.append(ratio_row(f"orders --format {fmt}", size, e["unpaid"], e["anchor"], e["rss"], 1.5))
    config = playbook_bench.write_config(folder, db, free_port())
    walls, rss = [], 0
    for _ in range(runs):
        wall, peak, _, _ = playbook_bench.plan(config, folder, "jsonl")
        walls.append(wall)
        rss = max(rss, peak)
    median = statistics.median(walls)
    rows.append(Row("plan --format jsonl", size, median, None, rss, "<= 3 s", median <= 3))
    return rows


def queue_row(size: int, folder: Path, runs: int) -> Row:
    """`unpaid queue` with a fifth of the orders unpaid, each with an open call (half of them due now)."""
    from benchmarks import desk_bench
    from unpaid.clock import to_iso

    db = folder / f"desk-{size}.db"
    if not db.exists():
        desk_bench.build(db, size, 0.2, 1)
    walls, rss = [], 0
    for _ in range(runs):
        wall, peak, _ = timed([sys.executable, "-m", "unpaid", "--db", str(db), "--now", to_iso(NOW), "queue", "-m",
                               "anna"], env=clean_env(UNPAID_CONFIG=str(_config(folder))), cwd=folder)
        walls.append(wall)
        rss = max(rss, peak)
    median = statistics.median(walls)
    return Row("queue", size, median, None, rss, "<= 0.3 s", median <= 0.3)


def postgres_rows(size: int, folder: Path) -> list[Row]:
    """The team's store: the desk store of :func:`queue_row` moved into a throw-away PostgreSQL server;
    `queue`, `next` under 50 concurrent claimers, and their claims against SQLite's with 8 (seconds per
    claim, so the ratio is the inverse of the speed-up)."""
    from benchmarks import desk_bench

    # 100 claims each, as a manager's working session: each claimer's first claim waits for 50 connections'
    # server processes to load the tables' descriptions and plan their first statements, all at once.
    f = desk_bench.postgres_figures(folder / f"desk-{size}.db", per_process=100)
    per_claim, anchor = 1 / f["claims_per_s"], 1 / f["anchor_claims_per_s"]
    # Held to its absolute budget; the anchor is the same command on SQLite (no driver to import, no server).
    return [Row("queue on PostgreSQL", size, f["queue"], f["queue_sqlite"], 0, "<= 0.3 s", f["queue"] <= 0.3),
            Row("next, 95th pct, 50 claimers, PostgreSQL", size, f["next_p95"], None, 0, "<= 0.05 s",
                f["next_p95"] <= 0.05),
            Row("claim: 50 on PostgreSQL vs 8 on SQLite", size, per_claim, anchor, 0, "<= 0.1x (10x claims/s)",
                per_claim <= anchor / 10 and f["twice"] == 0)]


def run_row(size: int, folder: Path) -> Row:
    """`unpaid run` with a CSV source: each letter re-read from the file, sent over loopback SMTP."""
    from benchmarks import csv_run_bench

    r = csv_run_bench.measure(size, max(100, min(10_000, size // 100)), folder / f"csv-run-{size}")
    row = ratio_row(f"run, CSV source ({r['sent']:,} letters)", size, r["unpaid"], r["anchor"], r["rss"], 1.5)
    row.passed = row.passed and r["ok"]
    return row


def sync_row(size: int, folder: Path, runs: int) -> Row:
    """`unpaid sync` of a generated CSV export into an empty store, against the sqlite3 CLI's `.import` of
    the same file (no parsing, mapping or indexes: the floor). Its target is linear growth, checked in
    :func:`growth` against the smallest size."""
    from unpaid.demo import write_csv

    work = folder / f"sync-{size}"
    work.mkdir(exist_ok=True)
    csv_path = work / "orders.csv"
    if not csv_path.exists():
        with open(csv_path, "w", encoding="utf-8", newline="") as out:
            write_csv(out, size, 1, NOW)
    (work / "unpaid.toml").write_text('db = "unpaid.db"\n[sources.shop]\ntype = "csv"\npath = "orders.csv"\n',
                                      encoding="utf-8")
    env = clean_env(UNPAID_CONFIG=str(work / "unpaid.toml"), UNPAID_NOW=NOW.isoformat())
    ours, theirs, rss = [], [], 0
    for _ in range(runs):
        for name in ("unpaid.db", "unpaid.db-wal", "unpaid.db-shm", "anchor.db"):
            (work / name).unlink(missing_ok=True)
        wall, peak, _ = timed([sys.executable, "-m", "unpaid", "-q", "sync"], env=env, cwd=work)
        ours.append(wall)
        rss = max(rss, peak)
        wall, _, _ = timed(["sqlite3", str(work / "anchor.db")], input=f".mode csv\n.import {csv_path} orders\n")
        theirs.append(wall)
    return Row("sync, CSV source", size, statistics.median(ours), statistics.median(theirs), rss,
               "linear growth", True)


def growth(rows: list[Row], command: str, limit: float = 1.5) -> None:
    """Hold ``command``'s rows to linear growth: seconds per order at most ``limit`` x the smallest size's."""
    mine = sorted((r for r in rows if r.command == command), key=lambda r: r.size)
    if not mine:
        return
    base = mine[0].unpaid / mine[0].size
    for row in mine:
        row.target = f"<= {limit}x s/order of {mine[0].size:,}"
        row.passed = row.unpaid / row.size <= base * limit


def _config(folder: Path) -> Path:
    path = folder / "plain.toml"
    path.write_text('timezone = "UTC"\n', encoding="utf-8")
    return path


def print_table(rows: list[Row]) -> None:
    header = ["command", "size", "unpaid s", "anchor s", "ratio", "peak RSS", "target", "result"]
    body = [r.cells() for r in rows]
    widths = [max(len(x) for x in col) for col in zip(header, *body)]
    for line in [header, ["-" * w for w in widths], *body]:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths)).rstrip())


#: A fixed piece of pure Python work: its time says how fast the shared box runs at the moment, so that the
#: rows held to absolute seconds (dedupe, plan, queue) can be read next to it. Not an anchor of any row.
MACHINE = "sum(i * i for i in range(10 ** 7))"


def machine_speed() -> float:
    """Seconds the fixed work of :data:`MACHINE` takes now (median of three)."""
    return statistics.median(timed([sys.executable, "-c", MACHINE])[0] for _ in range(3))


def compile_bytecode() -> None:
    """Write the bytecode of unpaid and its plugins first, as installing a wheel does: with
    PYTHONDONTWRITEBYTECODE set (some CI images set it), a checkout's every command compiled its modules from
    source again, 0.07-0.2 s that an installed unpaid never spends (`queue` at 1M: 0.45 s -> 0.25 s)."""
    import compileall

    root = Path(__file__).resolve().parent.parent
    for package in ("unpaid", "plugins/csv/unpaid_csv", "plugins/getcourse/unpaid_getcourse",
                    "plugins/autoweboffice/unpaid_autoweboffice", "benchmarks"):
        compileall.compile_dir(root / package, quiet=1)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,100000,1000000")
    parser.add_argument("--runs", type=int, default=3, help="runs of each timed command [%(default)s]")
    parser.add_argument("--keep", type=Path, help="a folder for the stores, kept and reused")
    args = parser.parse_args(argv)
    if shutil.which("sqlite3") is None:
        sys.exit("the sqlite3 CLI is the anchor: apt-get install -y sqlite3")
    from unpaid.testing.pgserver import missing

    no_postgres = missing()
    if no_postgres:
        print(f"PostgreSQL rows skipped: {no_postgres}", file=sys.stderr)
    compile_bytecode()
    folder = args.keep or Path(tempfile.mkdtemp(prefix="unpaid-bench-table-"))
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[Row] = []
    before = machine_speed()
    try:
        for size in map(int, args.sizes.split(",")):
            print(f"size {size:,} ...", file=sys.stderr)
            rows += playbook_rows(size, folder, args.runs)
            rows.append(queue_row(size, folder, args.runs))
            if not no_postgres and size >= 100_000:  # smaller queues run dry under 50 claimers
                rows += postgres_rows(size, folder)
            rows.append(run_row(size, folder))
            rows.append(sync_row(size, folder, args.runs))
        growth(rows, "sync, CSV source")
    finally:
        if args.keep is None:
            shutil.rmtree(folder, ignore_errors=True)
    print(f"machine: `python -c '{MACHINE}'` took {before:.2f} s before the run and {machine_speed():.2f} s after"
          " (the shared box's speed drifts by a third or more within an hour; the rows held to seconds move with it)")
    print_table(rows)
    return 0 if all(r.passed for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
