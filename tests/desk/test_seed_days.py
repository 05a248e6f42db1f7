"""Seed 002's loop and seed 004's day at the desk, driven through the CLI with --now stepping through time."""

from __future__ import annotations

from datetime import timedelta

from unpaid.clock import to_iso
from unpaid.i18n import format_moment
from unpaid.model import Status
from unpaid.testing.fakes import backend
from tests.desk.seedshop import EXAMPLES, order, pay, shop, status  # noqa: F401 - shop is a fixture

PHARMACY_DESK = """
[segments.ph_pending_7d]
sources = ["pharmacy"]
min_age = "7d"

[playbooks.ph_desk]
segment = "ph_pending_7d"
channel = "email"
window = { hours = "09:00-20:00", timezone = "Europe/Kyiv" }
end = { after = "6w", action = "cancel", reason = "Expired" }

[[playbooks.ph_desk.steps]]
name = "bonus_15"
action = "offer"
kind = "bonus"
percent = 15
valid = "3w"

[[playbooks.ph_desk.steps]]
name = "call"
action = "call"
script = "Order {{ order.number }}: {% if offer %}+{{ offer.percent }}% bonus tablets. {% endif %}Paid? Ask for proof."
"""


def test_seed_002_promise_pause_remind_and_call_again_until_paid_or_refused(shop):
    day = shop("Europe/Moscow", "gc", EXAMPLES / "getcourse_process.toml")
    created = day.at("2026-11-24T10:00")  # a Tuesday
    for i, native in enumerate(("pays_later", "refuses", "pays_at_once")):
        backend("gc").put(order("gc", native, created + timedelta(minutes=i), currency="RUB"))
    day("sync", created + timedelta(minutes=2))
    day.run(created + timedelta(minutes=2))  # the payment link and the product letter at once
    assert len(day.outbox()) == 6
    pay("gc", "pays_at_once", created + timedelta(minutes=5))
    # the grace period: nobody is asked to call yet
    assert day.queue(created + timedelta(minutes=10))[0] == "Today: 0 orders to call; 0 due now"
    rows = day.run(created + timedelta(minutes=20))
    assert {r["order_id"] for r in rows if r["step"] == "call" and r["result"] == "done"} == {"gc:pays_later",
                                                                                              "gc:refuses"}
    t = day.at("2026-11-24T10:30")
    line, queue = day.queue(t, "--manager maria")
    assert line.startswith("Today: 2 orders to call; 2 due now")
    assert [r["order_id"] for r in queue] == ["gc:refuses", "gc:pays_later"]  # newest first
    assert "agree on a payment date for order refuses" in queue[0]["script"]

    # the managers take one each; both promise to pay
    assert day("next -m maria", t, fmt="json").json()["order_id"] == "gc:refuses"
    assert day("next -m ivan", t, fmt="json").json()["order_id"] == "gc:pays_later"
    assert status("gc", "refuses") is Status.IN_WORK
    day("outcome gc:refuses promised --on 2026-11-26 --comment 'salary on Thursday' -m maria", t)
    out = day("outcome gc:pays_later promised --on 2026-11-25 -m ivan", t + timedelta(minutes=5)).stdout
    assert "next call 2026-11-26 09:00" in out
    assert status("gc", "refuses") is status("gc", "pays_later") is Status.PAYMENT_WAITING
    # paused: nothing runs, nothing to call until the day after the promise
    rows = day.run_until(t, day.at("2026-11-25T08:00"))
    assert [r for r in rows if r["result"] == "done"] == []
    assert day.queue(day.at("2026-11-25T08:00"))[0].startswith("Today: 0 orders to call")

    # the promised day: a reminder; the playbook's next call is the desk's follow-up, not a second task
    rows = day.run_until(day.at("2026-11-25T08:30"), day.at("2026-11-25T20:00"))
    reminders = [r for r in rows if r["step"] == "promised_reminder" and r["result"] == "done"]
    assert [(r["order_id"], r["ran_at"]) for r in reminders] == [("gc:pays_later", day.at("2026-11-25T09:30"))]
    assert day.subjects("gc:pays_later")[-1] == "A reminder about order pays_later"
    [adopted] = [r for r in rows if r["step"] == "call" and r["result"] == "done"]
    assert adopted["order_id"] == "gc:pays_later" and "Waits for call task" in adopted["detail"]
    assert "2026-11-26 09:00" in adopted["detail"]
    assert day.ids(day.at("2026-11-25T20:00"), "--manager ivan") == []
    plan = day("plan --order gc:pays_later", day.at("2026-11-25T20:00"), fmt="json").json()
    assert [p["kind"] for p in plan] == ["wait"] and "2026-11-26" in plan[0]["reason"]

    # unpaid the day after: back in ivan's queue (he arranged it), not in maria's
    t = day.at("2026-11-26T09:00")
    rows = day.run(t)  # ... and maria's customer gets the reminder on her promised day
    assert [r["order_id"] for r in rows if r["step"] == "promised_reminder" and r["result"] == "done"] == [
        "gc:refuses"]
    assert day.ids(t, "--manager ivan") == ["gc:pays_later"]
    assert day.ids(t, "--manager maria") == []
    [row] = day.queue(t, "--manager ivan")[1]
    assert row["calls"] == 1 and row["status"] == "payment_waiting"
    day("take gc:pays_later -m ivan", t)
    day("outcome gc:pays_later promised --on 2026-11-27 --comment 'the bank was closed' -m ivan", t)
    day.run_until(t, day.at("2026-11-26T20:00"))

    # the second promise: another reminder; this time the customer pays
    rows = day.run_until(day.at("2026-11-27T09:00"), day.at("2026-11-27T11:00"))
    assert [r["order_id"] for r in rows if r["step"] == "promised_reminder" and r["result"] == "done"] == [
        "gc:pays_later"]
    pay("gc", "pays_later", day.at("2026-11-27T11:30"))
    day("sync", day.at("2026-11-27T11:45"))  # cron's sync brings the payment in
    t = day.at("2026-11-27T12:00")
    assert day.ids(t, "--manager maria") == ["gc:refuses"]
    day("take gc:refuses -m maria", t)
    day("outcome gc:refuses refused --reason 'too expensive' --comment 'found it cheaper' -m maria", t)
    assert (status("gc", "refuses"), backend("gc").orders["refuses"].cancel_reason) == (Status.CANCELLED,
                                                                                        "Too expensive")
    rows = day.run_until(t, day.at("2026-11-30T12:00"), timedelta(hours=3))
    exits = {r["order_id"]: r["detail"] for r in rows if r["result"] in ("exited", "skipped")
             and r["order_id"] in ("gc:pays_later", "gc:refuses")}
    assert "paid" in exits["gc:pays_later"] and "cancelled" in exits["gc:refuses"]
    for moment in ("2026-11-28T09:00", "2026-11-30T12:00"):
        assert day.queue(day.at(moment))[0].startswith("Today: 0 orders to call")

    # one story: one call task from the playbook, then only the desk's follow-ups after each promise;
    # nothing was opened and cancelled behind the managers' backs
    history = day.history("gc:pays_later", t)
    auto = [(h["kind"], h["summary"].split(" to ")[0]) for h in history if h["automatic"]]
    assert auto[:3] == [("message", "Sent 'gc_payment_link'"), ("message", "Sent 'gc_product_info'"),
                        ("task", "Call task #1")]
    assert [s for k, s in auto if k == "task"][1:] == [s for k, s in auto if s.startswith("Waits for call task")]
    assert ("message", "Sent 'gc_promised_reminder'") in auto
    with day.store() as store:
        from unpaid.store.tasks import Tasks

        tasks = Tasks(store).for_orders(["gc:pays_later"])["gc:pays_later"]
    assert [t.state for t in tasks] == ["done", "done", "cancelled"]  # the last: the order paid
    manual = [(h["actor"], h["kind"]) for h in history if not h["automatic"]]
    assert manual[:4] == [("manager:ivan", "status"), ("manager:ivan", "claim"), ("manager:ivan", "status"),
                          ("manager:ivan", "call")]
    calls = [h for h in history if h["kind"] == "call"]
    assert [(c["at"], c["data"]["promised_on"]) for c in calls] == [
        ("2026-11-24T07:35:00Z", "2026-11-25"), ("2026-11-26T06:00:00Z", "2026-11-27")]
    assert calls[1]["data"]["comment"] == "the bank was closed"


def test_seed_004_a_day_at_the_pharmacy_desk(shop, tmp_path):
    (tmp_path / "ph_desk.toml").write_text(PHARMACY_DESK, encoding="utf-8")
    day = shop("Europe/Kyiv", "pharmacy", tmp_path / "ph_desk.toml", desk='attempts = 10')
    at = day.at
    ph = {"veteran": at("2026-11-03T10:00"), "wrong": at("2026-11-17T10:00"), "voicemail": at("2026-11-17T10:01"),
          "a": at("2026-11-23T12:00"), "b": at("2026-11-23T12:01"), "c": at("2026-11-23T12:02")}
    for native, created in ph.items():
        backend("pharmacy").put(order("pharmacy", native, created))
    day("sync", at("2026-11-10T09:00"))

    def unanswered_week(oid: str, d: str, then: str) -> None:
        """Two calls at different times, a letter, and the order put off to ``then``."""
        for hour in ("10:00", "13:00"):
            day(f"take {oid} -m olena", at(f"{d}T{hour}"))
            day(f"outcome {oid} voicemail -m olena", at(f"{d}T{hour}"))
        day(f"send {oid} --template ph_letter -m olena", at(f"{d}T13:05"))
        day(f"postpone {oid} --until {then}T09:00 -m olena", at(f"{d}T13:05"))

    # the weeks before: the veteran three times unanswered; the new ones of last week each tried once
    day.run_until(at("2026-11-10T10:00"), at("2026-11-10T10:00"))
    unanswered_week("pharmacy:veteran", "2026-11-10", "2026-11-17")
    unanswered_week("pharmacy:veteran", "2026-11-17", "2026-11-24")
    day.run_until(at("2026-11-24T10:00"), at("2026-11-24T10:10"), timedelta(minutes=5))
    unanswered_week("pharmacy:veteran", "2026-11-24", "2026-12-01")
    day("take pharmacy:wrong -m olena", at("2026-11-24T10:20"))
    out = day("outcome pharmacy:wrong wrong_number --comment 'the number does not exist' -m olena",
              at("2026-11-24T10:20")).stdout
    assert "sent ask_phone via email to cwrong@example.com" in out
    day("postpone pharmacy:wrong --until 2026-12-01T09:00 -m olena", at("2026-11-24T10:21"))
    day("take pharmacy:voicemail -m olena", at("2026-11-24T10:30"))
    day("outcome pharmacy:voicemail voicemail -m olena", at("2026-11-24T10:30"))
    day("take pharmacy:voicemail -m olena", at("2026-11-24T13:30"))
    day("outcome pharmacy:voicemail voicemail --comment 'always the answering machine' -m olena",
        at("2026-11-24T13:30"))
    day("postpone pharmacy:voicemail --until 2026-12-01T09:00 -m olena", at("2026-11-24T13:31"))
    day.run_until(at("2026-11-30T10:00"), at("2026-11-30T16:00"), timedelta(hours=3))  # a, b, c enter

    # the day: first the whole list
    t = at("2026-12-01T09:00")  # a Tuesday
    line, rows = day.queue(t, "--limit 100")
    assert line == "Today: 6 orders to call; 6 due now; showing 1–6"
    assert [r["order_id"] for r in rows] == ["pharmacy:c", "pharmacy:b", "pharmacy:a", "pharmacy:voicemail",
                                             "pharmacy:wrong", "pharmacy:veteran"]
    assert all(r["offer"] == {"kind": "bonus", "percent": 15, "valid_until": r["offer"]["valid_until"]}
               for r in rows)
    assert "+15% bonus tablets" in rows[0]["script"]
    # 1. letters to those who cannot be reached by phone, and put them off a week
    unreachable = [r["order_id"] for r in rows
                   if any(w in (r["last_comment"] or "") for w in ("does not exist", "answering machine"))]
    assert unreachable == ["pharmacy:voicemail", "pharmacy:wrong"]
    for oid in unreachable:
        day(f"send {oid} --template ph_letter -m olena", t)
        day(f"postpone {oid} --days 7 -m olena", t)
    # 2. more than 7 letters and calls: a last letter with +25%, then cancelled
    assert all(r["attempts"] == r["calls"] + r["messages"] for r in rows)
    worn = [r["order_id"] for r in rows if r["attempts"] > 7]
    assert worn == ["pharmacy:veteran"] and [rows[-1]["calls"], rows[-1]["messages"]] == [6, 3]
    out = day("send pharmacy:veteran --template ph_last_chance --offer 25% --offer-kind bonus -m olena", t).stdout
    assert "with a 25% offer" in out
    day("status pharmacy:veteran cancelled --reason 'too many attempts'", t)
    assert backend("pharmacy").orders["veteran"].cancel_reason == "Too many attempts"
    assert "Last chance: +25% bonus on order veteran" in day.subjects("pharmacy:veteran")

    # 3. call the rest twice, at different times
    t = at("2026-12-01T10:00")
    assert day.queue(t)[0] == "Today: 3 orders to call; 3 due now; showing 1–3"
    first = []
    for i in range(3):
        now = t + timedelta(minutes=5 * i)
        first.append(day("next -m olena", now, fmt="json").json()["order_id"])
        day(f"outcome {first[-1]} no_answer -m olena", now)
    assert first == ["pharmacy:c", "pharmacy:b", "pharmacy:a"]
    assert day.queue(at("2026-12-01T10:30"))[0] == "Today: 3 orders to call; 0 due now"
    t = at("2026-12-01T13:10")
    assert day.ids(t) == ["pharmacy:c", "pharmacy:b", "pharmacy:a"]
    # c promises for Friday: it may be put off at most 3 days past that
    day("take pharmacy:c -m olena", t)
    day("outcome pharmacy:c promised --on 2026-12-04 --comment 'pays on Friday' -m olena", t)
    too_late = day("postpone pharmacy:c --until 2026-12-09 -m olena", t, code=2)
    assert "was promised for 2026-12-04" in too_late.stderr
    day("postpone pharmacy:c --until 2026-12-07T10:00 -m olena", t)
    # b says they paid: a request for the receipt, checked again in two days
    day("take pharmacy:b -m olena", t)
    assert "sent ask_proof via email" in day("outcome pharmacy:b says_paid -m olena", t).stdout
    # a does not answer again: 4. a letter with the bigger bonus, and put off a week
    day("take pharmacy:a -m olena", t)
    assert "next call 2026-12-02 16:10" in day("outcome pharmacy:a no_answer -m olena", t).stdout
    day("send pharmacy:a --template ph_letter --offer 25% --offer-kind bonus -m olena", t)
    day("postpone pharmacy:a --days 7 -m olena", t)

    # the end of the day: nothing left, and what comes back when
    assert day.queue(at("2026-12-01T19:00"))[0] == "Today: 0 orders to call; 0 due now"
    assert day.ids(at("2026-12-01T19:00"), "--date 2026-12-03") == ["pharmacy:b"]
    assert day.ids(at("2026-12-01T19:00"), "--date 2026-12-07") == ["pharmacy:c", "pharmacy:b"]
    assert day.ids(at("2026-12-01T19:00"), "--date 2026-12-08 --sort oldest") == [
        "pharmacy:wrong", "pharmacy:voicemail", "pharmacy:a", "pharmacy:b", "pharmacy:c"]
    assert {n: status("pharmacy", n) for n in ph} == {
        "veteran": Status.CANCELLED, "wrong": Status.IN_WORK, "voicemail": Status.IN_WORK, "a": Status.IN_WORK,
        "b": Status.IN_WORK, "c": Status.PAYMENT_WAITING}
    assert day.subjects("pharmacy:a") == ["Your order a is waiting — +25% bonus"]
    assert day.subjects("pharmacy:b") == ["Proof of payment for order b"]
    calls = [h for h in day.history("pharmacy:a", t) if h["kind"] == "call"]
    assert [(c["at"], c["data"]["attempt"]) for c in calls] == [("2026-12-01T08:10:00Z", 1),
                                                                 ("2026-12-01T11:10:00Z", 2)]
    history = day.history("pharmacy:veteran", t)
    assert [(h["actor"], h["kind"]) for h in history if h["automatic"]] == [
        ("playbook:ph_desk", "offer"), ("playbook:ph_desk", "task")]
    assert [h["kind"] for h in history if not h["automatic"]][-3:] == ["offer", "message", "status"]


def test_seed_002_unanswered_calls_one_call_six_dials_one_letter_then_cancelled(shop):
    day = shop("Europe/Moscow", "gc", EXAMPLES / "getcourse_process.toml")
    created = day.at("2026-11-24T10:00")
    backend("gc").put(order("gc", "30", created, currency="RUB"))
    day("sync", created)
    t, rows, outcomes, queued = created, [], [], []
    while status("gc", "30") is not Status.CANCELLED and t < day.at("2026-12-10T10:00"):
        rows += [dict(r, ran_at=t) for r in day.run(t) if r["result"] in ("done", "skipped")]
        if day.ids(t):  # the manager calls whenever the order is due; nobody answers
            queued.append(t)
            outcomes.append(day("outcome gc:30 no_answer -m maria", t).stdout)
        t += timedelta(minutes=30)
    # one call task: the desk moved the same call on after each unanswered dial, twice a day
    steps = [r["step"] for r in rows if r["result"] == "done"]
    assert steps == ["payment_link", "product_info", "call", "not_reachable"]
    assert len(outcomes) == 6 and "given up, Not confirmed" in outcomes[5]
    assert [o.split(";")[0] for o in outcomes[:5]] == [f"no answer ({n} in a row)" for n in range(1, 6)]
    assert len({q.astimezone(day.zone).date() for q in queued}) == 3  # two a day, three days
    # the desk's give-up is final: the order never came back to the queue; one "could not reach you" letter
    gave_up = queued[-1]
    subjects = [m["subject"] for m in day.outbox()]
    assert subjects.count("We could not reach you about order 30") == 1
    # three days for the customer to answer the letter, then Cancelled with the reason
    [cancel] = [r for r in rows if r["step"] == "not_reachable"]
    assert gave_up + timedelta(days=3) <= cancel["ran_at"] <= gave_up + timedelta(days=3, minutes=30)
    assert backend("gc").orders["30"].cancel_reason == "Not reachable"
    with day.store() as store:
        from unpaid.store.tasks import Tasks

        [task] = Tasks(store).for_orders(["gc:30"])["gc:30"]
    assert (task.state, task.outcome, task.attempts) == ("done", "no_answer", 6)
    assert day.queue(t)[0].startswith("Today: 0 orders to call")


def test_seed_002_a_callback_moves_the_same_call_and_the_playbook_waits_for_it(shop):
    day = shop("Europe/Moscow", "gc", EXAMPLES / "getcourse_process.toml")
    created = day.at("2026-11-24T10:00")
    backend("gc").put(order("gc", "40", created, currency="RUB"))
    day("sync", created)
    day.run_until(created, created + timedelta(minutes=30), timedelta(minutes=15))
    t = day.at("2026-11-24T10:40")
    day("take gc:40 -m maria", t)
    day("outcome gc:40 callback --at 2026-11-24T18:30 -m maria", t)
    # the runs of the afternoon create no second call; the plan shows the wait for the callback
    rows = day.run_until(day.at("2026-11-24T11:00"), day.at("2026-11-24T18:00"), timedelta(minutes=50))
    assert [r for r in rows if r["result"] == "done"] == []
    [wait] = day("plan --order gc:40", day.at("2026-11-24T13:50"), fmt="json").json()
    assert wait["kind"] == "wait" and "(due 2026-11-24 18:30)" in wait["reason"]  # in the shop's zone
    assert day.ids(day.at("2026-11-24T18:00"), "--manager maria") == []
    assert day.ids(day.at("2026-11-24T18:30"), "--manager maria") == ["gc:40"]
    assert day.ids(day.at("2026-11-24T18:30"), "--manager ivan") == []  # a callback stays with who arranged it
    # reached at the callback: thinking it over; still the same call, two days later
    t = day.at("2026-11-24T18:30")
    day("take gc:40 -m maria", t)
    assert "next call 2026-11-26 18:30" in day("outcome gc:40 thinking -m maria", t).stdout
    assert [r for r in day.run(t + timedelta(minutes=5)) if r["result"] == "done"] == []
    with day.store() as store:
        from unpaid.store.tasks import Tasks

        [task] = Tasks(store).for_orders(["gc:40"])["gc:40"]
    assert (task.state, task.attempts) == ("open", 3)
    history = day.history("gc:40", t)
    assert [h["summary"] for h in history if h["kind"] == "task"] == ["Call task #1"]


ASK_PHONE = "We could not reach you about order 50"  # gc_ask_phone.txt


def test_seed_002_no_phone_asks_by_mail_every_two_days_and_calls_once_a_phone_is_added(shop):
    day = shop("Europe/Moscow", "gc", EXAMPLES / "getcourse_process.toml")
    created = day.at("2026-11-24T10:00")
    backend("gc").put(order("gc", "50", created, phone=None, currency="RUB"))
    backend("gc").put(order("gc", "51", created, phone=None, currency="RUB"))
    day("sync", created)
    rows = day.run_until(created, day.at("2026-11-28T12:00"), timedelta(hours=1))
    asks = [r["ran_at"] for r in rows if r["order_id"] == "gc:50" and r["step"] == "call" and r["result"] == "done"]
    assert asks[0] == day.at("2026-11-24T11:00")  # the first run after the 15 minutes' grace
    assert all(timedelta(days=2) <= b - a <= timedelta(days=2, hours=1) for a, b in zip(asks, asks[1:]))
    subjects = day.subjects("gc:50")
    assert subjects.count(ASK_PHONE) == len(asks) and len(subjects) == len(asks) + 2  # + the two of entry
    # a manager got a phone for gc:51 and adds it: the next pass of the loop calls instead of writing
    day("edit gc:51 --phone '+7 999 123 45 67' -m maria", day.at("2026-11-28T12:30"))
    rows = day.run_until(day.at("2026-11-28T13:00"), day.at("2026-11-30T13:00"), timedelta(hours=1))
    calls = [r for r in rows if r["order_id"] == "gc:51" and r["step"] == "call" and r["result"] == "done"]
    assert calls and calls[0]["action"] == "call"
    assert day.ids(day.at("2026-11-30T13:00")) == ["gc:51"]
    # gc:50 never gave a phone: after a week of asking, three more days, then Cancelled "Not reachable"
    rows = day.run_until(day.at("2026-11-30T14:00"), day.at("2026-12-06T14:00"), timedelta(hours=6))
    assert backend("gc").orders["50"].cancel_reason == "Not reachable"
    assert day.subjects("gc:50").count(ASK_PHONE) == 4  # the asks: days 0, 2, 4, 6




def test_seed_004_more_than_7_letters_and_dials_last_letter_then_cancelled_in_week_1(shop):
    day = shop("Europe/Kyiv", "pharmacy", EXAMPLES / "pharmacy.toml")
    created = day.at("2026-11-02T11:00")  # a Monday: enters a week later
    backend("pharmacy").put(order("pharmacy", "1", created))
    day("sync", created)
    entered = day.at("2026-11-09T11:00")
    t, rows, dials, attempts_seen = entered - timedelta(hours=1), [], 0, []
    while status("pharmacy", "1") is not Status.CANCELLED and t < entered + timedelta(weeks=2):
        rows += [dict(r, ran_at=t) for r in day.run(t) if r["result"] in ("done", "skipped")]
        due = day.queue(t)[1]
        if due:  # the operator dials whenever the order is due; nobody answers
            attempts_seen.append((due[0]["attempts"], due[0]["calls"], due[0]["messages"]))
            day("outcome pharmacy:1 no_answer -m olena", t)
            dials += 1
        t += timedelta(hours=1)
    # letters and dials, as the operators count them: 1 letter + 6 dials + the desk's letter = 8 > 7
    assert dials == 6
    assert attempts_seen[0] == (1, 0, 1) and attempts_seen[-1] == (6, 5, 1)  # the queue's column, before each dial
    [offer] = [r for r in rows if r["step"] == "last_offer" and r["result"] == "done"]
    assert "25% bonus" in offer["detail"]
    history = day.history("pharmacy:1", t)
    assert sum(h["kind"] == "call" for h in history) + sum(h["kind"] == "message" for h in history) == 9
    subjects = day.subjects("pharmacy:1")
    # the pharmacy's letters are Ukrainian (language = "uk"); the desk's message comes from the shop's templates
    assert sorted(subjects) == sorted(["Ваше замовлення 1 чекає на оплату — +15% бонусу",
                                       "We could not reach you about order 1",
                                       "Остання можливість: +25% бонусу до замовлення 1"])
    # the last letter's offer ends when the order is cancelled, not after
    last = next(m for m in day.outbox() if m["subject"].startswith("Остання можливість"))
    # cancelled in the first week, as the article's operator would
    [cancel] = [r for r in rows if r["step"] == "give_up" and r["result"] == "done"]
    assert cancel["ran_at"] < entered + timedelta(weeks=1)
    assert backend("pharmacy").orders["1"].cancel_reason == "Too many attempts"
    assert f"до {format_moment(cancel['ran_at'], 'uk', day.zone)[:-3]}" in last["body"]  # the hour, in Ukrainian
    first = next(m for m in day.outbox() if m["subject"].startswith("Ваше замовлення"))
    assert "(1 500,00 грн)" in first["body"]  # money the Ukrainian way
    # one call task: the desk moved it on after each dial
    assert [r["step"] for r in rows if r["result"] == "done" and r["action"] == "call"] == ["call"]


def test_seed_004_bonus_ladder_15_then_25_exactly_at_three_weeks_and_expired_at_six(shop):
    day = shop("Europe/Kyiv", "pharmacy", EXAMPLES / "pharmacy.toml")
    created = day.at("2026-11-02T11:00")
    backend("pharmacy").put(order("pharmacy", "2", created, phone=None))  # letters only: nobody to call
    day("sync", created)
    entered = day.at("2026-11-09T11:00")
    rows = day.run_until(entered, entered + timedelta(weeks=6, hours=2), timedelta(hours=2))
    done = [r for r in rows if r["result"] == "done"]
    ladder = [(r["step"], r["ran_at"]) for r in done if r["step"].startswith("ladder")]
    assert ladder == [("ladder-1", entered), ("ladder-2", entered + timedelta(weeks=3))]  # no gap, no overlap
    letters = [r for r in done if r["step"] == "letter"]
    subjects = [m["subject"] for m in day.outbox() if m["data"]["step"] == "letter"]
    assert len(letters) == 6
    assert sorted(subjects) == sorted(["Ваше замовлення 2 чекає на оплату — +15% бонусу"] * 3
                                      + ["Ваше замовлення 2 чекає на оплату — +25% бонусу"] * 3)
    for row in letters:  # each letter carries the offer of its week
        week = (row["ran_at"] - entered) // timedelta(weeks=1)
        body = next(m["body"] for m in day.outbox() if m["key"] == row["key"])
        assert ("на 25% більше таблеток" in body) == (week >= 3), (week, body)
    # the 25% holds until the end, and the end is when the order is cancelled: no letter promises more
    end = entered + timedelta(weeks=6)
    last = next(m["body"] for m in day.outbox() if m["key"] == letters[-1]["key"])
    assert f"Оплатіть до {format_moment(end, 'uk', day.zone)}" in last
    [expired] = [r for r in done if r["step"] == "end"]
    assert end <= expired["ran_at"] < end + timedelta(hours=2)
    assert backend("pharmacy").orders["2"].cancel_reason == "Expired"
    with day.store() as store:
        offers = store.conn.execute("SELECT percent, valid_until FROM offers WHERE order_id = 'pharmacy:2'"
                                    " ORDER BY percent").fetchall()
    assert [tuple(o) for o in offers] == [(15, to_iso(entered + timedelta(weeks=3))), (25, to_iso(end))]


def test_seed_001_awo_call_list_after_the_offer_waits_for_the_outcome(shop):
    day = shop("Europe/Moscow", "awo", EXAMPLES / "awo_invoice.toml")
    created = day.at("2026-11-23T12:00")
    backend("awo").put(order("awo", "7", created, currency="RUB"))
    backend("awo").put(order("awo", "8", created, currency="RUB"))
    backend("awo").put(order("awo", "9", created, phone=None, currency="RUB"))
    day("sync", created)
    rows = day.run_until(created, day.at("2026-11-28T12:00"), timedelta(hours=1))
    done = {(r["order_id"], r["step"]) for r in rows if r["result"] == "done"}
    assert {("awo:7", s) for s in ("reminder", "offer", "offer_letter", "call_list")} <= done
    # the call is the last step: the playbook waits for it; nothing closes the call behind the managers
    t = day.at("2026-11-28T12:00")
    assert day.ids(t) == ["awo:8", "awo:7"]
    assert [r["order_id"] for r in rows if r["result"] == "finished"] == ["awo:9"]
    # no phone: the call list skips the customer, and the playbook finishes
    skipped = [r for r in rows if r["order_id"] == "awo:9" and r["step"] == "call_list"]
    assert skipped and skipped[0]["result"] == "skipped"
    day("take awo:7 -m anna", t)
    day("outcome awo:7 thinking -m anna", t)
    day("take awo:8 -m anna", t)
    day("outcome awo:8 refused --reason 'too expensive' -m anna", t)
    rows = day.run_until(t, t + timedelta(days=1), timedelta(hours=6))
    assert [r["result"] for r in rows if r["order_id"] == "awo:7"] == []  # still waiting for the call
    assert [r["result"] for r in rows if r["order_id"] == "awo:8"] == ["exited"]
    assert day.ids(day.at("2026-11-30T12:00")) == ["awo:7"]
