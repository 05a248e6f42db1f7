"""The planner's batched reads give what the general ones give: orders built from plain rows, the ledger
keyed for the planner without the entries of earlier passes that are not done."""

from datetime import datetime, timedelta, timezone

from unpaid.model import Customer, LineItem, Money, Order, Status
from unpaid.store import Store
from unpaid.store.enrollments import Enrollments
from unpaid.store.ledger import DONE, SKIPPED, ledger_key
from unpaid.store.orders import OrderQuery, from_row

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)


def test_orders_built_from_plain_rows_equal_the_orders_stored(tmp_path):
    """The unchecked builder (query's, and from_row's) gives back what the model's own constructors made."""
    orders = [
        Order("shop", "1", Status.NEW, T0, Money(1000), Customer("Anna@Example.com", "+79990001122", "Anna"),
              (LineItem("club", "Club"),)),
        Order("shop", "2", Status.PART_PAID, T0 + timedelta(hours=1), Money(5000, "USD"),
              Customer(None, "8 999 000-11-22", None, "c-7"),
              (LineItem("a", "A", 2, Money(1500, "USD")), LineItem("b", "", 1, None)), number="N2",
              native_status="part", paid=Money(2000, "USD"), updated_at=T0 + timedelta(days=1),
              paid_at=T0 + timedelta(days=2), manager="olga", payment_link="https://pay/2", cancel_reason=None,
              extra={"timezone": "Europe/Kyiv", "utm": "x"}),
        Order("shop", "3", Status.CANCELLED, T0 + timedelta(hours=2), Money(0), Customer(), (),
              cancel_reason="Expired"),
    ]
    with Store.open(tmp_path / "u.db") as store, store.transaction():
        store.orders.upsert(orders, T0)
    with Store.open(tmp_path / "u.db") as store:
        built = list(store.orders.query(OrderQuery(statuses=None, ids=[o.id for o in orders], sort="oldest")))
        rows = list(store.dicts("SELECT * FROM orders ORDER BY created_at, id"))
        assert [o.id for o in built] == ["shop:1", "shop:2", "shop:3"]
        for order, row, given in zip(built, rows, orders):
            assert order == from_row(row) == given
            assert order.extra == given.extra
            assert order.customer.key == given.customer.key and order.id == given.id
            assert [vars(i) for i in order.items] == [vars(i) for i in given.items]


def test_the_planners_ledger_read_leaves_out_what_earlier_passes_did_not_do(tmp_path):
    with Store.open(tmp_path / "u.db") as store, store.transaction():
        store.orders.upsert([Order("shop", "1", Status.NEW, T0, Money(1000), Customer("a@example.com")),
                             Order("shop", "2", Status.NEW, T0, Money(1000), Customer("b@example.com"))], T0)
        en = Enrollments(store)
        for oid in ("shop:1", "shop:2"):
            en.enter(oid, "pb", None, T0, T0)
        # shop:1 went through "letter" twice and "wait-step" once; shop:2 never moved
        assert en.advance("shop:1", "pb", 0, 0, T0, {"letter": 2, "wait-step": 1}, T0)
        for oid, step, repeat, state in [("shop:1", "letter", 0, SKIPPED), ("shop:1", "letter", 1, DONE),
                                         ("shop:1", "letter", 2, SKIPPED), ("shop:1", "wait-step", 0, SKIPPED),
                                         ("shop:1", "other", 0, SKIPPED), ("shop:2", "letter", 0, SKIPPED),
                                         ("shop:2", "letter", 1, DONE)]:
            store.ledger.record(ledger_key(oid, "pb", step, repeat), order_id=oid, playbook="pb", step=step,
                                repeat=repeat, action="send", state=state, now=T0 + timedelta(minutes=repeat))
        store.ledger.record(ledger_key("shop:1", "pb2", "letter", 0), order_id="shop:1", playbook="pb2",
                            step="letter", repeat=0, action="send", state=SKIPPED, now=T0)
    with Store.open(tmp_path / "u.db") as store:
        passed = {oid: e.loops for oid, e in Enrollments(store).for_orders(["shop:1", "shop:2"], "pb").items()}
        keyed, pending = store.ledger.for_planning(passed, "pb")
        general: dict = {}  # every entry of pb, less the earlier passes' that are not done
        for oid in passed:
            for e in store.ledger.for_order(oid):
                if e.playbook == "pb" and (e.state == DONE or e.repeat >= passed[oid].get(e.step, 0)):
                    general.setdefault(oid, {})[e.key] = e
        assert keyed == general
        assert sorted(keyed["shop:1"]) == ["shop:1|pb|letter|1", "shop:1|pb|letter|2", "shop:1|pb|other|0"]
        assert sorted(keyed["shop:2"]) == ["shop:2|pb|letter|0", "shop:2|pb|letter|1"]
        assert pending == {"shop:1|pb|letter|2", "shop:1|pb|other|0", "shop:2|pb|letter|0"}
        assert keyed["shop:1"]["shop:1|pb|letter|1"].updated_at == T0 + timedelta(minutes=1)
