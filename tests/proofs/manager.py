"""One manager at the desk, as a process of its own: `unpaid next`, then `unpaid outcome` on the order it
gave, round after round until the queue is empty. Prints one JSON line per command (arguments, exit code,
output) for the proof to count.

    python tests/proofs/manager.py NOW NAME SEED

Each command goes through the CLI's entry point (``unpaid.cli.main``: options, config, a store opened and a
connection made per command, error handling) in this process, as many times as a manager would start
`unpaid`; only the interpreter's start-up is shared, so 50 managers fit on a small machine.
"""

from __future__ import annotations

import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from unpaid.testing.fixtures import run_cli  # noqa: E402

#: Outcomes that take the call out of today's queue without changing the order's status at the source.
OUTCOMES = (["no_answer"], ["thinking"], ["callback", "--at", "+3h"], ["thinking", "--days", "3"])


def main(now: str, name: str, seed: str) -> None:
    rng = random.Random(seed)
    while True:
        args = ["--now", now, "--format", "json", "next", "--manager", name]
        result = run_cli(args)
        emit(args, result)
        if result.exit_code != 0:
            return  # the queue is empty (or a failure the proof reports)
        order = json.loads(result.stdout)["order_id"]
        args = ["--now", now, "outcome", order, *rng.choice(OUTCOMES), "--manager", name]
        emit(args, run_cli(args))


def emit(args: list[str], result) -> None:
    print(json.dumps({"args": args, "code": result.exit_code, "stdout": result.stdout, "stderr": result.stderr}),
          flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
