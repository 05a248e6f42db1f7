"""The pure native <-> canonical translation."""

from datetime import datetime, timezone
from zoneinfo import ZoneInfo

import pytest

from unpaid.model import Status
from unpaid_autoweboffice.mapping import (
    STATUS_FROM_NATIVE, MappingError, line_from_native, native_status_for, order_from_native, parse_date,
)

MSK = ZoneInfo("Europe/Moscow")


def invoice(**over):
    row = {"id_account": "370225", "account_number": "302", "id_contact": "217", "id_account_status": "1",
           "account_sum": "1340", "date_of_order": "2019-04-03 11:36:58", "date_of_payment": "0000-00-00 00:00:00",
           "account_status_change_date": "2019-04-03 11:36:58", "email": " X@Example.ru ", "phone_number": "8 916 123-45-67",
           "name": "Анна", "last_name": "Смирнова", "deleted": "0",
           "link_for_pay": "https://acme.autoweboffice.ru/?r=ordering/cart/s2&id=370225&vc=123"}
    row.update(over)
    return row


def line(**over):
    row = {"id_account_line": "9", "id_account": "370225", "id_goods": "11", "goods": "Курс", "price": "670",
           "quantity": "2", "sum_price": "1340"}
    row.update(over)
    return row


def test_string_fields_and_local_times_become_typed_utc_values():
    lines = [line_from_native(line(), "RUB")]
    mapped = order_from_native("awo", invoice(), lines, zone=MSK)
    order = mapped.order
    assert order.id == "awo:370225" and order.number == "302"
    assert order.created_at == datetime(2019, 4, 3, 8, 36, 58, tzinfo=timezone.utc)
    assert order.total.minor == 134000 and order.status is Status.PAYMENT_WAITING and order.native_status == "1"
    assert order.customer.email == "x@example.ru" and order.customer.phone == "+79161234567"
    assert order.customer.name == "Анна Смирнова" and order.customer.native_id == "217"
    assert order.items[0].product_id == "11" and order.items[0].quantity == 2 and order.items[0].price.minor == 67000
    assert order.payment_link.endswith("vc=123") and order.paid_at is None
    assert mapped.warnings == []


def test_paid_invoice_keeps_its_payment_time():
    order = order_from_native("awo", invoice(id_account_status="5", date_of_payment="2019-04-03 12:01:51"),
                              [], zone=MSK).order
    assert order.status is Status.PAID and order.paid_at == datetime(2019, 4, 3, 9, 1, 51, tzinfo=timezone.utc)
    assert order.updated_at == order.paid_at


@pytest.mark.parametrize("native", sorted(STATUS_FROM_NATIVE))
def test_every_native_status_round_trips(native):
    assert native_status_for(STATUS_FROM_NATIVE[native]) == native


def test_soft_deleted_invoice_is_false_whatever_its_status():
    order = order_from_native("awo", invoice(deleted="1", id_account_status="1"), [], zone=MSK).order
    assert order.status is Status.FALSE and order.native_status == "1" and order.extra["deleted"] == "1"
    assert native_status_for(Status.FALSE) is None


def test_sum_that_does_not_match_the_lines_is_kept_with_a_warning():
    mapped = order_from_native("awo", invoice(account_sum="1500"), [line_from_native(line(), "RUB")], zone=MSK)
    assert mapped.order.total.minor == 150000
    assert "does not match its lines" in mapped.warnings[0] and "370225" in mapped.warnings[0]


def test_contact_without_email_is_kept_and_named():
    mapped = order_from_native("awo", invoice(email=""), [], zone=MSK)
    assert mapped.order.customer.email is None and mapped.order.customer.key == "+79161234567"
    assert "no e-mail" in mapped.warnings[0]


def test_contact_record_fills_what_the_snapshot_lacks():
    mapped = order_from_native("awo", invoice(email="", phone_number=""), [], zone=MSK,
                               contact={"email": "c@example.ru", "phone_number": "+7 999 000 11 22"})
    assert mapped.order.customer.email == "c@example.ru" and mapped.order.customer.phone == "+79990001122"


@pytest.mark.parametrize("field,value", [("date_of_order", "03.04.2019"), ("account_sum", "12 руб"),
                                         ("date_of_order", "0000-00-00 00:00:00"), ("id_account", "")])
def test_unreadable_fields_are_named(field, value):
    with pytest.raises(MappingError, match=field):
        order_from_native("awo", invoice(**{field: value}), [], zone=MSK)


def test_zero_and_empty_dates_are_none():
    assert parse_date("0000-00-00 00:00:00", MSK) is None and parse_date("", MSK) is None


def test_control_characters_from_the_source_are_neutralised_before_the_store():
    record = invoice(email="x@example.ru\r\nBcc: all@example.ru", name="\x1b[2JАнна", last_name="Смирнова\r",
                     id_account_status="2", account_number="30\n2",
                     account_comment="Позвонить\nОтказ: \x1b[31mдорого\x1b[0m")
    mapped = order_from_native("awo", record, [line_from_native(line(goods="Ку\x07рс"), "RUB")], zone=MSK)
    order = mapped.order
    assert order.customer.email is None and order.customer.phone == "+79161234567"
    assert "\\r\\n" in mapped.warnings[0]  # the warning shows the address escaped
    assert order.customer.name == "[2JАнна Смирнова" and order.number == "30 2"
    assert order.cancel_reason == "[31mдорого [0m"  # read from its own line, then cleaned
    assert order.extra["comment"] == "Позвонить Отказ: [31mдорого [0m" and order.items[0].title == "Ку рс"
    with pytest.raises(MappingError, match="control characters"):
        order_from_native("awo", invoice(id_account="37\n0"), [], zone=MSK)
