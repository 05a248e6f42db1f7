"""Rows, dates, incremental edits and atomic write-back of the CSV connector, on real files."""

from __future__ import annotations

import os

import pytest

from unpaid.connector import InvalidData, NotFound, Temporary
from unpaid.model import Status

from .conftest import DEMO_HEADER, build, write_csv


def row(native_id, status="new", created="2026-11-20T10:00:00+03:00", email="a@example.com", amount="4990.00",
        reason=""):
    return [native_id, f"A-{native_id}", created, status, "Анна", email, "", "course-1", "Курс", amount, "RUB",
            "", "", reason]


def fetch(connector, since=None):
    pages = list(connector.fetch_orders(since))
    orders = [o for p in pages for o in p.orders]
    return orders, [r for p in pages for r in p.rejects], (pages[-1].bookmark if pages else since)


def test_bad_rows_are_rejected_with_file_line_and_good_rows_kept(tmp_path):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [
        row("1"), row(""), row("3", created="31.02.2026"), row("4", amount="dozen"), row("5", status="Ждём"),
        row("6", email=""), row("7"),
    ])
    orders, rejects, _ = fetch(build(path))
    assert [o.native_id for o in orders] == ["1", "7"]
    assert [(r.where, r.reason.split(" —")[0]) for r in rejects] == [
        ("orders.csv:3", "column 'id': empty order id"),
        ("orders.csv:4", "column 'created_at': not a date: '31.02.2026'"),
        ("orders.csv:5", "column 'amount': not an amount: 'dozen'"),
        ("orders.csv:6", "column 'status': unknown status 'Ждём'"),
        ("orders.csv:7", "no usable e-mail or phone, so the customer cannot be told apart"),
    ]
    # The hint lists the statuses instead of guessing an unpaid one.
    assert "add it to [sources.shop.statuses] with the status it means, one of: new, in_work" in rejects[3].reason
    assert "= \"in_work\"" not in rejects[3].reason


def test_reject_names_the_first_line_of_a_multi_line_record(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("id,status,created,email,product,amount\n"
                    '1,new,2026-01-01,a@x.io,"two\nlines",1\n'
                    "2,new,bad date,a@x.io,x,1\n", encoding="utf-8")
    _, [reject], _ = fetch(build(path))
    assert reject.where == "orders.csv:4"


def test_configured_statuses_map_reads_and_writes_native_labels(tmp_path):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1", status="Ждём звонка")])
    connector = build(path, statuses={"Ждём звонка": "in_work", "Деньги пришли": "paid"})
    [order], _, _ = fetch(connector)
    assert (order.status, order.native_status) == (Status.IN_WORK, "Ждём звонка")
    connector.push_status("1", Status.PAID)
    assert connector.fetch_order("1").native_status == "Деньги пришли"


@pytest.mark.parametrize("text, tz, expected", [
    ("2026-11-24T10:00:00+03:00", "UTC", "2026-11-24T07:00:00+00:00"),
    ("2026-11-24T07:00:00Z", "Europe/Moscow", "2026-11-24T07:00:00+00:00"),
    ("2026-11-24 10:00:00", "Europe/Moscow", "2026-11-24T07:00:00+00:00"),
    ("24.11.2026 10:00", "Europe/Moscow", "2026-11-24T07:00:00+00:00"),
    ("24.11.2026", "UTC", "2026-11-24T00:00:00+00:00"),
    ("24/11/2026 10:00:00", "Europe/Kyiv", "2026-11-24T08:00:00+00:00"),
    ("Nov 24 2026 10:00 AM", "UTC", "2026-11-24T10:00:00+00:00"),
])
def test_date_formats_and_the_configured_timezone(tmp_path, text, tz, expected):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1", created=text)])
    [order], _, _ = fetch(build(path, _timezone=tz))
    assert order.created_at.isoformat() == expected


def test_explicit_date_format_reads_us_dates(tmp_path):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1", created="11/24/2026")])
    [order], _, _ = fetch(build(path, date_format="%m/%d/%Y"))
    assert order.created_at.date().isoformat() == "2026-11-24"


def test_edits_in_the_file_are_picked_up_by_the_next_sync_and_nothing_else(tmp_path):
    rows = [row(str(n)) for n in range(1, 41)]
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, rows)
    connector = build(path, page_size=5)
    first, _, bookmark = fetch(connector)
    assert len(first) == 40
    assert fetch(connector, bookmark)[0] == []

    rows[20] = row("21", status="paid")          # edited in the middle
    rows.insert(0, row("100", status="new"))     # a newest-first export puts new orders on top
    write_csv(path, DEMO_HEADER, rows)
    changed, _, bookmark = fetch(connector, bookmark)
    by_id = {o.native_id: o for o in changed}
    assert by_id["21"].status is Status.PAID and "100" in by_id
    assert len(changed) < 20, "only the blocks around the two edits are read again"
    assert fetch(connector, bookmark)[0] == []


def test_a_changed_mapping_setting_reads_everything_again(tmp_path):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1"), row("2")])
    _, _, bookmark = fetch(build(path))
    again, _, _ = fetch(build(path, currency="USD"), bookmark)
    assert len(again) == 2


def test_rejected_rows_are_reported_again_until_fixed(tmp_path):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1", amount="x")])
    connector = build(path)
    _, rejects, bookmark = fetch(connector)
    assert len(rejects) == 1
    _, rejects, bookmark = fetch(connector, bookmark)
    assert len(rejects) == 1
    write_csv(path, DEMO_HEADER, [row("1", amount="10")])
    [order], rejects, _ = fetch(connector, bookmark)
    assert rejects == [] and order.total.minor == 1000


def test_write_back_preserves_bytes_of_every_other_row_bom_crlf_and_encoding(tmp_path):
    path = tmp_path / "orders.csv"
    original = ("\ufeffНомер заказа;Статус;Дата создания;Почта;Сумма;Причина отказа;Комментарий\r\n"
                '1;Новый;24.11.2026 10:00;a@x.io;"4 990,00";;"кавычки ""внутри"""\r\n'
                "2;В работе;24.11.2026 11:00;b@x.io;100;;\r\n"
                '3;Новый;24.11.2026 12:00;c@x.io;5;;"много\r\nстрок"')
    path.write_bytes(original.encode("utf-8"))
    connector = build(path)
    connector.push_status("2", Status.CANCELLED, "Дорого; подумает")
    data = path.read_bytes().decode("utf-8")
    assert data == original.replace("2;В работе;24.11.2026 11:00;b@x.io;100;;",
                                    '2;Отменен;24.11.2026 11:00;b@x.io;100;"Дорого; подумает";')
    connector.push_status("3", Status.PAID)
    assert path.read_bytes().decode("utf-8").endswith('3;Завершен;24.11.2026 12:00;c@x.io;5;;"много\r\nстрок"')
    assert connector.fetch_order("2").cancel_reason == "Дорого; подумает"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".orders.csv.lock", "orders.csv"]  # no temporary file


def test_write_back_keeps_windows_1251_and_canonical_codes(tmp_path):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1"), row("2")], encoding="cp1251")
    connector = build(path)
    connector.update_contact("2", name="Ёлкина Ольга", phone="+79990001122")
    connector.push_status("2", Status.PAYMENT_WAITING)
    text = path.read_bytes().decode("cp1251")
    assert "2,A-2,2026-11-20T10:00:00+03:00,payment_waiting,Ёлкина Ольга,a@example.com,+79990001122," in text
    with pytest.raises(InvalidData, match="cannot be written in Windows-1251"):
        connector.update_contact("1", name="Anna 🙂")
    assert path.read_bytes().decode("cp1251") == text


def test_a_crash_during_write_back_leaves_the_file_intact(tmp_path, monkeypatch):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1"), row("2")])
    before = path.read_bytes()

    def crash(src, dst):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", crash)
    with pytest.raises(Temporary, match="cannot write orders.csv: No space left on device — free disk space"):
        build(path).push_status("1", Status.PAID)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == [".orders.csv.lock", "orders.csv"]


def test_write_back_of_an_unknown_order_or_missing_column(tmp_path):
    header = [h for h in DEMO_HEADER if h != "phone"]
    path = write_csv(tmp_path / "orders.csv", header, [[v for i, v in enumerate(row("1")) if i != 6]])
    connector = build(path)
    with pytest.raises(NotFound, match="order 9 is not in orders.csv"):
        connector.push_status("9", Status.PAID)
    with pytest.raises(InvalidData, match="has no phone column"):
        connector.update_contact("1", phone="+79990001122")


def test_set_manager_writes_the_manager_column_and_a_file_without_one_says_so(tmp_path):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1"), row("2")])
    connector = build(path)
    connector.set_manager("2", "Ольга")
    assert connector.fetch_order("2").manager == "Ольга" and connector.fetch_order("1").manager != "Ольга"
    header = [h for h in DEMO_HEADER if h != "manager"]
    where = DEMO_HEADER.index("manager")
    bare = write_csv(tmp_path / "bare.csv", header, [[v for i, v in enumerate(row("1")) if i != where]])
    with pytest.raises(InvalidData, match="has no manager column"):
        build(bare).set_manager("1", "Ольга")
