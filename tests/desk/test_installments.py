"""`outcome installments`: recorded, the call stays open a day on, its message only when set up."""

from datetime import datetime, timedelta, timezone

from tests.desk.conftest import NOW, make_order, write_config

DUE = NOW - timedelta(hours=1)
UTC = timezone.utc


def open_tasks(desk, order_id="shop:1"):
    from unpaid.store.desk import DeskStore

    with desk.store() as store:
        return DeskStore(store).open_tasks(order_id)


def test_without_a_template_the_call_is_recorded_and_nothing_is_sent(desk):
    desk.add(make_order("1"), task_due=DUE)
    desk("take shop:1 -m anna")
    result = desk("outcome shop:1 installments --comment '3 payments?' -m anna")
    assert result.stdout == "wants installments; next call 2026-11-25 09:00\n"
    assert "no installments message sent: create installments.txt" in result.stderr
    assert desk.outbox() == []
    [task] = open_tasks(desk)
    assert task.due_at == NOW + timedelta(days=1)
    [call] = [h for h in desk.history("shop:1") if h.kind == "call"]
    assert call.data["outcome"] == "installments" and call.summary.endswith("— 3 payments?")
    assert desk.queue(NOW + timedelta(hours=23)) == []
    assert [r["order_id"] for r in desk.queue(NOW + timedelta(days=1))] == ["shop:1"]
    assert desk.order("shop:1").status.value == "in_work"  # nothing changed at the source


def test_with_a_template_the_message_goes_out_and_days_move_the_call(desk):
    (desk.root / "templates" / "installments.txt").write_text(
        "Subject: Installments for {{ order.number }}\n\nWe will call you with the terms.\n", encoding="utf-8")
    desk.add(make_order("1"), task_due=DUE)
    out = desk("outcome shop:1 installments --days 3 -m anna").stdout
    assert out.splitlines() == ["wants installments; next call 2026-11-27 09:00",
                                "shop:1: sent installments via email to olena@example.com"]
    [mail] = desk.outbox()
    assert mail["subject"] == "Installments for N1"
    assert open_tasks(desk)[0].due_at == datetime(2026, 11, 27, 9, 0, tzinfo=UTC)


def test_a_template_named_in_the_config_but_missing_is_a_warning_and_exit_1(desk):
    write_config(desk.root, "[desk.templates]\ninstallments = \"rassrochka\"\n")
    desk.add(make_order("1"), task_due=DUE)
    result = desk("outcome shop:1 installments -m anna", code=1)
    assert "message 'rassrochka' not sent: template 'rassrochka' not found" in result.stderr
    assert open_tasks(desk)[0].due_at == NOW + timedelta(days=1)  # the call is recorded all the same


def test_a_playbook_condition_reads_installments():
    from unpaid.playbook.conditions import parse_condition

    assert parse_condition("last_outcome == installments").value == "installments"
