#!/usr/bin/env python3
"""`unpaid dedupe` (dry run, every decision as JSONL) on a store, against the sqlite3 CLI grouping the same
orders by customer and product in one query, timed in the same run.

    python benchmarks/dedupe_bench.py --db /tmp/pb.db   # a store built by playbook_bench.py --db /tmp/pb.db

The store is copied first (opening it may add an index: that is timed apart, once).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import NOW, clean_env, timed  # noqa: E402

GROUPING = ("SELECT customer_key, product_key, COUNT(*) FROM orders WHERE customer_key IS NOT NULL"
            " AND product_key IS NOT NULL GROUP BY customer_key, product_key HAVING COUNT(*) > 1"
            " AND SUM(status IN ('in_work', 'new', 'not_confirmed', 'part_paid', 'payment_waiting')) > 0;")


def measure(db: Path, folder: Path, runs: int = 3) -> dict:
    """Median wall time, median CPU seconds (user + system) and peak RSS of `unpaid dedupe --format jsonl`,
    and the sqlite3 anchor's median wall time."""
    copy = folder / "dedupe.db"
    shutil.copyfile(db, copy)
    env = clean_env(UNPAID_DB=str(copy), UNPAID_NOW=NOW.isoformat(), UNPAID_CONFIG=str(folder / "none.toml"))
    (folder / "none.toml").write_text('timezone = "UTC"\n', encoding="utf-8")
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", f"from unpaid.store import Store; Store.open({str(copy)!r}).close()"],
                   check=True, env=env, cwd=folder)
    opened = time.perf_counter() - start
    ours, cpu, theirs, rss = [], [], [], 0
    for _ in range(runs):
        with open(folder / "out.jsonl", "w") as out:
            wall, peak, proc = timed([sys.executable, "-m", "unpaid", "dedupe", "--format", "jsonl"], env=env,
                                     cwd=folder, stdout=out, stderr=subprocess.PIPE)
        ours.append(wall)
        cpu.append(proc.cpu)
        rss = max(rss, peak)
        wall, _, _ = timed(["sqlite3", str(copy), GROUPING], stdout=subprocess.DEVNULL)
        theirs.append(wall)
    rows = sum(1 for _ in open(folder / "out.jsonl"))
    return {"unpaid": sorted(ours)[runs // 2], "cpu": sorted(cpu)[runs // 2], "anchor": sorted(theirs)[runs // 2],
            "rss": rss, "rows": rows, "opened": opened,
            "summary": proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="unpaid-dedupe-bench-"))
    try:
        r = measure(args.db, folder, args.runs)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    print(f"dedupe (dry run, jsonl): unpaid {r['unpaid']:.2f} s ({r['cpu']:.2f} s CPU), "
          f"sqlite3 grouping {r['anchor']:.2f} s, "
          f"ratio {r['unpaid'] / r['anchor']:.2f}, peak RSS {r['rss'] / 1024:.0f} MiB (targets <= 3 s, <= 300 MiB); "
          f"{r['rows']:,} decisions; first open {r['opened']:.1f} s")
    print(f"  {r['summary']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
