"""`report recovery` judges payments in SQL; the other reports with the Python rule. They must agree."""

from __future__ import annotations

from collections import Counter
from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unpaid.model import Customer, Money, Order, Status
from unpaid.reports.attribution import BEFORE_TOUCH, BY_MANAGER, OUTSIDE, RECOVERED, credit, discount_cost
from unpaid.reports.scope import EPOCH, Scope
from unpaid.store.enrollments import Enrollments
from unpaid.store.history import Entry
from unpaid.store.offers import Offers
from unpaid.store.reporting import ReportStore

FIELDS = {RECOVERED: "recovered", BEFORE_TOUCH: "paid_before_touch", OUTSIDE: "paid_outside_window",
          BY_MANAGER: "created_by_manager"}
T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)
HOURS = st.integers(0, 24 * 30)
ORDER = st.fixed_dictionaries({
    "paid": st.one_of(st.none(), HOURS), "manager": st.booleans(), "claimed": st.booleans(),
    "total": st.integers(1, 10**7), "discount": st.one_of(st.none(), st.tuples(st.integers(1, 100), HOURS)),
    "history": st.lists(st.tuples(st.sampled_from(["message", "offer", "call", "comment", "claim", "task"]), HOURS),
                        max_size=5),
})


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(orders=st.lists(ORDER, min_size=1, max_size=12), window_hours=st.integers(1, 24 * 20))
def test_the_sql_rule_and_the_python_rule_agree(new_store_target, orders, window_hours):
    from unpaid.store import Store

    window = timedelta(hours=window_hours)
    with Store.open(new_store_target()) as store:
        for i, o in enumerate(orders):
            paid = T0 + timedelta(hours=o["paid"]) if o["paid"] is not None else None
            order = Order("shop", str(i), Status.PAID if paid else Status.NEW, T0, Money(o["total"]),
                          Customer(f"c{i}@example.com"), paid_at=paid, manager="ivan" if o["manager"] else None)
            with store.transaction():
                store.orders.upsert([order], T0)
                Enrollments(store).enter(order.id, "remind", None, T0, T0)
                store.history.add_many(Entry(order.id, T0 + timedelta(hours=h), "manager:olga", kind, kind)
                                       for kind, h in o["history"] + ([("claim", 0)] if o["claimed"] else []))
            if o["discount"]:
                pct, h = o["discount"]
                Offers(store).make(f"k{i}", order_id=order.id, playbook="remind", step="offer", kind="discount",
                                   percent=pct, valid_until=T0 + timedelta(days=60), now=T0 + timedelta(hours=h))
        scope = Scope(EPOCH, T0 + timedelta(days=90))
        facts = ReportStore(store)
        [in_sql] = facts.tally(scope, window)
        in_python = list(facts.paid(scope))
    verdicts = Counter(credit(f, window) for f in in_python)
    assert {k: in_sql[FIELDS[k]] for k in FIELDS if in_sql[FIELDS[k]]} == dict(verdicts)
    recovered = [f for f in in_python if credit(f, window) == RECOVERED]
    assert (in_sql["revenue"] or 0) == sum(f.total for f in recovered)
    assert (in_sql["discount"] or 0) == sum(discount_cost(f.total, f.discount) for f in recovered)
    days = sorted(float(d) for d in (in_sql["days"] or "").split(",") if d)
    assert days == sorted(round((f.paid_at - f.entered_at) / timedelta(days=1), 6) for f in recovered)
