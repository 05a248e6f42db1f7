"""A deliberately broken `unpaid`: the send happens *before* the ledger claim is written.

Run as ``python tests/proofs/mutant.py ARGS...`` in place of ``unpaid ARGS...``. Only the proofs use it, to
show that the crash loop catches a runner that writes the ledger after the send (a kill in between leaves no
trace, so the next run sends again). The product has no switch for this; the patch lives here alone.
"""

from __future__ import annotations

import sys
from pathlib import Path


def patch() -> None:
    from unpaid.playbook.runner import Runner

    act = Runner._act

    def send_then_claim(self, pb, case, step, d, en):
        acted = step.fallback if d.fallback and step.fallback else step
        if acted.action != "send":
            return act(self, pb, case, step, d, en)
        done = self._perform(pb, case, case.order, step, acted, d)  # no ledger record yet
        self._perform = lambda *args: done  # the real path below claims, "sends" (already done), records
        try:
            return act(self, pb, case, step, d, en)
        finally:
            del self._perform

    Runner._act = send_then_claim


if __name__ == "__main__":
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
    patch()
    from unpaid.cli import main

    main(sys.argv[1:])
