"""The CSV connector's words in Russian and Ukrainian: a bad row and a broken file through `unpaid sync`.

English is checked alongside, so that translating never changes what English users read.
"""

from __future__ import annotations

import pytest

from unpaid import plugins
from unpaid.i18n import active, speaking

from .conftest import DEMO_HEADER, write_csv

CONFIG = """timezone = "Europe/Moscow"

[sources.shop]
type = "csv"
path = "exports/orders.csv"
"""
GOOD = ["1", "A-1", "24.11.2026 10:00", "new", "Анна", "anna@example.com", "", "c1", "Курс", "4990", "RUB", "", "",
        ""]


@pytest.fixture(autouse=True)
def _language_restored():
    """A command run in Russian leaves the language active in this process: give the next test what it had."""
    with speaking(active()):
        yield


@pytest.fixture(autouse=True)
def _fresh_plugins():
    plugins.set_plugins(None)
    yield
    plugins.set_plugins(None)


@pytest.fixture
def shop(tmp_path):
    """A config with one CSV source; returns the export's path."""
    path = tmp_path / "exports" / "orders.csv"
    path.parent.mkdir()
    (tmp_path / "unpaid.toml").write_text(CONFIG, encoding="utf-8")
    return path


def sync(cli, language: str):
    return cli("--now 2026-11-24T09:00:00Z sync", env={"UNPAID_LOAD_PLUGINS": "unpaid-csv", "UNPAID_LANG": language})


BAD_ROWS = [GOOD,
            ["2", "A-2", "yesterday-ish", "new", "Bob", "bob@example.com", "", "c1", "Курс", "4990", "RUB", "", "", ""],
            ["3", "A-3", "24.11.2026 10:00", "Оплачен?", "Bob", "bob@example.com", "", "c1", "Курс", "4990", "RUB",
             "", "", ""],
            ["4", "A-4", "24.11.2026 10:00", "new", "Eve", "eve@example.com", "", "c1", "Курс", "1.990", "RUB", "",
             "", ""]]


@pytest.mark.parametrize("language, phrases", [
    ("en", ["exports/orders.csv:3: column 'created_at': not a date: 'yesterday-ish'",
            "exports/orders.csv:4: column 'status': unknown status 'Оплачен?'; it looks like paid — if so, add "
            "\"Оплачен?\" = \"paid\" to [sources.shop.statuses]",
            "exports/orders.csv:5: column 'amount': ambiguous amount '1.990': 1990 or 1.990? set `decimal` to \",\" "
            "or \".\" for this source"]),
    ("ru", ["exports/orders.csv:3: столбец 'created_at': не дата: 'yesterday-ish'",
            "exports/orders.csv:4: столбец 'status': неизвестный статус 'Оплачен?'; похоже на paid — если так, "
            "добавьте \"Оплачен?\" = \"paid\" в [sources.shop.statuses]",
            "exports/orders.csv:5: столбец 'amount': неоднозначная сумма '1.990': 1990 или 1.990? задайте для этого "
            "источника `decimal` = \",\" или \".\""]),
    ("uk", ["exports/orders.csv:3: стовпець 'created_at': не дата: 'yesterday-ish'",
            "exports/orders.csv:4: стовпець 'status': невідомий статус 'Оплачен?'; схоже на paid — якщо так, додайте "
            "\"Оплачен?\" = \"paid\" до [sources.shop.statuses]",
            "exports/orders.csv:5: стовпець 'amount': неоднозначна сума '1.990': 1990 чи 1.990? задайте для цього "
            "джерела `decimal` = \",\" або \".\""]),
])
def test_a_bad_row_names_file_line_column_and_fix_in_the_shops_language(cli, shop, language, phrases):
    write_csv(shop, DEMO_HEADER, BAD_ROWS)
    result = sync(cli, language)
    assert result.exit_code == 0, result.output
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


@pytest.mark.parametrize("language, message, fix", [
    ("en", "exports/orders.csv has no status column (headers found: 'Номер заказа', 'Почта')",
     "name it under [sources.shop.columns], e.g. status = \"Статус\""),
    ("ru", "в exports/orders.csv нет столбца status (найденные заголовки: 'Номер заказа', 'Почта')",
     "укажите его в [sources.shop.columns], например status = \"Статус\""),
    ("uk", "у exports/orders.csv немає стовпця status (знайдені заголовки: 'Номер заказа', 'Почта')",
     "вкажіть його в [sources.shop.columns], наприклад status = \"Статус\""),
])
def test_a_missing_column_is_explained_with_its_fix(cli, shop, language, message, fix):
    write_csv(shop, ["Номер заказа", "Почта"], [["1", "a@x.io"]])
    result = sync(cli, language)
    assert result.exit_code == 2
    assert message in result.stderr and fix in result.stderr, result.stderr


@pytest.mark.parametrize("language, phrase", [
    ("en", "exports/orders.csv:3: the line is UTF-8, but line 2 is Windows-1251: the file mixes encodings"),
    ("ru", "exports/orders.csv:3: строка в UTF-8, а строка 2 — в Windows-1251: в файле смешаны кодировки"),
    ("uk", "exports/orders.csv:3: рядок в UTF-8, а рядок 2 — в Windows-1251: у файлі змішано кодування"),
])
def test_mixed_encodings_are_named_with_both_lines(cli, shop, language, phrase):
    header = ",".join(DEMO_HEADER) + "\n"
    first = ",".join(GOOD) + "\n"
    second = ",".join(["2"] + GOOD[1:]) + "\n"
    shop.write_bytes(header.encode() + first.encode("cp1251") + second.encode("utf-8"))
    result = sync(cli, language)
    assert result.exit_code != 0
    assert phrase in result.stderr, result.stderr


@pytest.mark.parametrize("language, phrase", [
    ("ru", "не удалось прочитать 6 из 7 строк"),
    ("uk", "не вдалося прочитати 6 з 7 рядків"),
    ("en", "6 of 7 rows (86%) could not be read, more than the limit of 20%; nothing was stored from the file"),
])
def test_too_many_rejects_stop_the_sync_in_the_shops_language(cli, shop, language, phrase):
    rows = [GOOD] + [[str(n), f"A-{n}", "not a date", "new", "Bob", "bob@example.com", "", "c1", "Курс", "4990", "RUB",
                      "", "", ""] for n in range(2, 8)]
    write_csv(shop, DEMO_HEADER, rows)
    result = sync(cli, language)
    assert result.exit_code == 1
    assert phrase in result.stderr, result.stderr


def test_json_output_stays_english_whatever_the_language(cli, shop):
    write_csv(shop, DEMO_HEADER, BAD_ROWS[:2])
    result = cli("--now 2026-11-24T09:00:00Z sync --format json",
                 env={"UNPAID_LOAD_PLUGINS": "unpaid-csv", "UNPAID_LANG": "ru"})
    [data] = result.json()
    assert data["rejects"][0]["reason"] == "column 'created_at': not a date: 'yesterday-ish'"


def test_a_reason_remembered_by_a_russian_sync_is_english_in_json_and_ukrainian_later(cli, shop):
    write_csv(shop, DEMO_HEADER, BAD_ROWS[:2])
    assert "не дата: 'yesterday-ish'" in sync(cli, "ru").stderr
    # The file is untouched: its rejects come from the bookmark, in the language of the command showing them.
    result = cli("--now 2026-11-24T09:05:00Z sync --format json",
                 env={"UNPAID_LOAD_PLUGINS": "unpaid-csv", "UNPAID_LANG": "ru"})
    [data] = result.json()
    assert [r["reason"] for r in data["rejects"]] == ["column 'created_at': not a date: 'yesterday-ish'"]
    assert data["rejects"][0]["repeated"] is True
    listed = cli("-v --now 2026-11-24T09:10:00Z sync", env={"UNPAID_LOAD_PLUGINS": "unpaid-csv", "UNPAID_LANG": "uk"})
    assert "exports/orders.csv:3: стовпець 'created_at': не дата: 'yesterday-ish'" in listed.stderr, listed.stderr
