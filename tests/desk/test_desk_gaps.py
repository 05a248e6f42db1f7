"""Desk requirements the command tests leave open: paging and sort keys, the outcomes' messages and
their channels, thinking it over, and manual messages counted by the playbooks' frequency cap."""

from datetime import timedelta

from tests.desk.conftest import NOW, make_order, write_config
from unpaid.model import Status

DUE = NOW - timedelta(hours=1)
SMS = '[desk]\nchannel = "sms"\n\n[channels.sms]\ntype = "outbox"\npath = "outbox-sms"\naddress = "phone"\n'


def ids(rows):
    return [r["order_id"] for r in rows]


def test_queue_pages_20_by_default_and_100_on_request(desk):
    desk.add(*(make_order(f"{i:02}", age=timedelta(days=30, minutes=-i)) for i in range(25)), task_due=DUE)
    first = desk("queue", fmt="json")
    assert first.stderr.startswith("Today: 25 orders to call; 25 due now; showing 1–20")
    assert len(first.json()) == 20 and first.json()[0]["order_id"] == "shop:24"
    assert ids(desk.queue(args="--page 2")) == [f"shop:{i:02}" for i in range(4, -1, -1)]
    assert len(desk.queue(args="--limit 100")) == 25
    write_config(desk.root, "[desk]\npage_size = 5\n")
    assert len(desk.queue()) == 5
    assert desk("queue --page 9", fmt="json").json() == []


def test_queue_sorts_by_due_time_and_by_amount(desk):
    desk.add(make_order("small", total=100, age=timedelta(days=9)), task_due=DUE - timedelta(hours=2))
    desk.add(make_order("big", total=900_000, age=timedelta(days=10)), task_due=DUE)
    desk.add(make_order("mid", total=50_000, age=timedelta(days=8)), task_due=DUE - timedelta(hours=1))
    assert ids(desk.queue()) == ["shop:mid", "shop:small", "shop:big"]
    assert ids(desk.queue(args="--sort due")) == ["shop:small", "shop:mid", "shop:big"]
    assert ids(desk.queue(args="--sort amount")) == ["shop:big", "shop:mid", "shop:small"]
    assert desk("queue --sort price", code=2).stderr


def test_thinking_it_over_comes_back_in_two_days_or_as_asked(desk):
    desk.add(make_order("1"), make_order("2"), task_due=DUE)
    assert "next call 2026-11-26 09:00" in desk("outcome shop:1 thinking -m anna").stdout
    assert "next call 2026-11-27 09:00" in desk("outcome shop:2 thinking --days 3 -m anna").stdout
    assert ids(desk.queue(NOW + timedelta(days=2))) == ["shop:1"]
    assert sorted(ids(desk.queue(NOW + timedelta(days=3)))) == ["shop:1", "shop:2"]
    assert desk.outbox() == []


def test_says_paid_asks_for_proof_and_checks_again(desk):
    desk.add(make_order("1"), task_due=DUE)
    out = desk("outcome shop:1 says_paid --comment 'paid at the bank on Monday' -m anna").stdout
    assert "sent ask_proof via email to olena@example.com" in out
    [mail] = desk.outbox()
    assert mail["subject"] == "Proof of payment for order N1"
    assert desk.queue(NOW + timedelta(days=1, hours=23)) == []
    [row] = desk.queue(NOW + timedelta(days=2))
    assert row["last_comment"] == "paid at the bank on Monday" and row["calls"] == 1


def test_a_wrong_number_is_asked_for_on_the_other_channels_not_by_sms_to_it(desk):
    write_config(desk.root, SMS)
    desk.add(make_order("1"), make_order("2", phone=None), task_due=DUE)
    out = desk("outcome shop:1 wrong_number -m anna").stdout
    assert "sent ask_phone via email to olena@example.com" in out
    assert [m["subject"] for m in desk.outbox()] == ["Your phone number for order N1"]
    assert not (desk.root / "outbox-sms").exists()
    assert "sent ask_phone via email" in desk("outcome shop:2 no_phone -m anna").stdout
    # other messages still go through the desk's channel
    desk.add(make_order("3"), task_due=DUE)
    assert "sent ask_proof via sms to +380671234567" in desk("outcome shop:3 says_paid -m anna").stdout


def test_no_other_channel_to_ask_for_a_phone_is_a_warning(desk):
    (desk.root / "unpaid.toml").write_text('timezone = "UTC"\n\n[sources.shop]\ntype = "memory"\n\n'
                                           + SMS.replace('channel = "sms"\n', ""), encoding="utf-8")
    desk.add(make_order("1"), task_due=DUE)
    result = desk("outcome shop:1 wrong_number -m anna", code=1)
    assert "no channel other than the phone" in result.stderr
    assert desk.order("shop:1").status is Status.NEW  # the outcome itself is kept
    assert [h.kind for h in desk.history("shop:1")] == ["call"]


NUDGE = """
[segments.everyone]
sources = ["shop"]

[playbooks.nudge]
segment = "everyone"
channel = "email"
cap = { messages = 1, per = "1d" }
templates = "templates"

[[playbooks.nudge.steps]]
name = "letter"
action = "send"
template = "bank_details"
after = "1h"
window = false
"""


def test_a_message_sent_by_hand_counts_for_the_playbooks_frequency_cap(desk):
    write_config(desk.root, NUDGE)
    desk.add(make_order("1", age=timedelta(minutes=10)))
    desk("run", NOW - timedelta(minutes=5))  # enters the playbook
    desk("send shop:1 --template bank_details -m anna")
    rows = desk("run", NOW + timedelta(hours=1), fmt="json").json()
    assert [r["result"] for r in rows if r["step"] == "letter"] in ([], ["deferred"])  # the cap is full
    assert len(desk.outbox()) == 1
    plan = desk("plan", NOW + timedelta(hours=1), fmt="json").json()
    assert any("frequency cap" in d["reason"] for d in plan if d.get("step") == "letter")
    rows = desk("run", NOW + timedelta(days=1, minutes=1), fmt="json").json()
    assert [r["result"] for r in rows if r["step"] == "letter"] == ["done"]
    assert len(desk.outbox()) == 2


CALLS = """
[desk]
attempts = 2

[segments.everyone]
sources = ["shop"]

[playbooks.calls]
segment = "everyone"
channel = "email"
templates = "templates"

[[playbooks.calls.steps]]
name = "call"
action = "call"
script = "Call {{ order.number }}"
window = false

[[playbooks.calls.steps]]
name = "again"
action = "goto"
to = "call"
after = "1d"
when = ["calls < 3"]
"""


def test_after_the_desk_gives_up_the_playbook_calls_no_more_until_a_person_restarts(desk):
    write_config(desk.root, CALLS)
    desk.add(make_order("1", age=timedelta(minutes=10)))
    t = NOW
    desk("run", t)
    for _ in range(2):
        [row] = desk.queue(t)
        out = desk("outcome shop:1 no_answer -m anna", t).stdout
        t = t + timedelta(hours=3)
    assert "given up, Not confirmed" in out and len(desk.outbox()) == 1
    # a day later the playbook's loop reaches its call step again: the give-up holds, nobody is asked to call
    rows = desk("run", NOW + timedelta(days=1, hours=4), fmt="json").json()
    skipped = [r for r in rows if r["step"] == "call"]
    assert skipped and skipped[0]["result"] == "skipped" and "gave up calling" in skipped[0]["detail"]
    assert desk.queue(NOW + timedelta(days=1, hours=4)) == []
    # a manager who decides to try again does so by hand; the count of unanswered calls starts anew,
    # and giving up a second time sends no second "we could not reach you" letter
    t = NOW + timedelta(days=1, hours=5)
    desk("postpone shop:1 --until " + (t + timedelta(minutes=1)).isoformat() + " -m anna", t)
    t += timedelta(minutes=2)
    out = desk("outcome shop:1 no_answer -m anna", t).stdout
    assert out.startswith("no answer (1 in a row); next call")
    out = desk("outcome shop:1 no_answer -m anna", t + timedelta(hours=3)).stdout
    assert "given up" in out and len(desk.outbox()) == 1