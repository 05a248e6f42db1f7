"""The planner, windows and conditions, pure: plain playbooks and cases, no database."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from tests.playbook.shop import at, order
from unpaid.model import Status
from unpaid.playbook.conditions import Facts, parse_condition
from unpaid.playbook.load import ChannelInfo
from unpaid.playbook.model import parse_playbook
from unpaid.playbook.planner import Case, Planner
from unpaid.playbook.windows import parse_window
from unpaid.segments import parse_segment
from unpaid.store.enrollments import Enrollment
from unpaid.store.offers import StoredOffer

UTC = timezone.utc
CHANNELS = {"email": ChannelInfo("email", "outbox", "email", True),
            "sms": ChannelInfo("sms", "outbox", "phone", True)}
SEND = {"name": "letter", "action": "send", "template": "t"}


def book(*steps, window=None, cap=None, name="remind", **fields):
    segment = parse_segment("fresh", {"min_age": "1h"}, "test: segments.fresh")
    body = {"segment": "fresh", "channel": "email", "steps": list(steps) or [SEND], **fields}
    if window is not None:
        body["window"] = window
    if cap is not None:
        body["cap"] = cap
    pb = parse_playbook(name, body, f"test: playbooks.{name}", {"fresh": segment})
    if pb.window.timezone is None:
        pb = replace(pb, window=replace(pb.window, timezone="Europe/Moscow"))
    return pb


def enrolled(o, pb, entered, cursor=0, since=None):
    return Enrollment(o.id, pb.name, "active", entered, cursor, since or entered, seq=1,
                      chain_key=f"{o.customer.key}|{o.product_key}")


def first_act(decisions):
    return next(d for d in decisions if d.kind == "act")


# ---- send windows ----

def test_quiet_hours_defer_to_the_next_morning_in_the_playbook_zone():
    w = parse_window({"quiet": "21:00-09:00", "timezone": "Europe/Moscow"}, "w")
    assert w.next_slot(at("2026-11-24T23:30")) == at("2026-11-25T09:00")
    assert w.next_slot(at("2026-11-25T08:59")) == at("2026-11-25T09:00")
    assert w.allows(at("2026-11-25T12:00")) and not w.allows(at("2026-11-25T21:00"))


def test_weekdays_skip_the_weekend_and_a_window_can_span_midnight():
    w = parse_window({"hours": "10:00-18:00", "days": ["mon", "tue", "wed", "thu", "fri"],
                      "timezone": "Europe/Moscow"}, "w")
    assert w.next_slot(at("2026-11-27T19:00")) == at("2026-11-30T10:00")  # Friday evening -> Monday
    night = parse_window({"hours": "22:00-02:00", "timezone": "UTC"}, "w")
    t = datetime(2026, 11, 25, 1, 0, tzinfo=UTC)
    assert night.next_slot(t) == t
    assert night.next_slot(datetime(2026, 11, 25, 3, 0, tzinfo=UTC)) == datetime(2026, 11, 25, 22, 0, tzinfo=UTC)


def test_the_customer_time_zone_wins_over_the_playbook_zone():
    w = parse_window({"hours": "09:00-21:00", "timezone": "Europe/Moscow"}, "w")
    noon_moscow = at("2026-11-24T12:00")  # 18:00 in Vladivostok (+10)... still allowed
    assert w.next_slot(noon_moscow, "Asia/Vladivostok") == noon_moscow
    late = at("2026-11-24T15:00")  # 22:00 in Vladivostok: deferred to 09:00 there = 02:00 Moscow
    assert w.next_slot(late, "Asia/Vladivostok") == at("2026-11-25T02:00")
    assert w.next_slot(late, "Not/AZone") == late  # unknown zone: UTC, 12:00 - allowed, not dropped


def test_an_order_reached_at_night_is_deferred_never_dropped():
    pb = book(window={"hours": "08:00-22:00"})
    o = order("gc", "1", at("2026-11-24T22:30"))
    now = at("2026-11-24T23:30")
    decisions = Planner(pb, CHANNELS).decide(Case(o), now, now + timedelta(days=1))
    assert [d.kind for d in decisions[:2]] == ["enter", "act"]
    act = decisions[1]
    assert act.at == at("2026-11-25T08:00") and not act.due and "send window" in act.reason
    customer = replace(o, extra={"timezone": "Asia/Yekaterinburg"})  # +5: 08:00 there = 06:00 Moscow
    act = first_act(Planner(pb, CHANNELS).decide(Case(customer), now, now + timedelta(days=1)))
    assert act.at == at("2026-11-25T06:00") and "Asia/Yekaterinburg" in act.reason  # the zone it used


def test_an_overdue_step_waits_for_the_window_instead_of_going_out_now():
    pb = book(window={"hours": "09:00-21:00"})
    o = order("gc", "1", at("2026-11-24T08:00"))
    en = enrolled(o, pb, at("2026-11-24T10:00"))  # due at 10:00; cron did not run until 23:00
    now = at("2026-11-24T23:00")
    d = Planner(pb, CHANNELS).decide(Case(o, enrollment=en), now)[0]
    assert d.kind == "act" and not d.due and d.at == at("2026-11-25T09:00") and "send window" in d.reason
    d = Planner(pb, CHANNELS).decide(Case(o, enrollment=en), at("2026-11-24T20:00"))[0]
    assert d.due and d.at == at("2026-11-24T10:00")  # inside the window an overdue step goes out now


# ---- frequency cap ----

def test_cap_defers_a_message_when_the_customer_heard_from_another_playbook():
    pb = book(cap={"messages": 1, "per": "1d"})
    now = at("2026-11-24T12:00")
    o = order("gc", "1", now - timedelta(hours=2))
    other = now - timedelta(hours=3)  # a message from another playbook / order, in the contact log
    act = first_act(Planner(pb, CHANNELS).decide(Case(o, contacts=[other]), now, now + timedelta(days=2)))
    assert act.at == other + timedelta(days=1) and "frequency cap" in act.reason
    free = first_act(Planner(pb, CHANNELS).decide(Case(o, contacts=[now - timedelta(days=2)]), now))
    assert free.due and free.at == now - timedelta(hours=1)


def test_cap_counts_messages_planned_for_the_customer_s_other_orders():
    pb = book(cap={"messages": 1, "per": "1d"})
    now = at("2026-11-24T12:00")
    planner = Planner(pb, CHANNELS)
    a = order("gc", "1", now - timedelta(hours=2), product="a")
    b = order("gc", "2", now - timedelta(hours=2), product="b")
    first = first_act(planner.decide(Case(a), now, now, book=True))
    second = first_act(planner.decide(Case(b), now, now + timedelta(days=2), book=True))
    assert second.at == first.at + timedelta(days=1)
    assert first_act(Planner(pb, CHANNELS).decide(Case(b), now)).due  # without a's booking it is free


def test_cap_can_be_switched_off():
    pb = book(cap=False)
    now = at("2026-11-24T12:00")
    o = order("gc", "1", now - timedelta(hours=2))
    assert first_act(Planner(pb, CHANNELS).decide(Case(o, contacts=[now - timedelta(minutes=5)]), now)).due


# ---- entry, chains and exits ----

def test_one_chain_per_customer_and_product():
    pb = book()
    now = at("2026-11-24T12:00")
    dup = order("gc", "2", now - timedelta(hours=2))
    [d] = Planner(pb, CHANNELS).decide(Case(dup, chain_holder="gc:1"), now)
    assert d.kind == "out" and "gc:1" in d.reason and "one chain" in d.reason
    [d, *_] = Planner(pb, CHANNELS).decide(Case(dup, chain_holder="gc:2"), now)
    assert d.kind == "enter"


@pytest.mark.parametrize("status", [Status.PAID, Status.CANCELLED, Status.FALSE])
def test_a_finished_order_exits_and_a_new_one_does_not_enter(status):
    pb = book(SEND, {"name": "again", "action": "send", "template": "t", "after": "1d"})
    now = at("2026-11-24T12:00")
    o = order("gc", "1", now - timedelta(days=1), status=status)
    [d] = Planner(pb, CHANNELS).decide(Case(o, enrollment=enrolled(o, pb, now - timedelta(hours=20), 1)), now)
    assert d.kind == "exit" and d.due and status.value in d.reason
    [d] = Planner(pb, CHANNELS).decide(Case(o), now, now + timedelta(weeks=1))
    assert d.kind == "out" and status.value in d.reason


def test_a_paid_twin_ends_the_chain():
    pb = book()
    now = at("2026-11-24T12:00")
    o = order("gc", "1", now - timedelta(hours=2))
    [d] = Planner(pb, CHANNELS).decide(Case(o, enrollment=enrolled(o, pb, now), paid_twin="awo:9"), now)
    assert d.kind == "exit" and "awo:9" in d.reason
    [d] = Planner(pb, CHANNELS).decide(Case(o, paid_twin="awo:9"), now)
    assert d.kind == "out" and "paid twin order awo:9" in d.reason


def test_an_old_order_does_not_enter():
    pb = book(enter_within="1d")
    now = at("2026-11-24T12:00")
    [d] = Planner(pb, CHANNELS).decide(Case(order("gc", "1", now - timedelta(days=3))), now)
    assert d.kind == "out" and "enter_within" in d.reason


# ---- offers ----

def offer_steps(first, second):
    return ({"name": "small", "action": "offer", "percent": first, "valid": "1w"},
            {"name": "big", "action": "offer", "percent": second, "valid": "1w", "after": "1d"})


def test_offers_only_go_up_while_one_is_active():
    now = at("2026-11-24T12:00")
    o = order("gc", "1", now - timedelta(hours=2))
    down = book(*offer_steps(15, 10))
    acts = [d for d in Planner(down, CHANNELS).decide(Case(o), now, now + timedelta(days=3))
            if d.kind in ("act", "skip")]
    assert [(d.step, d.kind) for d in acts] == [("small", "act"), ("big", "skip")]
    assert "offers only go up" in acts[1].reason
    up = book(*offer_steps(10, 15))
    acts = [d for d in Planner(up, CHANNELS).decide(Case(o), now, now + timedelta(days=3)) if d.kind == "act"]
    assert [d.step for d in acts] == ["small", "big"]


def test_a_stored_active_offer_blocks_a_smaller_one_but_not_after_it_expired():
    pb = book({"name": "small", "action": "offer", "percent": 5, "valid": "2d"})
    now = at("2026-11-24T12:00")
    o = order("gc", "1", now - timedelta(hours=2))
    live = StoredOffer(1, "k", o.id, "other", "s", "discount", 10, now + timedelta(days=1), "active", now)
    d = Planner(pb, CHANNELS).decide(Case(o, enrollment=enrolled(o, pb, now), offer=live), now)[0]
    assert d.kind == "skip" and "10%" in d.reason
    gone = replace(live, valid_until=now - timedelta(minutes=1))
    assert Planner(pb, CHANNELS).decide(Case(o, enrollment=enrolled(o, pb, now), offer=gone), now)[0].kind == "act"


# ---- contacts, opt-out, fallback ----

def test_no_address_skips_with_the_reason_or_falls_back():
    now = at("2026-11-24T12:00")
    o = order("gc", "1", now - timedelta(hours=2), phone=None)
    sms = {"name": "text", "action": "send", "channel": "sms", "template": "t"}
    [_, d, *_] = Planner(book(sms), CHANNELS).decide(Case(o), now)
    assert d.kind == "skip" and "no phone" in d.reason
    fallback = dict(sms, fallback={"action": "send", "channel": "email", "template": "t"})
    [_, d, *_] = Planner(book(fallback), CHANNELS).decide(Case(o), now)
    assert d.kind == "act" and d.fallback and d.channel == "email" and "falls back" in d.reason


def test_opted_out_customers_get_no_message():
    now = at("2026-11-24T12:00")
    o = order("gc", "1", now - timedelta(hours=2))
    [_, d, *_] = Planner(book(), CHANNELS).decide(Case(o, optout=True), now)
    assert d.kind == "skip" and "opted out" in d.reason
    mailing = {"name": "group", "action": "trigger", "trigger": "group", "params": {"group": "debtors"}}
    [_, d, *_] = Planner(book(mailing), CHANNELS).decide(Case(o, optout=True), now)
    assert d.kind == "skip" and "opted out" in d.reason  # no mailing by the source either
    call = {"name": "call", "action": "call", "script": "hi"}
    assert Planner(book(call), CHANNELS).decide(Case(o, optout=True), now)[1].kind == "act"  # a call is not a message


# ---- conditions ----

@pytest.mark.parametrize("text,values,expected", [
    ("not opened", {"opened": False}, True),
    ("not opened", {"opened": True}, False),
    ("attempts >= 3", {"attempts": 3}, True),
    ("attempts > 7", {"attempts": 7}, False),
    ("last_outcome in [no_answer, refused]", {"last_outcome": "refused"}, True),
    ("last_outcome not in [no_answer]", {"last_outcome": "none"}, True),
    ("elapsed >= 3w", {"elapsed": timedelta(weeks=3)}, True),
    ("offer < 25", {"offer": 15}, True),
])
def test_conditions(text, values, expected):
    assert parse_condition(text).holds(Facts(values)) is expected


def test_order_conditions_see_the_order_and_its_extra_fields():
    facts = Facts(order={"status": "new", "total": 1200.0}, extra={"city": "Kazan"})
    assert parse_condition("order.total >= 1000").holds(facts)
    assert parse_condition("order.extra.city == Kazan").holds(facts)
    assert not parse_condition("order.extra.region == north").holds(facts)


# ---- one order, one story (docs/cases.md) ----

CALL = {"name": "call", "action": "call", "script": "Call {{ order.number }}"}


def test_a_call_as_the_last_step_waits_for_the_outcome_instead_of_finishing():
    from unpaid.store.tasks import Task

    now = at("2026-11-24T12:00")
    o = order("gc", "1", now - timedelta(hours=3))
    pb = book(SEND, CALL)
    task = Task(1, "k", o.id, pb.name, "call", now, "", "open", 1, None, None, now, None)
    case = Case(o, enrolled(o, pb, now - timedelta(hours=2), cursor=2), tasks=[task])
    [d] = Planner(pb, CHANNELS).decide(case, now)
    assert d.kind == "wait" and "call task #1" in d.reason


def test_after_the_desk_gave_up_a_later_call_step_is_skipped():
    from unpaid.store.tasks import Outcome

    now = at("2026-11-24T12:00")
    o = order("gc", "1", now - timedelta(days=2))
    pb = book(CALL, {"name": "again", "action": "goto", "to": "call", "after": "1d"})
    gave_up = Outcome(o.id, "no_answer", now - timedelta(hours=1), {"given_up": True})
    case = Case(o, enrolled(o, pb, now - timedelta(days=1)), outcome=gave_up)
    d = Planner(pb, CHANNELS).first(case, now)
    assert d.kind == "skip" and "gave up calling" in d.reason
    # a give-up before the order entered this playbook belongs to another case
    earlier = Case(o, enrolled(o, pb, now - timedelta(minutes=30)), outcome=gave_up)
    assert Planner(pb, CHANNELS).first(earlier, now).kind == "act"


def test_an_offer_nobody_can_hear_of_is_not_made():
    now = at("2026-11-24T12:00")
    mute = order("gc", "1", now - timedelta(hours=2), email=None, phone=None)
    pb = book({"name": "offer", "action": "offer", "percent": 5, "valid": "2d"}, SEND)
    d = [x for x in Planner(pb, CHANNELS).decide(Case(mute), now) if x.step == "offer"][0]
    assert d.kind == "skip" and "nobody hears of" in d.reason
    reachable = order("gc", "2", now - timedelta(hours=2))
    assert [x for x in Planner(pb, CHANNELS).decide(Case(reachable), now) if x.step == "offer"][0].kind == "act"


def test_attempts_count_what_the_playbook_says():
    now = at("2026-11-24T12:00")
    o = order("gc", "1", now - timedelta(hours=2))
    for count, expected in (("contacts", "skip"), ("calls", "act"), ("messages", "act")):
        pb = book({**SEND, "when": ["attempts < 5"]}, count=count)
        case = Case(o, dials=3, messages=2)  # 3 dials + 2 messages = 5 contacts
        d = [x for x in Planner(pb, CHANNELS).decide(case, now) if x.step == "letter"][0]
        assert d.kind == expected, count


def test_a_step_done_for_the_same_purchase_is_not_repeated_after_that_chain_finished():
    now = at("2026-11-24T12:00")
    o = order("gc", "2", now - timedelta(hours=2))
    pb = book(SEND, {"name": "second", "action": "send", "template": "t", "after": "1d"})
    case = Case(o, chain_done={"letter": ("gc:1", now - timedelta(days=3))})
    decisions = Planner(pb, CHANNELS).decide(case, now)
    letter = [d for d in decisions if d.step == "letter"][0]
    assert letter.kind == "skip" and "already done for this customer and product with order gc:1" in letter.reason


def test_a_held_action_is_never_hidden_by_the_end():
    from unpaid.playbook.planner import GAVE_UP
    from unpaid.store.ledger import FAILED, LedgerEntry, ledger_key

    now = at("2026-12-24T12:00")
    o = order("gc", "1", now - timedelta(weeks=7))
    pb = book(SEND, end={"after": "6w", "reason": "Expired"})
    key = ledger_key(o.id, pb.name, "letter", 0)
    failed = LedgerEntry(key, o.id, pb.name, "letter", 0, "send", FAILED, now, None, None, 5, GAVE_UP, "550 no",
                         None, now - timedelta(weeks=6, days=5), now - timedelta(weeks=6, days=5))
    case = Case(o, enrolled(o, pb, now - timedelta(weeks=6, days=6)), ledger={key: failed})
    d = Planner(pb, CHANNELS).first(case, now)
    assert d.kind == "review" and d.step == "letter"


def test_a_transactional_step_is_outside_the_cap():
    now = at("2026-11-24T12:00")
    o = order("gc", "1", now - timedelta(hours=2))
    busy = [now - timedelta(hours=1)]  # the customer had a letter an hour ago
    capped = first_act(Planner(book(SEND), CHANNELS).decide(Case(o, contacts=busy), now, now + timedelta(days=2)))
    assert capped.at > now and "frequency cap" in capped.reason
    free = first_act(Planner(book({**SEND, "cap": False}), CHANNELS).decide(Case(o, contacts=busy), now))
    assert free.at == now - timedelta(hours=1) and free.due
