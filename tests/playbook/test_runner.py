"""Exactly once against a real SQLite file: concurrent `unpaid run` processes, and runs killed with SIGKILL."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta

import pytest

from tests.playbook.procs import CANCEL, LETTER, T0
from tests.playbook.shop import order
from unpaid.model import Status
from unpaid.store.enrollments import Enrollments

LATER = T0 + timedelta(minutes=20)  # past the 15-minute lease of a killed run


def rows(result):
    return json.loads(result.stdout) if result.stdout.strip() else []


def kill(proc):
    proc.kill()  # SIGKILL: no cleanup, no finally
    proc.wait()


def test_two_runs_started_together_send_every_message_exactly_once(world):
    world.configure(delay=0.003)
    keys = world.many(40)
    # five customers with a second order for another product: the cap (1 a day) lets one message through
    world.add(*(order("shop", f"x{i}", T0 - timedelta(hours=2), email=f"c{i}@example.com", product="other")
                for i in range(1, 6)))
    procs = [world.spawn(T0), world.spawn(T0)]
    outputs = [p.communicate(timeout=120) for p in procs]
    assert [p.returncode for p in procs] == [0, 0], outputs
    sent = Counter(world.sent())
    assert set(sent.values()) == {1} and len(sent) == len(keys)
    customers = {key.split("|")[0].removeprefix("shop:").lstrip("x") for key in sent}
    assert customers == {str(i) for i in range(1, 41)}  # one message each, whichever order it was for
    done = [r["key"] for out, _ in outputs for r in json.loads(out) if r["result"] == "done"]
    assert sorted(done) == sorted(sent)  # each reported done by exactly one of the two runs
    assert world.run(T0, code=0) and Counter(world.sent()) == sent  # a third run finds nothing to do


@pytest.mark.parametrize("channel", ["log", "log-dedupe"])
@pytest.mark.parametrize("after_sends", [0, 3, 7])
def test_killed_runs_never_send_twice_and_never_skip(world, channel, after_sends):
    world.configure(channel=channel, delay=0.2)  # the kill lands while a message is in flight
    keys = world.many(12)
    proc = world.spawn(T0)
    world.wait_for(proc, world.log, "sent ", after_sends)
    world.wait_for(proc, world.log, "start ", after_sends + 1)
    kill(proc)
    world.configure(channel=channel)
    result = world.run(LATER, code=None)
    review = [r["key"] for r in rows(result) if r["result"] == "review"]
    if channel == "log-dedupe":  # the repeat is dropped by the channel: safe to send again
        assert result.exit_code == 0 and review == []
    else:  # the message in flight when the run died is held for a human, not sent again
        assert result.exit_code == 1 and len(review) == 1, result.output
        assert world.started().count(review[0]) == 1
        plan = rows(world.run(LATER, command="plan"))
        assert [p["kind"] for p in plan if p["key"] == review[0]] == ["review"]
        truth = "sent" if review[0] in world.sent() else "unsent"  # what the operator finds out
        world.run(LATER, "--resolve", review[0], "--as", truth)
    sent = Counter(world.sent())
    assert sorted(sent) == sorted(keys) and set(sent.values()) == {1}
    assert world.run(LATER + timedelta(hours=1)).exit_code == 0
    assert Counter(world.sent()) == sent


def test_a_message_sent_before_the_kill_is_reported_not_resent(world):
    world.configure(hold=30)  # the channel sent it, then the run died before writing that down
    [key] = world.many(1)
    proc = world.spawn(T0)
    world.wait_for(proc, world.log, "sent ")
    kill(proc)
    world.configure()
    assert world.ledger(key).state == "claimed"
    world.run(T0 + timedelta(minutes=5), code=0)  # the lease still holds: nobody touches it
    [waiting] = rows(world.run(T0 + timedelta(minutes=5), command="plan"))
    assert waiting["kind"] == "wait" and "claimed until 2026-11-24 12:15" in waiting["reason"]
    first = world.run(LATER, code=1)
    assert [r["result"] for r in rows(first) if r["key"] == key] == ["review"]
    # still waiting for a human and reported, but only the run that held it exits 1 (docs/playbooks.md)
    again = world.run(LATER + timedelta(hours=1), code=0)
    assert "review" in again.output and "held by earlier runs" in again.stderr
    assert world.sent() == [key] and world.started() == [key]
    world.run(LATER + timedelta(hours=1), "--resolve", key, "--as", "sent", code=0)
    assert world.ledger(key).state == "done" and world.sent() == [key]
    history = json.loads(world.run(LATER, "shop:1", command="show").stdout)["history"]
    assert [h["summary"].split(":")[0] for h in history if h["kind"] == "review"] == [
        "Outcome of step letter unknown", "Settled step letter of remind as sent"]
    with world.store() as store:
        assert [e.state for e in Enrollments(store).for_order("shop:1")] == ["finished"]  # it moved on


def test_resolve_as_unsent_sends_it_once(world):
    world.configure(delay=30)
    [key] = world.many(1)
    proc = world.spawn(T0)
    world.wait_for(proc, world.log, "start ")
    kill(proc)
    world.configure()
    world.run(LATER, code=1)
    assert world.sent() == []
    world.run(LATER, "--resolve", key, "--as", "unsent", code=0)
    assert world.sent() == [key] and world.ledger(key).state == "done"


def test_resolve_refuses_unknown_keys_and_finished_actions(world):
    [key] = world.many(1)
    world.run(T0)
    for bad, needle in (("shop:9|remind|letter|0", "no action"), (key, "done")):
        result = world.run(T0, "--resolve", bad, "--as", "unsent", code=2)
        assert needle in result.stderr and "Traceback" not in result.output
    assert world.sent() == [key]
    assert "--as" in world.run(T0, "--resolve", key, code=2).stderr


def test_an_idempotent_status_push_claimed_by_a_killed_run_is_retried(world):
    world.configure(CANCEL, push_delay=30)
    world.many(1)
    proc = world.spawn(T0)
    world.wait_for(proc, world.pushes, "start ")
    kill(proc)
    world.configure(CANCEL)
    result = world.run(LATER, code=0)
    assert [r["result"] for r in rows(result) if r["step"] == "close"] == ["done"]
    data = json.loads(world.orders_file.read_text())
    assert data["1"]["status"] == "cancelled" and data["1"]["reason"] == "Expired"
    with world.store() as store:
        assert store.orders.get("shop:1").status is Status.CANCELLED


def test_an_offer_left_uncertain_is_retried_and_made_once(world):
    offer = {"name": "offer", "action": "offer", "percent": 10, "valid": "2d"}
    world.configure(offer, LETTER)
    world.many(1)
    with world.store() as store:  # a run that claimed the offer and died (its lease is long gone)
        store.ledger.claim("shop:1|remind|offer|0", order_id="shop:1", playbook="remind", step="offer", repeat=0,
                           action="offer", due_at=T0, run_id="dead", now=T0, lease_until=T0 + timedelta(minutes=1))
    world.run(T0 - timedelta(minutes=1), code=0)  # enters; the claim is live, so it waits
    world.run(LATER, code=0)
    with world.store() as store:
        from unpaid.store.offers import Offers

        assert Offers(store).active("shop:1", LATER).percent == 10
        assert store.conn.execute("SELECT COUNT(*) FROM offers").fetchone()[0] == 1
    assert world.sent() == ["shop:1|remind|letter|0"]
