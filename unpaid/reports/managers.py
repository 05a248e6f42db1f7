"""``report managers``: calls, reached, promises, promises kept, payments after calls, per manager."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta, tzinfo
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from unpaid.clock import from_iso
from unpaid.reports.attribution import RECOVERED, credit, money, share

if TYPE_CHECKING:
    from unpaid.store.reporting import PaidFact

#: Outcomes where nobody (or the wrong person) answered: every other outcome reached the customer.
NOT_REACHED = frozenset({"no_answer", "wrong_number"})


def managers(calls: Iterable[Mapping[str, Any]], paid: Iterable["PaidFact"], window: timedelta,
             zone: tzinfo) -> list[dict]:
    """One row per (manager, currency) with a dial on the cohort's orders.

    A promise is kept when the order was paid after the promise and by the end of the promised day
    (in ``zone``). Payments after calls are recovered orders whose last touch was this manager's dial.
    """
    rows: dict[tuple[str, str], dict] = {}
    for c in calls:
        actor = c["actor"]
        name = actor.partition(":")[2] if ":" in actor else actor
        row = rows.setdefault((name, c["currency"]), _row(name, c["currency"]))
        row["calls"] += 1
        row["reached"] += c["outcome"] not in NOT_REACHED
        if c["outcome"] == "promised":
            row["promises"] += 1
            row["promises_kept"] += _kept(c, zone)
    for fact in paid:
        if credit(fact, window) == RECOVERED and (fact.last_actor or "").startswith("manager:"):
            key = (fact.last_actor.partition(":")[2], fact.currency)
            row = rows.setdefault(key, _row(*key))
            row["payments_after_calls"] += 1
            row["_revenue"] += fact.total
    out = []
    for (name, cur), row in sorted(rows.items()):
        revenue = row.pop("_revenue")
        out.append({**row, "reach_rate": share(row["reached"], row["calls"]),
                    "kept_rate": share(row["promises_kept"], row["promises"]),
                    "recovered_revenue": money(revenue, cur)})
    return out


def _row(name: str, currency: str) -> dict:
    return {"manager": name, "currency": currency, "calls": 0, "reached": 0, "promises": 0, "promises_kept": 0,
            "payments_after_calls": 0, "_revenue": 0}


def _kept(call: Mapping[str, Any], zone: tzinfo) -> bool:
    if call["status"] != "paid" or not call["paid_at"] or not call["promised_on"]:
        return False
    paid, at = from_iso(call["paid_at"]), from_iso(call["at"])
    day_end = datetime.combine(date.fromisoformat(call["promised_on"]) + timedelta(days=1), time(), zone)
    return at <= paid < day_end
