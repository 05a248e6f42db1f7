"""``report recovery``: what the work brought back, per currency."""

from __future__ import annotations

from statistics import median
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from unpaid.reports.attribution import money, share

if TYPE_CHECKING:
    from datetime import timedelta, tzinfo

    from unpaid.store.reporting import PaidFact

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


def timeline(paid: Iterable["PaidFact"], window: "timedelta", zone: "tzinfo") -> list[dict]:
    """Recovered orders and revenue per day of payment (in ``zone``) and currency, oldest day first."""
    from unpaid.reports.attribution import RECOVERED, credit

    days: dict[tuple[str, str], list[int]] = {}
    for fact in paid:
        if credit(fact, window) == RECOVERED:
            key = (fact.paid_at.astimezone(zone).date().isoformat(), fact.currency)
            day = days.setdefault(key, [0, 0])
            day[0] += 1
            day[1] += fact.total
    return [{"day": d, "currency": c, "recovered": n, "revenue": money(total, c)}
            for (d, c), (n, total) in sorted(days.items())]
