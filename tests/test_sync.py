from datetime import datetime, timedelta, timezone

from unpaid.connector import Temporary
from unpaid.model import Customer, LineItem, Money, Order, Status
from unpaid.sync import sync_source
from unpaid.testing.fakes import BACKENDS, InMemoryConnector, backend

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)


def make(native_id, status=Status.NEW, minutes=0, email="a@example.com"):
    return Order("shop", native_id, status, T0 + timedelta(minutes=minutes), Money(99000, "RUB"),
                 Customer(email=email), (LineItem("course-1", "Course"),), native_status=status.value)


def setup_function():
    BACKENDS.clear()


def test_sync_stores_pages_and_resumes_from_bookmark(tmp_store, fixed_now):
    remote = backend("shop")
    remote.put(make("1"), make("2", minutes=1), make("3", minutes=2))
    result = sync_source(tmp_store, InMemoryConnector("shop", {}), fixed_now)
    assert (result.pages, result.orders, result.error) == (2, 3, None)
    assert tmp_store.orders.get("shop:2").customer.email == "a@example.com"

    # Nothing new: no pages. A paid order comes back as a recorded status change.
    assert sync_source(tmp_store, InMemoryConnector("shop", {}), fixed_now).orders == 0
    remote.put(Order(**{**make("2").__dict__, "status": Status.PAID, "updated_at": T0 + timedelta(hours=1)}))
    result = sync_source(tmp_store, InMemoryConnector("shop", {}), fixed_now)
    assert result.orders == 1 and result.paid == 1
    assert [e.kind for e in tmp_store.history.for_order("shop:2")] == ["status"]


def test_failure_mid_sync_keeps_stored_pages_and_bookmark(tmp_store, fixed_now):
    remote = backend("shop")
    remote.put(make("1"), make("2", minutes=1), make("3", minutes=2))
    connector = InMemoryConnector("shop", {})
    # Page 1 is stored, then the source fails while producing page 2.
    original_check = remote.check
    calls = {"n": 0}

    def check():
        calls["n"] += 1
        if calls["n"] == 3:
            raise Temporary("shop", "connection reset")
        original_check()

    remote.check = check
    result = sync_source(tmp_store, connector, fixed_now)
    assert result.error is not None and "connection reset" in str(result.error)
    assert (result.pages, tmp_store.orders.count_source("shop")) == (1, 2)
    assert tmp_store.bookmarks.get("shop") is not None

    remote.check = original_check
    result = sync_source(tmp_store, InMemoryConnector("shop", {}), fixed_now)
    assert result.error is None and result.orders == 1
    assert tmp_store.orders.count_source("shop") == 3
