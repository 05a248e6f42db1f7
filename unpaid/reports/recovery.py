"""``report recovery``: what the work brought back, per currency."""

from __future__ import annotations

from datetime import timedelta
from statistics import median
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from unpaid.reports.attribution import BEFORE_TOUCH, BY_MANAGER, OUTSIDE, RECOVERED, credit, discount_cost, money, share

if TYPE_CHECKING:
    from unpaid.store.reporting import PaidFact


def recovery(counts: Iterable[Mapping[str, Any]], paid: Iterable["PaidFact"], window: timedelta) -> list[dict]:
    """One row per currency of the orders that entered work; ``counts`` from ``ReportStore.counts``."""
    rows: dict[str, dict] = {}
    for c in counts:
        rows[c["currency"]] = {"currency": c["currency"], "entered": c["entered"], "touched": c["touched"] or 0,
                               "paid": c["paid"] or 0, "recovered": 0, "paid_before_touch": 0,
                               "paid_outside_window": 0, "created_by_manager": 0, "_revenue": 0, "_discount": 0,
                               "_days": []}
    why_key = {BEFORE_TOUCH: "paid_before_touch", OUTSIDE: "paid_outside_window", BY_MANAGER: "created_by_manager"}
    for fact in paid:
        row = rows[fact.currency]
        why = credit(fact, window)
        if why != RECOVERED:
            row[why_key[why]] += 1
            continue
        row["recovered"] += 1
        row["_revenue"] += fact.total
        row["_discount"] += discount_cost(fact.total, fact.discount)
        row["_days"].append((fact.paid_at - fact.entered_at) / timedelta(days=1))
    return [_finish(r) for r in rows.values()]


def _finish(row: dict) -> dict:
    cur, revenue, discount, days = row["currency"], row.pop("_revenue"), row.pop("_discount"), row.pop("_days")
    return {**row, "recovery_rate": share(row["recovered"], row["entered"]),
            "recovered_revenue": money(revenue, cur), "discount_given": money(discount, cur),
            "net_recovered_revenue": money(revenue - discount, cur),
            "median_days_to_pay": round(median(days), 2) if days else None}
