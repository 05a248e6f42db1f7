"""Which language an invocation speaks, and how help texts follow it without losing their English."""

from __future__ import annotations

import io

import click
import pytest
from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo

from unpaid import i18n
from unpaid.cli.language import localize, startup_language


@pytest.fixture(autouse=True)
def _english_after():
    yield
    i18n.activate("en")


@pytest.mark.parametrize("args, env, expected", [
    ([], {"UNPAID_LANG": "uk"}, "uk"),
    (["orders", "--format", "json"], {"UNPAID_LANG": "ru"}, "en"),  # scripts read English
    (["--format=jsonl", "plan"], {"UNPAID_LANG": "ru"}, "en"),
    (["orders"], {"UNPAID_LANG": "ru", "UNPAID_FORMAT": "csv"}, "en"),
    (["orders", "--format", "table"], {"UNPAID_LANG": "ru"}, "ru"),
    ([], {"LANG": "uk_UA.UTF-8"}, "uk"),
])
def test_the_invocation_speaks_the_users_language_and_machine_formats_english(args, env, expected, tmp_path,
                                                                              monkeypatch):
    monkeypatch.chdir(tmp_path)
    env = {"XDG_CONFIG_HOME": str(tmp_path / "none"), **env}
    assert startup_language(args, env) == expected


def test_the_configs_language_comes_first_and_a_broken_config_falls_back(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "unpaid.toml").write_text('language = "uk"\n', encoding="utf-8")
    assert startup_language(["orders"], {"UNPAID_LANG": "ru"}) == "uk"
    other = tmp_path / "other.toml"
    other.write_text('language = "ru"\n', encoding="utf-8")
    assert startup_language(["--config", str(other), "orders"], {}) == "ru"
    assert startup_language([], {"UNPAID_CONFIG": str(other)}) == "ru"
    (tmp_path / "unpaid.toml").write_text("language = [not toml\n", encoding="utf-8")
    assert startup_language([], {"UNPAID_LANG": "ru"}) == "ru"  # the command reports the broken file itself


@pytest.fixture
def catalog_with_help(tmp_path):
    """A plugin's domain whose Russian catalog translates one command's help and an option's help."""
    catalog = Catalog(locale="ru", domain="unpaid_testhelp")
    catalog.add("Count the things.\n\nEvery one of them.", "Сосчитать всё.\n\nКаждое.")
    catalog.add("How many to show.", "Сколько показать.")
    folder = tmp_path / "ru" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    with (folder / "unpaid_testhelp.mo").open("wb") as handle:
        write_mo(handle, catalog)
    domain = i18n.Domain("unpaid_testhelp", tmp_path)
    yield domain
    i18n._DOMAINS.remove(domain)


def test_help_follows_the_active_language_and_keeps_its_english(catalog_with_help):
    @click.command()
    @click.option("--limit", help="How many to show.")
    def count(limit):
        """Count the things.

        Every one of them.
        """

    i18n.activate("ru")
    localize(count)
    text = count.get_help(click.Context(count))
    assert "Сосчитать всё." in text and "Сколько показать." in text
    i18n.activate("en")
    localize(count)  # the next invocation, in English: from the English texts, not the Russian ones
    text = count.get_help(click.Context(count))
    assert "Count the things." in text and "How many to show." in text and "Сосчитать" not in text


def test_plural_forms_come_from_the_catalog(catalog_with_help):
    """Russian has three forms; a language without a catalog falls back to the English pair."""
    forms = {n: i18n.ngettext("{n} order", "{n} orders", n).format(n=n) for n in (1, 2, 5, 21)}
    assert forms == {1: "1 order", 2: "2 orders", 5: "5 orders", 21: "21 orders"}


def test_speaking_restores_the_language_before():
    i18n.activate("uk")
    with i18n.speaking("ru") as language:
        assert language == "ru" and i18n.active() == "ru"
    assert i18n.active() == "uk"
    assert i18n.activate("klingon") == "en"


def test_help_as_docs_languages_shows_it(cli):
    """docs/languages.md: `UNPAID_LANG=ru unpaid orders --help` is Russian, click's own words included."""
    result = cli(["orders", "--help"], env={"UNPAID_LANG": "ru"})
    assert result.exit_code == 0
    assert result.stdout.startswith("Использование: unpaid orders")
    assert "Список заказов" in result.stdout and "Показать эту справку и выйти." in result.stdout
    english = cli(["orders", "--help"], env={"UNPAID_LANG": "en"})
    assert english.stdout.startswith("Usage: unpaid orders") and "Список" not in english.stdout


def test_a_source_types_title_is_shown_in_the_language(cli, tmp_path, monkeypatch):
    pytest.importorskip("unpaid_csv")
    monkeypatch.setenv("UNPAID_LOAD_PLUGINS", "csv")
    (tmp_path / "orders.csv").write_text("id,created_at,status,email,amount\n", encoding="utf-8")
    (tmp_path / "unpaid.toml").write_text('[sources.shop]\ntype = "csv"\npath = "orders.csv"\n', encoding="utf-8")
    result = cli(["doctor"], env={"UNPAID_LANG": "ru"})
    assert "Order export" not in result.stdout and "csv (" in result.stdout
