"""dedupe grouped in SQL and decided a batch at a time decides exactly what the pure planner decides over every
order, on generated stores: twins at the window's edges, refunds, partly paid, unkeyed orders, enrollments."""

from __future__ import annotations

import random
from datetime import date, datetime, timedelta, timezone

import pytest

from unpaid.dedupe import plan, plan_stream, related_ids
from unpaid.model import Customer, LineItem, Money, Order, Status
from unpaid.store.dedupe_facts import dedupe_facts, dedupe_groups, orders_by_id, unkeyed_orders
from unpaid.store.enrollments import Enrollments

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)
WINDOW = timedelta(days=30)


def generate(rng: random.Random, n: int) -> list[Order]:
    customers = [f"c{i}@example.com" for i in range(n // 3)] + [None]
    orders = []
    for i in range(n):
        email = rng.choice(customers)
        phone = None if email or rng.random() < 0.5 else f"+7999{rng.randrange(10):07d}"
        product = rng.choice(["course", "club", "Курс", None] if rng.random() < 0.1 else ["course", "club"])
        # Near the window's edge: exactly 30 days, a second either side, and far apart.
        days = rng.choice([0, 1, 29, 30, 31, 60]) * rng.choice([1, -1])
        seconds = rng.choice([0, 0, 1, -1, 3600])
        status = rng.choice(list(Status))
        paid_at = T0 + timedelta(days=rng.choice([-31, -30, 0, 5])) if status is Status.PAID and rng.random() < 0.5 \
            else None
        orders.append(Order(rng.choice(["shop", "gc"]), str(i), status, T0 + timedelta(days=days, seconds=seconds),
                            Money(1000), Customer(email, phone), (LineItem(product, product),) if product else (),
                            paid_at=paid_at))
    return orders


def essence(decisions) -> list[tuple]:
    return [(d.order_id, d.action, d.reason, d.twin, d.warning) for d in decisions]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("batch", [1, 7, 20_000])
def test_streamed_decisions_equal_the_pure_planners(tmp_store, seed, batch):
    rng = random.Random(seed)
    orders = generate(rng, 400)
    with tmp_store.transaction():
        tmp_store.orders.upsert(orders, T0)
    for o in rng.sample([o for o in orders if o.is_actual], 30):
        Enrollments(tmp_store).enter(o.id, rng.choice(["a", "b"]), None, T0 + timedelta(hours=rng.randrange(50)), T0)
    now, today, force = T0 + timedelta(days=1), date(2026, 11, 2), seed % 2 == 1

    stored = [tmp_store.orders.get(o.id) for o in orders]
    expected = plan(stored, dedupe_facts(tmp_store, related_ids(stored), now), window=WINDOW, today=today,
                    force=force)
    streamed = list(plan_stream(dedupe_groups(tmp_store, WINDOW, batch), lambda ids: dedupe_facts(tmp_store, ids, now),
                                unkeyed_orders(tmp_store), window=WINDOW, today=today, force=force,
                                orders_of=lambda ids: orders_by_id(tmp_store, ids)))
    assert essence(streamed) == essence(expected)
    # Decided on a few columns, the decisions still carry the whole stored orders.
    assert [d.order for d in streamed] == [d.order for d in expected]
    assert all(type(d.order) is Order for d in streamed)
    assert expected  # the generated store has work in it


def test_orders_by_id_reads_the_whole_stored_orders(tmp_store):
    orders = generate(random.Random(3), 1200)
    with tmp_store.transaction():
        tmp_store.orders.upsert(orders, T0)
    ids = [o.id for o in orders][::-1] + ["shop:missing", orders[0].id]
    found = orders_by_id(tmp_store, ids)
    assert found == {o.id: tmp_store.orders.get(o.id) for o in orders}


def test_the_orders_dedupe_cannot_group_are_found_without_reading_every_order(tmp_path):
    """A million keyed orders and no unkeyed one must not cost a scan of the million (schema 12's index)."""
    from unpaid.store import Store

    with Store.open(tmp_path / "unpaid.db") as store:
        orders = generate(random.Random(1), 200)
        with store.transaction():
            store.orders.upsert(orders, T0)
        seen: list[str] = []
        store.conn.set_trace_callback(seen.append)
        found = list(unkeyed_orders(store))
        store.conn.set_trace_callback(None)
        assert {o.id for o in found} == {o.id for o in orders if o.is_actual and not (o.customer.key and o.product_key)}
        assert found and [o.id for o in found] == sorted(o.id for o in found)
        query = next(sql for sql in seen if "customer_key IS NULL" in sql)
        plan = " ".join(row[3] for row in store.conn.execute("EXPLAIN QUERY PLAN " + query))
        assert "USING INDEX orders_unkeyed" in plan, plan
