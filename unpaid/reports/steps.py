"""``report steps`` and ``report offers``: what each playbook step and each offer level did and earned."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from unpaid.reports.attribution import RECOVERED, credit, discount_cost, money

if TYPE_CHECKING:
    from unpaid.store.reporting import PaidFact


def steps(actions: Iterable[Mapping[str, Any]], paid: Iterable["PaidFact"], window: timedelta) -> list[dict]:
    """One row per (playbook, step, currency): ``sent`` actions, ``opened`` (null when unknown), and the
    recovered orders whose last playbook action before paying was this step, their revenue and discounts."""
    rows: dict[tuple, dict] = {}
    for a in actions:
        key = (a["playbook"], a["step"] or "", a["currency"])
        _count(rows.setdefault(key, _row(("playbook", "step"), key)), a["opened"])
    for fact in paid:
        if credit(fact, window) == RECOVERED and fact.last_step is not None:
            key = (*fact.last_step, fact.currency)
            _credit(rows.setdefault(key, _row(("playbook", "step"), key)), fact.total,
                    discount_cost(fact.total, fact.discount))
    return [_finish(r) for _, r in sorted(rows.items())]


def offers(made: Iterable[Mapping[str, Any]], paid: Iterable["PaidFact"], window: timedelta) -> list[dict]:
    """One row per (offer kind, percent, currency): offers made, ``opened`` (null when unknown), and the
    recovered orders whose highest offer before paying was this one; a bonus costs no money here."""
    rows: dict[tuple, dict] = {}
    for m in made:
        key = (m["kind"], m["percent"], m["currency"])
        _count(rows.setdefault(key, _row(("kind", "percent"), key)), m["opened"])
    for fact in paid:
        if credit(fact, window) == RECOVERED and fact.offer is not None:
            key = (*fact.offer, fact.currency)
            cost = discount_cost(fact.total, fact.offer[1]) if fact.offer[0] == "discount" else 0
            _credit(rows.setdefault(key, _row(("kind", "percent"), key)), fact.total, cost)
    return [_finish(r) for _, r in sorted(rows.items())]


def _row(names: tuple[str, str], key: tuple) -> dict:
    return {names[0]: key[0], names[1]: key[1], "currency": key[2], "sent": 0, "opened": None, "paid_after": 0,
            "_revenue": 0, "_cost": 0}


def _count(row: dict, opened: Any) -> None:
    row["sent"] += 1
    if opened is not None:
        row["opened"] = (row["opened"] or 0) + bool(opened)


def _credit(row: dict, total: int, cost: int) -> None:
    row["paid_after"] += 1
    row["_revenue"] += total
    row["_cost"] += cost


def _finish(row: dict) -> dict:
    revenue, cost = row.pop("_revenue"), row.pop("_cost")
    return {**row, "revenue": money(revenue, row["currency"]), "discount_cost": money(cost, row["currency"])}
