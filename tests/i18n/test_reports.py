"""`unpaid report` tables in Russian and Ukrainian: headers from the catalogs, money, shares and numbers the
language's way; `--format json` keeps English keys and plain values."""

from __future__ import annotations

import pytest

from tests.reports import world


@pytest.fixture(autouse=True)
def _english_after():
    """A command run in-process leaves its language active: the next test starts in English again."""
    from unpaid.i18n import speaking

    with speaking("en"):
        yield


@pytest.fixture
def report(cli, cli_db, tmp_path):
    """``report(language, name, *args)``: the report over November of tests/reports/world.py."""
    from unpaid.store import Store

    with Store.open(cli_db) as store:
        world.build(store)

    def run(language: str, name: str, *args: str):
        (tmp_path / "unpaid.toml").write_text(f'timezone = "UTC"\nlanguage = "{language}"\n', encoding="utf-8")
        result = cli(["--now", world.NOW, "report", name, *world.PERIOD, *args])
        assert result.exit_code == 0, result.output
        return result

    return run


def lines(text: str) -> list[list[str]]:
    """A table's rows as cells (columns are two or more spaces apart)."""
    import re

    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines() if line.strip()]


@pytest.mark.parametrize("language, headers, rub, usd", [
    ("ru", ["валюта", "вошли в работу", "с контактом", "оплачены", "возвращены", "доля", "выручка", "скидки",
            "чистая выручка", "медиана, дней", "оплачены до контакта", "вне окна", "созданы менеджером"],
     ["RUB", "10", "9", "5", "2", "20,0%", "300,00 ₽", "10,00 ₽", "290,00 ₽", "3,54", "1", "1", "1"],
     ["USD", "1", "1", "1", "1", "100,0%", "10,00 $", "0,00 $", "10,00 $", "1", "0", "0", "0"]),
    ("uk", ["валюта", "увійшли в роботу", "з контактом", "оплачені", "повернуті", "частка", "виручка", "знижки",
            "чиста виручка", "медіана, днів", "оплачені до контакту", "поза вікном", "створені менеджером"],
     ["RUB", "10", "9", "5", "2", "20,0%", "300,00 ₽", "10,00 ₽", "290,00 ₽", "3,54", "1", "1", "1"],
     ["USD", "1", "1", "1", "1", "100,0%", "10,00 USD", "0,00 USD", "10,00 USD", "1", "0", "0", "0"]),
])
def test_recovery(report, language, headers, rub, usd):
    table = lines(report(language, "recovery").stdout)
    assert table[0] == headers and table[2] == rub and table[3] == usd


@pytest.mark.parametrize("language, headers, first, none", [
    ("ru", ["разрез", "группа", "причина", "число", "доля"], ["всего", "все", "Too expensive", "2", "66,7%"],
     ["менеджер", "(нет)", "Changed mind", "1", "50,0%"]),
    ("uk", ["розріз", "група", "причина", "кількість", "частка"], ["усього", "усі", "Too expensive", "2", "66,7%"],
     ["менеджер", "(немає)", "Changed mind", "1", "50,0%"]),
])
def test_reasons(report, language, headers, first, none):
    table = lines(report(language, "reasons").stdout)
    assert table[0] == headers and table[2] == first and none in table


@pytest.mark.parametrize("language, headers, olga", [
    ("ru", ["менеджер", "валюта", "звонки", "дозвонились", "обещания", "выполнены", "оплаты после звонков",
            "выручка"], ["olga", "RUB", "4", "3", "1", "1", "1", "200,00 ₽"]),
    ("uk", ["менеджер", "валюта", "дзвінки", "додзвонилися", "обіцянки", "виконані", "оплати після дзвінків",
            "виручка"], ["olga", "RUB", "4", "3", "1", "1", "1", "200,00 ₽"]),
])
def test_managers(report, language, headers, olga):
    table = lines(report(language, "managers").stdout)
    assert table[0] == headers and table[2] == olga


def test_funnel_stages_and_offer_kinds_read_as_words(report):
    assert [row[0] for row in lines(report("ru", "funnel").stdout)[2:]] == [
        "новые", "актуальные", "с контактом", "обещали оплатить", "оплачены", "отменены", "ложные"]
    assert lines(report("uk", "offers").stdout)[2][:2] == ["знижка", "10%"]


def test_english_tables_are_unchanged(report):
    table = lines(report("en", "managers").stdout)
    assert table[0] == ["manager", "currency", "calls", "reached", "promises", "kept", "paid after calls", "revenue"]
    assert table[2] == ["olga", "RUB", "4", "3", "1", "1", "1", "RUB200.00"]
    assert lines(report("en", "reasons").stdout)[2] == ["all", "all", "Too expensive", "2", "66.7%"]


@pytest.mark.parametrize("language", ["ru", "uk"])
def test_json_stays_english(report, language):
    rows = report(language, "reasons", "--format", "json").json()
    assert rows[0] == {"by": "all", "group": "all", "reason": "Too expensive", "count": 2, "share": 0.6667}
    recovery = report(language, "recovery", "--format", "json").json()[0]
    assert recovery["recovered_revenue"] == {"minor": 30000, "currency": "RUB"} and recovery["recovery_rate"] == 0.2
    assert report(language, "managers", "--format", "csv").stdout.startswith("manager,currency,calls,")


@pytest.mark.parametrize("language, words", [
    ("ru", ("<h2>Возврат оплат</h2>", "<figcaption>Возвращённая выручка по дням</figcaption>", "<th>валюта</th>",
            "обещания выполнены", 'lang="ru"')),
    ("uk", ("<h2>Повернення оплат</h2>", "<figcaption>Повернена виручка за днями</figcaption>", "<th>валюта</th>",
            "обіцянки виконано", 'lang="uk"')),
])
def test_the_html_page(report, tmp_path, language, words):
    pytest.importorskip("pygal")
    report(language, "recovery", "--html", str(tmp_path / "page.html"))
    text = (tmp_path / "page.html").read_text(encoding="utf-8")
    for word in words:
        assert word in text, word
