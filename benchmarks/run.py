#!/usr/bin/env python3
"""Foundation benchmarks, run on demand (`make bench`); they print figures and are not tests.

1. `unpaid --help` cold start: best and median of N runs (target <= 70 ms), and what it imported.
2. `unpaid sync` of a generated N-row CSV into an empty store, against the sqlite3 CLI's `.import`
   of the same file; wall time and peak RSS of each.
3. `unpaid orders --limit 100` on that store (target <= 0.3 s).

    python benchmarks/run.py                 # 1,000,000 rows
    python benchmarks/run.py --rows 100000   # a quick run
    python benchmarks/run.py --profile       # also profile the sync in-process (top functions)

The CSV connector's sync of a realistic export (Windows-1251, broken rows, re-syncs after edits) is
measured against anchors timed in the same run by `benchmarks/csv_bench.py` (`make bench-csv`).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from benchmarks._common import clean_env as _env, scratch_folder, timed as _timed  # noqa: E402
BIN = Path(sys.executable).parent
UNPAID = str(BIN / "unpaid") if (BIN / "unpaid").exists() else shutil.which("unpaid") or "unpaid"
NOW = "2026-11-24T09:00:00+00:00"
HEAVY = ("httpx", "keyring", "tabulate", "dateutil", "jinja2", "stamina")
PROBE = "import json,sys\nfrom unpaid.cli import main\ntry: main(['--help'])\nexcept SystemExit: pass\n" \
        "print('\\0'+json.dumps(sorted(sys.modules)))"


def startup(runs: int) -> None:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run([UNPAID, "--help"], capture_output=True, check=True, env=_env())
        times.append((time.perf_counter() - start) * 1000)
    best, median = min(times), statistics.median(times)
    print(f"unpaid --help: best {best:.0f} ms, median {median:.0f} ms over {runs} runs (target <= 70 ms)"
          f"{'' if best <= 70 else '  <-- over target'}")
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=_env()).stdout
    modules = json.loads(out.rpartition("\0")[2])
    heavy = [m for m in modules if m.split(".")[0] in HEAVY or m.startswith("unpaid_")]
    print(f"  modules imported: {len(modules)}; heavy or connector modules: {', '.join(heavy) or 'none'}")


def sync(rows: int, folder: Path, profile: bool) -> Path:
    from unpaid.demo import write_csv
    from datetime import datetime

    csv_path = folder / "orders.csv"
    start = time.perf_counter()
    with open(csv_path, "w", encoding="utf-8", newline="") as out:
        write_csv(out, rows, 1, datetime.fromisoformat(NOW))
    size = csv_path.stat().st_size / 1e6
    print(f"generated {rows:,} orders ({size:.0f} MB) in {time.perf_counter() - start:.1f} s")
    (folder / "unpaid.toml").write_text('db = "unpaid.db"\n[sources.shop]\ntype = "csv"\npath = "orders.csv"\n')
    env = _env(UNPAID_CONFIG=str(folder / "unpaid.toml"), UNPAID_NOW=NOW)
    wall, rss, proc = _timed([UNPAID, "-q", "sync", "--format", "json"], env=env, cwd=folder)
    result = json.loads(proc.stdout)[0]
    print(f"unpaid sync: {wall:.1f} s, {rows / wall:,.0f} orders/s, peak RSS {rss / 1024:.0f} MiB "
          f"({result['orders']:,} orders, {result['rejected']} rejected, {result['pages']} pages)")
    print(f"  store: {(folder / 'unpaid.db').stat().st_size / 1e6:.0f} MB")
    _sqlite_import(csv_path, folder)
    if profile:
        _profile(folder, env)
    return folder


def _sqlite_import(csv_path: Path, folder: Path) -> None:
    sqlite = shutil.which("sqlite3")
    if sqlite is None:
        print("sqlite3 .import: skipped — the sqlite3 CLI is not installed "
              "(Debian/Ubuntu: apt-get update && apt-get install -y sqlite3)")
        return
    db = folder / "baseline.db"
    script = f".mode csv\n.import {csv_path} orders\n"
    wall, rss, _ = _timed([sqlite, str(db)], input=script)
    print(f"sqlite3 .import (baseline, no parsing or indexes): {wall:.1f} s, peak RSS {rss / 1024:.0f} MiB")


def _profile(folder: Path, env: dict[str, str]) -> None:
    """Sync again into a fresh store in-process under cProfile and print where the time goes."""
    import cProfile
    import pstats

    (folder / "unpaid.db").unlink()
    for suffix in ("-wal", "-shm"):
        (folder / f"unpaid.db{suffix}").unlink(missing_ok=True)
    os.environ.update(env)
    from unpaid.cli import main

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        main(["-q", "sync"])
    except SystemExit:
        pass
    profiler.disable()
    print("profile of the sync (top 25 by cumulative time):")
    pstats.Stats(profiler, stream=sys.stdout).sort_stats("cumulative").print_stats(25)


def orders(folder: Path, runs: int) -> None:
    env = _env(UNPAID_CONFIG=str(folder / "unpaid.toml"), UNPAID_NOW=NOW)
    times = []
    for _ in range(runs):
        wall, _, _ = _timed([UNPAID, "orders", "--limit", "100"], env=env, cwd=folder)
        times.append(wall)
    print(f"unpaid orders --limit 100: best {min(times):.2f} s, median {statistics.median(times):.2f} s "
          f"over {runs} runs (target <= 0.3 s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="orders in the generated file [%(default)s]")
    parser.add_argument("--runs", type=int, default=20, help="runs of each timed command [%(default)s]")
    parser.add_argument("--profile", action="store_true", help="also profile the sync in-process")
    parser.add_argument("--keep", action="store_true", help="keep the generated folder")
    args = parser.parse_args()
    startup(args.runs)
    with scratch_folder("unpaid-bench-", args.keep) as folder:
        sync(args.rows, folder, args.profile)
        orders(folder, max(3, args.runs // 4))
    return 0


if __name__ == "__main__":
    sys.exit(main())
