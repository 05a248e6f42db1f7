"""`unpaid sync` on a config with a CSV source, through the installed plugin's entry point."""

from __future__ import annotations

import os
import shutil
import time
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
    assert "shop: 1 orders, 1 rejected" in result.stderr
    assert "rejected exports/orders.csv:3: not a date: 'yesterday-ish'" in result.stderr

    rows[0][3] = "Завершен"
    write_csv(path, DEMO_HEADER, rows, encoding="cp1251", delimiter=";")
    result = cli("--now 2026-11-24T10:00:00Z sync --format json", env=ENV)
    [data] = result.json()
    assert (data["orders"], data["newly_paid"]) == (1, 1)
    shown = cli("--now 2026-11-24T10:00:00Z show shop:1 --format json", env=ENV).json()
    assert (shown["order"]["status"], shown["order"]["native_status"]) == ("paid", "Завершен")


def test_missing_column_is_one_error_line_and_exit_3(cli, tmp_path):
    path = tmp_path / "exports" / "orders.csv"
    path.parent.mkdir()
    write_csv(path, ["Номер заказа", "Статус", "Почта"], [["1", "new", "a@x.io"]])
    (tmp_path / "unpaid.toml").write_text(CONFIG, encoding="utf-8")
    result = cli("sync", env=ENV)
    assert result.exit_code == 3
    assert "Error: shop: exports/orders.csv has no created column" in result.stderr
    assert "Traceback" not in result.output


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
    started = time.monotonic()
    result = cli("--now 2026-11-24T09:00:00Z dedupe --apply --format json", env=ENV)
    elapsed = time.monotonic() - started
    assert result.exit_code == 0, result.stderr
    assert f"marked {pairs} orders False" in result.stderr
    assert replaces == [str(path)]
    assert elapsed < 30, f"dedupe --apply took {elapsed:.1f} s"
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
