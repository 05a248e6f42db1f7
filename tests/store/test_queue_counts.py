"""The queue's counts read the order status each call task carries: it follows the order through every write
(a sync's upsert, a status set here, an order stored after its task), so counts and pages always agree."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from unpaid.model import Customer, LineItem, Money, Order, Status
from unpaid.store.desk import DeskStore
from unpaid.store.tasks import Tasks

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def order(n: int, status: Status = Status.NEW) -> Order:
    return Order("shop", str(n), status, T0 - timedelta(days=1), Money(1000), Customer(f"c{n}@example.com"),
                 (LineItem("course", "Course"),))


def counts(store) -> tuple[int, int]:
    desk = DeskStore(store)
    page = desk.due_page(T0, T0, None, "due", 100)
    return desk.count_due(T0, T0, None), len(page)


def test_the_counts_follow_the_order_status_and_agree_with_the_page(tmp_store):
    tasks = Tasks(tmp_store)
    with tmp_store.transaction():
        tmp_store.orders.upsert([order(1), order(2), order(3, Status.PAID)], T0)
    for n in (1, 2, 3, 4):  # order 4 is not stored yet
        tasks.create(f"shop:{n}|pb|call|0", order_id=f"shop:{n}", playbook="pb", step="call",
                     due_at=T0 - timedelta(hours=1), script="", attempts=1, now=T0)
    assert counts(tmp_store) == (2, 2)

    with tmp_store.transaction():  # paid at the source, learnt by a sync
        tmp_store.orders.upsert([order(1, Status.PAID)], T0)
    assert counts(tmp_store) == (1, 1)
    with tmp_store.transaction():  # set here
        tmp_store.orders.set_status("shop:2", Status.CANCELLED, None, "no", T0)
    assert counts(tmp_store) == (0, 0)
    with tmp_store.transaction():  # back to actual, and the order the task was made for arrives
        tmp_store.orders.upsert([order(3, Status.PAYMENT_WAITING), order(4)], T0)
    assert counts(tmp_store) == (2, 2)
