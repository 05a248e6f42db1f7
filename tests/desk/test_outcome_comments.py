"""Call outcomes are written into the order's comments at the source (seed 004's comment log), optionally."""

from __future__ import annotations

from tests.desk.conftest import NOW, make_order, write_config
from unpaid.connector import Temporary

DUE = NOW


def _comments(desk):
    return [args for name, args in desk.source.calls if name == "add_comment"]


def test_each_outcome_lands_in_the_source_comments_with_the_manager(desk):
    desk.add(make_order("1"), task_due=DUE)
    result = desk("outcome shop:1 no_answer --comment 'rang 5 times' -m anna")
    [call] = [h for h in desk.history("shop:1") if h.kind == "call"]
    assert call.summary.startswith("call: ") and call.summary.endswith(" — rang 5 times")
    assert _comments(desk) == [("1", f"anna: {call.summary}")]
    assert "in the order's comments at the source too" in result.output


def test_a_refused_comment_costs_a_note_not_the_outcome(desk):
    desk.add(make_order("1"), task_due=DUE)
    desk.source.fail_next(Temporary("shop", "down for maintenance"))
    result = desk("outcome shop:1 thinking -m anna")
    assert "not added to the comments at the source: shop: down for maintenance" in result.output
    assert [h.data["outcome"] for h in desk.history("shop:1") if h.kind == "call"] == ["thinking"]
    assert _comments(desk) == []


def test_comments_to_source_false_keeps_them_in_unpaid(desk):
    write_config(desk.root, "[desk]\ncomments_to_source = false\n")
    desk.add(make_order("1"), task_due=DUE)
    desk("outcome shop:1 thinking -m anna")
    assert _comments(desk) == [] and [h.kind for h in desk.history("shop:1")][-1] == "call"
