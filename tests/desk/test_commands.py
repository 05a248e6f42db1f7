"""The desk through the CLI: a real store file, the memory source and an outbox channel."""

from dataclasses import replace
from datetime import timedelta

import pytest

from unpaid.clock import from_iso
from unpaid.model import Status
from tests.desk.conftest import NOW, make_order

DUE = NOW - timedelta(hours=1)


def kinds(desk, order_id):
    return [(h.actor, h.kind) for h in desk.history(order_id)]


def ledger(desk, order_id):
    with desk.store() as store:
        return [(e.step, e.state) for e in store.ledger.for_order(order_id)]


def test_queue_counts_the_day_pages_and_sorts(desk):
    desk.add(*(make_order(str(i), age=timedelta(days=10 - i)) for i in range(5)), task_due=DUE)
    desk.add(make_order("later"), task_due=NOW + timedelta(hours=5))
    desk.add(make_order("paid", status=Status.PAID), task_due=DUE)
    desk.add(make_order("no-task"))
    result = desk("queue --limit 2 --page 2", fmt="json")
    assert result.stderr.startswith("Today: 6 orders to call; 5 due now; showing 3–4")
    assert [r["order_id"] for r in result.json()] == ["shop:2", "shop:1"]  # newest first, page 2
    assert [r["position"] for r in result.json()] == [3, 4]
    assert [r["order_id"] for r in desk.queue(args="--sort oldest")][:2] == ["shop:0", "shop:1"]
    row = desk.queue()[0]
    assert (row["phone"], row["script"], row["calls"], row["offer"]) == ("+380671234567", "Say hello", 0, None)
    tomorrow = desk.queue(args="--date tomorrow")
    assert "shop:later" in [r["order_id"] for r in tomorrow]


def test_take_claims_sets_in_work_and_a_second_manager_is_refused(desk):
    desk.add(make_order("1"), task_due=DUE)
    out = desk("take shop:1 --manager anna").stdout
    assert "held by       anna until 2026-11-24 11:00" in out and "+380671234567" in out
    assert desk.source.orders["1"].status is Status.IN_WORK
    refused = desk("take shop:1 --manager bob", code=1)
    assert refused.stderr.startswith("Error: shop:1 is taken by anna until 2026-11-24 11:00")
    assert desk.queue(args="--manager bob") == []
    assert [r["order_id"] for r in desk.queue(args="--manager anna")] == ["shop:1"]
    # the lease runs out: bob may take it
    desk("take shop:1 --manager bob", now=NOW + timedelta(hours=2, minutes=1))
    assert kinds(desk, "shop:1") == [("manager:anna", "status"), ("manager:anna", "claim"),
                                     ("manager:bob", "claim")]
    assert ("claim", "done") in ledger(desk, "shop:1")


def test_release_and_next(desk):
    desk.add(make_order("old", age=timedelta(days=9)), make_order("new", age=timedelta(days=8)), task_due=DUE)
    desk("next --manager anna")
    desk("next --manager bob")
    with desk.store() as store:
        held = {c.order_id: c.manager for c in store.claims.held(NOW).values()}
    assert held == {"shop:new": "anna", "shop:old": "bob"}
    assert desk("next --manager carol", code=2).stderr.startswith("Error: the queue is empty")
    desk("release shop:new --manager bob", code=1)
    assert "released" in desk("release shop:new --manager anna").stdout
    assert desk("next --manager carol").stdout.startswith("order         shop:new")


def test_a_finished_order_cannot_be_taken_and_nothing_changes(desk):
    desk.add(make_order("1", status=Status.PAID), task_due=DUE)
    result = desk("take shop:1 --manager anna", code=2)
    assert result.stderr == "Error: shop:1 is Completed: there is nothing to call about — take an order from " \
                            "`unpaid queue`\n"
    assert desk.history("shop:1") == [] and ledger(desk, "shop:1") == []


def test_a_source_failure_on_take_leaves_no_claim(desk):
    from unpaid.connector import Temporary

    desk.add(make_order("1"), task_due=DUE)
    desk.source.fail_next(Temporary("shop", "timeout"))
    desk("take shop:1 --manager anna", code=3)
    with desk.store() as store:
        assert store.claims.get("shop:1", NOW) is None
    assert desk.history("shop:1") == []


def test_a_source_missing_from_the_config_leaves_no_claim_on_take_or_next(desk):
    """`next` claimed the order, then found no connector for its source (removed from the config): exit 2, no
    card shown, and the order stayed held by anna for the lease, out of every manager's queue."""
    desk.add(replace(make_order("7"), source="old"), task_due=DUE)
    for args in ("take old:7 --manager anna", "next --manager anna"):
        result = desk(args, code=2)
        assert "cannot reach the source of old:7" in result.stderr
        with desk.store() as store:
            assert store.claims.get("old:7", NOW) is None, args
    assert desk.history("old:7") == []
    assert [row["order_id"] for row in desk.queue(args="--manager bob")] == ["old:7"]


@pytest.mark.parametrize("args, expected", [
    ("outcome shop:1 hung_up -m anna", "Error: OUTCOME: unknown call outcome 'hung_up'"),
    ("outcome shop:1 refused -m anna", "Error: refused needs --reason"),
    ("outcome shop:1 callback --at 2026-11-24T08:00 -m anna", "Error: --at 2026-11-24 08:00 is in the past"),
    ("outcome shop:1 promised -m anna", "Error: promised needs --on DATE"),
    ("outcome shop:1 no_answer", "Error: --manager is missing"),
    ("edit shop:1 --phone 12 -m anna", "Error: --phone '12' is not a phone number"),
    ("edit shop:1 --email anna@ -m anna", "Error: --email 'anna@' is not an e-mail address"),
    ("postpone shop:1 --until 2026-11-20 -m anna", "Error: postponing to 2026-11-20 00:00, which is not in"),
    ("send shop:1 --template nope -m anna", "Error: template 'nope' not found"),
    ("send shop:1 --template bank_details --offer 120% -m anna", "Error: --offer '120%' is not a percent"),
    ("comment shop:1 '  ' -m anna", "Error: the comment is empty"),
    # Bytes that are not text (they arrive as surrogates) and control characters, refused before anything is done.
    ("comment shop:1 'ok\x07' -m anna", "Error: TEXT holds the control character U+0007 — remove it"),
    ("outcome shop:1 thinking --comment 'x\udcff' -m anna", "Error: --comment holds bytes that are not UTF-8 text"),
    ("outcome shop:1 refused --reason 'Too expensive\x1b' -m anna", "Error: --reason holds the control character"),
    ("outcome shop:1 no_answer -m 'an\x08na'", "Error: --manager holds the control character U+0008"),
    ("edit shop:1 --name '\udcff' -m anna", "Error: --name holds bytes that are not UTF-8 text"),
    ("edit shop:1 --address 'Kyiv\x7f' -m anna", "Error: --address holds the control character U+007F"),
])
def test_bad_input_is_one_line_and_changes_nothing(desk, args, expected):
    desk.add(make_order("1"), task_due=DUE)
    result = desk(args, code=2)
    [line] = result.stderr.splitlines()
    assert line.startswith(expected), line
    assert desk.history("shop:1") == [] and ledger(desk, "shop:1") == [] and desk.outbox() == []
    assert desk.source.calls == [] and desk.order("shop:1").status is Status.NEW


def test_an_unknown_refusal_reason_hints_at_what_outcome_takes(desk):
    desk.add(make_order("1"), task_due=DUE)
    result = desk("outcome shop:1 refused --reason bored -m anna", code=2)
    assert result.stderr == (
        "Error: --reason 'bored' is not one of the cancel reasons in the config — use one of: Too expensive, "
        "Changed mind, Bought elsewhere, No money now, Created by mistake, Not reachable, Expired — pick the "
        "nearest one and say more with --comment TEXT\n")
    # and the hint works: a listed reason with the detail in the comment
    desk("outcome shop:1 refused --reason 'no money now' --comment 'bored of the course' -m anna")
    assert desk.source.orders["1"].cancel_reason == "No money now"


def test_outcomes_change_the_source_write_history_and_move_the_task(desk):
    desk.add(make_order("1"), make_order("2"), make_order("3"), task_due=DUE)
    desk("take shop:1 -m anna")
    out = desk("outcome shop:1 refused --reason 'too expensive' --comment 'found cheaper' -m anna").stdout
    assert out.startswith("refused: Too expensive")
    src = desk.source.orders["1"]
    assert (src.status, src.cancel_reason) == (Status.CANCELLED, "Too expensive")
    call = [h for h in desk.history("shop:1") if h.kind == "call"][0]
    assert (call.actor, call.data["outcome"], call.data["comment"]) == ("manager:anna", "refused", "found cheaper")
    assert not call.automatic
    assert desk.queue() and "shop:1" not in [r["order_id"] for r in desk.queue()]
    # callback: the same manager gets it back at that time, nobody else
    desk("outcome shop:2 callback --at 18:30 -m anna")
    evening = NOW.replace(hour=18, minute=31)
    assert "shop:2" in [r["order_id"] for r in desk.queue(evening, "--manager anna")]
    assert "shop:2" not in [r["order_id"] for r in desk.queue(evening, "--manager bob")]
    assert "shop:2" not in [r["order_id"] for r in desk.queue(NOW.replace(hour=18))]
    # duplicate -> False
    desk("outcome shop:3 duplicate -m bob")
    assert desk.source.orders["3"].status is Status.FALSE
    with desk.store() as store:
        from unpaid.store.tasks import Tasks

        assert Tasks(store).last_outcomes(["shop:1", "shop:2", "shop:3"])["shop:2"].outcome == "callback"


def test_an_outcome_on_someone_elses_order_is_a_conflict(desk):
    desk.add(make_order("1"), task_due=DUE)
    desk("take shop:1 -m anna")
    assert desk("outcome shop:1 no_answer -m bob", code=1).stderr.startswith("Error: shop:1 is taken by anna")


def test_promise_pauses_playbooks_and_caps_postponement(desk):
    from unpaid.store.enrollments import Enrollments

    desk.add(make_order("1"), task_due=DUE)
    with desk.store() as store:
        Enrollments(store).enter("shop:1", "pb", None, DUE, DUE)
    desk("outcome shop:1 promised --on 2026-11-26 -m anna --comment 'salary on Thursday'")
    assert desk.source.orders["1"].status is Status.PAYMENT_WAITING
    with desk.store() as store:
        assert Enrollments(store).get("shop:1", "pb").paused_until == NOW.replace(day=26)
    too_late = desk("postpone shop:1 --days 7 -m anna", code=2)
    assert "was promised for 2026-11-26; postponing to 2026-12-01 09:00 is too late" in too_late.stderr
    desk("postpone shop:1 --days 3 -m anna")
    desk("postpone shop:1 --days 7 --force -m anna")
    assert desk.queue(NOW + timedelta(days=6)) == []
    assert [r["order_id"] for r in desk.queue(NOW + timedelta(days=7))] == ["shop:1"]
    assert [h.kind for h in desk.history("shop:1")] == ["status", "call", "postpone", "postpone"]


def test_no_answer_until_given_up_sends_a_message_and_sets_not_confirmed(desk):
    from tests.desk.conftest import write_config

    write_config(desk.root, "[desk]\nattempts = 3\n")
    desk.add(make_order("1"), task_due=DUE)
    t = NOW
    for expected_next in ("2026-11-24 12:00", "2026-11-25 15:00"):
        out = desk("outcome shop:1 no_answer -m anna", now=t).stdout
        assert expected_next in out
        [row] = desk.queue(t + timedelta(days=2))
        t = from_iso(row["due_at"])
    out = desk("outcome shop:1 voicemail -m anna", now=t).stdout
    assert "given up, Not confirmed" in out and "sent unreachable via email to olena@example.com" in out
    assert desk.source.orders["1"].status is Status.NOT_CONFIRMED
    [mail] = desk.outbox()
    assert mail["subject"] == "We could not reach you about order N1"
    assert desk.queue(t + timedelta(days=5)) == []


def test_comment_and_edit_reach_the_source(desk):
    desk.add(make_order("1"), task_due=DUE)
    assert "added in the source" in desk("comment shop:1 'asked to call\tafter 18:00\nor later' -m anna").stdout
    assert ("add_comment", ("1", "asked to call\tafter 18:00\nor later")) in desk.source.calls
    assert desk.queue()[0]["last_comment"] == "asked to call\tafter 18:00\nor later"
    desk("edit shop:1 --phone '067 765 43 21' --email Olena.K@Example.com --address 'Kyiv, 1 Main St' -m anna")
    src = desk.source.orders["1"].customer
    assert (src.phone, src.email) == ("+380677654321", "olena.k@example.com")
    order = desk.order("shop:1")
    assert (order.customer.phone, order.customer.key, order.extra["address"]) == (
        "+380677654321", "olena.k@example.com", "Kyiv, 1 Main St")
    edit = desk.history("shop:1")[-1]
    assert edit.kind == "edit" and edit.data["changes"]["phone"] == {"from": "+380671234567", "to": "+380677654321"}
    assert sorted(ledger(desk, "shop:1")) == [("comment", "done"), ("comment:push", "done"), ("edit", "done"),
                                              ("edit:push", "done")]


def test_send_records_the_message_and_offer_and_counts_for_the_cap(desk):
    desk.add(make_order("1"), task_due=DUE)
    out = desk("send shop:1 --template bank_details --offer 25% --offer-kind bonus -m anna").stdout
    assert out == "shop:1: sent bank_details via email to olena@example.com with a 25% offer\n"
    [mail] = desk.outbox()
    assert "Bonus: 25% bonus." in mail["body"]
    assert desk.queue()[0]["offer"]["percent"] == 25
    with desk.store() as store:
        from unpaid.store.contacts import Contacts

        assert len(Contacts(store).since("olena@example.com", NOW - timedelta(days=1))) == 1
        [entry] = store.ledger.for_order("shop:1")
        assert (entry.playbook, entry.step, entry.state) == ("desk", "send:bank_details", "done")
    lower = desk("send shop:1 --template bank_details --offer 15% -m anna")
    assert "offers only go up" in lower.stderr
    assert [h.kind for h in desk.history("shop:1")] == ["offer", "message", "message"]
    show = desk("show shop:1").stdout
    assert "manager:anna" in show and "sent bank_details via email" in show and "offer: 25% bonus" in show


def test_an_opted_out_customer_gets_no_manual_message(desk):
    with desk.store() as store:
        from unpaid.store.optouts import OptOuts

        OptOuts(store).add("olena@example.com", "user:x", NOW)
    desk.add(make_order("1"), task_due=DUE)
    assert "asked not to be contacted" in desk("send shop:1 --template bank_details -m anna", code=1).stderr
    assert desk.outbox() == []
