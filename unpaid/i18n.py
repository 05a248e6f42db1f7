"""The shop's language: the interface's words (gettext catalogs) and money and moments written its way.

The language is ``language`` in unpaid.toml, else ``UNPAID_LANG``, else the POSIX locale (``LC_ALL``,
``LC_MESSAGES``, ``LANG``), else English. Words come from the gettext catalogs in ``unpaid/locale`` (one
domain per package: a plugin ships its own, see :class:`Domain`), compiled with Babel by
``python -m unpaid.catalogs``; plural forms are the catalog's (Russian and Ukrainian have three). Formats
come from Babel's CLDR data ("12 900,00 ₽", "$12,900.00", "28 ноября 2026, 12:00"), imported only when
something is formatted. Machine output (JSON, JSONL, CSV) is English whatever the language.

Code marks a message with ``_("Order {number} is paid").format(number=...)``: the text is the key, so
placeholders are named and never built with an f-string; ``ngettext`` for counts; ``N_`` marks a message
kept in a table and translated where it is shown.
"""

from __future__ import annotations

import gettext as _gettext
import os
from contextlib import contextmanager
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any, Iterator, Mapping

LANGUAGES = ("en", "ru", "uk")
DEFAULT = "en"
#: How people write a currency in running text where CLDR gives a sign they rarely use.
_LOCAL_SIGNS = {("uk", "UAH"): "грн", ("ru", "UAH"): "грн", ("uk", "RUB"): "₽"}


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


#: The language the interface speaks now (one per process; set by :func:`activate`).
_active = DEFAULT
_HERE = Path(__file__).resolve().parent


def activate(language: str | None) -> str:
    """Speak ``language`` from now on (None or an unknown one: English); return the language now active."""
    global _active
    _active = language if language in LANGUAGES else DEFAULT
    return _active


def active() -> str:
    """The language the interface speaks now."""
    return _active


@contextmanager
def speaking(language: str | None) -> Iterator[str]:
    """Speak ``language`` inside the block, then what was spoken before."""
    before = _active
    try:
        yield activate(language)
    finally:
        activate(before)


class Domain:
    """One package's catalogs: ``Domain("unpaid_getcourse", Path(__file__).parent / "locale")``.

    Looks words up in the active language; English (the keys themselves) needs no catalog.
    """

    def __init__(self, name: str, localedir: Path | str, helps: bool = True):
        self.name, self.localedir = name, str(localedir)
        self._catalogs: dict[str, _gettext.NullTranslations] = {}
        if helps:  # its catalog may hold the help texts of commands a plugin adds
            _DOMAINS.append(self)

    def catalog(self, language: str | None = None) -> _gettext.NullTranslations:
        language = language or _active
        if language == DEFAULT:
            return _NULL
        found = self._catalogs.get(language)
        if found is None:  # gettext.translation looks for the file on every call: once per language here
            found = self._catalogs[language] = _gettext.translation(self.name, self.localedir, languages=[language],
                                                                    fallback=True)
        return found

    def gettext(self, message: str) -> str:
        return message if _active == DEFAULT else self.catalog().gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        if _active == DEFAULT:
            return singular if n == 1 else plural
        return self.catalog().ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        return message if _active == DEFAULT else self.catalog().pgettext(context, message)


_NULL = _gettext.NullTranslations()
_DOMAINS: list[Domain] = []
UNPAID = Domain("unpaid", _HERE / "locale")


def domains() -> list[Domain]:
    """unpaid's catalog domain, then those plugins made, in the order they were made."""
    return list(_DOMAINS)


def _(message: str) -> str:
    """``message`` in the active language (the English text when the catalog has no translation)."""
    return UNPAID.gettext(message)


def ngettext(singular: str, plural: str, n: int) -> str:
    """The form for ``n``: ``ngettext("{n} order", "{n} orders", n).format(n=n)``."""
    return UNPAID.ngettext(singular, plural, n)


def pgettext(context: str, message: str) -> str:
    """``message`` as meant in ``context`` (one English word, two meanings)."""
    return UNPAID.pgettext(context, message)


def lookup(message: str) -> str:
    """``message`` from whichever catalog knows it: unpaid's, then the plugins' (headers, help texts)."""
    if _active == DEFAULT:
        return message
    for domain in _DOMAINS:
        found = domain.gettext(message)
        if found != message:
            return found
    return message


class Phrase(str):
    """A sentence kept in English (stored, compared, written to JSON) that is shown in the reader's language.

    ``Phrase(N_("duplicate of {order}"), order="shop:1")`` is the English text itself (a ``str``);
    :meth:`human` fills the translated template, translating parameters that are phrases too. A plugin
    subclasses it with its own ``domain``.
    """

    #: The catalog the template is looked up in; None: unpaid's own.
    domain: "Domain | None" = None
    template: str
    params: dict

    def __new__(cls, template: str, **params: Any) -> "Phrase":
        made = super().__new__(cls, template.format(**params))
        made.template, made.params = template, params
        return made

    def human(self) -> str:
        words = (self.domain or UNPAID).gettext(self.template)
        return words.format(**{k: v.human() if isinstance(v, Phrase) else v for k, v in self.params.items()})

    def to_json(self) -> dict:
        """The template and parameters, to store and make the phrase again with :meth:`from_json`."""
        return {"t": self.template,
                "p": {k: v.to_json() if isinstance(v, Phrase) else v for k, v in self.params.items()}}

    @classmethod
    def from_json(cls, data: dict) -> "Phrase":
        params = {k: cls.from_json(v) if isinstance(v, dict) else v for k, v in data["p"].items()}
        return cls(str(data["t"]), **params)


def N_(message: str) -> str:
    """Mark a message for the catalog without translating it now (tables built at import time)."""
    return message


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
