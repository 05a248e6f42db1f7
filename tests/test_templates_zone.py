"""Times in letters and call scripts are written in the customer's zone, else the shop's — never raw UTC."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from unpaid.model import Customer, Money, Order, Status
from unpaid.store.offers import StoredOffer
from unpaid.templates import context, reader_zone

UTC = timezone.utc
NOW = datetime(2026, 11, 24, 20, 30, tzinfo=UTC)


def _order(extra=None):
    return Order(source="gc", native_id="7", status=Status.NEW, created_at=NOW - timedelta(hours=2),
                 customer=Customer(email="anna@example.com"), total=Money(100000, "RUB"), extra=extra or {})


def test_offer_end_creation_and_now_are_local_to_the_reader():
    offer = StoredOffer(1, "", "gc:7", "pb", "offer", "discount", 5, NOW + timedelta(days=2), "active", NOW)
    ctx = context(_order(), offer, now=NOW, zone=reader_zone(_order(), "Europe/Moscow"))
    assert ctx["offer"]["valid_until"] == "2026-11-26 23:30"  # 20:30 UTC is 23:30 in Moscow
    assert ctx["order"]["created_at"] == "2026-11-24 21:30" and ctx["now"] == "2026-11-24 23:30"


def test_the_customer_zone_wins_and_an_unknown_one_falls_back():
    vladivostok = _order({"timezone": "Asia/Vladivostok"})
    assert context(vladivostok, now=NOW, zone=reader_zone(vladivostok, "Europe/Moscow"))["now"] == "2026-11-25 06:30"
    broken = _order({"timezone": "Mars/Olympus"})
    assert reader_zone(broken, None, "Europe/Moscow").key == "Europe/Moscow"
    assert reader_zone(_order()) is None and context(_order(), now=NOW)["now"] == "2026-11-24 20:30"
