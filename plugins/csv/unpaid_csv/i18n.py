"""The csv connector's words in the shop's language: its own gettext domain, ``unpaid_csv``."""

from __future__ import annotations

from pathlib import Path

from unpaid.i18n import Domain, N_, Phrase

DOMAIN = Domain("unpaid_csv", Path(__file__).parent / "locale")
_ = DOMAIN.gettext
ngettext = DOMAIN.ngettext

__all__ = ["DOMAIN", "N_", "Said", "_", "ngettext", "reason", "shown"]


class Said(Phrase):
    """English text, as stored and compared, shown in the active language through this plugin's catalog:
    ``Said(N_("invoice {id}: no e-mail"), id=...)``."""

    domain = DOMAIN


def shown(text: object) -> object:
    """``text`` in the active language when it is :class:`Said`, else as it is."""
    return text.human() if isinstance(text, Phrase) else text


def reason(exc: BaseException) -> str:
    """The reason an exception was raised with, keeping a :class:`Said` one."""
    said = exc.args[0] if exc.args else ""
    return said if isinstance(said, Said) else str(exc)
