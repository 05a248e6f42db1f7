#!/usr/bin/env python3
"""Playbook figures: `unpaid plan` on a store of N orders with the four example playbooks, and `unpaid run`
of the due e-mails to a real SMTP server on loopback.

    python benchmarks/playbook_bench.py                          # 1,000,000 orders, 10,000 due e-mails
    python benchmarks/playbook_bench.py --orders 100000 --emails 2000   # a quick run
    python benchmarks/playbook_bench.py --db /tmp/pb.db --keep    # build once, reuse the store next time

The store is built with plain SQL (reused when --db exists). Most orders are history (created 6 weeks to
2 years ago, any status) that no playbook reads; the last days hold what the playbooks' segments select:

* in the entry windows, unenrolled orders that are due now: GetCourse orders 1-23 h old (3 e-mails each:
  the mailing's first letter, the process's payment link and product information; plus a call task),
  AutoWebOffice invoices 2-3 days old (paid: a thank-you; unpaid: a reminder), pharmacy orders 7-8 days
  old (an offer and a letter) -- together exactly --emails e-mails, and orders of the same ages that the
  segments exclude (paid, cancelled, false);
* active enrollments mid-playbook with their ledger, tasks, offers and contacts: pharmacy orders in
  their weekly loop, GetCourse orders waiting for a manager's call; nothing of theirs is due now.

`plan` runs as its own process (start-up included; peak RSS by GNU time); `run` sends through the smtp
channel (security = "none") to aiosmtpd in this process, which must receive exactly --emails messages
with distinct Message-IDs. The sources use a benchmark connector type that reports opens (the mailing's
`not opened` condition needs one) and has no single-order fetch, so `run` does not re-check at a source.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import statistics
import sys
import tempfile
import threading
import time
from datetime import timedelta
from email.parser import BytesHeaderParser
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from benchmarks._common import (  # noqa: E402
    NOW, ORDER_COLUMNS, ROOT, TASK_COLUMNS, bench_cli, clean_env, free_port, insert_rows, timed,
)
from unpaid.clock import to_iso  # noqa: E402
from unpaid.store import Store  # noqa: E402

DAY, HOUR = timedelta(days=1), timedelta(hours=1)
ACTUAL = ("new", "in_work", "payment_waiting")
LEDGER_COLUMNS = ("key", "order_id", "playbook", "step", "repeat", "action", "state", "due_at", "attempts", "result",
                  "created_at", "updated_at")
RESULTS = {"send": {"channel": "email", "subject": "Your order is waiting", "message_id": "<0123456789abcdef@example.com>"},
           "call": {"task_id": 1, "attempt": 1}, "offer": {"percent": 15, "kind": "bonus", "new": True},
           "cancel": {}}
ENROLLMENT_COLUMNS = ("order_id", "playbook", "chain_key", "state", "entered_at", "cursor", "cursor_since", "loops",
                      "seq", "updated_at")
# The pharmacy loop: every step before `next_week` was done or skipped once; `next_week` waits 6 days.
PHARMACY_DONE = (("bonus_15", "offer", "done"), ("bonus_25", "offer", "skipped"), ("letter", "send", "done"),
                 ("call", "call", "done"), ("last_offer", "offer", "skipped"), ("last_letter", "send", "skipped"),
                 ("give_up", "cancel", "skipped"))
PROCESS_DONE = (("payment_link", "send", "done"), ("product_info", "send", "done"), ("call", "call", "done"))
CONFIG = """\
timezone = "Europe/Moscow"
db = "{db}"
playbook_files = ["{examples}/*.toml"]
optout = ["no-mail@example.com"]

[sources.gc]
type = "bench-events"

[sources.awo]
type = "bench-events"

[sources.pharmacy]
type = "bench-events"

[channels.email]
type = "smtp"
host = "127.0.0.1"
port = {port}
security = "none"
sender = "Shop <shop@example.com>"

[channels.sms]
type = "outbox"
path = "outbox-sms"
address = "phone"
"""


def due_mix(emails: int) -> dict[str, int]:
    """Orders per group so that exactly ``emails`` e-mails are due: 3 per GetCourse order, 1 per other."""
    gc = emails * 3 // 20  # 45 % of the e-mails
    rest = emails - 3 * gc
    awo_paid, awo_unpaid = rest // 5, rest * 2 // 5
    return {"gc": gc, "awo_paid": awo_paid, "awo_unpaid": awo_unpaid, "pharmacy": rest - awo_paid - awo_unpaid}


class Builder:
    def __init__(self, conn, rng: random.Random):
        self.conn, self.rng, self.n = conn, rng, 0
        self.rows: dict[str, list] = {"orders": [], "tasks": [], "ledger": [], "enrollments": [], "offers": [],
                                      "contacts": []}
        self.stamp = to_iso(NOW)

    def order(self, source: str, created, status: str, *, customer: str | None = None, phone: bool = True) -> str:
        i = self.n
        self.n += 1
        oid = f"{source}:{i}"
        email = self.email = f"{customer or f'c{i}'}@example.com"
        self.rows["orders"].append((oid, source, str(i), str(100000 + i), status, status, to_iso(created),
                                    to_iso(created), email, email, f"+38067{i % 10_000_000:07d}" if phone else None,
                                    f"Customer {i}", "course" if source == "gc" else "pills",
                                    "Course" if source == "gc" else "Pills", self.rng.randrange(10_000, 500_000),
                                    "RUB", self.stamp))
        if len(self.rows["orders"]) >= 50_000:
            self.flush()
        return oid

    def enroll(self, oid: str, playbook: str, entered, cursor: int, since, steps, loops: dict) -> None:
        email = self.email  # of the order just added
        product = "course" if oid.startswith("gc:") else "pills"
        self.rows["enrollments"].append((oid, playbook, f"{email}|{product}", "active", to_iso(entered), cursor,
                                         to_iso(since), json.dumps(loops), len(loops), to_iso(since)))
        at = entered
        for step, action, state in steps:
            key = f"{oid}|{playbook}|{step}|0"
            result = json.dumps(RESULTS[action] | ({"to": email} if action == "send" else {})) \
                if state == "done" else None
            self.rows["ledger"].append((key, oid, playbook, step, 0, action, state, to_iso(at), 1, result,
                                        to_iso(at), to_iso(at)))
            if action == "send" and state == "done":
                self.rows["contacts"].append((key, email, oid, to_iso(at)))
            at += timedelta(minutes=self.rng.randrange(1, 60 * 24))

    def flush(self) -> None:
        insert_rows(self.conn, "orders", ORDER_COLUMNS, self.rows["orders"])
        insert_rows(self.conn, "tasks", TASK_COLUMNS + ("outcome", "closed_at"), self.rows["tasks"])
        insert_rows(self.conn, "ledger", LEDGER_COLUMNS, self.rows["ledger"])
        insert_rows(self.conn, "enrollments", ENROLLMENT_COLUMNS, self.rows["enrollments"])
        insert_rows(self.conn, "offers", ("key", "order_id", "playbook", "step", "kind", "percent", "valid_until",
                                          "state", "created_at"), self.rows["offers"])
        insert_rows(self.conn, "contacts", ("key", "customer_key", "order_id", "at"), self.rows["contacts"])


def build(db: Path, orders: int, emails: int, enrolled: int, seed: int) -> tuple[float, dict[str, int]]:
    rng = random.Random(seed)
    mix = due_mix(emails)
    started = time.perf_counter()
    with Store.open(db) as store:
        conn = store.conn
        conn.execute("BEGIN IMMEDIATE")
        b = Builder(conn, rng)

        def between(newest, oldest):
            return NOW - newest - timedelta(seconds=rng.randrange(int((oldest - newest).total_seconds())))

        # Due now: exactly `emails` e-mails (see the module docstring), with unique customers.
        for _ in range(mix["gc"]):
            b.order("gc", between(HOUR + timedelta(minutes=5), 23 * HOUR), rng.choice(ACTUAL))
        for _ in range(mix["awo_paid"]):
            b.order("awo", between(2 * DAY, 3 * DAY - 2 * HOUR), "paid")
        for _ in range(mix["awo_unpaid"]):
            b.order("awo", between(2 * DAY, 3 * DAY - 2 * HOUR), rng.choice(ACTUAL))
        for _ in range(mix["pharmacy"]):
            b.order("pharmacy", between(7 * DAY, 8 * DAY - 2 * HOUR), rng.choice(ACTUAL))
        # Same ages, excluded by the segments' statuses.
        for source, newest, oldest, statuses in (("gc", HOUR, 3 * DAY, ("paid", "cancelled", "false")),
                                                 ("awo", 2 * DAY, 5 * DAY, ("cancelled", "false")),
                                                 ("pharmacy", 7 * DAY, 10 * DAY, ("paid", "cancelled"))):
            for _ in range(emails // 3):
                b.order(source, between(newest, oldest), rng.choice(statuses))
        # Active enrollments with nothing due now.
        for _ in range(enrolled * 2 // 3):  # pharmacy, in the weekly loop: `next_week` is 1-6 days away
            entered = between(8 * DAY, 6 * 7 * DAY - 7 * DAY)
            oid = b.order("pharmacy", entered - 7 * DAY, rng.choice(ACTUAL))
            since = between(timedelta(0), 5 * DAY)
            b.enroll(oid, "pharmacy", entered, 7, since, PHARMACY_DONE, {s: 1 for s, _, _ in PHARMACY_DONE})
            b.rows["tasks"].append((f"{oid}|pharmacy|call|0", oid, "pharmacy", "call", to_iso(entered + DAY),
                                    "Script", "done", 1, to_iso(entered + DAY), "no_answer", to_iso(entered + 2 * DAY)))
            b.rows["offers"].append((f"{oid}|pharmacy|bonus_15|0", oid, "pharmacy", "bonus_15", "bonus", 15,
                                     to_iso(entered + 21 * DAY), "active", to_iso(entered)))
        for _ in range(enrolled - enrolled * 2 // 3):  # GetCourse process: an open call task, due -1 to +1 day
            created = between(4 * DAY, 6 * DAY)
            oid = b.order("gc", created, rng.choice(ACTUAL))
            b.enroll(oid, "getcourse_process", created, 3, created + timedelta(minutes=15), PROCESS_DONE,
                     {s: 1 for s, _, _ in PROCESS_DONE})
            due = NOW + timedelta(minutes=rng.randrange(-60 * 24, 60 * 24))
            b.rows["tasks"].append((f"{oid}|getcourse_process|call|0", oid, "getcourse_process", "call", to_iso(due),
                                    "Script", "open", 1, to_iso(created + timedelta(minutes=15)), None, None))
        # History: 6 weeks to 2 years old, any status; repeat customers among themselves.
        history = max(0, orders - b.n)
        for i in range(history):
            unpaid = rng.random() < 0.2
            status = rng.choice(ACTUAL) if unpaid else rng.choice(("paid", "paid", "cancelled", "false"))
            source = rng.choice(("gc", "gc", "awo", "pharmacy"))
            b.order(source, between(6 * 7 * DAY, 730 * DAY), status, customer=f"h{i % (history // 2 or 1)}")
        b.flush()
        conn.execute("COMMIT")
        conn.execute("ANALYZE")
    return time.perf_counter() - started, mix


def write_config(folder: Path, db: Path, port: int) -> Path:
    path = folder / "unpaid.toml"
    path.write_text(CONFIG.format(db=db, examples=ROOT / "examples" / "playbooks", port=port), encoding="utf-8")
    return path


def plan(config: Path, folder: Path, fmt: str) -> tuple[float, int, int, dict]:
    out = folder / f"plan.{fmt}"
    env = clean_env(UNPAID_CONFIG=str(config), UNPAID_NOW=to_iso(NOW))
    with open(out, "w") as stdout:
        wall, rss, proc = timed(bench_cli("--format", fmt, "plan"), env=env, cwd=folder, stdout=stdout,
                                stderr=-1)
    due_sends = 0
    if fmt == "jsonl":
        for line in out.open():
            row = json.loads(line)
            due_sends += row["kind"] == "act" and row["action"] == "send" and row["due"]
    summary = proc.stderr.strip().splitlines()[-1] if proc.stderr.strip() else ""
    return wall, rss, due_sends, {"summary": summary, "bytes": out.stat().st_size, "cpu": proc.cpu}


class Inbox:
    def __init__(self) -> None:
        self.count = 0
        self.ids: set[str] = set()
        self.first = self.last = 0.0
        self.lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        headers = BytesHeaderParser().parsebytes(envelope.content)
        with self.lock:
            self.count += 1
            self.ids.add(headers["Message-ID"])
            self.last = time.perf_counter()
            self.first = self.first or self.last
        return "250 OK"


def run(config: Path, folder: Path, port: int) -> tuple[float, int, Inbox, dict]:
    from aiosmtpd.controller import Controller

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        env = clean_env(UNPAID_CONFIG=str(config), UNPAID_NOW=to_iso(NOW))
        wall, rss, proc = timed(bench_cli("--format", "json", "run"), env=env, cwd=folder, check=False)
    finally:
        controller.stop()
    inbox.cpu = proc.cpu
    if proc.returncode not in (0, 1):
        sys.exit(f"unpaid run failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    counts: dict[str, int] = {}
    for row in json.loads(proc.stdout or "[]"):
        key = f"{row['action']}:{row['result']}"
        counts[key] = counts.get(key, 0) + 1
    return wall, rss, inbox, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--orders", type=int, default=1_000_000)
    parser.add_argument("--emails", type=int, default=10_000, help="e-mails due now [%(default)s]")
    parser.add_argument("--enrolled", type=int, default=30_000,
                        help="active enrollments with nothing due now [%(default)s]")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--runs", type=int, default=5, help="runs of `plan` [%(default)s]")
    parser.add_argument("--db", type=Path, default=None, help="store to build or reuse [a temporary file]")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder")
    parser.add_argument("--no-run", action="store_true", help="only `plan`")
    args = parser.parse_args(argv)
    folder = Path(tempfile.mkdtemp(prefix="unpaid-pb-bench-"))
    db = args.db or folder / "pb-bench.db"
    try:
        if not db.exists():
            print(f"building {args.orders:,} orders in {db} ...", file=sys.stderr)
            took, mix = build(db, args.orders, args.emails, args.enrolled, args.seed)
            print(f"build: {took:.1f} s; due now: {mix}")
        port = free_port()
        config = write_config(folder, db, port)
        walls, cpus, rss_all = [], [], []
        for _ in range(args.runs):
            wall, rss, due_sends, info = plan(config, folder, "jsonl")
            walls.append(wall)
            cpus.append(info["cpu"])
            rss_all.append(rss)
        print(f"unpaid plan --format jsonl (every decision; {args.orders:,} orders, the 4 example playbooks): "
              f"wall best {min(walls):.2f} s, median {statistics.median(walls):.2f} s over {args.runs} runs "
              f"(CPU best {min(cpus):.2f} s); peak RSS {max(rss_all) / 1024:.0f} MiB (targets <= 3 s, <= 300 MiB)")
        print(f"  {info['summary']}; {info['bytes'] / 1e6:.1f} MB written; e-mails due now: {due_sends:,}")
        wall, rss, _, info = plan(config, folder, "table")
        print(f"unpaid plan (table, first page of 50 rows): {wall:.2f} s, peak RSS {rss / 1024:.0f} MiB")
        if args.no_run:
            return 0
        run_db = folder / "run.db"  # `run` changes the store: work on a copy, so --db stays reusable
        shutil.copyfile(db, run_db)
        run_config = write_config(folder, run_db, port)
        wall, rss, inbox, counts = run(run_config, folder, port)
        sent = counts.get("send:done", 0)
        print(f"unpaid run: {wall:.1f} s (CPU {inbox.cpu:.1f} s), peak RSS {rss / 1024:.0f} MiB; {sent:,} e-mails sent = "
              f"{sent / wall:,.0f} messages/s (whole command); server got {inbox.count:,} messages, "
              f"{len(inbox.ids):,} distinct Message-IDs"
              + (f", {inbox.count / (inbox.last - inbox.first):,.0f}/s first to last" if inbox.count > 1 else ""))
        print(f"  run results: {dict(sorted(counts.items()))}")
        ok = inbox.count == len(inbox.ids) == args.emails == sent
        print("  check: " + ("ok, exactly" if ok else "MISMATCH, expected") + f" {args.emails:,} distinct messages")
        return 0 if ok else 1
    finally:
        if args.keep:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
