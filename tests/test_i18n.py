"""The shop's language: chosen from the config, UNPAID_LANG or the locale; money and dates written its way."""

from datetime import datetime, timezone

import pytest

from unpaid.i18n import format_money, resolve
from unpaid.model import Customer, LineItem, Money, Order, Status


@pytest.mark.parametrize("configured, env, expected", [
    ("ru", {"UNPAID_LANG": "uk", "LANG": "en_US.UTF-8"}, "ru"),
    (None, {"UNPAID_LANG": "uk", "LANG": "ru_RU.UTF-8"}, "uk"),
    (None, {"LC_ALL": "ru_RU.UTF-8", "LANG": "en_US.UTF-8"}, "ru"),
    (None, {"LC_MESSAGES": "uk_UA.UTF-8"}, "uk"),
    (None, {"LANG": "de_DE.UTF-8"}, "en"),  # a language unpaid does not speak: English
    (None, {"LANG": "C.UTF-8"}, "en"),
    (None, {}, "en"),
])
def test_the_language_comes_from_the_config_then_the_environment(configured, env, expected):
    assert resolve(configured, env) == expected


@pytest.mark.parametrize("language, currency, expected", [
    ("ru", "RUB", "12 900,00 ₽"), ("uk", "UAH", "12 900,00 грн"), ("en", "USD", "$12,900.00"),
])
def test_money_as_each_language_writes_it(language, currency, expected):
    assert format_money(1_290_000, currency, language) == expected


def test_letters_format_money_and_dates_with_filters_in_the_letter_s_language(tmp_path):
    from unpaid.store.offers import StoredOffer
    from unpaid.templates import Templates, context
    from zoneinfo import ZoneInfo

    (tmp_path / "t.txt").write_text("Subject: {{ order.number }}\n\n{{ order.total }} / {{ order.total | money }}; "
                                    "{{ offer.price | money }} до {{ offer.valid_until | date }}\n", encoding="utf-8")
    now = datetime(2026, 11, 24, 9, tzinfo=timezone.utc)
    order = Order("shop", "7", Status.NEW, now, Money(1_000_000, "RUB"), Customer("a@example.com", None, "Анна"),
                  (LineItem("c", "Курс"),), number="7")
    offer = StoredOffer(1, "k", order.id, "p", "s", "discount", 5, datetime(2026, 11, 28, 9, tzinfo=timezone.utc),
                        "active", now)
    ctx = context(order, offer, "p", "s", now, ZoneInfo("Europe/Moscow"), language="ru")
    body = Templates(tmp_path).render("t", ctx).body
    assert body == "10 000.00 RUB / 10 000,00 ₽; 9 500,00 ₽ до 28 ноября 2026, 12:00\n"
    english = Templates(tmp_path).render("t", context(order, offer, "p", "s", now, ZoneInfo("Europe/Moscow"))).body
    assert english.startswith("10 000.00 RUB / RUB10,000.00; RUB9,500.00")
    assert "28 November 2026, 12:00" in english


def test_an_unknown_language_is_a_config_error_naming_the_key(tmp_path):
    from unpaid.config import load_config
    from unpaid.errors import ConfigError

    path = tmp_path / "unpaid.toml"
    path.write_text('language = "klingon"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as exc:
        load_config(str(path))
    assert "language" in str(exc.value) and "ru" in (exc.value.fix or "")


def test_a_letter_in_the_reader_s_language_is_picked_and_checked(tmp_path):
    from unpaid.errors import ConfigError
    from unpaid.templates import Templates

    (tmp_path / "hi.txt").write_text("Subject: Hello\n\nHello!\n", encoding="utf-8")
    (tmp_path / "hi.ru.txt").write_text("Subject: Здравствуйте\n\nЗдравствуйте!\n", encoding="utf-8")
    templates = Templates(tmp_path)
    assert templates.render("hi", {"language": "ru"}).subject == "Здравствуйте"
    assert templates.render("hi", {"language": "uk"}).subject == "Hello"  # no Ukrainian one: the base letter
    assert templates.render("hi", {}).subject == "Hello"
    templates.check("hi", "test", [{}])
    (tmp_path / "hi.uk.txt").write_text("Subject: Вітаємо\n\n{{ nobody }}\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="hi.uk.txt"):
        Templates(tmp_path).check("hi", "test", [{}])
