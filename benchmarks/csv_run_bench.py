#!/usr/bin/env python3
"""`unpaid run` with a CSV source: every due letter is re-read from the file before it is sent.

A CSV export of N rows (history a year old, paid; D orders 3 hours old, unpaid) is synced once; then 1 in
20 of the due orders is marked paid in the file (paid after the sync: the run must skip them), and `unpaid
run` sends the rest through the smtp channel to aiosmtpd on loopback. The anchor, timed in the same run, is a
bare smtplib loop sending as many messages over one connection to the same server.

    python benchmarks/csv_run_bench.py --rows 100000 --due 2000
    python benchmarks/csv_run_bench.py --rows 1000000 --due 10000 --keep   # reuse the folder with --folder
"""

from __future__ import annotations

import argparse
import csv
import shutil
import smtplib
import sys
import tempfile
import threading
import time
from datetime import timedelta
from email.message import EmailMessage
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks._common import NOW, clean_env, free_port, timed  # noqa: E402

HEADER = ["id", "number", "created_at", "status", "name", "email", "phone", "product_id", "product", "amount",
          "currency", "manager", "payment_link", "cancel_reason"]
CONFIG = """timezone = "UTC"
db = "{db}"

[sources.shop]
type = "csv"
path = "{csv}"

[channels.mail]
type = "smtp"
host = "127.0.0.1"
port = {port}
security = "none"
sender = "Shop <shop@example.com>"

[segments.unpaid]
min_age = "1h"
max_age = "30d"

[playbooks.remind]
segment = "unpaid"
channel = "mail"
cap = false

[[playbooks.remind.steps]]
name = "letter"
action = "send"
template = "letter"
"""


def write(path: Path, rows: int, due: int, paid_every: int = 0) -> None:
    old, fresh = (NOW - timedelta(days=400)).isoformat(), (NOW - timedelta(hours=3)).isoformat()
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(HEADER)
        for i in range(1, rows + 1):
            recent = i % (rows // due) == 0 if due else False
            status = "paid" if not recent or (paid_every and i // (rows // due) % paid_every == 0) else "new"
            w.writerow([i, f"N{i}", fresh if recent else old, status, f"Buyer {i}", f"c{i}@example.com", "",
                        "course", "Course", "4990.00", "RUB", "", f"https://pay.example/{i}", ""])


class Inbox:
    def __init__(self) -> None:
        self.count, self.lock = 0, threading.Lock()

    async def handle_DATA(self, server, session, envelope):
        with self.lock:
            self.count += 1
        return "250 OK"


def anchor(port: int, n: int) -> float:
    """A bare smtplib loop: ``n`` messages over one connection."""
    start = time.perf_counter()
    with smtplib.SMTP("127.0.0.1", port) as smtp:
        for i in range(n):
            msg = EmailMessage()
            msg["From"], msg["To"], msg["Subject"] = "Shop <shop@example.com>", f"c{i}@example.com", f"Order N{i}"
            msg["Message-ID"] = f"<{i}@bench.example>"
            msg.set_content(f"Please pay: https://pay.example/{i}\n")
            smtp.send_message(msg)
    return time.perf_counter() - start


def measure(rows: int, due: int, folder: Path) -> dict:
    """Build (once per folder) and sync the file, mark 1 in 20 due orders paid, run; the figures and the check."""
    from aiosmtpd.controller import Controller

    folder.mkdir(exist_ok=True)
    db, path, synced = folder / "unpaid.db", folder / "orders.csv", folder / "synced.db"
    port = free_port()
    (folder / "templates").mkdir(exist_ok=True)
    (folder / "templates" / "letter.txt").write_text(
        "Subject: Order {{ order.number }}\n\nPlease pay: {{ payment_link }}\n", encoding="utf-8")
    config = folder / "unpaid.toml"
    config.write_text(CONFIG.format(db=db, csv=path, port=port), encoding="utf-8")
    env = clean_env(UNPAID_CONFIG=str(config), UNPAID_NOW=NOW.isoformat())
    unpaid = [sys.executable, "-m", "unpaid"]
    if not synced.exists():
        write(path, rows, due)
        wall, _, _ = timed([*unpaid, "sync"], env=env, cwd=folder)
        print(f"built and synced {rows:,} rows in {wall:.1f} s", file=sys.stderr)
        shutil.copyfile(db, synced)
    write(path, rows, due, paid_every=20)  # paid after the sync: must not be reminded
    shutil.copyfile(synced, db)
    for suffix in ("-wal", "-shm"):
        Path(f"{db}{suffix}").unlink(missing_ok=True)
    timed([sys.executable, "-c", f"from unpaid.store import Store; Store.open({str(db)!r}).close()"], env=env,
          cwd=folder)  # a migration the synced copy may need is not the run's time
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        wall, rss, proc = timed([*unpaid, "--format", "json", "run"], env=env, cwd=folder, check=False)
        sent = inbox.count
        base = anchor(port, sent)
    finally:
        controller.stop()
    paid = due // 20
    return {"unpaid": wall, "anchor": base, "rss": rss, "sent": sent, "paid": paid, "ok": sent == due - paid,
            "exit": proc.returncode}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--due", type=int, default=10_000)
    parser.add_argument("--folder", type=Path, help="reuse a kept folder (its synced store and file)")
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)
    folder = args.folder or Path(tempfile.mkdtemp(prefix="unpaid-csv-run-"))
    try:
        r = measure(args.rows, args.due, folder)
        print(f"run, CSV source of {args.rows:,} rows, {r['sent']:,} letters: unpaid {r['unpaid']:.2f} s, smtplib "
              f"loop {r['anchor']:.2f} s, ratio {r['unpaid'] / r['anchor']:.2f} (target <= 1.5), peak RSS "
              f"{r['rss'] / 1024:.0f} MiB")
        print("  check: " + ("ok" if r["ok"] else f"MISMATCH: expected {args.due - r['paid']}") +
              f", {r['paid']} paid after the sync were not reminded (exit {r['exit']})")
        return 0 if r["ok"] else 1
    finally:
        if args.keep or args.folder:
            print(f"kept {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
