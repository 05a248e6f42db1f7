"""Steps that fell due before now (a run missed, a window opened): the cap and the next offset count from now."""

from __future__ import annotations

from datetime import timedelta

from tests.playbook.shop import at, order
from tests.playbook.test_planner import CHANNELS, book, enrolled, first_act
from unpaid.playbook.planner import Case, Planner


def test_the_cap_counts_messages_sent_before_now_not_before_the_overdue_time():
    pb = book(cap={"messages": 1, "per": "1d"})
    o = order("gc", "1", at("2026-11-20T10:00"))
    now = at("2026-11-24T12:00")
    # the customer got a message (another order) this morning; this order's letter was due days ago
    case = Case(o, enrolled(o, pb, at("2026-11-20T11:00")), contacts=[at("2026-11-24T09:00")])
    d = first_act(Planner(pb, CHANNELS).decide(case, now))
    assert not d.due and d.at == at("2026-11-25T09:00")
    assert "frequency cap" in d.reason


def test_after_an_overdue_step_the_next_offset_counts_from_the_run_that_does_it():
    pb = book({"name": "first", "action": "send", "template": "t"},
              {"name": "second", "action": "send", "template": "t", "after": "1d"}, cap=False)
    o = order("gc", "1", at("2026-11-20T10:00"))
    now = at("2026-11-24T12:00")
    case = Case(o, enrolled(o, pb, at("2026-11-20T11:00")))
    acts = [d for d in Planner(pb, CHANNELS).decide(case, now, now + timedelta(days=3)) if d.kind == "act"]
    assert [d.step for d in acts] == ["first", "second"]
    assert acts[0].due and acts[1].at == now + timedelta(days=1)  # not 2026-11-21: the first goes out now
