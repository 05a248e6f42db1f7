"""The one line a run ends with: what happened to the actions that were due, then to the orders.

Every action due is counted once, in one of done / deferred / skipped / held for review / failed, so
``due = done + deferred + skipped + held + failed``. Work another run did first is not this run's: it is
mentioned apart, never as "lost".
"""

from __future__ import annotations

from typing import Mapping

from unpaid.output import plural

#: result -> words, in the order they are told. Deferred: a later run does it (a retry, the frequency cap).
ACTION_RESULTS = {"done": "done", "deferred": "deferred", "skipped": "skipped", "review": "held for review",
                  "failed": "failed"}
ORDER_RESULTS = {"entered": "entered", "advanced": "moved on", "exited": "left", "finished": "finished"}


def due(counts: Mapping[str, int]) -> int:
    """Actions that were due and were this run's to do."""
    return sum(counts.get(k, 0) for k in ACTION_RESULTS)


def summary_line(counts: Mapping[str, int], skip_reasons: Mapping[str, int] | None = None) -> str:
    """``3 actions due: 1 done, 1 deferred, 1 skipped (order is paid); 2 orders entered; 4 done by another run``."""
    parts = []
    total = due(counts)
    if total:
        told = []
        for key, words in ACTION_RESULTS.items():
            if counts.get(key):
                why = ""
                if key == "skipped" and skip_reasons:
                    top = sorted(skip_reasons.items(), key=lambda kv: -kv[1])
                    why = " (" + "; ".join(r for r, _ in top[:2]) + ("; …" if len(top) > 2 else "") + ")"
                told.append(f"{counts[key]} {words}{why}")
        parts.append(f"{plural(total, 'action')} due: " + ", ".join(told))
    orders = [f"{counts[k]} {words}" for k, words in ORDER_RESULTS.items() if counts.get(k)]
    if orders:
        first, *rest = orders
        count, _, words = first.partition(" ")
        parts.append(f"{plural(int(count), 'order')} {words}" + "".join(f", {r}" for r in rest))
    if counts.get("other_run"):
        parts.append(f"{counts['other_run']} already done by another run")
    return "; ".join(parts) or "nothing was due"
