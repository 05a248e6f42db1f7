"""paid_twins on a real store: the payment must fall within `within` before the order, or after it."""

from datetime import datetime, timedelta, timezone

from unpaid.model import Customer, LineItem, Money, Order, Status
from unpaid.store import Store
from unpaid.store.twins import paid_twins

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)


def order(native_id, status=Status.NEW, *, days=0, paid_days=None, product="club", email="anna@example.com"):
    paid_at = T0 + timedelta(days=paid_days) if paid_days is not None else None
    return Order("shop", native_id, status, T0 + timedelta(days=days), Money(1000), Customer(email),
                 (LineItem(product, product),), paid_at=paid_at)


def rows(*orders):
    return [(o.id, o.customer.key, o.product_key) for o in orders]


def test_a_payment_older_than_the_window_is_an_earlier_purchase(tmp_path):
    renewal = order("2", days=20)
    with Store.open(tmp_path / "u.db") as store, store.transaction():
        store.orders.upsert([order("1", Status.PAID, paid_days=0), renewal], T0)
    with Store.open(tmp_path / "u.db") as store:
        assert paid_twins(store, rows(renewal)) == {"shop:2": "shop:1"}  # the default window: 30 days
        assert paid_twins(store, rows(renewal), within=timedelta(days=14)) == {}
        assert paid_twins(store, rows(renewal), timedelta(days=20)) == {"shop:2": "shop:1"}
        # the creation time may be given instead of read from the store
        assert paid_twins(store, [("shop:2", "anna@example.com", "club", T0 + timedelta(days=10))],
                          timedelta(days=14)) == {"shop:2": "shop:1"}


def test_a_later_payment_counts_and_without_paid_at_the_creation_time_does(tmp_path):
    first = order("1")
    with Store.open(tmp_path / "u.db") as store, store.transaction():
        store.orders.upsert([first, order("2", Status.PAID, days=-40), order("3", Status.PAID, days=90)], T0)
    with Store.open(tmp_path / "u.db") as store:
        assert paid_twins(store, rows(first), timedelta(days=1)) == {"shop:1": "shop:3"}
        assert paid_twins(store, rows(first), timedelta(days=40)) == {"shop:1": "shop:2"}  # the earliest paid


def test_a_refunded_order_is_never_a_paid_twin(tmp_path):
    new = order("2", days=1)
    with Store.open(tmp_path / "u.db") as store, store.transaction():
        store.orders.upsert([order("1", Status.REFUNDED, paid_days=0), new], T0)
    with Store.open(tmp_path / "u.db") as store:
        assert paid_twins(store, rows(new)) == {}
