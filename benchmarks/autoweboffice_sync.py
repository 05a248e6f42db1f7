#!/usr/bin/env python3
"""AutoWebOffice sync under the API's rate limit: prints figures, is not a test.

Seeds the emulator with N invoices (two lines each), limits it to 20 requests per 5 s like the real
API, and runs the real sync (connector + store) into an empty SQLite file; then an incremental
sync after new invoices and payments. Prints the requests used, the wall time, the least time the
limit allows for that many requests, and the busiest 5-s window the emulator saw — which must
never exceed the limit, with no request refused.

    python benchmarks/autoweboffice_sync.py                  # 50,000 invoices
    python benchmarks/autoweboffice_sync.py --invoices 5000  # a quick run
"""

from __future__ import annotations

import argparse
import math
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def least_time(requests: int, limit: int, period: float) -> float:
    """Seconds the limit forces on ``requests`` calls: the first ``limit`` are free, then one window per ``limit``."""
    return math.ceil(max(0, requests - limit) / limit) * period if requests > limit else 0.0


def run(invoices: int, limit: int, period: float) -> None:
    from unpaid.store import Store
    from unpaid.sync import sync_source
    from unpaid_autoweboffice.connector import AutoWebOfficeConnector
    from unpaid_autoweboffice.emulator import Emulator
    from unpaid_autoweboffice.seeds import bulk_seed

    started = time.perf_counter()
    seed = bulk_seed(invoices, NOW, lines_per_invoice=2)
    emu = Emulator(seed, rate_limit=(limit, period), now=lambda: NOW).start()
    print(f"emulator: {invoices:,} invoices, {len(seed['accountline']):,} lines, limit {limit} per {period:g} s "
          f"(seeded in {time.perf_counter() - started:.1f} s)")
    now = [NOW]
    settings = {**emu.source_settings(), "rate_limit": f"{limit}/{period:g}s"}
    with tempfile.TemporaryDirectory() as folder, Store.open(Path(folder) / "unpaid.db") as store:
        for label, prepare in (("full sync", None), ("incremental sync (+100 new, 50 paid)", _changes)):
            if prepare:
                prepare(emu, now)
            before = emu.stats.as_dict()
            conn = AutoWebOfficeConnector("awo", settings, emu.secrets(), clock=lambda: now[0])
            t0, waited_before = time.perf_counter(), conn.client.window.waited  # the window is shared per account
            with conn:
                result = sync_source(store, conn, now[0])
                wall = time.perf_counter() - t0
                used = conn.client.requests
                waited = conn.client.window.waited - waited_before
            if result.error:
                sys.exit(f"{label} failed: {result.error}")
            after = emu.stats.as_dict()
            print(f"\n{label}: {result.orders:,} orders in {result.pages} pages, {len(result.changes)} status changes")
            print(f"  requests        {used}  ({used / max(result.orders, 1) * 1000:.1f} per 1,000 orders)")
            print(f"  wall time       {wall:.1f} s  (the limit allows no less than {least_time(used, limit, period):.0f} s;"
                  f" throttle waited {waited:.1f} s)")
            print(f"  busiest window  {emu.stats.max_in_window} requests in {period:g} s (limit {limit}); "
                  f"refused {after['limited'] - before['limited']}")
            now[0] += timedelta(hours=2)
        print(f"\nstored: {store.orders.count_source('awo'):,} orders")
    emu.stop()


def _changes(emu, now) -> None:
    """100 new invoices and 50 payments of invoices from the last 20 days, as a day of a school would bring."""
    account = emu.account
    since = (NOW - timedelta(days=20)).strftime("%Y-%m-%d")
    with account.lock:
        recent = [r for r in account.tables["accounts"].values() if r["date_of_order"] >= since]
        for row in [r for r in recent if r["id_account_status"] == "1"][:50]:
            account.update("accounts", row["id_account"], {"id_account_status": "5"})
        for n in range(100):
            created = account.create("accounts", {"email": f"new{n}@example.ru", "account_sum": "990",
                                                  "id_contact": "1"})
            account.create("accountline", {"id_account": created["id_account"], "id_goods": "13",
                                           "goods": "Вебинар", "price": "990", "quantity": "1", "sum_price": "990"})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--invoices", type=int, default=50_000)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--period", type=float, default=5.0)
    args = parser.parse_args()
    run(args.invoices, args.limit, args.period)


if __name__ == "__main__":
    main()
