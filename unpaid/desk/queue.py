"""Today's call queue, pure: (tasks + orders + claims + offers + history stats + now) -> rows.

The store narrows the candidates in SQL (:class:`unpaid.store.desk.DeskStore`); :func:`visible` is the
same rule in Python, applied again to the page, so what a manager sees never depends on a stale join.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone, tzinfo
from typing import TYPE_CHECKING, Any, Mapping, Sequence

from unpaid.clock import to_iso
from unpaid.records import money_dict

if TYPE_CHECKING:
    from unpaid.model import Order
    from unpaid.store.claims import Claim
    from unpaid.store.desk import OrderStats
    from unpaid.store.offers import StoredOffer
    from unpaid.store.tasks import Task


@dataclass(frozen=True)
class QueueView:
    """What ``unpaid queue`` shows: counts for the day, and one page of rows."""

    today: int
    due_now: int
    rows: list[dict[str, Any]]


def end_of_day(day_of: datetime, zone: tzinfo) -> datetime:
    """The first moment of the next local day, in UTC."""
    local = day_of.astimezone(zone).date() + timedelta(days=1)
    return datetime.combine(local, time(0), tzinfo=zone).astimezone(timezone.utc)


def visible(task: "Task", order: "Order", claim: "Claim | None", now: datetime, until: datetime,
            manager: str | None) -> bool:
    """A task shows when it is open and due by ``until``, its order still needs work, and nobody else holds it."""
    if task.state != "open" or task.due_at > until or not order.is_actual:
        return False
    live = claim if claim is not None and claim.lease_until > now else None
    if manager is None:
        return live is None
    return (live is None or live.manager == manager) and task.manager in (None, manager)


def build_rows(pairs: Sequence[tuple["Task", "Order"]], claims: Mapping[str, "Claim"],
               offers: Mapping[str, "StoredOffer"], stats: Mapping[str, "OrderStats"], now: datetime,
               until: datetime, manager: str | None, offset: int = 0) -> list[dict[str, Any]]:
    """The queue rows of one page, numbered from ``offset + 1``."""
    rows = []
    for task, order in pairs:
        claim = claims.get(order.id)
        if not visible(task, order, claim, now, until, manager):
            continue
        rows.append(row(task, order, claim, offers.get(order.id), stats.get(order.id), offset + len(rows) + 1))
    return rows


def row(task: "Task", order: "Order", claim: "Claim | None", offer: "StoredOffer | None",
        stats: "OrderStats | None", position: int = 1) -> dict[str, Any]:
    """One queue row (also the card ``unpaid take`` prints): the JSON contract of docs/desk.md."""
    c = order.customer
    return {
        "position": position,
        "order_id": order.id,
        "number": order.number,
        "created_at": to_iso(order.created_at),
        "status": order.status.value,
        "status_label": order.status.label,
        "name": c.name,
        "phone": c.phone,
        "email": c.email,
        "product": order.product_title,
        "total": money_dict(order.total),
        "offer": {"kind": offer.kind, "percent": offer.percent, "valid_until": to_iso(offer.valid_until)}
        if offer else None,
        "calls": stats.calls if stats else 0,
        "messages": stats.messages if stats else 0,
        # Attempts as seed 004 counts them before giving up: every call and every message so far.
        "attempts": (stats.calls + stats.messages) if stats else 0,
        "last_comment": stats.last_comment if stats else None,
        "due_at": to_iso(task.due_at),
        "playbook": task.playbook,
        "step": task.step,
        "script": task.script,
        "task_id": task.id,
        "claimed_by": claim.manager if claim else None,
    }
