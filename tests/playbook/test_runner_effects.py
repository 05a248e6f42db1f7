"""What the runner does around an action: re-check at the source, retries with backoff, opt-out, no address."""

from __future__ import annotations

import json
from datetime import timedelta

from tests.playbook.procs import CANCEL, LETTER, T0
from tests.playbook.shop import order
from unpaid.model import Status
from unpaid.store.enrollments import Enrollments

MINUTE = timedelta(minutes=1)
KEY = "shop:1|remind|letter|0"


def rows(result):
    return json.loads(result.stdout) if result.stdout.strip() else []


def results(result, step="letter"):
    return [(r["order_id"], r["result"]) for r in rows(result) if r["step"] == step]


# ---- (c) re-check at the source right before acting ----

def test_an_order_paid_at_the_source_gets_nothing(world):
    world.many(2)
    world.pay("1")  # the store still says new: only the re-check can know
    result = world.run(T0)
    assert results(result) == [("shop:1", "skipped"), ("shop:2", "done")]
    assert "paid at the source" in next(r["detail"] for r in rows(result) if r["key"] == KEY)
    assert world.sent() == ["shop:2|remind|letter|0"]
    with world.store() as store:
        assert store.orders.get("shop:1").status is Status.PAID  # what the re-check saw is kept
        [en] = Enrollments(store).for_order("shop:1")
        assert en.state == "exited" and "paid" in en.exit_reason
        assert store.ledger.get(KEY).state == "skipped"
    world.run(T0 + timedelta(days=1))
    assert world.sent() == ["shop:2|remind|letter|0"]


def test_an_order_gone_from_the_source_is_left_alone(world):
    world.many(1)
    world.orders_file.write_text("{}")
    assert results(world.run(T0)) == [("shop:1", "skipped")]
    assert world.sent() == [] and "no longer exists" in world.ledger(KEY).error
    with world.store() as store:  # the source said so: the order is marked missing, in its history too
        assert store.conn.execute("SELECT missing_since FROM orders WHERE id = 'shop:1'").fetchone()[0]
        [missing] = [e.summary for e in store.history.for_order("shop:1") if e.kind == "missing"]
        assert missing.startswith("no longer found at the source: ")


def test_a_cancel_is_not_pushed_over_a_payment(world):
    world.configure(LETTER, dict(CANCEL, after="1d"))
    world.many(1)
    world.run(T0)
    world.pay("1")
    result = world.run(T0 + timedelta(days=2))
    assert results(result, "close") == [("shop:1", "skipped")]
    assert json.loads(world.orders_file.read_text())["1"]["status"] == "paid"
    assert not world.pushes.exists()


# ---- (d) a failing send: retried with backoff, then reported ----

def test_a_failing_send_is_retried_with_backoff_and_sent_once(world):
    world.configure(fail=2)
    world.many(1)
    first = world.run(T0, "--max-attempts", "3", code=1)
    assert results(first) == [("shop:1", "deferred")] and "retry at 2026-11-24 12:01 UTC" in first.stdout
    world.run(T0 + 30 * timedelta(seconds=1), "--max-attempts", "3", code=0)  # backing off: not tried
    assert len(world.started()) == 1
    plan = rows(world.run(T0 + 30 * timedelta(seconds=1), command="plan"))
    assert [p["kind"] for p in plan] == ["act later"] and "retry 2 after" in plan[0]["reason"]
    second = world.run(T0 + MINUTE, "--max-attempts", "3", code=1)
    assert "retry at 2026-11-24 12:06 UTC" in second.stdout  # 1 min, then 5 min
    world.run(T0 + 5 * MINUTE, "--max-attempts", "3", code=0)
    assert len(world.started()) == 2 and world.sent() == []
    third = world.run(T0 + 6 * MINUTE, "--max-attempts", "3", code=0)
    assert results(third) == [("shop:1", "done")] and world.sent() == [KEY]
    assert world.ledger(KEY).attempts == 3


def test_a_send_that_keeps_failing_is_reported_until_resolved(world):
    world.configure(fail=100)
    world.many(1)
    world.run(T0, "--max-attempts", "2", code=1)
    gave_up = world.run(T0 + MINUTE, "--max-attempts", "2", code=1)
    assert results(gave_up) == [("shop:1", "failed")]
    later = world.run(T0 + timedelta(days=1), "--max-attempts", "2", code=0)  # held by an earlier run
    assert results(later) == [("shop:1", "review")] and len(world.started()) == 2
    plan = rows(world.run(T0 + timedelta(days=1), command="plan"))
    assert plan[0]["kind"] == "review" and "gave up after 2 attempts" in plan[0]["reason"]
    world.configure()  # the gateway is fixed
    world.run(T0 + timedelta(days=1), "--resolve", KEY, "--as", "unsent", code=0)
    assert world.sent() == [KEY]


def test_a_bug_in_a_channel_holds_its_action_for_review_and_the_run_goes_on(world):
    world.configure(crash="shop:1|")
    world.many(2)
    result = world.run(T0, code=1)
    assert results(result) == [("shop:1", "review"), ("shop:2", "done")]
    assert "unexpected KeyError" in result.stdout and "Traceback" not in result.output
    assert world.ledger(KEY).state == "uncertain" and world.sent() == ["shop:2|remind|letter|0"]
    again = world.run(T0 + timedelta(hours=1), code=0)  # not repeated: the log channel cannot drop a repeat
    assert results(again) == [("shop:1", "review")] and world.started().count(KEY) == 1
    world.configure()
    world.run(T0 + timedelta(hours=1), "--resolve", KEY, "--as", "unsent", code=0)
    assert sorted(world.sent()) == [KEY, "shop:2|remind|letter|0"]


# ---- (e) opt-out ----

def test_opted_out_customers_get_no_messages(world):
    world.many(3)
    assert world.cli(["optout", "C2@Example.com", "--reason", "asked"]).exit_code == 0
    config = world.config.read_text().replace("optout = []", 'optout = ["c3@example.com"]')
    world.config.write_text(config)
    result = world.run(T0)
    assert results(result) == [("shop:1", "done"), ("shop:2", "skipped"), ("shop:3", "skipped")]
    assert world.sent() == [KEY]
    assert "opted out" in world.ledger("shop:2|remind|letter|0").error


def test_opt_out_by_phone_stops_text_messages_whatever_the_phone_format(world):
    world.configure(dict(LETTER, channel="sms"))
    world.add(order("shop", "1", T0 - timedelta(hours=2), email="a@example.com", phone="8 (999) 123-45-67"),
              order("shop", "2", T0 - timedelta(hours=2), email="b@example.com", phone="+79990000002"))
    assert world.cli(["optout", "+7 999 123 45 67"]).exit_code == 0
    result = world.run(T0)
    assert results(result) == [("shop:1", "skipped"), ("shop:2", "done")]
    assert world.sent() == ["shop:2|remind|letter|0"]


def test_removing_an_opt_out_allows_messages_again(world):
    world.many(1)
    world.cli(["optout", "c1@example.com"])
    world.cli(["optout", "c1@example.com", "--remove"])
    world.run(T0)
    assert world.sent() == [KEY]


# ---- (f) no address: skipped with the reason, or the fallback ----

def test_no_e_mail_skips_the_step_with_the_reason_and_goes_on(world):
    world.configure(LETTER, dict(CANCEL, after="1d"))
    world.add(order("shop", "1", T0 - timedelta(hours=2), email=None, phone="+79990000001"))
    first = world.run(T0)
    assert results(first) == [("shop:1", "skipped")]
    assert world.ledger(KEY).state == "skipped" and "no email" in world.ledger(KEY).error
    assert results(world.run(T0 + timedelta(days=1)), "close") == [("shop:1", "done")]
    assert world.sent() == []


def test_no_e_mail_falls_back_to_a_text_message(world):
    world.configure(dict(LETTER, fallback={"action": "send", "channel": "sms", "template": "letter"}))
    world.add(order("shop", "1", T0 - timedelta(hours=2), email=None, phone="+79990000001"))
    result = world.run(T0)
    assert results(result) == [("shop:1", "done")] and "+79990000001" in rows(result)[1]["detail"]
    assert world.sent() == [KEY]
