"""`unpaid plan --until`: a forecast over weeks that says when things happen and why others will not,
and that `unpaid run` then does what it said."""

from __future__ import annotations

from datetime import timedelta

from tests.playbook.shop import at, order
from unpaid.model import Status

HOUR = timedelta(hours=1)


def story(rows, order_id):
    return [(r["step"], r["kind"], r["at"]) for r in rows if r["order_id"] == order_id]


def test_forecast_over_a_week_with_window_twin_and_cap(shop):
    created = at("2026-11-23T12:00")
    shop.add(order("awo", "1", created, email="a@example.com"),
             order("awo", "2", created, email="a@example.com", product="course-2"),  # same customer: cap
             order("awo", "3", created, email="b@example.com"),
             order("gc", "9", created - timedelta(days=5), email="b@example.com", status=Status.PAID),
             order("awo", "4", created + 9 * HOUR, email="c@example.com"))  # eligible at 21:00: quiet
    rows = shop.plan(created + HOUR, "--until", "+1w", "--playbook", "awo_reminder")
    assert story(rows, "awo:1") == [
        ("", "enter later", "2026-11-25T09:00:00Z"), ("reminder", "act later", "2026-11-25T09:00:00Z"),
        ("offer", "act later", "2026-11-26T09:00:00Z"), ("offer_letter", "act later", "2026-11-26T09:00:00Z"),
        ("call_list", "act later", "2026-11-28T09:00:00Z"), ("", "wait", "2026-11-28T09:00:00Z")]
    capped = next(r for r in rows if r["order_id"] == "awo:2" and r["step"] == "reminder")
    assert capped["at"] == "2026-11-27T09:00:00Z" and "frequency cap" in capped["reason"]
    [twin] = [r for r in rows if r["order_id"] == "awo:3"]
    assert twin["kind"] == "out" and "paid twin order gc:9" in twin["reason"]
    night = next(r for r in rows if r["order_id"] == "awo:4" and r["step"] == "reminder")
    assert night["at"] == "2026-11-26T06:00:00Z" and "send window" in night["reason"]

    # and the runs do what the forecast said, at the times it said
    sent = {}
    for row in shop.step_until(created + HOUR, created + timedelta(days=6), HOUR):
        if row["result"] == "done" and row["action"] == "send":
            sent[(row["order_id"], row["step"])] = row["ran_at"].isoformat().replace("+00:00", "Z")
    forecast = {(r["order_id"], r["step"]): r["at"] for r in rows
                if r["kind"] == "act later" and r["step"] in ("reminder", "offer_letter")}
    assert sent == forecast


def test_duplicate_orders_get_one_chain_in_the_forecast_and_in_the_runs(shop):
    created = at("2026-11-23T12:00")
    shop.add(order("awo", "1", created), order("awo", "2", created + timedelta(minutes=5)))
    rows = shop.plan(created + HOUR, "--until", "+1w", "--playbook", "awo_reminder")
    [dup] = [r for r in rows if r["order_id"] == "awo:2"]
    assert dup["kind"] == "out" and "one chain per customer and product" in dup["reason"]
    assert "awo:1" in dup["reason"]
    shop.step_until(created + 2 * timedelta(days=2), created + timedelta(days=4), HOUR)
    assert {m["order_id"] for m in shop.outbox()} == {"awo:1"}


def test_forecast_of_the_pharmacy_weeks_stops_for_the_call_outcome_and_ends_on_time(shop):
    created = at("2026-11-02T11:00")
    shop.add(order("pharmacy", "2", created, email="mail-only@example.com", phone=None))
    rows = shop.plan(created, "--until", "+8w", "--playbook", "pharmacy")
    steps = [r["step"] for r in rows if r["kind"] == "act later"]
    assert "call" not in steps and steps[-1] == "end"  # no phone: no calls
    end = rows[-1]
    assert end["step"] == "end" and end["at"] == "2026-12-21T08:00:00Z"  # six weeks after entry
    letters = [r["at"] for r in rows if r["step"] == "letter" and r["kind"] == "act later"]
    # weeks 0..5, every 7 days from the last letter (no call to wait for), each in the Kyiv window
    assert len(letters) == 6 and letters[-1] < end["at"]
    second = next(r for r in rows if r["step"] == "next_week" and r["at"] == letters[1])
    assert "every 1w" in second["reason"]
    # the offer ladder switches exactly three weeks after entry, not at the next weekly letter
    ladder = [(r["step"], r["kind"], r["at"]) for r in rows if r["step"].startswith("ladder")]
    entry = next(r["at"] for r in rows if r["kind"] == "enter later")
    assert ladder == [("ladder-1", "act later", entry), ("ladder-2", "act later", "2026-11-30T08:00:00Z")]
    assert entry == "2026-11-09T08:00:00Z"  # exactly 21 days apart
    no_phone = [r for r in rows if r["step"] == "call"]
    assert no_phone and all("no phone" in r["reason"] for r in no_phone)


def test_the_cap_holds_across_playbooks_and_the_customer_zone_sets_the_window(shop):
    created = at("2026-11-24T10:00")
    shop.add(order("gc", "1", created, phone=None),
             order("gc", "2", at("2026-11-24T20:00"), email="far@example.com", timezone="Asia/Vladivostok"))
    rows = shop.step_until(created, created + timedelta(days=2), timedelta(minutes=15), "--playbook",
                           "getcourse_process", "--playbook", "getcourse_mailing")
    sent = {(r["order_id"], r["step"]): r["ran_at"] for r in rows if r["result"] == "done" and r["action"] == "send"}
    # the payment link and the product letter are transactional (cap = false): at once, and not counted
    assert sent[("gc:1", "payment_link")] == sent[("gc:1", "product_info")] == created
    # no phone: the call step asks for one by e-mail — a dunning letter, under the cap of one a day across
    # playbooks, so the mailing's first letter (due at 11:00) waits until the cap frees the next day
    assert sent[("gc:1", "call")] == created + timedelta(minutes=15)
    assert sent[("gc:1", "first_letter")] == created + timedelta(days=1, minutes=15)
    # gc:2 got the process's letters at 20:00 Moscow without using the cap; its first letter is due at
    # 21:00 Moscow, which is 04:00 in Vladivostok: it waits for 08:00 there (01:00 in Moscow), never at night
    assert sent[("gc:2", "payment_link")] == at("2026-11-24T20:00")
    assert sent[("gc:2", "first_letter")] == at("2026-11-25T01:00")


def test_plan_of_one_order_explains_why_it_is_not_in_a_playbook(shop):
    created = at("2026-11-23T12:00")
    shop.add(order("awo", "7", created, status=Status.CANCELLED))
    rows = shop.plan(created + timedelta(days=3), "--order", "awo:7", "--playbook", "awo_reminder")
    [row] = rows
    assert row["kind"] == "out" and "cancelled" in row["reason"]


def test_plan_until_before_now_is_a_usage_error(shop):
    result = shop.cli(["--now", at("2026-11-23T12:00").isoformat(), "plan", "--until", "2026-11-01"])
    assert result.exit_code == 2 and "--until" in result.stderr and "Traceback" not in result.output


def test_a_paged_plan_says_its_counts_cover_the_pages_so_far(shop):
    created = at("2026-11-23T12:00")
    shop.add(*(order("awo", str(n), created, email=f"c{n}@example.com") for n in range(4)))
    now = ["--now", (created + timedelta(days=2)).isoformat(), "plan", "--playbook", "awo_reminder"]
    paged = shop.cli([*now, "--limit", "3"])
    assert paged.exit_code == 0 and len(paged.stdout.splitlines()) == 2 + 3  # header, rule, three rows
    assert "Plan up to this page: " in paged.stderr and "more with --page 2" in paged.stderr
    whole = shop.cli(now)
    assert whole.stderr.startswith("Plan: ") and "more with" not in whole.stderr
    assert "4 enter" in whole.stderr and "8 act" in whole.stderr


def test_a_new_order_of_the_same_purchase_never_gets_a_step_twice_after_the_first_chain_ended(shop):
    first = at("2026-11-23T12:00")
    shop.add(order("awo", "1", first))
    shop.step_until(first + timedelta(days=2), first + timedelta(days=2), HOUR, "--playbook", "awo_reminder")
    assert [m["data"]["step"] for m in shop.outbox()] == ["reminder"]
    # the customer cancels that order and, three days on, orders the same product again
    with shop.store() as store, store.transaction():
        store.orders.set_status("awo:1", Status.CANCELLED, None, "Changed mind", first + timedelta(days=2, hours=2))
    shop.add(order("awo", "2", first + timedelta(days=3)))
    rows = shop.step_until(first + timedelta(days=2, hours=3), first + timedelta(days=7), HOUR,
                           "--playbook", "awo_reminder")
    mine = [r for r in rows if r["order_id"] == "awo:2"]
    [again] = [r for r in mine if r["step"] == "reminder"]
    assert again["result"] == "skipped" and "already done for this customer and product with order awo:1" in \
        again["detail"]
    # what the first order never got, the second one does: the offer and its letter
    assert [m["data"]["step"] for m in shop.outbox() if m["order_id"] == "awo:2"] == ["offer_letter"]
