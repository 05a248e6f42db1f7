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
