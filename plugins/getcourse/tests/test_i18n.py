"""The GetCourse connector's words in Russian and Ukrainian, against the emulator: a wrong key, a spent
budget, the connector's own budget check and the `unpaid getcourse` command's help. English is checked
alongside: translating never changes what English users read."""

from __future__ import annotations

import pytest

from unpaid.i18n import active, speaking

from .test_cli import school  # noqa: F401 - the same emulated school and unpaid.toml


@pytest.fixture(autouse=True)
def _language_restored():
    """A command run in Russian leaves the language active in this process: give the next test what it had."""
    with speaking(active()):
        yield


@pytest.mark.parametrize("language, phrases", [
    ("en", ["account school refused the secret key", "copy a key from https://school.getcourse.ru/saas/account/api "
            "and run `unpaid auth set school`; check the account name and base_url too"]),
    ("ru", ["аккаунт school отклонил секретный ключ", "скопируйте ключ со страницы "
            "https://school.getcourse.ru/saas/account/api и запустите `unpaid auth set school`; проверьте также "
            "имя аккаунта и base_url"]),
    ("uk", ["акаунт school відхилив секретний ключ", "скопіюйте ключ зі сторінки "
            "https://school.getcourse.ru/saas/account/api і запустіть `unpaid auth set school`; перевірте також "
            "назву акаунта і base_url"]),
])
def test_a_wrong_key_is_explained_with_its_fix(school, cli, monkeypatch, language, phrases):
    monkeypatch.setenv("UNPAID_SECRET_SCHOOL_SECRET_KEY", "wrong-key-777")
    result = cli("sync school", env={"UNPAID_LANG": language})
    assert result.exit_code == 3
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr
    assert "wrong-key-777" not in result.output


@pytest.mark.parametrize("language, phrases", [
    ("en", ["account school: the export budget is spent (903: about 100 requests per 2 hours, shared by every "
            "integration of the account)", "the sync resumes where it stopped"]),
    ("ru", ["аккаунт school: бюджет выгрузок исчерпан (903: около 100 запросов за 2 часа на все интеграции аккаунта)",
            "синхронизация продолжится с того места, где остановилась"]),
    ("uk", ["акаунт school: бюджет вивантажень вичерпано (903: близько 100 запитів за 2 години на всі інтеграції "
            "акаунта)", "синхронізація продовжиться з того місця, де зупинилася"]),
])
def test_a_budget_spent_at_getcourse_says_when_to_run_again(school, cli, language, phrases):
    school.account.budget = 0  # every export request answers 903
    result = cli("sync school", env={"UNPAID_LANG": language})
    assert result.exit_code != 0
    for phrase in phrases:
        assert phrase in result.stderr, result.stderr


@pytest.mark.parametrize("language, phrase", [
    ("en", "account school: an export needs 2 export requests and 1 of 1 are left in the 2h window"),
    ("ru", "аккаунт school: для выгрузки нужно запросов выгрузки: 2, а в окне 2h осталось 1 из 1"),
    ("uk", "акаунт school: для вивантаження потрібно запитів вивантаження: 2, а у вікні 2h залишилося 1 з 1"),
])
def test_the_connectors_own_budget_check_speaks_the_shops_language(school, cli, tmp_path, language, phrase):
    config = tmp_path / "unpaid.toml"
    config.write_text(config.read_text(encoding="utf-8") + "budget = 1\n", encoding="utf-8")
    result = cli("sync school", env={"UNPAID_LANG": language})
    assert result.exit_code != 0
    assert phrase in result.stderr, result.stderr
    assert school.requests("/pl/api/account/") == 0  # refused before anything was sent


@pytest.mark.parametrize("language, phrase", [
    ("en", "this needs the Tech API and no developer_key is stored"),
    ("ru", "для этого нужен Tech API, а developer_key не сохранён"),
    ("uk", "для цього потрібен Tech API, а developer_key не збережено"),
])
def test_cancel_reasons_without_a_developer_key(school, cli, language, phrase):
    result = cli("getcourse reasons school", env={"UNPAID_LANG": language})
    assert result.exit_code == 2
    assert phrase in result.stderr, result.stderr


@pytest.mark.parametrize("language, phrase", [
    ("en", "List the cancel reasons of SOURCE's account (needs the developer key)."),
    ("ru", "Показать причины отказа аккаунта SOURCE (нужен ключ разработчика)."),
    ("uk", "Показати причини відмови акаунта SOURCE (потрібен ключ розробника)."),
])
def test_the_getcourse_commands_help(school, cli, language, phrase):
    result = cli("getcourse --help", env={"UNPAID_LANG": language})
    assert result.exit_code == 0, result.output
    # click shortens a subcommand's first line in the list; the command's own help shows it whole
    assert phrase.split(" (")[0] in result.stdout or phrase in result.stdout, result.stdout
    own = cli("getcourse reasons --help", env={"UNPAID_LANG": language})
    assert phrase in " ".join(own.stdout.split()), own.stdout
