"""``report recovery``: what the work brought back, per currency."""

from __future__ import annotations

from statistics import median
from typing import Any, Iterable, Mapping

from unpaid.reports.attribution import money, share

#: The counts of ``ReportStore.tally`` a recovery row carries as they are.
COUNTS = ("entered", "touched", "paid", "recovered", "paid_before_touch", "paid_outside_window", "created_by_manager")


def recovery(tally: Iterable[Mapping[str, Any]]) -> list[dict]:
    """One row per currency of the orders that entered work, from ``ReportStore.tally``."""
    return [_row(t) for t in tally]


def _row(t: Mapping[str, Any]) -> dict:
    cur, revenue, discount = t["currency"], t["revenue"] or 0, t["discount"] or 0
    days = [float(d) for d in (t["days"] or "").split(",") if d]
    counts = {k: t[k] or 0 for k in COUNTS}
    return {"currency": cur, **counts, "recovery_rate": share(counts["recovered"], counts["entered"]),
            "recovered_revenue": money(revenue, cur), "discount_given": money(discount, cur),
            "net_recovered_revenue": money(revenue - discount, cur),
            "median_days_to_pay": round(median(days), 2) if days else None}
