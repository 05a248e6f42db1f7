"""``report funnel``: new → actual → touched → promised → paid / cancelled / false."""

from __future__ import annotations

from typing import Any, Iterable, Mapping

from unpaid.reports.attribution import share

STAGES = ("new", "actual", "touched", "promised", "paid", "cancelled", "false")


def funnel(created: int, tally: Iterable[Mapping[str, Any]], promised: int) -> list[dict]:
    """Rows ``{stage, count, share}``; ``share`` is of the ``new`` orders (null when there are none).

    ``tally`` from ``ReportStore.tally``. ``new``: orders created in the period; ``actual``: those that entered work; ``touched``, ``promised``:
    of those; ``paid``: recovered (credited by the attribution rule); ``cancelled``, ``false``: their status now.
    """
    total = {"touched": 0, "cancelled": 0, "false": 0, "entered": 0, "recovered": 0}
    for c in tally:
        for key in total:
            total[key] += c[key] or 0
    values = {"new": created, "actual": total["entered"], "touched": total["touched"], "promised": promised,
              "paid": total["recovered"], "cancelled": total["cancelled"], "false": total["false"]}
    return [{"stage": s, "count": values[s], "share": share(values[s], created)} for s in STAGES]
