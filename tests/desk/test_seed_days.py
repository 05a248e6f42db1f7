"""Seed 002's loop and seed 004's day at the desk, driven through the CLI with --now stepping through time."""

from __future__ import annotations

from datetime import timedelta

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

    # the promised day: a reminder, no call yet
    rows = day.run_until(day.at("2026-11-25T08:30"), day.at("2026-11-25T20:00"))
    reminders = [r for r in rows if r["step"] == "promised_reminder" and r["result"] == "done"]
    assert [(r["order_id"], r["ran_at"]) for r in reminders] == [("gc:pays_later", day.at("2026-11-25T09:30"))]
    assert day.subjects("gc:pays_later")[-1] == "A reminder about order pays_later"
    assert day.ids(day.at("2026-11-25T20:00"), "--manager ivan") == []

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

    # the whole story is in the history: who and when, the automatic steps marked
    history = day.history("gc:pays_later", t)
    auto = [(h["kind"], h["summary"].split(" to ")[0]) for h in history if h["automatic"]]
    assert auto[:3] == [("message", "Sent 'gc_payment_link'"), ("message", "Sent 'gc_product_info'"),
                        ("task", "Call task #1 (attempt 1)")]
    assert ("message", "Sent 'gc_promised_reminder'") in auto
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


def test_seed_002_unanswered_calls_move_the_playbook_to_ask_for_a_phone_then_give_up(shop):
    day = shop("Europe/Moscow", "gc", EXAMPLES / "getcourse_process.toml")
    created = day.at("2026-11-24T10:00")
    backend("gc").put(order("gc", "30", created, currency="RUB"))
    day("sync", created)
    t, rows, outcomes = created, [], []
    while status("gc", "30") is not Status.CANCELLED and t < day.at("2026-12-10T10:00"):
        rows += [r for r in day.run(t) if r["result"] == "done"]
        if day.ids(t):  # the manager calls whenever the order is due; nobody answers
            outcomes.append(day("outcome gc:30 no_answer -m maria", t).stdout)
        t += timedelta(minutes=30)
    # the playbook's own call_again / ask_phone / end moved with each outcome ...
    steps = [r["step"] for r in rows]
    assert steps.count("call") == 6 and steps.count("ask_phone") == 1 and steps[-1] == "end"
    assert steps.index("ask_phone") > [i for i, s in enumerate(steps) if s == "call"][2]
    assert backend("gc").orders["30"].cancel_reason == "Not reachable"
    # ... while the desk called twice a day and, after six in a row, sent its message (once)
    assert "given up, Not confirmed" in outcomes[5] and len(outcomes) >= 7
    subjects = [m["subject"] for m in day.outbox()]
    assert subjects.count("We could not reach you about order 30") == 2  # the playbook's and the desk's
    assert day.queue(t)[0].startswith("Today: 0 orders to call")
