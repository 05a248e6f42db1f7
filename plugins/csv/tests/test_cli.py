"""`unpaid sync` on a config with a CSV source, through the installed plugin's entry point."""

from __future__ import annotations

import shutil
from importlib.resources import files

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
