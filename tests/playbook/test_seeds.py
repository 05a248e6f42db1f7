"""The four seed workflows, end to end with `unpaid run --now` stepped across their whole span."""

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
    assert "5%" in letter["subject"] and "9500.00 RUB" in letter["body"] and "2026-11-28" in letter["body"]
    assert done(rows, "thanks")[0]["ran_at"] == created + timedelta(days=2)
    assert done(rows, "offer", "awo:2")[0]["ran_at"] == created + timedelta(days=3)
    assert not done(rows, "offer", "awo:3")
    exits = [r for r in rows if r["order_id"] == "awo:3" and r["result"] == "exited"]
    assert exits and "paid" in exits[0]["detail"]


def test_getcourse_process_calls_pauses_on_a_promise_and_cancels_on_refusal(shop):
    created = at("2026-11-24T10:00")
    shop.add(order("gc", "10", created, email="promises@example.com"),
             order("gc", "11", created, email="nophone@example.com", phone=None),
             order("gc", "12", created, email="noanswer@example.com", phone="+79990000012"))
    promise = at("2026-11-27T10:00")
    calls: list[tuple] = []

    def desk(t):
        if t == at("2026-11-24T11:00"):
            calls.extend(shop.desk(t, {"gc:10": "promised"}, pause={"gc:10": promise}))
        if t >= promise + 3 * HOUR:
            calls.extend(shop.desk(t, {"gc:10": "refused"}, data={"reason": "Too expensive"}))
        if t >= created + HOUR:
            shop.desk(t, {"gc:12": "no_answer"})

    rows = shop.step_until(created, at("2026-11-28T12:00"), timedelta(minutes=30), "--playbook",
                           "getcourse_process", on_step=desk)
    # payment link and product info at once; the call 15 minutes later (first run after it).
    assert [r["step"] for r in done(rows, order_id="gc:10")][:2] == ["payment_link", "product_info"]
    assert done(rows, "call", "gc:10")[0]["ran_at"] == created + timedelta(minutes=30)
    reminder = done(rows, "promised_reminder", "gc:10")
    assert reminder and reminder[0]["ran_at"] == promise  # paused until the promised date
    assert len(done(rows, "call", "gc:10")) == 2 and len(calls) == 2
    assert backend("gc").orders["10"].status is Status.CANCELLED
    assert backend("gc").orders["10"].cancel_reason == "Refused: Too expensive"
    # no phone: the call falls back to an e-mail asking for one
    nophone = done(rows, "call", "gc:11")
    assert nophone and nophone[0]["action"] == "send"
    assert ("gc:11", "call") in {(m["order_id"], m["data"]["step"]) for m in shop.outbox()}
    # three unanswered calls: a message asking for a working phone, then calls go on
    asked = done(rows, "ask_phone", "gc:12")
    assert len(asked) == 1
    calls_12 = done(rows, "call", "gc:12")
    assert len(calls_12) >= 4 and calls_12[2]["ran_at"] < asked[0]["ran_at"] < calls_12[3]["ran_at"]
    with shop.store() as store:
        from unpaid.store.tasks import Tasks

        tasks = Tasks(store).for_orders(["gc:10"])["gc:10"]
        assert "order 10" in tasks[0].script and tasks[0].state == "done"


def test_pharmacy_six_weeks_of_offers_attempts_and_expiry(shop):
    created = at("2026-11-02T11:00")  # Monday; enters a week later
    shop.add(order("pharmacy", "1", created, email="calls@example.com"),
             order("pharmacy", "2", created, email="mail-only@example.com", phone=None),
             order("pharmacy", "3", created, email="pays@example.com"))

    def world(t):
        shop.desk(t, {"pharmacy:1": "no_answer", "pharmacy:3": "no_answer"})
        if t == at("2026-11-18T11:00"):
            shop.pay("pharmacy:3", t)

    rows = shop.step_until(created, at("2026-12-24T11:00"), timedelta(hours=8), "--playbook", "pharmacy",
                           on_step=world)
    entered = at("2026-11-09T11:00")
    subjects = {m["key"]: m["subject"] for m in shop.outbox()}

    def by(oid):  # (step, subject) of each message, in the order sent
        return [(r["step"], subjects[r["key"]]) for r in done(rows, order_id=oid) if r["key"] in subjects]

    # 1: weekly letter + call; after more than 7 attempts a +25% letter, then cancelled
    one = by("pharmacy:1")
    assert [s for s, _ in one].count("letter") == 4 and one[-1][0] == "last_letter" and "+25%" in one[-1][1]
    assert "+15%" in one[0][1]
    assert backend("pharmacy").orders["1"].status is Status.CANCELLED
    assert backend("pharmacy").orders["1"].cancel_reason == "Too many attempts"
    # 2: no phone, so no calls: letters every week, 15% then 25% from week 4, cancelled "Expired" at 6 weeks
    two = by("pharmacy:2")
    letters = [r for r in done(rows, "letter", "pharmacy:2")]
    assert all(s == "letter" for s, _ in two) and len(two) == len(letters) >= 6
    gaps = [b["ran_at"] - a["ran_at"] for a, b in zip(letters, letters[1:])]
    assert all(timedelta(days=6) <= g <= timedelta(days=8) for g in gaps)  # weekly (Sundays move to Monday)
    for row, (_, subject) in zip(letters, two):
        weeks_in = row["ran_at"] - entered
        assert ("+25%" in subject) == (weeks_in >= timedelta(weeks=3)), (weeks_in, subject)
    expired = done(rows, "end", "pharmacy:2")
    assert expired and expired[0]["ran_at"] == entered + timedelta(weeks=6)
    assert all(r["ran_at"] <= expired[0]["ran_at"] for r in letters)
    assert not [r for r in rows if r["order_id"] == "pharmacy:2" and r["ran_at"] > expired[0]["ran_at"]]
    assert backend("pharmacy").orders["2"].cancel_reason == "Expired"
    # 3: paid in week 2: nothing after
    three = by("pharmacy:3")
    assert len(three) == 2 and backend("pharmacy").orders["3"].status is Status.PAID
