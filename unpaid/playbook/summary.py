"""The one line a run ends with: what happened to the actions that were due, then to the orders.

Every action due is counted once, in one of done / deferred / skipped / held for review / failed, so
``due = done + deferred + skipped + held + failed``. Work another run did first is not this run's: it is
mentioned apart, never as "lost".
"""

from __future__ import annotations

from typing import Mapping

from unpaid.i18n import _, ngettext

#: result -> its count in words, in the order they are told. Deferred: a later run does it (a retry, the cap).
ACTION_RESULTS = {
    "done": lambda n: ngettext("{n} done", "{n} done", n),
    "deferred": lambda n: ngettext("{n} deferred", "{n} deferred", n),
    "skipped": lambda n: ngettext("{n} skipped", "{n} skipped", n),
    "review": lambda n: ngettext("{n} held for review", "{n} held for review", n),
    "failed": lambda n: ngettext("{n} failed", "{n} failed", n),
}
#: result -> (the first, with "orders": ``2 orders entered``; the rest: ``1 moved on``).
ORDER_RESULTS = {
    "entered": (lambda n: ngettext("{n} order entered", "{n} orders entered", n),
                lambda n: ngettext("{n} entered", "{n} entered", n)),
    "advanced": (lambda n: ngettext("{n} order moved on", "{n} orders moved on", n),
                 lambda n: ngettext("{n} moved on", "{n} moved on", n)),
    "exited": (lambda n: ngettext("{n} order left", "{n} orders left", n),
               lambda n: ngettext("{n} left", "{n} left", n)),
    "finished": (lambda n: ngettext("{n} order finished", "{n} orders finished", n),
                 lambda n: ngettext("{n} finished", "{n} finished", n)),
}


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
                said = words(counts[key]).format(n=counts[key])
                if key == "skipped" and skip_reasons:
                    top = sorted(skip_reasons.items(), key=lambda kv: -kv[1])
                    why = "; ".join(r for r, _n in top[:2]) + ("; …" if len(top) > 2 else "")
                    said = _("{counted} ({reasons})").format(counted=said, reasons=why)
                told.append(said)
        parts.append(ngettext("{n} action due: {results}", "{n} actions due: {results}", total).format(
            n=total, results=", ".join(told)))
    orders = [(k, counts[k]) for k in ORDER_RESULTS if counts.get(k)]
    if orders:
        said = [ORDER_RESULTS[k][0 if i == 0 else 1](n).format(n=n) for i, (k, n) in enumerate(orders)]
        parts.append(", ".join(said))
    if counts.get("other_run"):
        n = counts["other_run"]
        parts.append(ngettext("{n} already done by another run", "{n} already done by another run", n).format(n=n))
    return "; ".join(parts) or _("nothing was due")
