#!/usr/bin/env python3
"""GetCourse sync of 100,000 deals from the emulator: prints figures, is not a test.

The emulator runs in its own process (so its memory is not counted) with a simulated export build
delay; the real connector and sync write into an empty SQLite file. Prints the export requests
used (target: one start plus the polls, no per-order calls), the wall time without the time spent
waiting for the emulator to "build" the export, and this process's peak RSS (target <= 300 MB).

    python benchmarks/getcourse_sync.py                 # 100,000 deals, 3 s build delay
    python benchmarks/getcourse_sync.py --deals 10000   # a quick run
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from benchmarks._common import NOW, free_port  # noqa: E402


def peak_rss_mb() -> float:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024  # bytes on macOS, KiB elsewhere


def run(deals: int, build_delay: float) -> None:
    port = free_port()
    t0 = time.perf_counter()
    emulator = subprocess.Popen([sys.executable, "-m", "unpaid_getcourse.emulator", "--generate", str(deals),
                                 "--port", str(port), "--build-delay", str(build_delay)],
                                stdout=subprocess.PIPE, text=True)
    try:
        print(emulator.stdout.readline().strip(), f"(started in {time.perf_counter() - t0:.1f} s)")
        from unpaid.store import Store
        from unpaid.sync import sync_source
        from unpaid_getcourse.connector import GetCourseConnector

        waited = [0.0]

        def sleep(seconds: float) -> None:  # the poll waits: time GetCourse spends building, not ours
            waited[0] += seconds
            time.sleep(seconds)

        with tempfile.TemporaryDirectory() as folder:
            settings = {"account": "school", "base_url": f"http://127.0.0.1:{port}", "timezone": "Europe/Moscow",
                        "first_wait": "1", "poll_interval": "1", "poll_max": "5"}
            connector = GetCourseConnector("school", settings, {"secret_key": "gc-secret-0001"}, sleep=sleep)
            from unpaid.source_state import StoreState

            connector.state = StoreState(Path(folder) / "unpaid.db", "school")
            with Store.open(Path(folder) / "unpaid.db") as store, connector:
                started = time.perf_counter()
                result = sync_source(store, connector, NOW)
                wall = time.perf_counter() - started
                if result.error:
                    sys.exit(f"sync failed: {result.error}")
                stored = store.orders.count_source("school")
            used = connector.client.budget.used_here
        print(f"\nfull sync: {result.orders:,} orders in {result.pages} pages, {len(result.rejects)} rejected, "
              f"{stored:,} stored")
        print(f"  export requests  {used}  (1 start + {used - 1} polls; no per-order calls)")
        print(f"  wall time        {wall:.1f} s, of which waiting for the build {waited[0]:.1f} s "
              f"-> {wall - waited[0]:.1f} s of work")
        print(f"  peak RSS         {peak_rss_mb():.0f} MB  (target <= 300 MB)")
    finally:
        emulator.terminate()
        emulator.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--deals", type=int, default=100_000)
    parser.add_argument("--build-delay", type=float, default=3.0)
    args = parser.parse_args()
    run(args.deals, args.build_delay)


if __name__ == "__main__":
    main()
