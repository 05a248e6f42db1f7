"""The review engine against a real SQLite store: what counts as held, filters, settling twice, quoting."""

from __future__ import annotations

import shlex
from datetime import datetime, timedelta, timezone

from unpaid.playbook.planner import GAVE_UP
from unpaid.review import Filter, held, lookup, resolve_command, settle
from unpaid.store.ledger import CLAIMED, FAILED, UNCERTAIN

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


def claim(store, key, action="send", run_id="run-a", at=T0, playbook="pb"):
    order_id = key.split("|")[0]
    assert store.ledger.claim(key, order_id=order_id, playbook=playbook, step=key.split("|")[2], repeat=0,
                              action=action, due_at=at, run_id=run_id, now=at, lease_until=at + timedelta(minutes=15),
                              result={"channel": "mail"} if action == "send" else None)


def test_what_waits_for_a_person(tmp_store):
    claim(tmp_store, "s:1|pb|mail|0")
    tmp_store.ledger.finish("s:1|pb|mail|0", "run-a", UNCERTAIN, T0, error="server went silent")
    claim(tmp_store, "s:2|pb|mail|0")
    tmp_store.ledger.finish("s:2|pb|mail|0", "run-a", FAILED, T0, error="550 no such user", next_try_at=GAVE_UP)
    claim(tmp_store, "s:3|pb|mail|0")
    tmp_store.ledger.finish("s:3|pb|mail|0", "run-a", FAILED, T0, error="timeout", next_try_at=T0 + timedelta(minutes=1))
    claim(tmp_store, "s:4|pb|close|0", action="status")
    tmp_store.ledger.finish("s:4|pb|close|0", "run-a", UNCERTAIN, T0)  # safe to repeat: the next run does it
    claim(tmp_store, "s:5|pb|mail|0", run_id="run-b")  # a claim still within its lease, then past it
    items = held(tmp_store, T0 + timedelta(minutes=5))
    assert [(i.key, i.why) for i in items] == [("s:1|pb|mail|0", "server went silent"),
                                               ("s:2|pb|mail|0", "gave up after 1 attempt: 550 no such user")]
    assert items[0].channel == "mail" and items[0].message_id is None  # no channel config to derive it from
    later = held(tmp_store, T0 + timedelta(minutes=20))
    assert [i.key for i in later][-1] == "s:5|pb|mail|0" and "run-b" in later[-1].why
    assert tmp_store.ledger.get("s:5|pb|mail|0").state == CLAIMED  # listing changes nothing


def test_filters_combine():
    from unpaid.review import Held

    item = Held("s:1|pb|mail|0", "s:1", "pb", "mail", "send", "mail", None, "why", T0, "run-a", 1)
    assert Filter().matches(item) and Filter(run_id="run-a", playbook="pb", since=T0).matches(item)
    assert not Filter(run_id="run-a", playbook="other").matches(item)
    assert not Filter(since=T0 + timedelta(seconds=1)).matches(item)
    assert not Filter(keys=frozenset({"x"})).matches(item) and Filter(order_id="s:1").matches(item)


def test_settling_twice_counts_once(tmp_store):
    claim(tmp_store, "s:1|pb|mail|0")
    tmp_store.ledger.finish("s:1|pb|mail|0", "run-a", UNCERTAIN, T0, error="silent",
                            result={"message_id": "<m1@example.com>"})
    [item] = lookup(tmp_store, ["s:1|pb|mail|0"], T0)
    assert settle(tmp_store, item, True, T0, "user:anna") is True
    assert settle(tmp_store, item, True, T0, "user:olga") is False  # someone else was quicker
    entry = tmp_store.ledger.get("s:1|pb|mail|0")
    assert entry.state == "done" and entry.result["message_id"] == "<m1@example.com>"
    assert [e.actor for e in tmp_store.history.for_order("s:1")] == ["user:anna"]


def test_the_settle_command_survives_a_shell():
    key = "shop:1042|pb|first|0"
    command = resolve_command(key)
    assert shlex.split(command.replace("sent|unsent", "sent")) == ["unpaid", "review", "resolve", key, "--as", "sent"]
    assert shlex.split(resolve_command("o'brien|pb|x|0", "unsent"))[3] == "o'brien|pb|x|0"
