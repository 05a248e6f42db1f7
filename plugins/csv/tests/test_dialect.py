"""Encoding and delimiter sniffing, header aliases and column errors, on real files."""

from __future__ import annotations

import pytest

from unpaid.connector import InvalidData, Temporary
from unpaid.model import Status

from .conftest import build

RU_HEADER = "Номер заказа;Статус;Дата создания;ФИО;Телефон;Стоимость\r\n"
RU_ROW = "17;Ожидаем оплаты;24.11.2026 10:30;Анна Иванова;8 (999) 123-45-67;4 990,00\r\n"


def fetch(path, **settings):
    connector = build(path, **settings)
    pages = list(connector.fetch_orders(None))
    return [o for p in pages for o in p.orders], [r for p in pages for r in p.rejects]


def test_windows_1251_with_semicolons_crlf_and_russian_headers(tmp_path):
    path = tmp_path / "export.csv"
    path.write_bytes((RU_HEADER + RU_ROW).encode("cp1251"))
    [order], rejects = fetch(path, _timezone="Europe/Moscow")
    assert rejects == []
    assert (order.native_id, order.status, order.native_status) == ("17", Status.PAYMENT_WAITING, "Ожидаем оплаты")
    assert order.customer.name == "Анна Иванова" and order.customer.phone == "+79991234567"
    assert order.total.minor == 499000
    assert order.created_at.isoformat() == "2026-11-24T07:30:00+00:00"  # 10:30 Moscow


@pytest.mark.parametrize("bom", [b"", b"\xef\xbb\xbf"])
@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_utf8_with_or_without_bom_and_any_delimiter(tmp_path, bom, delimiter):
    rows = [["id", "status", "created", "email", "product", "amount"],
            ["5", "Новый", "2026-11-24T10:00:00+03:00", "Ann@Example.com", "Курс, поток 3", "12 000,50"]]
    text = "\n".join(delimiter.join(f'"{v}"' if delimiter in v or "," in v else v for v in r) for r in rows)
    path = tmp_path / "o.csv"
    path.write_bytes(bom + text.encode("utf-8"))
    [order], _ = fetch(path)
    assert (order.native_id, order.status, order.customer.email) == ("5", Status.NEW, "ann@example.com")
    assert order.items[0].title == "Курс, поток 3" and order.total.minor == 1200050


def test_ascii_header_then_windows_1251_rows_is_read_as_windows_1251(tmp_path):
    path = tmp_path / "o.csv"
    path.write_bytes(b"id;status;date;email;amount\n1;new;2026-01-02;a@x.io;1\n"
                     + "2;Отменен;2026-01-03;b@x.io;2\n".encode("cp1251"))
    orders, _ = fetch(path)
    assert [o.status for o in orders] == [Status.NEW, Status.CANCELLED]


def test_utf8_file_with_a_windows_1251_line_names_the_line(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes("id,status,date,email,amount\n1,Новый,2026-01-02,a@x.io,1\n".encode("utf-8")
                     + "2,Новый,2026-01-03,b@x.io,2\n".encode("cp1251"))
    with pytest.raises(InvalidData) as info:
        fetch(path)
    message = str(info.value)
    assert "mixed.csv:3" in message and "line 2 is UTF-8" in message and "mixes encodings" in message
    assert "CSV UTF-8" in info.value.fix


def test_windows_1251_file_with_a_utf8_line_names_the_line(tmp_path):
    path = tmp_path / "mixed.csv"
    path.write_bytes("id;Статус;date;email;amount\n".encode("cp1251")
                     + "1;Новый;2026-01-02;a@x.io;1\n".encode("utf-8"))
    with pytest.raises(InvalidData, match=r"mixed.csv:2: the line is UTF-8, but line 1 is Windows-1251"):
        fetch(path)


def test_forced_encoding_is_used(tmp_path):
    path = tmp_path / "o.csv"
    path.write_bytes("id,status,date,email,amount\n1,Новый,2026-01-02,a@x.io,1\n".encode("cp1251"))
    [order], _ = fetch(path, encoding="windows-1251")
    assert order.status is Status.NEW


@pytest.mark.parametrize("header, contact", [
    ("Order ID,State,Order date,E-mail,Total", "a@x.io"),
    ("ID заказа,Статус,Дата создания,Почта,Сумма", "a@x.io"),
    ("номер,статус,дата,телефон,стоимость", "+79990000001"),
    ("ID,Status,Created_At,Phone,Amount", "+79990000001"),
])
def test_header_aliases_in_english_and_russian(tmp_path, header, contact):
    path = tmp_path / "o.csv"
    path.write_text(header + f"\n9,paid,2026-01-02,{contact},10\n", encoding="utf-8")
    [order], rejects = fetch(path)
    assert rejects == []
    assert (order.native_id, order.status, order.total.minor, order.customer.key) == ("9", Status.PAID, 1000, contact)


def test_configured_columns_win_over_aliases(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("Заказ №,Этап,Когда,Клиент,Деньги,Email\n9,В работе,2026-01-02,Ann,10,a@x.io\n",
                    encoding="utf-8")
    columns = {"id": "Заказ №", "status": "Этап", "created": "Когда", "name": "Клиент", "amount": "Деньги"}
    [order], _ = fetch(path, columns=columns)
    assert (order.native_id, order.status, order.customer.name) == ("9", Status.IN_WORK, "Ann")


def test_missing_required_column_names_file_column_headers_and_fix(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("Номер заказа,Статус,Почта,Сумма\n1,new,a@x.io,1\n", encoding="utf-8")
    with pytest.raises(InvalidData) as info:
        fetch(path)
    assert "o.csv has no created column" in str(info.value)
    assert "'Номер заказа', 'Статус', 'Почта', 'Сумма'" in str(info.value)
    assert "[sources.shop.columns]" in info.value.fix and 'created = "Дата создания"' in info.value.fix


def test_configured_column_that_is_not_in_the_file(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("id,status,date,email,amount\n", encoding="utf-8")
    with pytest.raises(InvalidData, match="has no column 'Дата'.*`created` in \\[sources.shop.columns\\]"):
        fetch(path, columns={"created": "Дата"})


@pytest.mark.parametrize("content", [b"", b"\n\n", b"\xef\xbb\xbf"])
def test_empty_file_is_a_clear_error(tmp_path, content):
    path = tmp_path / "empty.csv"
    path.write_bytes(content)
    with pytest.raises(InvalidData, match="empty.csv is empty"):
        fetch(path)


def test_header_only_file_has_no_orders(tmp_path):
    path = tmp_path / "o.csv"
    path.write_text("id,status,date,email,amount\n", encoding="utf-8")
    assert fetch(path) == ([], [])


def test_missing_file_names_the_path_and_the_setting(tmp_path):
    with pytest.raises(Temporary, match="nope.csv does not exist") as info:
        fetch(tmp_path / "nope.csv")
    assert "[sources.shop]" in info.value.fix
