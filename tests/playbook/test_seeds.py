"""Seed workflows 000 and 001 end to end with `unpaid run --now` stepped across their whole span.

The workflows with a call desk (002, 004, and 001's call list) are walked day by day through the CLI, managers
included, in tests/desk/test_seed_days.py."""

from __future__ import annotations

from datetime import timedelta

from tests.playbook.shop import add_event, at, order
from unpaid.model import Status
from unpaid.testing.fakes import backend

HOUR = timedelta(hours=1)


def done(rows, step=None, order_id=None):
    return [r for r in rows if r["result"] == "done" and (step is None or r["step"] == step)
            and (order_id is None or r["order_id"] == order_id)]


def test_getcourse_mailing_second_letter_only_to_who_did_not_open(shop):
    created = at("2026-11-24T10:00")  # a Tuesday
    shop.add(order("gc", "1", created, email="opens@example.com"),
             order("gc", "2", created, email="ignores@example.com"),
             order("gc", "3", created + timedelta(minutes=20), email="pays@example.com"),
             order("gc", "4", at("2026-11-24T23:30"), email="night@example.com"))

    def world(t):
        if t == at("2026-11-24T10:50"):
            shop.pay("gc:3", t)  # paid at the source before the first letter; the store does not know yet
        if t == at("2026-11-24T12:00"):
            add_event("gc", "1", "open", t)

    rows = shop.step_until(created, at("2026-11-26T12:00"), timedelta(minutes=10), "--playbook",
                           "getcourse_mailing", on_step=world)
    sent = {(m["order_id"], m["data"]["step"]) for m in shop.outbox()}
    assert sent == {("gc:1", "first_letter"), ("gc:2", "first_letter"), ("gc:2", "second_letter"),
                    ("gc:4", "first_letter"), ("gc:4", "second_letter")}
    first = {r["order_id"]: r["ran_at"] for r in done(rows, "first_letter")}
    assert first["gc:1"] == first["gc:2"] == created + HOUR
    assert first["gc:4"] == at("2026-11-25T08:00")  # 00:30 is quiet: deferred to the window, not dropped
    second = {r["order_id"]: r["ran_at"] for r in done(rows, "second_letter")}
    assert second["gc:2"] == created + HOUR + timedelta(days=1)
    skipped = [r for r in rows if r["order_id"] == "gc:1" and r["result"] == "skipped"]
    assert skipped and "opened = true" in skipped[0]["detail"]
    paid = [r for r in rows if r["order_id"] == "gc:3" and r["result"] == "skipped"]
    assert paid and "paid at the source" in paid[0]["detail"]
    with shop.store() as store:
        assert store.orders.get("gc:3").status is Status.PAID  # the re-check stored what it saw


def test_awo_thanks_the_paid_and_reminds_then_offers_5_percent_to_the_unpaid(shop):
    created = at("2026-11-23T12:00")
    shop.add(order("awo", "1", created, email="paid@example.com", status=Status.PAID),
             order("awo", "2", created, email="late@example.com"),
             order("awo", "3", created, email="pays-after-reminder@example.com"))

    def world(t):
        if t == at("2026-11-25T18:00"):
            shop.pay("awo:3", t)
            with shop.store() as store, store.transaction():  # a sync brings the payment in
                store.orders.upsert([backend("awo").orders["3"]], t)

    rows = shop.step_until(created, at("2026-11-29T12:00"), HOUR, on_step=world)
    mail = {(m["order_id"], m["data"]["step"]): m for m in shop.outbox()}
    # awo:3 paid after the reminder, so it gets the thank-you letter too, once it is paid
    assert set(mail) == {("awo:1", "thanks"), ("awo:2", "reminder"), ("awo:2", "offer_letter"),
                         ("awo:3", "reminder"), ("awo:3", "thanks")}
    assert "https://pay.example.com/2" in mail[("awo:2", "reminder")]["body"]
    letter = mail[("awo:2", "offer_letter")]
    assert "5%" in letter["subject"] and "9 500.00 RUB instead of 10 000.00 RUB" in letter["body"]
    assert "2026-11-28" in letter["body"]
    assert done(rows, "thanks")[0]["ran_at"] == created + timedelta(days=2)
    assert done(rows, "offer", "awo:2")[0]["ran_at"] == created + timedelta(days=3)
    assert not done(rows, "offer", "awo:3")
    exits = [r for r in rows if r["order_id"] == "awo:3" and r["result"] == "exited"]
    assert exits and "paid" in exits[0]["detail"]
