#!/usr/bin/env python3
"""`unpaid report recovery` and `reasons` on a store of N orders and 3N history entries, timed against an
anchor measured in the same run: a plain ``SELECT COUNT(*)`` over the history, a read of every history
entry (``SUM(length(data))``), and a cold ``unpaid --help`` (the start-up every command pays).

    python benchmarks/report_bench.py                       # 1,000,000 orders, 3,000,000 entries
    python benchmarks/report_bench.py --orders 100000       # a quick run
    python benchmarks/report_bench.py --db /tmp/r.db        # build once, reuse on the next run

The store is built with plain SQL: every order enters playbook ``remind``; a quarter are paid, a sixth
cancelled with one of five reasons, some false; each has about three entries (letters, an offer, a dial).
The target of issue 16 is 2 s each on the machine at hand; the ratios carry the figure to another machine.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from benchmarks._common import NOW, ORDER_COLUMNS, clean_env, insert_rows  # noqa: E402
from unpaid.clock import to_iso  # noqa: E402
from unpaid.store import Store  # noqa: E402

REASONS = ("Too expensive", "Changed mind", "Bought elsewhere", "No money now", "Not reachable")
OUTCOMES = ("no_answer", "no_answer", "thinking", "promised", "refused")
COLUMNS = (*ORDER_COLUMNS, "paid_at", "cancel_reason", "manager")
HISTORY = ("order_id", "at", "actor", "kind", "summary", "data")
ENROLL = ("order_id", "playbook", "state", "entered_at", "cursor", "cursor_since", "seq", "updated_at")
BATCH = 50_000


def build(path: Path, orders: int, seed: int) -> None:
    rnd = random.Random(seed)
    with Store.open(path) as store:
        conn = store.conn
        conn.execute("BEGIN")
        rows, hist, enr = [], [], []
        for i in range(orders):
            created = NOW - timedelta(minutes=rnd.randrange(60 * 24 * 90))
            oid, entered = f"shop:{i}", created + timedelta(hours=1)
            touches = [entered + timedelta(hours=h) for h in sorted(rnd.sample(range(1, 24 * 20), 3))]
            roll = rnd.random()
            status, paid_at, reason = "new", None, None
            if roll < 0.25:
                status, paid_at = "paid", to_iso(touches[rnd.randrange(3)] + timedelta(hours=rnd.randrange(1, 300)))
            elif roll < 0.42:
                status, reason = "cancelled", rnd.choice(REASONS)
            elif roll < 0.45:
                status = "false"
            manager = rnd.choice(("olga", "ivan", None))
            rows.append((oid, "shop", str(i), str(i), status, status, to_iso(created), to_iso(created),
                         f"c{i}@example.com", f"c{i}@example.com", None, f"C {i}", f"p{i % 40}", f"Product {i % 40}",
                         rnd.randrange(1000, 100000) * 100, "RUB", to_iso(NOW), paid_at, reason, manager))
            enr.append((oid, "remind", "active", to_iso(entered), 0, to_iso(entered), 0, to_iso(entered)))
            hist.append((oid, to_iso(touches[0]), "playbook:remind", "message", "Sent letter", '{"step": "letter"}'))
            if rnd.random() < 0.5:
                hist.append((oid, to_iso(touches[1]), "playbook:remind", "offer", "Offered 10% discount",
                             '{"step": "offer", "percent": 10}'))
            else:
                hist.append((oid, to_iso(touches[1]), "playbook:remind", "task", "Call task", '{"step": "call"}'))
            outcome = rnd.choice(OUTCOMES)
            hist.append((oid, to_iso(touches[2]), f"manager:{manager or 'anna'}", "call", f"call: {outcome}",
                         json.dumps({"outcome": outcome})))
            if len(rows) >= BATCH:
                flush(conn, rows, hist, enr)
        flush(conn, rows, hist, enr)
        conn.execute("COMMIT")
        conn.execute("ANALYZE")


def flush(conn, rows, hist, enr) -> None:
    insert_rows(conn, "orders", COLUMNS, rows)
    insert_rows(conn, "history", HISTORY, hist)
    insert_rows(conn, "enrollments", ENROLL, enr)


def timed(args: list[str], runs: int) -> tuple[float, float]:
    """Best and median wall time of ``args`` run ``runs`` times (each must exit 0)."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        done = subprocess.run(args, capture_output=True, text=True, env=clean_env())
        times.append(time.perf_counter() - start)
        if done.returncode:
            sys.exit(f"{' '.join(args)} failed: {done.stderr.strip()}")
    return min(times), statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--orders", type=int, default=1_000_000)
    ap.add_argument("--db", type=Path, default=None, help="build here (or reuse when it exists)")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--seed", type=int, default=16)
    opts = ap.parse_args()
    db = opts.db or Path(f"/tmp/unpaid-report-bench-{opts.orders}.db")
    if not db.exists():
        start = time.perf_counter()
        build(db, opts.orders, opts.seed)
        print(f"built {db} in {time.perf_counter() - start:.0f} s")
    unpaid = str(Path(sys.executable).with_name("unpaid"))
    with Store.open(db) as store:
        orders, entries = (store.conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone()[0] for t in ("orders", "history"))
    config = db.with_suffix(".toml")
    config.write_text('timezone = "UTC"\n', encoding="utf-8")
    base = [unpaid, "--config", str(config), "--db", str(db), "--now", to_iso(NOW)]
    def sql(query: str) -> list[str]:
        return [sys.executable, "-c", "import sqlite3, sys; c = sqlite3.connect(sys.argv[1]);"
                f" print(c.execute({query!r}).fetchone()[0])", str(db)]

    anchors = {"COUNT(*) of the history": timed(sql("SELECT COUNT(*) FROM history"), opts.runs),
               "a read of every entry": timed(sql("SELECT SUM(length(data)) FROM history"), opts.runs),
               "unpaid --help": timed([unpaid, "--help"], opts.runs)}
    print(f"{orders:,} orders, {entries:,} history entries; best / median of {opts.runs} runs")
    for name, (best, med) in anchors.items():
        print(f"  anchor {name:<26} {best:6.2f} s / {med:6.2f} s")
    anchor, full = anchors["COUNT(*) of the history"][0], anchors["a read of every entry"][0]
    for report in ("recovery", "reasons"):
        best, med = timed([*base, "report", report, "--format", "json"], opts.runs)
        print(f"  report {report:<26} {best:6.2f} s / {med:6.2f} s = {best / anchor:5.1f} x COUNT(*),"
              f" {best / full:4.1f} x a read of every entry ({'within' if best <= 2 else 'OVER'} the 2 s target)")


if __name__ == "__main__":
    main()
