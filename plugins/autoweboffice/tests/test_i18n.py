"""The AutoWebOffice connector's words in Russian and Ukrainian, against the emulator: a wrong key and
the sync's warnings about invoices nobody can be reached on. English is checked alongside: translating
never changes what English users read, nor what is stored with an order."""

import pytest

from awo_env import NOW, SOURCE_CONFIG
from unpaid.clock import to_iso
from unpaid.i18n import active, speaking


@pytest.fixture(autouse=True)
def _language_restored():
    """A command run in Russian leaves the language active in this process: give the next test what it had."""
    with speaking(active()):
        yield


@pytest.fixture
def school(open_school, monkeypatch):
    emu = open_school(SOURCE_CONFIG)
    monkeypatch.setenv("UNPAID_NOW", to_iso(NOW))
    return emu


@pytest.mark.parametrize("language, phrases", [
    ("en", ["AutoWebOffice refused the get_key (API KEY GET) (401) — a wrong key, or the SET key stored as get_key?",
            "copy the keys from Настройки → API and run `unpaid auth set awo`"]),
    ("ru", ["AutoWebOffice отклонил get_key (API KEY GET) (401) — неверный ключ или вместо get_key сохранён ключ SET?",
            "скопируйте ключи из раздела Настройки → API и запустите `unpaid auth set awo`"]),
    ("uk", ["AutoWebOffice відхилив get_key (API KEY GET) (401) — неправильний ключ чи замість get_key збережено "
            "ключ SET?", "скопіюйте ключі з розділу Настройки → API і запустіть `unpaid auth set awo`"]),
])
def test_a_wrong_key_is_explained_with_its_fix(cli, school, monkeypatch, language, phrases):
    monkeypatch.setenv("UNPAID_SECRET_AWO_GET_KEY", "not-the-key-0000")
    result = cli(["sync"], env={"UNPAID_LANG": language})
    assert result.exit_code == 3
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr
    assert "not-the-key-0000" not in result.output


@pytest.mark.parametrize("language, phrase", [
    ("en", "invoice 1004: no e-mail — e-mail steps will skip it; add the e-mail in AutoWebOffice"),
    ("ru", "счёт 1004: нет e-mail — шаги с письмами его пропустят; добавьте e-mail в AutoWebOffice"),
    ("uk", "рахунок 1004: немає e-mail — кроки з листами його пропустять; додайте e-mail в AutoWebOffice"),
])
def test_sync_warnings_speak_the_shops_language_and_the_order_keeps_english(cli, school, language, phrase):
    result = cli(["sync"], env={"UNPAID_LANG": language})
    assert result.exit_code == 0, result.output
    assert phrase in result.stderr, result.stderr
    shown = cli(["show", "awo:1004", "--format", "json"], env={"UNPAID_LANG": language})
    assert shown.exit_code == 0, shown.output
    # stored with the order in English, whatever the language of the sync that read it
    assert shown.json()["order"]["extra"]["warning"] == "no e-mail — e-mail steps will skip it; add the e-mail in " \
                                                        "AutoWebOffice"


@pytest.mark.parametrize("language, phrase", [
    ("en", "unknown trigger action 'wiggle'"),
    ("ru", "неизвестное действие триггера 'wiggle'"),
    ("uk", "невідома дія тригера 'wiggle'"),
])
def test_an_unknown_trigger_is_named(school, language, phrase):
    from awo_env import make_connector
    from unpaid.errors import ConfigError

    conn = make_connector(school)
    with speaking(language), pytest.raises(ConfigError) as info:
        conn.trigger("1001", "wiggle", {})
    assert phrase in str(info.value)
