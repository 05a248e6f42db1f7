"""Held for review, end to end: a real loopback SMTP server that stalls, `run`, `review`, `review resolve`, `show`.

Each test backs a statement of docs/review.md.
"""

from __future__ import annotations

import json
import shlex
import time
from datetime import timedelta

from tests.channels.smtpd import Flaky, Inbox, server  # noqa: F401 - server is a fixture
from tests.channels.test_webhook import receiver  # noqa: F401 - a fixture
from tests.playbook.procs import T0
from tests.playbook.shop import order
from tests.playbook.test_runner_effects import KEY, results, rows
from unpaid.channel import Message
from unpaid.channels.outbox import OutboxChannel
from unpaid.store.enrollments import Enrollments

HOUR = timedelta(hours=1)
KEYS = [f"shop:{i}|remind|letter|0" for i in range(1, 6)]


def smtp(world, port: int, timeout: float = 0.5) -> None:
    world.configure(mail={"type": "smtp", "host": "127.0.0.1", "port": port, "security": "none",
                          "sender": "Shop <shop@example.com>", "timeout": timeout})


def review(world, now, *args, code=0):
    return world.run(now, *args, command="review", code=code)


def held(world, now, *args):
    return rows(review(world, now, *args))


def test_a_mail_server_silent_after_the_message_gets_it_once_and_holds_it_for_review(world, server):  # noqa: F811
    inbox = Flaky(stall=1.5)  # stores the first message, then holds back its 250 past the 0.5 s timeout
    smtp(world, server(inbox))
    world.many(2)
    first = world.run(T0, code=1)  # this run held something: exit 1
    [(held_order, _)] = [r for r in results(first) if r[1] == "review"]
    key = f"{held_order}|remind|letter|0"
    time.sleep(1.5)
    ids = [m["Message-ID"] for m in inbox.messages]
    assert len(ids) == 2 and len(set(ids)) == 2  # one copy each: no automatic resend
    [row] = [r for r in rows(first) if r["key"] == key]
    mid = inbox.messages[0]["Message-ID"]
    assert mid in row["detail"] and shlex.quote(key) in row["detail"]
    assert world.ledger(key).state == "uncertain"

    [planned] = [p for p in rows(world.run(T0, command="plan")) if p["key"] == key]
    assert planned["kind"] == "review" and planned["message_id"] == mid and mid in planned["reason"]
    assert f"`unpaid review resolve {shlex.quote(key)} --as sent|unsent`" in planned["reason"]

    [item] = held(world, T0)
    assert item["key"] == key and item["order_id"] == held_order and item["playbook"] == "remind"
    assert item["step"] == "letter" and item["channel"] == "mail" and item["message_id"] == mid
    assert "did not confirm" in item["why"] and item["since"] == "2026-11-24T12:00:00Z"
    table = review(world, T0, "--format", "table").stdout
    assert shlex.quote(key) in table and mid in table

    later = world.run(T0 + HOUR, code=0)  # held by an earlier run: reported again, not resent, exit 0
    assert results(later) == [(held_order, "review")] and len(inbox.messages) == 2

    card = world.run(T0 + HOUR, held_order, "--format", "table", command="show").stdout
    assert "Held for review: 1" in card and mid in card and "History: none" not in card
    assert f"unpaid review resolve {shlex.quote(key)} --as sent|unsent" in card
    assert "Held for review: step letter, outcome unknown" in card

    # the printed command, pasted into a shell, settles it
    command = shlex.split(item["resolve"].replace("sent|unsent", "sent"))
    assert command[:3] == ["unpaid", "review", "resolve"]
    done = world.cli(world.args(T0 + HOUR, *command[1:]))
    assert done.exit_code == 0, done.output
    world.run(T0 + 2 * HOUR, code=0)
    assert len(inbox.messages) == 2 and world.ledger(key).state == "done"
    assert world.ledger(key).result["message_id"] == mid
    with world.store() as store:
        assert [e.state for e in Enrollments(store).for_order(held_order)] == ["finished"]
    history = json.loads(world.run(T0 + 2 * HOUR, held_order, command="show").stdout)["history"]
    summaries = [h["summary"] for h in history]
    [settled] = [h for h in history if h["summary"].startswith("Settled step letter of remind as sent")]
    assert mid in settled["summary"] and settled["actor"].startswith("user:")  # who settled it
    assert "Finished playbook remind: all steps done" in summaries
    assert review(world, T0 + 2 * HOUR).stdout.strip() == "[]"


def _two_batches(world):
    """Orders 1-3 held by a run at T0, orders 4-5 by a run at T0+2h (a plugin bug: KeyError in the channel)."""
    world.configure(crash="shop:")
    world.many(3)
    world.run(T0, code=1)
    world.add(*(order("shop", str(i), T0, email=f"c{i}@example.com") for i in (4, 5)))
    second = world.run(T0 + 2 * HOUR, code=1)  # it held 4 and 5; 1-3 are reported again
    assert sorted(results(second)) == [(f"shop:{i}", "review") for i in range(1, 6)]
    items = held(world, T0 + 2 * HOUR)
    assert [i["key"] for i in items] == KEYS and all("unexpected KeyError" in i["why"] for i in items)
    return items[0]["run_id"], items[3]["run_id"]


def test_held_actions_are_settled_in_bulk_by_filter_with_a_dry_run(world):
    first_run, second_run = _two_batches(world)
    now = T0 + 2 * HOUR
    assert first_run != second_run
    assert [i["key"] for i in held(world, now, "--since", "1h")] == KEYS[3:]
    assert [i["key"] for i in held(world, now, "--run", second_run)] == KEYS[3:]
    assert [i["key"] for i in held(world, now, "--order", "shop:2")] == KEYS[1:2]
    assert held(world, now, "--playbook", "other") == []

    assert "say which" in review(world, now, "resolve", "--as", "unsent", code=2).stderr
    assert "go after `resolve`" in review(world, now, "--run", first_run, "resolve", "--as", "sent", code=2).stderr
    assert "--as" in review(world, now, "resolve", "--all", code=2).stderr
    dry = rows(review(world, now, "resolve", "--run", first_run, "--as", "unsent", "--dry-run"))
    assert [(r["key"], r["result"]) for r in dry] == [(k, "would be unsent") for k in KEYS[:3]]
    assert len(held(world, now)) == 5

    world.configure()  # the plugin is fixed
    settled = rows(review(world, now, "resolve", "--run", first_run, "--as", "unsent"))
    assert [(r["key"], r["result"]) for r in settled] == [(k, "unsent") for k in KEYS[:3]]
    assert world.run(now, code=0) and sorted(world.sent()) == KEYS[:3]  # the next run sends them, once
    assert [i["key"] for i in held(world, now)] == KEYS[3:]

    review(world, now, "resolve", "--all", "--playbook", "remind", "--as", "sent")
    world.run(now + HOUR, code=0)
    assert sorted(world.sent()) == KEYS[:3] and held(world, now + HOUR) == []
    assert "nothing to settle" in review(world, now + HOUR, "resolve", "--all", "--as", "sent").stderr


def test_named_keys_are_checked_before_anything_is_settled_and_run_resolve_exits_0(world):
    _two_batches(world)
    now = T0 + 2 * HOUR
    bad = review(world, now, "resolve", KEYS[0], "shop:9|remind|letter|0", "--as", "sent", code=2)
    assert "no action with key" in bad.stderr and "Traceback" not in bad.output
    assert len(held(world, now)) == 5
    world.configure()
    # the old way still works, and exits 0 although other actions are still held
    resolved = world.run(now, "--resolve", KEYS[0], "--as", "unsent", code=0)
    assert "held by earlier runs" in resolved.stderr and world.sent() == [KEYS[0]]
    settled = rows(review(world, now, "resolve", KEYS[1], KEYS[2], "--as", "sent"))
    assert [r["result"] for r in settled] == ["sent", "sent"]
    assert review(world, now, "resolve", KEYS[1], "--as", "sent", code=2).stderr.count("done") == 1


def test_auto_settles_what_the_outbox_can_prove_and_leaves_the_rest(world, tmp_path):
    world.configure(fail=2)  # each letter fails once, and one attempt is all it gets
    world.many(2)
    first = world.run(T0, "--max-attempts", "1", code=1)
    assert results(first) == [("shop:1", "failed"), ("shop:2", "failed")]
    items = held(world, T0)
    assert [i["key"] for i in items] == KEYS[:2] and all(i["why"].startswith("gave up after 1 attempt: ")
                                                         for i in items)
    folder = tmp_path / "outbox"
    world.configure(mail={"type": "outbox", "path": str(folder)})
    # the letter of order 1 is in the outbox after all (say, copied there by hand); order 2's is not
    OutboxChannel("mail", {"path": str(folder)}).send(Message("shop:1", "c1@example.com", "s", "b", KEYS[0]))
    dry = rows(review(world, T0, "resolve", "--all", "--auto", "--dry-run"))
    assert [(r["key"], r["result"]) for r in dry] == [(KEYS[0], "would be sent"), (KEYS[1], "would be unsent")]
    assert [r["result"] for r in rows(review(world, T0, "resolve", "--all", "--auto"))] == ["sent", "unsent"]
    assert world.ledger(KEYS[0]).state == "done" and world.ledger(KEYS[1]).state == "planned"
    world.run(T0, code=0)
    assert len(list(folder.glob("*.eml"))) == 2 and held(world, T0) == []


def test_auto_leaves_what_a_channel_cannot_prove(world):
    _two_batches(world)
    now = T0 + 2 * HOUR
    out = rows(review(world, now, "resolve", "--all", "--auto"))
    assert {r["result"] for r in out} == {"held: the channel cannot tell"} and len(held(world, now)) == 5


def test_every_exit_reason_is_in_the_history(world):
    world.many(2)
    world.pay("1")
    world.run(T0)
    history = json.loads(world.run(T0, "shop:1", command="show").stdout)["history"]
    assert [h["summary"] for h in history if h["kind"] == "playbook"] == [
        "Left playbook remind before step letter: order is paid at the source by now"]
    card = world.run(T0, "shop:2", "--format", "table", command="show").stdout
    assert "Finished playbook remind: all steps done" in card and "Held for review" not in card


def test_the_gave_up_action_is_in_the_history_and_held(world):
    world.configure(fail=100)
    world.many(1)
    world.run(T0, "--max-attempts", "1", code=1)
    history = json.loads(world.run(T0, "shop:1", command="show").stdout)
    assert history["held"][0]["key"] == KEY
    assert any(h["kind"] == "review" and "gave up after 1 attempt" in h["summary"] for h in history["history"])


def test_a_webhook_that_did_not_answer_is_sent_again_with_the_same_key(world, receiver):  # noqa: F811
    receiver["stall"] = 1.5  # the first request arrives whole; its answer comes after the 0.5 s timeout
    world.configure(mail={"type": "webhook", "url": receiver["url"], "timeout": 0.5, "address": "email"})
    world.many(1)
    first = world.run(T0, code=1)
    assert results(first) == [("shop:1", "deferred")]
    [failed] = [r for r in rows(first) if r["result"] == "deferred"]
    assert "outcome unknown, so it is repeated with the same key" in failed["detail"]
    assert held(world, T0) == []  # the receiver drops a repeat: nothing for a person
    world.run(T0 + timedelta(minutes=2), code=0)
    keys = [headers["Idempotency-Key"] for headers, _ in receiver["requests"]]
    assert len(keys) == 2 and len(set(keys)) == 1 and world.ledger(KEY).state == "done"


def test_an_address_the_server_refuses_fails_that_letter_only(world, server):  # noqa: F811
    inbox = Inbox(refuse="c1@example.com")
    smtp(world, server(inbox), timeout=5)
    world.many(3)
    result = world.run(T0, code=1)
    assert results(result) == [("shop:1", "failed"), ("shop:2", "done"), ("shop:3", "done")]
    assert sorted(m["To"] for m in inbox.messages) == ["c2@example.com", "c3@example.com"]
    [item] = held(world, T0)
    assert item["key"] == KEY and "550" in item["why"] and item["message_id"].endswith("@example.com>")
    plan = [p for p in rows(world.run(T0, command="plan")) if p["key"] == KEY]
    assert f"`unpaid review resolve {shlex.quote(KEY)} --as unsent` to try again" in plan[0]["reason"]
