"""unpaid.freshness: when a stored copy may be acted on without a fresh read, and how it is refreshed."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from unpaid.connector import Temporary
from unpaid.freshness import refresh, stale, synced_at
from unpaid.model import Customer, Money, Order, Status
from unpaid.sync import sync_source
from unpaid.testing.fakes import BACKENDS, InMemoryConnector, backend

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def order(native: str) -> Order:
    return Order("shop", native, Status.NEW, NOW - timedelta(days=1), Money(1000, "RUB"), Customer("a@example.com"))


@pytest.fixture
def shop():
    BACKENDS.clear()
    backend("shop").put(order("1"), order("2"))
    connector = InMemoryConnector("shop", {})
    yield connector
    BACKENDS.clear()


def test_without_fresh_within_every_copy_is_read_again(tmp_store, shop):
    sync_source(tmp_store, shop, NOW)
    assert [o.native_id for o in stale(tmp_store, shop, [order("1")], NOW)] == ["1"]


def test_a_complete_sync_vouches_for_every_copy_for_fresh_within(tmp_store, shop):
    shop.fresh_within = 120
    sync_source(tmp_store, shop, NOW)
    assert synced_at(tmp_store, "shop") == NOW
    assert stale(tmp_store, shop, [order("1"), order("2")], NOW + timedelta(minutes=2)) == []
    assert len(stale(tmp_store, shop, [order("1"), order("2")], NOW + timedelta(minutes=3))) == 2
    # A run counts what it read since it started as fresh, however long it takes.
    assert stale(tmp_store, shop, [order("1")], NOW + timedelta(minutes=30), since=NOW) == []


def test_a_sync_that_stopped_early_vouches_for_nothing(tmp_store, shop):
    shop.fresh_within = 120
    backend("shop").fail_next(Temporary("shop", "down"))
    assert sync_source(tmp_store, shop, NOW).error is not None
    assert synced_at(tmp_store, "shop") is None


def test_one_copy_read_lately_is_fresh_on_its_own(tmp_store, shop):
    shop.fresh_within = 120
    with tmp_store.transaction():
        tmp_store.orders.upsert([order("1")], NOW)
        tmp_store.orders.upsert([order("2")], NOW - timedelta(hours=1))
    assert [o.native_id for o in stale(tmp_store, shop, [order("1"), order("2")], NOW)] == ["2"]


def test_refresh_by_sync_reads_the_source_once_for_all(tmp_store, shop):
    shop.refresh_by_sync = True
    sync_source(tmp_store, shop, NOW)
    backend("shop").put(replace(order("1").with_status(Status.PAID), updated_at=NOW + timedelta(minutes=30)))
    answers, stored = refresh(tmp_store, shop, [order("1"), order("2")], NOW + timedelta(hours=1))
    assert stored and answers["1"].status is Status.PAID and answers["2"].status is Status.NEW
    assert not [c for c in backend("shop").calls if c[0] == "fetch_order"]


def test_refresh_asks_fetch_many_otherwise(tmp_store, shop):
    answers, stored = refresh(tmp_store, shop, [order("1")], NOW)
    assert not stored and answers["1"].native_id == "1"
    assert backend("shop").calls == [("fetch_order", "1")]


def test_a_full_sync_starts_from_no_bookmark(tmp_store, shop):
    sync_source(tmp_store, shop, NOW)
    assert sync_source(tmp_store, shop, NOW).orders == 0  # nothing new since the bookmark
    assert sync_source(tmp_store, shop, NOW, full=True).orders == 2
