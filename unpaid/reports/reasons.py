"""``report reasons``: why customers refused, by count and share, overall and by product, source,
manager and step."""

from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Mapping

from unpaid.reports.attribution import share

DIMENSIONS = ("all", "product", "source", "manager", "step")
NONE = "(none)"


def reasons(groups: Iterable[Mapping[str, Any]]) -> list[dict]:
    """Rows ``{by, group, reason, count, share}``; ``share`` is of the cancellations in the same group.

    ``groups`` are counts of cancelled orders by (reason, product, source, manager, step), from
    ``ReportStore.cancellations``. Most frequent first within a group.
    """
    counts: Counter = Counter()
    totals: Counter = Counter()
    for g in groups:
        reason = g["reason"] or NONE
        for by in DIMENSIONS:
            group = "all" if by == "all" else (g[by] or NONE)
            counts[(by, group, reason)] += g["n"]
            totals[(by, group)] += g["n"]
    rank = {by: i for i, by in enumerate(DIMENSIONS)}
    keys = sorted(counts, key=lambda k: (rank[k[0]], k[1], -counts[k], k[2]))
    return [{"by": by, "group": group, "reason": reason, "count": counts[(by, group, reason)],
             "share": share(counts[(by, group, reason)], totals[(by, group)])} for by, group, reason in keys]
