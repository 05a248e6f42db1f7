"""Dedupe planning: which actual orders to mark False because of a paid twin or a newer duplicate.

Pure: orders in, decisions out — no store, no connector, no clock. Orders are grouped by customer
key (normalized e-mail, else phone) and product key across all sources. In a group:

- an actual order with a paid twin (same customer and product, status paid) -> False;
- several actual orders -> one is kept (a partly paid one if any, else the newest), the others False;
- partly paid orders are never marked False (money was received: a person must look at them);
- actual orders without a customer key or a product key are left alone, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from unpaid.model import Order, Status

FALSE, KEEP, SKIP = "false", "keep", "skip"


@dataclass(frozen=True)
class Decision:
    """What dedupe does with one order, and why; ``twin`` is the order that justifies it."""

    order: Order
    action: str  # FALSE, KEEP or SKIP
    reason: str
    twin: str | None = None

    @property
    def order_id(self) -> str:
        return self.order.id


def _age_key(order: Order) -> tuple:
    # Creation time, then id: ties between orders created in the same second break the same way every run.
    return (order.created_at, order.id)


def _newest(orders: list[Order]) -> Order:
    return max(orders, key=_age_key)


def plan(orders: Iterable[Order]) -> list[Decision]:
    """Decide for every actual order that is a twin, a duplicate or unkeyed; order is deterministic.

    Orders that need no decision (the only actual order of its customer and product) are absent.
    Running the plan again after its False decisions were applied proposes no new False.
    """
    groups: dict[tuple[str, str], dict[str, Order]] = {}
    unkeyed: list[Decision] = []
    for order in orders:
        customer, product = order.customer.key, order.product_key
        if customer is None or product is None:
            if order.is_actual:
                why = "no customer e-mail or phone" if customer is None else "no product"
                unkeyed.append(Decision(order, SKIP, f"{why}: cannot look for twins"))
            continue
        groups.setdefault((customer, product), {})[order.id] = order
    decisions: list[Decision] = []
    for key in sorted(groups):
        decisions += _decide(list(groups[key].values()))
    unique = {d.order_id: d for d in unkeyed}
    return decisions + [unique[k] for k in sorted(unique)]


def _decide(group: list[Order]) -> list[Decision]:
    actual = sorted((o for o in group if o.is_actual), key=_age_key, reverse=True)
    if not actual:
        return []
    paid = [o for o in group if o.status is Status.PAID]
    if paid:
        twin = _newest(paid)
        return [
            Decision(o, SKIP, f"partly paid, with paid twin {twin.id}: check by hand", twin.id)
            if o.status is Status.PART_PAID else Decision(o, FALSE, f"paid twin {twin.id}", twin.id)
            for o in actual
        ]
    if len(actual) < 2:
        return []
    part_paid = [o for o in actual if o.status is Status.PART_PAID]
    keep = _newest(part_paid or actual)
    why = "kept the partly paid one" if part_paid else "kept the newest"
    out = []
    for o in actual:
        if o is keep:
            out.append(Decision(o, KEEP, f"{why} of {len(actual)} actual orders"))
        elif o.status is Status.PART_PAID:
            out.append(Decision(o, SKIP, f"partly paid, duplicate of {keep.id}: check by hand", keep.id))
        else:
            out.append(Decision(o, FALSE, f"duplicate of {keep.id} ({why})", keep.id))
    return out


def relation(order: Order, other: Order) -> str | None:
    """How ``other`` relates to ``order`` on an order card: ``paid twin``, ``duplicate`` or None."""
    if other.id == order.id or order.product_key is None or other.product_key != order.product_key:
        return None
    if order.customer.key is None or other.customer.key != order.customer.key:
        return None
    if other.status is Status.PAID:
        return "paid twin"
    if other.is_actual:
        return "duplicate"
    return None
