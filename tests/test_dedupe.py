import random
from dataclasses import replace
from datetime import date, datetime, timedelta, timezone

from unpaid.dedupe import FALSE, KEEP, SKIP, Facts, plan, related_ids, relation
from unpaid.model import Customer, LineItem, Money, Order, Status

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)


def order(native_id, status=Status.NEW, *, hours=0, email="anna@example.com", phone=None, product="course",
          source="shop", days=0, paid_days=None):
    items = (LineItem(product, product),) if product else ()
    paid_at = T0 + timedelta(days=paid_days) if paid_days is not None else None
    return Order(source, native_id, status, T0 + timedelta(days=days, hours=hours), Money(1000),
                 Customer(email, phone), items, paid_at=paid_at)


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


# same_product_within: one purchase, or a new one


def test_a_renewal_after_the_window_is_a_new_purchase_not_a_paid_twin():
    paid = order("1", Status.PAID, paid_days=0)
    renewal = order("2", days=20)
    assert plan([paid, renewal], window=timedelta(days=14)) == []
    assert summary(plan([paid, renewal], window=timedelta(days=30))) == [("shop:2", FALSE, "paid twin shop:1")]
    assert relation(renewal, paid, timedelta(days=14)) is None
    assert relation(renewal, paid, timedelta(days=30)) == "paid twin"


def test_the_payment_time_counts_and_the_creation_time_only_without_one():
    created_long_ago_paid_lately = order("1", Status.PAID, days=-60, paid_days=15)
    assert summary(plan([created_long_ago_paid_lately, order("2", days=20)], window=timedelta(days=14))) == [
        ("shop:2", FALSE, "paid twin shop:1")]
    no_paid_at = order("3", Status.PAID, days=-60)
    assert plan([no_paid_at, order("2", days=20)], window=timedelta(days=14)) == []
    assert summary(plan([order("4", Status.PAID, days=10), order("2", days=20)], window=timedelta(days=14))) == [
        ("shop:2", FALSE, "paid twin shop:4")]


def test_a_payment_any_time_after_the_order_was_created_is_a_paid_twin():
    decisions = plan([order("1", days=0), order("2", Status.PAID, days=100, paid_days=100)], window=timedelta(days=1))
    assert summary(decisions) == [("shop:1", FALSE, "paid twin shop:2")]


def test_a_refunded_order_is_never_a_paid_twin():
    refunded = order("1", Status.REFUNDED, hours=-1, paid_days=0)
    assert plan([refunded, order("2")]) == []
    assert relation(order("2"), refunded) is None


def test_unpaid_orders_created_further_apart_than_the_window_are_not_duplicates():
    window = timedelta(days=14)
    assert plan([order("1"), order("2", days=15)], window=window) == []
    assert summary(plan([order("1"), order("2", days=14)], window=window)) == [
        ("shop:2", KEEP, "kept the newest of 2 actual orders"),
        ("shop:1", FALSE, "duplicate of shop:2 (kept the newest)")]
    assert relation(order("1"), order("2", days=15), window) is None
    assert relation(order("1"), order("2", days=14), window) == "duplicate"


def test_no_false_is_further_than_the_window_from_the_order_kept():
    orders = [order("1"), order("2", days=10), order("3", days=20)]  # 1-2 and 2-3 within 14 days, 1-3 not
    decisions = plan(orders, window=timedelta(days=14))
    assert summary(decisions) == [("shop:3", KEEP, "kept the newest of 2 actual orders"),
                                  ("shop:2", FALSE, "duplicate of shop:3 (kept the newest)")]
    applied = [o.with_status(Status.FALSE) if o.id == "shop:2" else o for o in orders]
    assert plan(applied, window=timedelta(days=14)) == []


# the order a playbook holds is the one kept

ENTERED = datetime(2026, 11, 2, 9, 0, tzinfo=timezone.utc)


def test_the_order_in_a_playbook_is_kept_over_newer_and_partly_paid_ones():
    orders = [order("1"), order("2", hours=2), order("3", Status.PART_PAID, hours=1)]
    decisions = plan(orders, {"shop:1": Facts("reminders", ENTERED)})
    assert summary(decisions) == [
        ("shop:2", FALSE, "duplicate of shop:1 (kept the one in playbook reminders)"),
        ("shop:3", SKIP, "partly paid, duplicate of shop:1: check by hand"),
        ("shop:1", KEEP, "kept: in playbook reminders since 2026-11-02 09:00 of 3 actual orders"),
    ]


def test_of_several_orders_in_playbooks_the_earliest_entered_is_kept():
    facts = {"shop:1": Facts("late", ENTERED + timedelta(hours=1)), "shop:2": Facts("early", ENTERED)}
    decisions = plan([order("1"), order("2", hours=1), order("3", hours=2)], facts, zone=_MSK)
    assert summary(decisions)[1] == ("shop:2", KEEP, "kept: in playbook early since 2026-11-02 12:00 of 3 actual "
                                                     "orders")
    assert {d.order_id for d in decisions if d.action == FALSE} == {"shop:1", "shop:3"}


_MSK = timezone(timedelta(hours=3))


# holds: a manager's claim, a payment promise


def test_an_order_a_manager_holds_or_the_customer_promised_to_pay_is_skipped_with_the_reason():
    until = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
    facts = {"shop:1": Facts(manager="anna", held_until=until),
             "gc:7": Facts(promised_on=date(2026, 11, 27))}
    orders = [order("1", Status.IN_WORK), order("2", hours=1), order("9", Status.PAID, source="gc", product="book"),
              order("7", Status.PAYMENT_WAITING, source="gc", product="book", hours=-1)]
    decisions = plan(orders, facts, today=date(2026, 11, 24), zone=_MSK)
    assert summary(decisions) == [
        ("gc:7", SKIP, "promised to pay on 2026-11-27: left alone — paid twin gc:9; --force marks it False"),
        ("shop:2", KEEP, "kept the newest of 2 actual orders"),
        ("shop:1", SKIP, "a manager (anna) holds it until 2026-11-24 15:00: left alone — duplicate of shop:2 "
                         "(kept the newest); --force marks it False"),
    ]
    assert all(d.warning is None for d in decisions)


def test_force_marks_held_orders_false_with_a_warning_each():
    facts = {"shop:1": Facts(manager="anna", held_until=datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)),
             "shop:2": Facts(promised_on=date(2026, 11, 24))}
    orders = [order("1"), order("2", Status.PAYMENT_WAITING, hours=1), order("3", hours=2)]
    decisions = plan(orders, facts, today=date(2026, 11, 24), force=True)
    assert [(d.order_id, d.action, d.warning) for d in decisions] == [
        ("shop:3", KEEP, None),
        ("shop:2", FALSE, "False although promised to pay on 2026-11-24 (--force)"),
        ("shop:1", FALSE, "False although a manager (anna) holds it until 2026-11-24 12:00 (--force)"),
    ]
    assert decisions[1].reason == "duplicate of shop:3 (kept the newest)"


def test_a_past_promise_holds_only_while_the_order_still_waits_for_payment():
    facts = {"shop:1": Facts(promised_on=date(2026, 11, 20)), "shop:2": Facts(promised_on=date(2026, 11, 20))}
    orders = [order("1", Status.PAYMENT_WAITING), order("2", Status.NEW, hours=1), order("3", hours=2)]
    decisions = plan(orders, facts, today=date(2026, 11, 24))
    assert summary(decisions) == [
        ("shop:3", KEEP, "kept the newest of 3 actual orders"),
        ("shop:2", FALSE, "duplicate of shop:3 (kept the newest)"),
        ("shop:1", SKIP, "waiting for payment since a promise to pay on 2026-11-20: left alone — duplicate of "
                         "shop:3 (kept the newest); --force marks it False"),
    ]


def test_partly_paid_orders_stay_even_with_force():
    facts = {"shop:1": Facts(promised_on=date(2026, 11, 27))}
    decisions = plan([order("1", Status.PART_PAID), order("2", Status.PAID, hours=1)], facts, force=True)
    assert summary(decisions) == [("shop:1", SKIP, "partly paid, with paid twin shop:2: check by hand")]


def test_related_ids_are_the_actual_orders_sharing_customer_and_product():
    orders = [order("1"), order("2", Status.PAID), order("3", product="other"), order("4", email=None),
              order("5", email="boris@example.com"), order("5", email="boris@example.com")]
    assert related_ids(orders) == {"shop:1"}
    assert related_ids([order("1"), replace(order("1"), native_id="x")]) == {"shop:1", "shop:x"}
