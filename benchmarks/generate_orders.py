#!/usr/bin/env python3
"""Write a realistic order export (the demo's CSV shape) of any size, deterministically.

    python benchmarks/generate_orders.py --rows 1000000 --seed 1 --now 2026-11-24T09:00:00Z -o orders.csv

With the defaults it regenerates the bundled sample shop, ``unpaid/data/demo_orders.csv``.
"""

from __future__ import annotations

import argparse
import sys
from datetime import datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from a checkout without installing

from unpaid.demo import BUNDLED_NOW, BUNDLED_ROWS, BUNDLED_SEED, bundled_path, write_csv  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=BUNDLED_ROWS, help="number of orders [%(default)s]")
    parser.add_argument("--seed", type=int, default=BUNDLED_SEED, help="random seed [%(default)s]")
    parser.add_argument("--now", default=BUNDLED_NOW.isoformat(),
                        help="all orders are created before this ISO-8601 moment [%(default)s]")
    parser.add_argument("-o", "--output", type=Path, default=None,
                        help="file to write [the bundled unpaid/data/demo_orders.csv]; - for stdout")
    args = parser.parse_args(argv)
    try:
        now = datetime.fromisoformat(args.now.replace("Z", "+00:00"))
    except ValueError:
        parser.error(f"--now {args.now!r} is not ISO-8601, e.g. 2026-11-24T09:00:00Z")
    if now.tzinfo is None:
        parser.error("--now needs an offset, e.g. 2026-11-24T09:00:00+03:00")
    if args.rows < 1:
        parser.error("--rows must be at least 1")
    if str(args.output) == "-":
        write_csv(sys.stdout, args.rows, args.seed, now)
        return 0
    path = args.output or bundled_path()
    with open(path, "w", encoding="utf-8", newline="") as out:
        count = write_csv(out, args.rows, args.seed, now)
    print(f"wrote {count} orders to {path}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
