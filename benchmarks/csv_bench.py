#!/usr/bin/env python3
"""CSV sync benchmark: `unpaid sync` of a realistic export, as ratios against anchors timed in the same run.

The machine may be shared and noisy, so every figure is printed as a ratio to two anchors timed
before and after the syncs: a minimal Python loader (csv.reader -> executemany into a plain table)
and the sqlite3 CLI's `.import`. Run on demand; it prints figures and is not a test.

    python benchmarks/csv_bench.py --rows 1000000
    python benchmarks/csv_bench.py --rows 100000 --runs 3          # a quick run
    python benchmarks/csv_bench.py --encoding utf-8 --delimiter ,  # the UTF-8 comma variant
    python benchmarks/csv_bench.py --rows 100000 --profile         # also cProfile the first sync
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import re
import shutil
import sqlite3
import statistics
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._common import NOW, clean_env, scratch_folder, timed  # noqa: E402
from benchmarks.realistic_export import HEADER, ExportStats, change_statuses, replace_bytes, write_export  # noqa: E402

BIN = Path(sys.executable).parent
UNPAID = str(BIN / "unpaid") if (BIN / "unpaid").exists() else shutil.which("unpaid") or "unpaid"
SQLITE = shutil.which("sqlite3")
CONFIG = """db = "{db}"
timezone = "Europe/Moscow"
default_country = "7"

[sources.shop]
type = "csv"
path = "orders.csv"

[sources.shop.columns]
product_id = "Код товара"
"""
#: csv.reader -> executemany into a table as wide as the header; no parsing, no index. argv: csv db enc delim.
LOADER = """import csv, sqlite3, sys
path, db, encoding, delimiter = sys.argv[1:5]
conn = sqlite3.connect(db)
with open(path, encoding=encoding, newline="") as f:
    reader = csv.reader(f, delimiter=delimiter)
    n = len(next(reader))
    conn.execute(f"CREATE TABLE t ({', '.join(f'c{i}' for i in range(n))})")
    pad = [""] * n
    with conn:
        conn.executemany(f"INSERT INTO t VALUES ({', '.join('?' * n)})",
                         (r if len(r) == n else (r + pad)[:n] for r in reader))
"""
APPENDED = 1000


@dataclass
class Measure:
    """One operation: wall seconds of its runs, the highest peak RSS, and what the sync said."""

    name: str
    walls: list[float]
    rss_kib: int
    stored: int | None = None
    result: dict = field(default_factory=dict)

    @property
    def seconds(self) -> float:
        return statistics.median(self.walls)

    def more(self, other: "Measure") -> "Measure":
        """This and ``other``'s runs of the same operation as one measure."""
        return Measure(self.name, self.walls + other.walls, max(self.rss_kib, other.rss_kib), other.stored)


def repeat(name: str, runs: int, once: Callable[[], tuple[float, int, dict]]) -> Measure:
    """Run ``once`` ``runs`` times; keep every wall time, the highest RSS and the last result."""
    walls, rsss, result = [], [], {}
    for _ in range(runs):
        wall, rss, result = once()
        walls.append(wall)
        rsss.append(rss)
    return Measure(name, walls, max(rsss), result=result)


def count_rows(db: Path, table: str) -> int | None:
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as conn:
            return conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
    except sqlite3.Error:
        return None


# ---- anchors ----


def anchor(name: str, cmd: list[str], db: Path, runs: int, **kwargs) -> Measure:
    """Time ``cmd``, which loads the file into table ``t`` of ``db``, ``runs`` times into a fresh ``db``."""

    def once():
        db.unlink(missing_ok=True)
        wall, rss, _ = timed(cmd, **kwargs)
        return wall, rss, {}

    measure = repeat(name, runs, once)
    measure.stored = count_rows(db, "t")
    return measure


def anchors(csv_path: Path, folder: Path, args: argparse.Namespace) -> tuple[Measure, Measure | None]:
    """The minimal Python loader, and the sqlite3 CLI's `.import` when it is installed."""
    db = folder / "loader.db"
    loader = anchor("anchor: minimal loader (csv.reader -> executemany)",
                    [sys.executable, "-c", LOADER, str(csv_path), str(db), args.encoding, args.delimiter],
                    db, args.runs)
    if SQLITE is None:
        return loader, None
    db = folder / "import.db"
    # .import stores the bytes as they are (no decoding): a Windows-1251 file needs no conversion to be timed.
    script = (f"CREATE TABLE t ({', '.join(f'c{i}' for i in range(len(HEADER)))});\n.mode csv\n"
              f".separator \"{args.delimiter}\"\n.import --skip 1 \"{csv_path}\" t\n")
    return loader, anchor("anchor: sqlite3 .import", [SQLITE, str(db)], db, args.runs, input=script, check=False)


# ---- unpaid sync ----


def sync_once(folder: Path, prepare: Callable[[], None] = lambda: None) -> Callable[[], tuple[float, int, dict]]:
    """A function that runs ``prepare`` (untimed), then times `unpaid sync --format json` in ``folder``."""
    env = clean_env(UNPAID_CONFIG=str(folder / "unpaid.toml"), UNPAID_NOW=NOW.isoformat())

    def once():
        prepare()
        wall, rss, proc = timed([UNPAID, "-q", "sync", "--format", "json"], env=env, cwd=folder)
        data = json.loads(proc.stdout)
        return wall, rss, data[0] if isinstance(data, list) else data

    return once


def sync(name: str, folder: Path, runs: int = 1, prepare: Callable[[], None] = lambda: None) -> Measure:
    measure = repeat(name, runs, sync_once(folder, prepare))
    measure.stored = count_rows(folder / "unpaid.db", "orders")
    return measure


def syncs(folder: Path, csv_path: Path, args: argparse.Namespace, stats: ExportStats) -> list[Measure]:
    """The sync operations in order, each on the state the one before left."""
    out = [sync("unpaid sync: first, empty store", folder)]
    out.append(sync("unpaid sync: unchanged file", folder, args.runs))
    out.append(sync("unpaid sync: same bytes, new file", folder, args.runs,
                    lambda: replace_bytes(csv_path, csv_path.read_bytes())))
    changed = change_statuses(csv_path, 0.01, encoding=args.encoding, delimiter=args.delimiter)
    out.append(sync(f"unpaid sync: status of 1 % changed ({changed:,} rows)", folder))
    write_export(csv_path, APPENDED, seed=args.seed + 1, encoding=args.encoding, delimiter=args.delimiter,
                 append=True, first_id=stats.next_id)
    out.append(sync(f"unpaid sync: {APPENDED:,} rows appended", folder))
    return out


def profile(folder: Path) -> str:
    """The first sync, in-process into a store of its own under cProfile: the top 25 functions by tottime."""
    import cProfile
    import pstats

    (folder / "profile.toml").write_text(CONFIG.format(db="profile.db"), encoding="utf-8")
    os.environ.update(clean_env(UNPAID_CONFIG=str(folder / "profile.toml"), UNPAID_NOW=NOW.isoformat()))
    from unpaid.cli import main

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        with contextlib.redirect_stderr(io.StringIO()):  # the rejected rows: the subprocess syncs report them
            main(["-q", "sync"])
    except SystemExit:
        pass
    finally:
        profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(25)
    return "\nprofile of the first sync (top 25 by tottime):\n" + out.getvalue()


# ---- report ----


def _count(value) -> int | None:
    return len(value) if isinstance(value, (list, dict)) else value if isinstance(value, int) else None


def _cell(value, fmt: str = "{:,}") -> str:
    return "—" if value is None else fmt.format(value)


def table(measures: list[Measure], loader: Measure, imported: Measure | None) -> None:
    first = next(m for m in measures if m.name.startswith("unpaid sync: first"))
    print("\n| operation | seconds | ratio vs minimal loader | ratio vs .import | ratio vs first sync "
          "| peak RSS MB | orders stored | rejected |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for m in measures:
        runs = f" (median of {len(m.walls)})" if len(m.walls) > 1 else ""
        print(f"| {m.name}{runs} | {m.seconds:.2f} | {m.seconds / loader.seconds:.2f} | "
              f"{_cell(imported and m.seconds / imported.seconds, '{:.2f}')} | {m.seconds / first.seconds:.2f} | "
              f"{m.rss_kib / 1024:.0f} | {_cell(m.stored)} | {_cell(_count(m.result.get('rejected')))} |")


def row_checks(measures: list[Measure], stats: ExportStats) -> None:
    """Rows read = orders in the file + rejected + folded (earlier rows of a repeated id), per sync's JSON."""
    print("\nrows read = orders in the file + rejected + folded, from each sync's JSON:")
    for m in (m for m in measures if m.result):
        r = {k: _count(m.result.get(k)) for k in ("rows", "orders_in_source", "rejected", "folded", "orders")}
        said = ", ".join(f"{k} {v:,}" for k, v in r.items() if v is not None)
        if r["rows"] is None:
            print(f"  {m.name}: {said}; no `rows` reported, nothing to check")
            continue
        sums = {"orders_in_source + rejected + folded":
                (r["orders_in_source"] or 0) + (r["rejected"] or 0) + (r["folded"] or 0)}
        match = next((name for name, total in sums.items() if total == r["rows"]), None)
        verdict = f"ok, rows = {match}" if match else "MISMATCH: " + ", ".join(f"{k} = {v:,}" for k, v in sums.items())
        print(f"  {m.name}: {said}; {verdict}")
    first = measures[0]
    rejected = _count(first.result.get("rejected"))
    print(f"  the file's rows as the first sync counted them: {_cell(_count(first.result.get('rows')))} "
          f"(a record the reader gave up is a rejected row; none is dropped)")
    print(f"  the generated {stats.rows:,} rows: an ideal reader stores {stats.ideal_stored:,} orders and rejects "
          f"{stats.ideal_rejected:,} rows ({_counts(stats.broken)}; {stats.duplicates:,} repeated ids); "
          f"the first sync stored {_cell(first.stored)} and rejected {_cell(rejected)}")
    if first.stored is not None and rejected is not None:
        missing = stats.ideal_stored + stats.ideal_rejected - first.stored - rejected
        print(f"  rows neither stored nor rejected by the first sync (about): {missing:,}")
    rejects = [r for r in first.result.get("rejects") or [] if isinstance(r, dict)]
    reasons = Counter(re.split(r"[:',—]", str(r.get("reason", "")))[0].strip() for r in rejects)
    if reasons:
        print(f"  the first sync's rejects by reason: {_counts(reasons)}")


def _counts(counter: Counter) -> str:
    return ", ".join(f"{kind} {n:,}" for kind, n in counter.most_common())


def targets(measures: list[Measure], loader: Measure) -> None:
    first, unchanged, _, changed, _ = measures
    checks = [
        ("first sync <= 3x the minimal loader", first.seconds / loader.seconds, 3.0, "x"),
        ("unchanged re-sync <= 0.1x the first sync", unchanged.seconds / first.seconds, 0.1, "x"),
        ("1 % changed <= 0.2x the first sync", changed.seconds / first.seconds, 0.2, "x"),
        ("peak RSS of every sync <= 300 MB", max(m.rss_kib for m in measures) / 1024, 300, " MB"),
    ]
    print("\ntargets:")
    for label, value, limit, unit in checks:
        print(f"  {label}: {value:.2f}{unit} {'ok' if value <= limit else '<-- MISSED'}")


def bench(args: argparse.Namespace, folder: Path) -> None:
    """Generate the export in ``folder``, time the anchors around the syncs, print the report."""
    csv_path = folder / "orders.csv"
    start = time.perf_counter()
    stats = write_export(csv_path, args.rows, args.seed, encoding=args.encoding, delimiter=args.delimiter)
    print(f"generated {args.rows:,} rows ({csv_path.stat().st_size / 1e6:.0f} MB, {args.encoding}, "
          f"{args.delimiter!r}) in {time.perf_counter() - start:.1f} s; load average {os.getloadavg()[0]:.1f}")
    (folder / "unpaid.toml").write_text(CONFIG.format(db="unpaid.db"), encoding="utf-8")
    original = shutil.copyfile(csv_path, folder / "anchor.csv")  # the syncs change orders.csv
    if SQLITE is None:
        print("sqlite3 .import: skipped, the sqlite3 CLI is not installed (Debian/Ubuntu: apt-get install sqlite3)")
    loader, imported = anchors(original, folder, args)
    profiled = profile(folder) if args.profile else ""
    measures = syncs(folder, csv_path, args, stats)
    loader_after, imported_after = anchors(original, folder, args)  # before and after: the load may change
    loader = loader.more(loader_after)
    imported = imported and imported_after and imported.more(imported_after)
    table([loader] + ([imported] if imported else []) + measures, loader, imported)
    row_checks(measures, stats)
    targets(measures, loader)
    print(f"load average at the end: {os.getloadavg()[0]:.1f}{profiled}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="data rows in the export [%(default)s]")
    parser.add_argument("--runs", type=int, default=3, help="runs of each cheap or repeatable step [%(default)s]")
    parser.add_argument("--seed", type=int, default=1, help="random seed of the export [%(default)s]")
    parser.add_argument("--encoding", default="cp1251", help="encoding of the export [%(default)s]")
    parser.add_argument("--delimiter", default=";", help="delimiter of the export [%(default)s]")
    parser.add_argument("--profile", action="store_true", help="also cProfile the first sync in-process")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    args = parser.parse_args()
    with scratch_folder("unpaid-csv-bench-", args.keep) as folder:
        bench(args, folder)
    return 0


if __name__ == "__main__":
    sys.exit(main())
