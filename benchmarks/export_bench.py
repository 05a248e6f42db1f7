#!/usr/bin/env python3
"""`unpaid orders --all --older-than 2d --format json|jsonl|csv` (every row) against `sqlite3 -json` / `-csv`
of the same rows from the same store, timed in the same run, with each one's peak RSS.

    python benchmarks/export_bench.py --db /tmp/pb.db   # a store built by playbook_bench.py --db /tmp/pb.db

The commands run in a scratch folder, so ``PYTHONPATH=/tmp/snapshot`` (``git archive REV | tar -x -C
/tmp/snapshot``) times that revision side by side with this one (from the checkout's folder, ``-m unpaid``
would import the checkout first).
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import NOW, clean_env, timed  # noqa: E402


def anchor_sql() -> str:
    from unpaid.clock import to_iso

    return (f"SELECT * FROM orders WHERE created_at < '{to_iso(NOW - timedelta(days=2))}'"
            " ORDER BY created_at DESC, id DESC;")


def measure(db: Path, fmt: str, runs: int = 3) -> dict:
    """Median wall time of unpaid and of the anchor, unpaid's peak RSS, and the rows written."""
    db = db.resolve()  # unpaid runs in the scratch folder
    config = Path(tempfile.mkdtemp(prefix="unpaid-export-bench-")) / "unpaid.toml"
    config.write_text('timezone = "UTC"\n', encoding="utf-8")
    env = clean_env(UNPAID_DB=str(db), UNPAID_NOW=NOW.isoformat(), UNPAID_CONFIG=str(config))
    ours, theirs, rss, cpu = [], [], 0, []
    try:
        for _ in range(runs):
            wall, peak, mine = timed([sys.executable, "-m", "unpaid", "orders", "--all", "--older-than", "2d",
                                      "--format", fmt], env=env, stdout=subprocess.DEVNULL,
                                      stderr=subprocess.PIPE, cwd=config.parent)
            ours.append(wall)
            rss = max(rss, peak)
            mode = "-csv" if fmt == "csv" else "-json"
            wall, _, anchor = timed(["sqlite3", mode, str(db), anchor_sql()], stdout=subprocess.DEVNULL)
            theirs.append(wall)
            cpu.append((mine.cpu, anchor.cpu))
    finally:  # the scratch folder of the config
        shutil.rmtree(config.parent, ignore_errors=True)
    mine, anchor = sorted(cpu)[runs // 2]
    return {"unpaid": sorted(ours)[runs // 2], "anchor": sorted(theirs)[runs // 2], "rss": rss,
            "cpu": mine, "anchor_cpu": anchor}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--db", type=Path, required=True)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--formats", default="json,jsonl,csv")
    args = parser.parse_args(argv)
    for fmt in args.formats.split(","):
        r = measure(args.db, fmt, args.runs)
        anchor = "sqlite3 -csv" if fmt == "csv" else "sqlite3 -json"
        print(f"orders --format {fmt}: unpaid {r['unpaid']:.2f} s, {anchor} {r['anchor']:.2f} s, ratio "
              f"{r['unpaid'] / r['anchor']:.2f} (target <= 1.5), peak RSS {r['rss'] / 1024:.0f} MiB; CPU "
              f"{r['cpu']:.2f} s vs {r['anchor_cpu']:.2f} s, ratio {r['cpu'] / max(r['anchor_cpu'], 0.01):.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
