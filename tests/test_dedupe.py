import random
from datetime import datetime, timedelta, timezone

from unpaid.dedupe import FALSE, KEEP, SKIP, plan, relation
from unpaid.model import Customer, LineItem, Money, Order, Status

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)


def order(native_id, status=Status.NEW, *, hours=0, email="anna@example.com", phone=None, product="course",
          source="shop"):
    items = (LineItem(product, product),) if product else ()
    return Order(source, native_id, status, T0 + timedelta(hours=hours), Money(1000), Customer(email, phone),
                 items)


def summary(decisions):
    return [(d.order_id, d.action, d.reason) for d in decisions]


def test_paid_twin_in_another_source_marks_the_unpaid_one_false():
    decisions = plan([order("1", hours=5), order("7", Status.PAID, source="gc", email=" Anna@Example.com ")])
    assert summary(decisions) == [("shop:1", FALSE, "paid twin gc:7")]
    assert decisions[0].twin == "gc:7"


def test_duplicates_keep_the_newest_and_the_rest_are_false():
    decisions = plan([order("1"), order("2", hours=2), order("3", Status.PAYMENT_WAITING, hours=1)])
    assert summary(decisions) == [
        ("shop:2", KEEP, "kept the newest of 3 actual orders"),
        ("shop:3", FALSE, "duplicate of shop:2 (kept the newest)"),
        ("shop:1", FALSE, "duplicate of shop:2 (kept the newest)"),
    ]


def test_customer_key_falls_back_to_phone_and_products_stay_apart():
    decisions = plan([
        order("1", email=None, phone="+79991234567"), order("2", email=None, phone="+79991234567", hours=1),
        order("3", product="other"),
    ])
    assert summary(decisions) == [("shop:2", KEEP, "kept the newest of 2 actual orders"),
                                  ("shop:1", FALSE, "duplicate of shop:2 (kept the newest)")]


def test_partly_paid_orders_are_never_marked_false():
    decisions = plan([order("1", Status.PART_PAID), order("2", hours=3), order("3", Status.PART_PAID, hours=1)])
    assert summary(decisions) == [
        ("shop:2", FALSE, "duplicate of shop:3 (kept the partly paid one)"),
        ("shop:3", KEEP, "kept the partly paid one of 3 actual orders"),
        ("shop:1", SKIP, "partly paid, duplicate of shop:3: check by hand"),
    ]
    with_paid = plan([order("1", Status.PART_PAID), order("2", Status.PAID)])
    assert [(d.order_id, d.action) for d in with_paid] == [("shop:1", SKIP)]


def test_orders_without_keys_are_left_alone_with_a_reason():
    decisions = plan([order("1", email=None), order("2", product=None), order("3", Status.PAID, email=None)])
    assert summary(decisions) == [
        ("shop:1", SKIP, "no customer e-mail or phone: cannot look for twins"),
        ("shop:2", SKIP, "no product: cannot look for twins"),
    ]


def test_finished_orders_and_single_actual_orders_need_no_decision():
    assert plan([order("1"), order("2", Status.CANCELLED, hours=1), order("3", Status.FALSE, hours=2)]) == []


def test_plan_is_deterministic_and_applying_it_proposes_nothing_more():
    orders = [order(str(i), hours=i % 4, email=f"c{i % 3}@example.com") for i in range(12)]
    orders.append(order("99", Status.PAID, email="c0@example.com"))
    first = plan(orders)
    shuffled = orders[:]
    random.Random(4).shuffle(shuffled)
    assert summary(plan(shuffled)) == summary(first)
    falses = {d.order_id for d in first if d.action == FALSE}
    assert len(falses) == 12 - 2  # c0 all False (paid twin); one kept each for c1 and c2
    applied = [o.with_status(Status.FALSE) if o.id in falses else o for o in orders]
    assert [d for d in plan(applied) if d.action == FALSE] == []


def test_same_second_duplicates_break_ties_by_id():
    assert summary(plan([order("b"), order("a")]))[0] == ("shop:b", KEEP, "kept the newest of 2 actual orders")


def test_relation_flags_paid_twins_and_duplicates_of_the_same_product():
    me = order("1")
    assert relation(me, order("2", Status.PAID, source="gc")) == "paid twin"
    assert relation(me, order("3", Status.IN_WORK)) == "duplicate"
    assert relation(me, order("4", Status.CANCELLED)) is None
    assert relation(me, order("5", Status.PAID, product="other")) is None
    assert relation(me, me) is None
    assert relation(order("6", email=None), order("7", email=None)) is None
