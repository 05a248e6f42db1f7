"""Pure mapping: statuses both ways, export rows by column title, Tech API deals."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from unpaid.connector import Reject
from unpaid.model import Status
from unpaid_getcourse.mapping import (
    STATUSES, RowReader, cost_column, deal_to_order, status_code, to_canonical, to_native, truthy,
)

MSK = ZoneInfo("Europe/Moscow")
FIELDS = ["ID заказа", "Номер", "ID пользователя", "Пользователь", "Email", "Телефон", "Дата создания",
          "Дата оплаты", "Title", "Статус", "Стоимость, USD", "Оплачено", "Источник", "Причина отказа"]


def row(**cells):
    base = {"ID заказа": "11", "Номер": "501", "ID пользователя": "9", "Пользователь": "Анна", "Email": "A@x.ru",
            "Телефон": "8 999 123-45-67", "Дата создания": "2026-03-01 12:00:00", "Дата оплаты": "",
            "Title": "Курс", "Статус": "Новый", "Стоимость, USD": "12\u00a0000,50", "Оплачено": "0.00",
            "Источник": "vk", "Причина отказа": ""}
    base.update(cells)
    return [base[f] for f in FIELDS]


def test_ten_codes_map_both_ways():
    assert len(STATUSES) == 10
    for code in STATUSES:
        if code not in ("pending", "waiting_for_return"):
            assert to_native(to_canonical(code)) == code
    assert to_canonical("pending") is Status.IN_WORK
    assert to_canonical("waiting_for_return") is Status.REFUNDED


@pytest.mark.parametrize("label, code", [("Завершен", "payed"), ("завершён", "payed"), ("Pending refund",
                         "waiting_for_return"), ("Отложен", "pending"), ("false", "false"), ("Ложный", "false")])
def test_labels_in_russian_english_and_codes(label, code):
    assert status_code(label) == code


def test_unknown_status_lists_the_known_labels():
    with pytest.raises(ValueError, match="unknown status 'Архив' .known: Новый"):
        status_code("Архив")


def test_a_row_is_read_by_title_with_the_currency_from_the_cost_title():
    order = RowReader("gc", FIELDS, MSK).read(row())
    assert order.native_id == "11" and order.number == "501"
    assert order.total.minor == 1200050 and order.total.currency == "USD"
    assert order.created_at.isoformat() == "2026-03-01T09:00:00+00:00"
    assert order.customer.email == "a@x.ru" and order.customer.phone == "+79991234567"
    assert order.status is Status.NEW and order.native_status == "new" and order.paid is None


def test_columns_may_move():
    moved = ["Источник"] + [f for f in FIELDS if f != "Источник"]
    cells = dict(zip(FIELDS, row(**{"Статус": "Отменен", "Причина отказа": "Дорого"})))
    order = RowReader("gc", moved, MSK).read([cells[f] for f in moved])
    assert order.status is Status.CANCELLED and order.cancel_reason == "Дорого"


@pytest.mark.parametrize("cells, column", [({"Дата создания": "31.02.2026"}, "Дата создания"),
                                           ({"Дата оплаты": "вчера"}, "Дата оплаты"),
                                           ({"Стоимость, USD": "много"}, "Стоимость, USD"),
                                           ({"Статус": "Архив"}, "Статус")])
def test_bad_cells_are_rejects_naming_deal_and_column(cells, column):
    result = RowReader("gc", FIELDS, MSK).read(row(**cells))
    assert isinstance(result, Reject) and result.where == "deal 11" and column in result.reason


def test_a_header_without_the_id_column_is_refused():
    with pytest.raises(ValueError, match="no column 'ID заказа'"):
        RowReader("gc", FIELDS[1:], MSK)


def test_cost_column_without_currency():
    assert cost_column(["Стоимость"]) == ("Стоимость", None)
    assert cost_column(["Стоимость, RUB"]) == ("Стоимость, RUB", "RUB")


def test_booleans_arrive_in_many_spellings():
    assert all(truthy(v) for v in (True, 1, "1", "true", "Да"))
    assert not any(truthy(v) for v in (False, 0, "0", "false", "", None))


def test_tech_api_deal():
    deal = {"id": 5, "user_id": 9, "number": "77", "created_at": "2026-03-01 12:00:00", "cost": "4990.00",
            "currency": "RUB", "status": "cancelled", "is_payed": "0", "title": "Курс", "payed_value": "0",
            "cancel_reason_comment": "Дорого"}
    order = deal_to_order("gc", deal, {"email": "b@x.ru", "first_name": "Борис"}, MSK)
    assert (order.native_id, order.status, order.total.minor, order.cancel_reason) == ("5", Status.CANCELLED,
                                                                                      499000, "Дорого")
    assert order.customer.key == "b@x.ru" and order.customer.name == "Борис"


# ---- control characters from the source never reach the store ----

def test_line_breaks_and_terminal_escapes_in_an_export_row_are_neutralised():
    order = RowReader("gc", FIELDS, MSK).read(row(**{
        "Пользователь": "\x1b[31mАнна\x1b[0m\r\nBcc: all@x.ru", "Email": "a@x.ru\r\nBcc: all@x.ru",
        "Title": "Курс\u202eevil", "Номер": "5\n01", "Причина отказа": "x"}))
    assert order.customer.email is None and order.customer.phone == "+79991234567"  # unreadable e-mail dropped
    assert order.customer.name == "[31mАнна [0m Bcc: all@x.ru"
    assert order.items[0].title == "Курс evil" and order.number == "5 01"
    rejected = RowReader("gc", FIELDS, MSK).read(row(**{"ID заказа": "1\r\n2"}))
    assert isinstance(rejected, Reject) and "control characters" in rejected.reason


def test_a_tech_api_deal_with_control_characters():
    deal = {"id": 5, "created_at": "2026-03-01 12:00:00", "cost": "1", "status": "cancelled", "title": "К\x1b]0;x\x07",
            "number": "7\r7", "cancel_reason_comment": "Дорого\r\nи долго", "payment_link": "https://p/\n1"}
    order = deal_to_order("gc", deal, {"email": "b@x.ru\nBcc: c@x.ru", "first_name": "Бо\x1bрис"}, MSK)
    assert order.customer.email is None and order.customer.name == "Бо рис"
    assert (order.items[0].title, order.number, order.cancel_reason, order.payment_link) == (
        "К ]0;x", "7 7", "Дорого и долго", "https://p/ 1")
    with pytest.raises(ValueError, match="control characters"):
        deal_to_order("gc", dict(deal, id="5\n6"), None, MSK)
