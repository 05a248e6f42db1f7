"""Reading a real shop's export: duplicate ids, broken quoting, bad cells, rejects remembered,
the reject limit, untouched files and orders that disappear from the file."""

from __future__ import annotations

import os
from datetime import datetime, timedelta, timezone

import pytest

from unpaid.connector import InvalidData, RejectLimit
from unpaid.model import Status
from unpaid.store import Store
from unpaid.sync import sync_source

from .conftest import DEMO_HEADER, build, write_csv

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
AT = {"_now": NOW.isoformat()}


def row(native_id, status="new", created="2026-11-20T10:00:00+03:00", email=None, amount="4990.00", name="Анна"):
    email = f"c{native_id}@example.com" if email is None else email
    return [native_id, f"A-{native_id}", created, status, name, email, "", "course-1", "Курс", amount, "RUB",
            "", "", ""]


def fetch(connector, since=None):
    pages = list(connector.fetch_orders(since))
    return [o for p in pages for o in p.orders], [r for p in pages for r in p.rejects], pages[-1]


@pytest.fixture(autouse=True, params=["kept", "read-again"])
def second_pass(request, monkeypatch):
    """Every test twice: with the first pass's orders kept for the second, and with them read again."""
    import unpaid_csv.reading as reading

    if request.param == "read-again":
        monkeypatch.setattr(reading, "KEEP", 2)


@pytest.fixture
def store(cli_db):
    with Store.open(cli_db) as opened:
        yield opened


def sync(store, connector, now=NOW):
    result = sync_source(store, connector, now)
    assert result.error is None, result.error
    return result


# ---- duplicate ids: the later row wins, on every kind of sync ----


def test_an_edit_near_the_earlier_duplicate_never_brings_a_paid_order_back(tmp_path, store):
    rows = [row("7", "new")] + [row(str(n)) for n in range(100, 400)] + [row("7", "paid")]
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, rows)
    connector = build(path, **AT)
    sync(store, connector)
    assert store.orders.get("shop:7").status is Status.PAID

    rows[1] = row("100", "in_work")  # the block holding the earlier "7" is read again
    write_csv(path, DEMO_HEADER, rows)
    result = sync(store, connector)
    assert store.orders.get("shop:7").status is Status.PAID
    assert [c.order_id for c in result.changes] == ["shop:100"], "no paid -> new -> paid flicker"
    assert connector.fetch_order("7").status is Status.PAID, "a fresh read agrees with the sync"
    assert result.counts["folded"] == 1


def test_a_row_inserted_on_top_with_an_id_already_further_down_does_not_win(tmp_path, store):
    rows = [row(str(n)) for n in range(100, 200)] + [row("7", "paid")]
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, rows)
    connector = build(path, **AT)
    sync(store, connector)
    write_csv(path, DEMO_HEADER, [row("7", "new")] + rows)
    orders, _, _ = fetch(connector, store.bookmarks.get("shop"))
    assert [o.status for o in orders if o.native_id == "7"] in ([], [Status.PAID])


def test_when_the_later_duplicate_goes_the_earlier_row_is_the_order_again(tmp_path, store):
    rows = [row("7", "payment_waiting")] + [row(str(n)) for n in range(100, 300)] + [row("7", "cancelled")]
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, rows)
    connector = build(path, **AT)
    sync(store, connector)
    write_csv(path, DEMO_HEADER, rows[:-1])
    sync(store, connector)
    assert store.orders.get("shop:7").status is Status.PAYMENT_WAITING


def test_an_unreadable_later_duplicate_holds_the_id_instead_of_storing_the_earlier_row(tmp_path, store):
    rows = [row("7", "new"), row("8"), row("7", "Оплачен полностью")]
    connector = build(write_csv(tmp_path / "orders.csv", DEMO_HEADER, rows), **AT)
    orders, rejects, last = fetch(connector)
    assert [o.native_id for o in orders] == ["8"]
    assert "it looks like paid" in rejects[0].reason
    assert last.counts == {"rows": 3, "orders": 1, "rejected": 1, "folded": 1, "unchanged": 0}


hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies


@hypothesis.settings(max_examples=40, deadline=None,
                     suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture])
@hypothesis.given(st.lists(st.tuples(st.sampled_from(["set", "insert", "delete", "move"]),
                                     st.integers(0, 10_000), st.sampled_from(["1", "2", "3", "4", "5", "6"]),
                                     st.sampled_from(["new", "paid", "cancelled", "in_work"])),
                           min_size=1, max_size=6))
def test_incremental_syncs_always_match_a_fresh_full_sync(tmp_path_factory, edits):
    """Random edits of a file full of duplicate ids: after each, the store equals a fresh sync's."""
    folder = tmp_path_factory.mktemp("prop")
    rows = [row(str(n % 6 + 1), ["new", "paid"][n % 2]) if n % 5 == 0 else row(str(1000 + n)) for n in range(120)]
    path = write_csv(folder / "orders.csv", DEMO_HEADER, rows)
    with Store.open(folder / "incremental.db") as live:
        sync(live, build(path, **AT))
        for step, (kind, where, native_id, status) in enumerate(edits):
            i = where % len(rows)
            if kind == "set":
                rows[i] = row(native_id, status)
            elif kind == "insert":
                rows.insert(i, row(native_id, status))
            elif kind == "delete" and len(rows) > 1:
                rows.pop(i)
            elif kind == "move":
                rows.append(rows.pop(i))
            write_csv(path, DEMO_HEADER, rows)
            os.utime(path, ns=(step + 1, step + 1))  # a new stamp even within one clock tick
            result = sync(live, build(path, **AT))
            with Store.open(folder / f"fresh{step}.db") as fresh:
                sync(fresh, build(path, **AT))
                assert _state(live) == _state(fresh)
            # A status only changes to what the file now says for that id: never to a stale row's value.
            winners = {r[0]: r[3] for r in rows}
            assert all(winners[c.order_id.split(":")[1]] == c.new for c in result.changes)


def _state(store):
    rows = store.conn.execute("SELECT id, status, native_status FROM orders WHERE missing_since IS NULL "
                              "ORDER BY id").fetchall()
    return [tuple(r) for r in rows]


# ---- broken quoting and shifted columns: that row only ----


def test_one_stray_quote_rejects_its_row_and_the_rest_of_the_file_is_read(tmp_path):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row(str(n)) for n in range(1, 501)])
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[10] = lines[10].replace("Анна", '"Анна', 1)  # row 10 (line 11) opens a quote it never closes
    path.write_text("".join(lines), encoding="utf-8")
    orders, rejects, last = fetch(build(path, **AT))
    assert len(orders) == 499
    assert [(r.where, r.reason) for r in rejects] == [
        ("orders.csv:11", "unbalanced quote: a value opens with \" and never closes")]
    assert last.counts["rows"] == 500


def test_an_unclosed_quote_at_the_end_of_the_file_is_a_reject_not_a_lost_order(tmp_path):
    path = tmp_path / "orders.csv"
    body = write_csv(path, DEMO_HEADER, [row("1"), row("2")]).read_text(encoding="utf-8")
    path.write_text(body + '3,A-3,2026-11-20T10:00:00+03:00,new,"Анна,c3@example.com,,c,Курс,10.00,RUB,,,\n',
                    encoding="utf-8")
    orders, [reject], _ = fetch(build(path, **AT))
    assert [o.native_id for o in orders] == ["1", "2"] and reject.where == "orders.csv:4"


def test_an_unquoted_comma_in_a_name_rejects_the_row_instead_of_shifting_columns(tmp_path):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1"), row("2")])
    text = path.read_text(encoding="utf-8").replace("Анна", "Иванова, Анна", 1)
    path.write_text(text, encoding="utf-8")
    orders, [reject], _ = fetch(build(path, **AT))
    assert [o.native_id for o in orders] == ["2"]
    assert reject.where == "orders.csv:2"
    assert reject.reason.startswith("15 fields where the header has 14: a value holding ',' is not in quotes")


def test_a_multi_line_value_in_quotes_is_still_one_record(tmp_path):
    rows = [row("1", name="Анна\nПетрова"), row("2")]
    orders, rejects, _ = fetch(build(write_csv(tmp_path / "orders.csv", DEMO_HEADER, rows), **AT))
    assert rejects == [] and orders[0].customer.name == "Анна Петрова"


# ---- bad cells reject their row, named by column ----


@pytest.mark.parametrize("amount, reason", [
    ("1e400", "not an amount: '1e400'"),
    ("123456789012345678", "amount too large"),
    ("²", "not an amount: '²'"),
    ("-100.00", "negative amount"),
    ("", "empty amount"),
    ("1.990", "ambiguous amount '1.990'"),
    ("12.345", "ambiguous amount"),
    ("99.999.9", "not an amount"),
])
def test_bad_amounts_reject_the_row(tmp_path, amount, reason):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1", amount=amount), row("2")])
    orders, [reject], _ = fetch(build(path, **AT))
    assert [o.native_id for o in orders] == ["2"]
    assert reject.reason.startswith("column 'amount': ") and reason in reject.reason


@pytest.mark.parametrize("text, minor, decimal", [
    ("4 990,00", 499000, None), ("1,234.50", 123450, None), ("12 000 ₽", 1200000, None),
    ("1.990", 199000, ","), ("1.990", 199, "."), ("1 234 567", 123456700, None), ("0.5", 50, None),
])
def test_amounts_that_are_read(tmp_path, text, minor, decimal):
    settings = {"decimal": decimal} if decimal else {}
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1", amount=text)])
    [order], [], _ = fetch(build(path, **AT, **settings))
    assert order.total.minor == minor


@pytest.mark.parametrize("created, reason", [
    ("9999-12-31T23:00-05:00", "out of range"),
    ("0001-01-01T00:30+03:00", "out of range"),
    ("1999-12-31", "before 2000"),
    ("2126-01-01", "in the future"),
])
def test_impossible_dates_reject_the_row(tmp_path, created, reason):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1", created=created), row("2")])
    orders, [reject], _ = fetch(build(path, **AT))
    assert [o.native_id for o in orders] == ["2"] and reason in reject.reason


@pytest.mark.parametrize("label, guess", [("Оплата получена", "paid"), ("Возврат", "cancelled"),
                                          ("Не оплачен", "payment_waiting"), ("Success", "paid")])
def test_an_unknown_label_that_looks_paid_or_cancelled_says_so(tmp_path, label, guess):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1", status=label)])
    _, [reject], _ = fetch(build(path, **AT))
    assert f"it looks like {guess}" in reject.reason and f'"{label}" = "{guess}"' in reject.reason


def test_common_russian_paid_labels_need_no_configuration(tmp_path):
    rows = [row("1", "Оплачено"), row("2", "Отменено"), row("3", "Новая")]
    orders, [], _ = fetch(build(write_csv(tmp_path / "orders.csv", DEMO_HEADER, rows), **AT))
    assert [o.status for o in orders] == [Status.PAID, Status.CANCELLED, Status.NEW]


def test_control_characters_in_names_are_neutralised(tmp_path):
    rows = [row("1", name="Анна\x1b[31m Red\x07")]
    [order], [], _ = fetch(build(write_csv(tmp_path / "orders.csv", DEMO_HEADER, rows), **AT))
    assert order.customer.name == "Анна [31m Red"


def test_control_characters_in_numbers_links_and_e_mails_never_reach_the_store(tmp_path):
    bad = row("1", email="a@x.io\r\nBcc: all@x.io")
    bad[1], bad[6], bad[12] = "A-\x1b[2J1", "8 (999) 123-45-67", "https://pay/\n1"
    [order], [], _ = fetch(build(write_csv(tmp_path / "orders.csv", DEMO_HEADER, [bad]), **AT))
    assert (order.number, order.payment_link, order.customer.email) == ("A- [2J1", "https://pay/ 1", None)


def test_an_unreadable_e_mail_is_dropped_when_a_phone_identifies_the_customer(tmp_path):
    good = row("1", email="нет")
    good[6] = "8 (999) 123-45-67"
    orders, rejects, _ = fetch(build(write_csv(tmp_path / "orders.csv", DEMO_HEADER, [good, row("2", email="нет")]),
                                     **AT))
    assert [(o.native_id, o.customer.email, o.customer.phone) for o in orders] == [("1", None, "+79991234567")]
    assert "'нет' cannot be read as such" in rejects[0].reason


# ---- extra columns and aliases ----


def test_columns_the_shop_adds_are_kept_as_extras_and_kod_tovara_is_the_product_id(tmp_path):
    header = ["Номер заказа", "Дата создания", "Статус", "Почта", "Код товара", "Сумма", "Способ оплаты", "utm_source"]
    path = write_csv(tmp_path / "orders.csv", header,
                     [["1", "20.11.2026 10:00", "Новый", "a@x.io", "SKU-9", "4 990,00", "Карта", "vk"]])
    [order], [], _ = fetch(build(path, extra={"payment_method": "Способ оплаты"}, **AT))
    assert order.product_key == "SKU-9"
    assert order.extra == {"payment_method": "Карта", "utm_source": "vk"}


# ---- rejects are remembered; the limit stores nothing ----


def test_unchanged_rejects_are_not_read_or_warned_again_but_still_counted(tmp_path, store):
    rows = [row(str(n)) for n in range(1, 200)]
    rows[50] = row("51", amount="abc")
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, rows)
    first = sync(store, build(path, **AT))
    assert [(r.where, r.repeated) for r in first.rejects] == [("orders.csv:52", False)]
    rows[150] = row("151", "paid")  # an edit elsewhere: the reject's block is not read again
    write_csv(path, DEMO_HEADER, rows)
    again = sync(store, build(path, **AT))
    assert [(r.where, r.repeated) for r in again.rejects] == [("orders.csv:52", True)]
    assert again.counts["rejected"] == 1 and again.orders < 50
    untouched = sync(store, build(path, **AT))
    assert untouched.orders == 0 and [r.repeated for r in untouched.rejects] == [True]
    assert untouched.counts["rows"] == 199 == untouched.counts["orders"] + untouched.counts["rejected"]


def test_a_file_over_the_reject_limit_stores_nothing(tmp_path, store):
    rows = [row(str(n), created="24/13/2026" if n % 3 == 0 else "2026-11-20") for n in range(1, 61)]
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, rows)
    result = sync_source(store, build(path, **AT), NOW)
    assert isinstance(result.error, RejectLimit) and result.error.exit_code == 1
    assert "20 of 60 rows (33%) could not be read" in str(result.error)
    assert len(result.error.rejects) == 20
    assert store.orders.count_source("shop") == 0 and store.bookmarks.get("shop") is None
    relaxed = sync(store, build(path, max_rejected="50%", **AT))
    assert relaxed.orders == 40


def test_a_wrong_date_format_rejects_every_row_and_stops_the_sync(tmp_path, store):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row(str(n)) for n in range(1, 11)])
    result = sync_source(store, build(path, date_format="%d.%m.%Y", **AT), NOW)
    assert isinstance(result.error, RejectLimit) and store.orders.count_source("shop") == 0


# ---- an untouched file is not read; a vanished order is reported, then cancelled ----


def test_an_untouched_file_is_not_parsed_at_all(tmp_path, store, monkeypatch):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1"), row("2")])
    sync(store, build(path, **AT))
    import unpaid_csv.reading as reading

    monkeypatch.setattr(reading.Reading, "_scan", lambda self: pytest.fail("the file was parsed"))
    result = sync(store, build(path, **AT))
    assert result.orders == 0 and result.counts["orders"] == 2


def test_an_order_gone_from_the_file_is_reported_then_cancelled_after_the_grace(tmp_path, store):
    rows = [row(str(n)) for n in range(1, 31)]
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, rows)
    sync(store, build(path, **AT))
    write_csv(path, DEMO_HEADER, rows[1:])
    gone = sync(store, build(path, **AT))
    assert gone.missing == ["shop:1"] and store.orders.get("shop:1").status is Status.NEW
    later = sync(store, build(path, **AT), NOW + timedelta(days=1))
    assert later.missing == [] and later.cancelled == []
    expired = sync(store, build(path, **AT), NOW + timedelta(days=3))
    assert expired.cancelled == ["shop:1"]
    order = store.orders.get("shop:1")
    assert (order.status, order.cancel_reason) == (Status.CANCELLED, "removed from the source")
    write_csv(path, DEMO_HEADER, rows)  # restored: the file's word counts again
    back = sync(store, build(path, **AT), NOW + timedelta(days=4))
    assert back.back == ["shop:1"] and store.orders.get("shop:1").status is Status.NEW


def test_a_file_missing_most_orders_marks_none_of_them(tmp_path, store):
    rows = [row(str(n)) for n in range(1, 41)]
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, rows)
    sync(store, build(path, **AT))
    write_csv(path, DEMO_HEADER, rows[:5])  # a half-written export
    result = sync(store, build(path, **AT))
    assert result.missing == [] and "35 of 40 stored orders are not in the source" in result.warnings[0]


def test_a_file_that_changes_while_it_is_read_is_reported_incomplete_and_read_again(tmp_path, store, monkeypatch):
    rows = [row(str(n)) for n in range(1, 21)]
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, rows)
    import unpaid_csv.reading as reading

    scan = reading.Reading._scan

    def scan_then_append(self):
        found = scan(self)
        with open(path, "a", encoding="utf-8") as out:  # another program appends, in place
            out.write(",".join(row("99")) + "\n")
        return found

    monkeypatch.setattr(reading.Reading, "_scan", scan_then_append)
    result = sync(store, build(path, **AT))
    assert not result.complete and "changed while it was being read" in result.notes[0]
    assert result.missing == [] and store.orders.count_source("shop") == 20
    monkeypatch.undo()
    again = sync(store, build(path, **AT))
    assert again.complete and store.orders.get("shop:99") is not None


@pytest.mark.parametrize("setting", [{"decimal": ","}, {"extra": {"x": "manager"}}, {"currency": "USD"}])
def test_a_changed_mapping_setting_reads_every_block_again(tmp_path, store, setting):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1"), row("2")])
    sync(store, build(path, **AT))
    again = sync(store, build(path, **AT, **setting))
    assert again.orders == 2


@pytest.mark.parametrize("text, expected", [
    ("24.11.2026", datetime(2026, 11, 23, 21, 0, tzinfo=timezone.utc)),
    ("24.11.2026 10:00", datetime(2026, 11, 24, 7, 0, tzinfo=timezone.utc)),
    ("24.11.2026 10:00:30", datetime(2026, 11, 24, 7, 0, 30, tzinfo=timezone.utc)),
])
def test_russian_excel_dates_are_read_in_the_configured_zone(tmp_path, text, expected):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1", created=text)])
    [order], [], _ = fetch(build(path, _timezone="Europe/Moscow", **AT))
    assert order.created_at == expected


@pytest.mark.parametrize("text", ["31.02.2026", "24.13.2026 10:00", "24.11.2026 25:00"])
def test_impossible_dotted_dates_are_rejected(tmp_path, text):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1", created=text)])
    _, [reject], _ = fetch(build(path, **AT))
    assert "not a date" in reject.reason


def test_two_stray_quotes_in_one_column_do_not_swallow_the_rows_between(tmp_path):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row(str(n)) for n in range(1, 8)])
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for i in (2, 5):  # rows 2 and 5 each open a quote in the name: the pair would merge rows 2-5
        lines[i] = lines[i].replace("Анна", '"Анна', 1)
    path.write_text("".join(lines), encoding="utf-8")
    orders, rejects, last = fetch(build(path, **AT))
    assert [o.native_id for o in orders] == ["1", "3", "4", "6", "7"]
    assert [r.where for r in rejects] == ["orders.csv:3", "orders.csv:6"]
    assert last.counts["rows"] == 7


def test_the_same_bytes_exported_again_are_not_parsed(tmp_path, store, monkeypatch):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("1"), row("2")])
    sync(store, build(path, **AT))
    fresh = tmp_path / "new.csv"
    fresh.write_bytes(path.read_bytes())
    os.replace(fresh, path)  # a new inode and new times, the same content
    import unpaid_csv.reading as reading

    monkeypatch.setattr(reading.Reading, "_scan", lambda self: pytest.fail("the file was parsed"))
    result = sync(store, build(path, **AT))
    assert result.orders == 0 and result.counts["orders"] == 2
    assert sync(store, build(path, **AT)).counts["rows"] == 2  # the new stamp was remembered


def test_two_stray_quotes_on_neighbouring_rows_do_not_merge_them(tmp_path):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row(str(n)) for n in range(1, 5)])
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    for i in (2, 3):
        lines[i] = lines[i].replace("Анна", '"Анна', 1)
    path.write_text("".join(lines), encoding="utf-8")
    orders, rejects, last = fetch(build(path, **AT))
    assert [o.native_id for o in orders] == ["1", "4"] and len(rejects) == 2
    assert last.counts["rows"] == 4


def test_a_fresh_read_answers_like_a_sync_when_the_later_row_is_broken(tmp_path):
    path = write_csv(tmp_path / "orders.csv", DEMO_HEADER, [row("7", "new"), row("8")])
    with open(path, "a", encoding="utf-8") as out:  # a later row of 7 whose name opens a quote it never closes
        out.write(",".join(row("7", "paid")).replace("Анна", '"Анна', 1) + "\n")
    connector = build(path, **AT)
    orders, [reject], _ = fetch(connector)
    assert [o.native_id for o in orders] == ["8"] and reject.where == "orders.csv:4"
    with pytest.raises(InvalidData, match="orders.csv:4: "):
        connector.fetch_order("7")  # not the earlier "new" row: the id is held, as in the sync
