"""`unpaid sync` on a config with a CSV source, through the installed plugin's entry point."""

from __future__ import annotations

import os
import shutil
from importlib.resources import files
from pathlib import Path

import pytest

from unpaid import plugins

from .conftest import DEMO_HEADER, write_csv

ENV = {"UNPAID_LOAD_PLUGINS": "unpaid-csv"}
CONFIG = """timezone = "Europe/Moscow"

[sources.shop]
type = "csv"
path = "exports/orders.csv"

[sources.shop.statuses]
"Ждём звонка" = "in_work"
"""


@pytest.fixture(autouse=True)
def _fresh_plugins():
    plugins.set_plugins(None)
    yield
    plugins.set_plugins(None)


def test_sync_reads_the_bundled_demo_file_with_no_columns_config(cli, tmp_path):
    (tmp_path / "exports").mkdir()
    shutil.copy(files("unpaid") / "data" / "demo_orders.csv", tmp_path / "exports" / "orders.csv")
    (tmp_path / "unpaid.toml").write_text(CONFIG, encoding="utf-8")
    result = cli("--now 2026-11-24T09:00:00Z sync --format json", env=ENV)
    assert result.exit_code == 0, result.output
    [data] = result.json()
    rows = (files("unpaid") / "data" / "demo_orders.csv").read_text(encoding="utf-8").count("\n") - 1
    assert (data["orders"], data["rejects"], data["error"]) == (rows, [], None)

    # Nothing changed: nothing is read again.
    result = cli("--now 2026-11-24T09:05:00Z sync --format json", env=ENV)
    assert result.json()[0]["orders"] == 0


def test_sync_reports_bad_rows_keeps_good_ones_and_picks_up_edits(cli, tmp_path):
    path = tmp_path / "exports" / "orders.csv"
    path.parent.mkdir()
    rows = [["1", "A-1", "24.11.2026 10:00", "Ждём звонка", "Анна", "anna@example.com", "", "c1", "Курс", "4990",
             "RUB", "", "", ""],
            ["2", "A-2", "yesterday-ish", "new", "Bob", "bob@example.com", "", "c1", "Курс", "4990", "RUB", "", "",
             ""]]
    write_csv(path, DEMO_HEADER, rows, encoding="cp1251", delimiter=";")
    (tmp_path / "unpaid.toml").write_text(CONFIG, encoding="utf-8")
    result = cli("--now 2026-11-24T09:00:00Z sync", env=ENV)
    assert result.exit_code == 0, result.output
    assert "shop: 2 rows read: 1 order (1 stored, 0 unchanged), 1 rejected" in result.stderr
    assert "rejected exports/orders.csv:3: column 'created_at': not a date: 'yesterday-ish'" in result.stderr

    rows[0][3] = "Завершен"
    write_csv(path, DEMO_HEADER, rows, encoding="cp1251", delimiter=";")
    result = cli("--now 2026-11-24T10:00:00Z sync --format json", env=ENV)
    [data] = result.json()
    assert (data["orders"], data["newly_paid"]) == (1, 1)
    shown = cli("--now 2026-11-24T10:00:00Z show shop:1 --format json", env=ENV).json()
    assert (shown["order"]["status"], shown["order"]["native_status"]) == ("paid", "Завершен")


def test_missing_column_is_one_error_line_and_exit_2(cli, tmp_path):
    path = tmp_path / "exports" / "orders.csv"
    path.parent.mkdir()
    write_csv(path, ["Номер заказа", "Статус", "Почта"], [["1", "new", "a@x.io"]])
    (tmp_path / "unpaid.toml").write_text(CONFIG, encoding="utf-8")
    result = cli("sync", env=ENV)
    assert result.exit_code == 2
    assert "Error: shop: exports/orders.csv has no created column" in result.stderr
    assert "Traceback" not in result.output


@pytest.mark.parametrize("content, expected", [
    (b"", "is empty: no header row"),
    (b"\x00\x01\x02PK\x03\x04" * 50, "is not a text file"),
    ("id,status,created,email,amount\n1,new,2026-11-20,a@x.io,1\n".encode() + "2,new,2026-11-20,b@x.io,Ё\n".encode("cp1251")
     + "3,new,2026-11-20,c@x.io,Ё\n".encode(), "the file mixes encodings"),
    (b"foo,bar\n1,2\n", "has no id column (headers found: 'foo', 'bar')"),
    (b"\r\x01", "the header row is not CSV"),  # a lone CR in the header: found by tests/proofs
])
def test_a_broken_file_is_exit_2_with_the_file_named(cli, tmp_path, content, expected):
    (tmp_path / "exports").mkdir()
    (tmp_path / "exports" / "orders.csv").write_bytes(content)
    (tmp_path / "unpaid.toml").write_text(CONFIG, encoding="utf-8")
    result = cli("sync", env=ENV)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr and "exports/orders.csv" in result.stderr
    assert "Traceback" not in result.output and "unexpected" not in result.output


@pytest.mark.parametrize("setting, expected", [
    ('page_size = "lots"', "page_size = 'lots' is not a whole number"),
    ('encoding = "klingon"', "encoding = 'klingon' is not a known encoding"),
    ('date_format = "%Q"', "date_format '%Q' cannot read dates"),
    ('delimiter = "::"', "delimiter = '::' is not one of"),
    ('max_rejected = "lots"', "max_rejected = 'lots' is not a share"),
    ('missing_after = "99999999999w"', "missing_after = '99999999999w' is not a duration"),
    ('columns = { id = "Номер" }', "has no column 'Номер' (set as `id` in [sources.shop.columns]"),
    ('columns = { idd = "id" }', "[sources.shop.columns] has unknown field 'idd'"),
])
def test_a_bad_setting_is_exit_2_naming_the_key(cli, tmp_path, setting, expected):
    path = tmp_path / "exports" / "orders.csv"
    path.parent.mkdir()
    write_csv(path, DEMO_HEADER, [["1", "", "2026-11-20T10:00:00+03:00", "new", "", "a@x.io", "", "", "", "10.00",
                                   "RUB", "", "", ""]])
    (tmp_path / "unpaid.toml").write_text(CONFIG.replace('path = "exports/orders.csv"\n',
                                                         f'path = "exports/orders.csv"\n{setting}\n'),
                                          encoding="utf-8")
    result = cli("--now 2026-11-24T09:00:00Z sync", env=ENV)
    assert result.exit_code == 2, result.output
    assert expected in result.stderr
    assert "Traceback" not in result.output and "unexpected" not in result.output


def test_rows_read_add_up_and_the_reject_limit_exits_1_with_nothing_stored(cli, tmp_path):
    path = tmp_path / "exports" / "orders.csv"
    path.parent.mkdir()
    good = ["1", "", "2026-11-20T10:00:00+03:00", "new", "", "a@x.io", "", "", "", "10.00", "RUB", "", "", ""]
    rows = [[str(n), *good[1:]] for n in range(1, 21)] + [good] + [[str(n), *good[1:3], "Ждём"] + good[4:]
                                                                   for n in (30, 31)]
    write_csv(path, DEMO_HEADER, rows)
    (tmp_path / "unpaid.toml").write_text(CONFIG.replace('"Ждём звонка" = "in_work"\n', ""), encoding="utf-8")
    [data] = cli("--now 2026-11-24T09:00:00Z sync --format json", env=ENV).json()
    assert (data["rows"], data["orders_in_source"], data["rejected"], data["folded"]) == (23, 20, 2, 1)
    assert data["rows"] == data["orders_in_source"] + data["rejected"] + data["folded"]

    write_csv(path, DEMO_HEADER, rows + [[str(n), *good[1:3], "Ждём"] + good[4:] for n in range(40, 50)])
    result = cli("--now 2026-11-24T09:00:00Z sync", env=ENV)
    assert result.exit_code == 1
    assert "12 of 33 rows (36%) could not be read, more than the limit of 20%; nothing was stored" in result.stderr
    assert "rejected exports/orders.csv:23: column 'status': unknown status 'Ждём'" in result.stderr
    assert "rejected exports/orders.csv:34:" in result.stderr
    assert len(cli("orders --format json", env=ENV).json()) == 20, "the first sync's orders, none of the new file"


def shop_with(tmp_path, rows) -> Path:
    path = tmp_path / "exports" / "orders.csv"
    path.parent.mkdir()
    write_csv(path, DEMO_HEADER, rows)
    (tmp_path / "unpaid.toml").write_text(CONFIG, encoding="utf-8")
    return path


def order_row(native_id, email="anna@example.com", created="2026-11-20T10:00:00+03:00", status="new"):
    return [native_id, f"A-{native_id}", created, status, "Анна", email, "", "c1", "Курс", "4990", "RUB", "", "", ""]


def test_a_read_only_export_is_refused_with_exit_2_and_nothing_changes(cli, tmp_path):
    path = shop_with(tmp_path, [order_row("1")])
    assert cli("--now 2026-11-24T09:00:00Z sync", env=ENV).exit_code == 0
    os.chmod(path, 0o444)
    result = cli("--now 2026-11-24T09:00:00Z status shop:1 paid", env=ENV)
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: shop: exports/orders.csv is read-only, so the change cannot be written to it — allow writing to it "
        f"(chmod u+w {path}) or point [sources.shop] path at a writable copy, then run the command again"]
    shown = cli("show shop:1 --format json", env=ENV).json()
    assert shown["order"]["status"] == "new" and ",new," in path.read_text(encoding="utf-8")


@pytest.mark.parametrize("text, problem", [("\udcff", "holds bytes that are not UTF-8 text"),
                                           ("тест\x1b[31m", "holds the control character U+001B")])
def test_a_reason_with_bytes_that_are_not_text_is_refused_before_the_file_is_touched(cli, tmp_path, text, problem):
    path = shop_with(tmp_path, [order_row("1")])
    assert cli("--now 2026-11-24T09:00:00Z sync", env=ENV).exit_code == 0
    before = path.read_bytes()
    result = cli(["--now", "2026-11-24T09:00:00Z", "status", "shop:1", "cancelled", "--reason-text", text], env=ENV)
    assert result.exit_code == 2
    [line] = result.stderr.splitlines()
    assert line.startswith(f"Error: --reason-text {problem} — ")
    assert path.read_bytes() == before
    assert cli("show shop:1 --format json", env=ENV).json()["order"]["status"] == "new"


def test_dedupe_apply_rewrites_the_file_once_for_thousands_of_duplicates(cli, tmp_path, replaces):
    pairs = 2000
    rows = []
    for k in range(pairs):
        rows.append(order_row(str(2 * k + 1), f"c{k}@example.com", "2026-11-20T10:00:00+03:00"))
        rows.append(order_row(str(2 * k + 2), f"c{k}@example.com", "2026-11-21T10:00:00+03:00"))
    path = shop_with(tmp_path, rows)
    assert cli("--now 2026-11-24T09:00:00Z sync", env=ENV).exit_code == 0
    result = cli("--now 2026-11-24T09:00:00Z dedupe --apply --format json", env=ENV)
    assert result.exit_code == 0, result.stderr
    assert f"marked {pairs} orders False" in result.stderr
    assert replaces == [str(path)]
    lines = path.read_text(encoding="utf-8").splitlines()[1:]
    assert [line.split(",")[3] for line in lines] == ["false", "new"] * pairs
    shown = cli("show shop:1 --format json", env=ENV).json()
    assert shown["order"]["status"] == "false"
    again = cli("--now 2026-11-24T09:00:00Z dedupe --apply --format json", env=ENV)
    assert (again.exit_code, again.json()) == (0, [])


def test_dedupe_apply_reports_each_order_of_a_read_only_export_and_exits_1(cli, tmp_path):
    path = shop_with(tmp_path, [order_row("1"), order_row("2", created="2026-11-21T10:00:00+03:00"),
                                order_row("3", "bob@example.com"),
                                order_row("4", "bob@example.com", "2026-11-21T10:00:00+03:00"),
                                order_row("5", "bob@example.com", "2026-11-22T10:00:00+03:00")])
    assert cli("--now 2026-11-24T09:00:00Z sync", env=ENV).exit_code == 0
    os.chmod(path, 0o444)
    result = cli("--now 2026-11-24T09:00:00Z dedupe --apply --format json", env=ENV)
    assert result.exit_code == 1
    assert {r["id"]: r["result"].split(" — ")[0] for r in result.json() if r["action"] == "false"} == dict.fromkeys(
        ["shop:1", "shop:3", "shop:4"], "failed: shop: exports/orders.csv is read-only, so the change cannot be "
                                        "written to it")
    assert "marked 0 orders False, 3 failed" in result.stderr and "Traceback" not in result.output


def test_dedupe_apply_pushes_in_batches_of_chunk_orders(cli, tmp_path, monkeypatch, replaces):
    from unpaid.cli import dedupe

    rows = [order_row(str(n), f"c{n // 2}@example.com", f"2026-11-2{n % 2}T10:00:00+03:00") for n in range(10)]
    path = shop_with(tmp_path, rows)
    assert cli("--now 2026-11-24T09:00:00Z sync", env=ENV).exit_code == 0
    monkeypatch.setattr(dedupe, "CHUNK", 2)
    result = cli("--now 2026-11-24T09:00:00Z dedupe --apply", env=ENV)
    assert result.exit_code == 0 and "marked 5 orders False" in result.stderr
    assert replaces == [str(path)] * 3  # 5 orders in batches of 2
    assert [line.split(",")[3] for line in path.read_text(encoding="utf-8").splitlines()[1:]] == ["false", "new"] * 5


def test_a_file_unpaid_may_not_read_is_exit_2_and_a_missing_one_exit_3(cli, tmp_path):
    path = tmp_path / "exports" / "orders.csv"
    path.parent.mkdir()
    (tmp_path / "unpaid.toml").write_text(CONFIG, encoding="utf-8")
    missing = cli("sync", env=ENV)
    assert missing.exit_code == 3 and "exports/orders.csv does not exist" in missing.stderr



def test_extra_columns_are_kept_with_the_order_and_shown_in_json(cli, tmp_path):
    path = tmp_path / "exports" / "orders.csv"
    path.parent.mkdir()
    write_csv(path, [*DEMO_HEADER, "Способ оплаты"],
              [["1", "", "2026-11-20T10:00:00+03:00", "new", "", "a@x.io", "", "", "", "10.00", "RUB", "", "", "",
                "Карта"]])
    (tmp_path / "unpaid.toml").write_text(CONFIG + '\n[sources.shop.extra]\npayment_method = "Способ оплаты"\n',
                                          encoding="utf-8")
    assert cli("--now 2026-11-24T09:00:00Z sync", env=ENV).exit_code == 0
    shown = cli("--now 2026-11-24T09:00:00Z show shop:1 --format json", env=ENV).json()
    assert shown["order"]["extra"] == {"payment_method": "Карта"}
