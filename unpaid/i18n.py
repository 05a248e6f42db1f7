"""The shop's language and its formats: money and moments written the way its customers and managers read them.

The language is ``language`` in unpaid.toml, else ``UNPAID_LANG``, else the POSIX locale (``LC_ALL``,
``LC_MESSAGES``, ``LANG``), else English. Formats come from Babel's CLDR data ("12 900,00 ₽", "$12,900.00",
"28 ноября 2026, 12:00"), imported only when something is formatted.
"""

from __future__ import annotations

import os
from datetime import datetime, tzinfo
from typing import Any, Mapping

LANGUAGES = ("en", "ru", "uk")
DEFAULT = "en"
#: How people write a currency in running text where CLDR gives a sign they rarely use.
_LOCAL_SIGNS = {("uk", "UAH"): "грн", ("ru", "UAH"): "грн"}


def parse_language(text: str | None) -> str | None:
    """``ru``, ``ru_RU.UTF-8``, ``uk-UA`` -> a supported language, or None."""
    if not text:
        return None
    code = text.strip().replace("-", "_").split(".")[0].split("@")[0].split("_")[0].lower()
    return code if code in LANGUAGES else None


def resolve(configured: str | None = None, environ: Mapping[str, str] | None = None) -> str:
    """The language to speak: the config's, else ``UNPAID_LANG``, else the POSIX locale, else English."""
    env = os.environ if environ is None else environ
    for candidate in (configured, env.get("UNPAID_LANG"), env.get("LC_ALL"), env.get("LC_MESSAGES"), env.get("LANG")):
        found = parse_language(candidate)
        if found:
            return found
    return DEFAULT


def format_money(minor: int, currency: str, language: str) -> str:
    """An amount in minor units as the language writes it: ``12 900,00 ₽``, ``12 900,00 грн``, ``$12,900.00``."""
    from babel.numbers import format_currency

    text = format_currency(minor / 100, currency, locale=language)
    sign = _LOCAL_SIGNS.get((language, currency))
    if sign:
        from babel.numbers import get_currency_symbol

        text = text.replace(get_currency_symbol(currency, locale=language), sign)
    return text.replace("\u00a0", " ").replace("\u202f", " ")


def format_moment(moment: datetime, language: str, zone: tzinfo) -> str:
    """A moment in ``zone``, spelled for people: ``28 ноября 2026, 12:00``, ``28 November 2026, 12:00``."""
    from babel.dates import format_datetime

    return format_datetime(moment.astimezone(zone), "d MMMM yyyy, HH:mm", locale=language)


class MoneyText(str):
    """A template's money value: prints as before (``12 900.00 RUB``); the ``money`` filter localises it."""

    minor: int
    currency: str

    def __new__(cls, text: str, minor: int, currency: str) -> "MoneyText":
        made = super().__new__(cls, text)
        made.minor, made.currency = minor, currency
        return made


class MomentText(str):
    """A template's moment: prints as ``YYYY-MM-DD HH:MM`` in the reader's zone; the ``date`` filter spells it."""

    moment: datetime
    zone: tzinfo

    def __new__(cls, text: str, moment: datetime, zone: tzinfo) -> "MomentText":
        made = super().__new__(cls, text)
        made.moment, made.zone = moment, zone
        return made


def money_filter(context: Any, value: Any) -> str:
    """``{{ order.total | money }}``: the amount in the letter's language."""
    if isinstance(value, MoneyText):
        return format_money(value.minor, value.currency, context.get("language") or DEFAULT)
    return str(value)


def date_filter(context: Any, value: Any) -> str:
    """``{{ offer.valid_until | date }}``: the moment spelled in the letter's language."""
    if isinstance(value, MomentText):
        return format_moment(value.moment, context.get("language") or DEFAULT, value.zone)
    return str(value)
