"""The autoweboffice connector's words in the shop's language: its own gettext domain, ``unpaid_autoweboffice``."""

from __future__ import annotations

from pathlib import Path

from unpaid.i18n import Domain, N_, Phrase

DOMAIN = Domain("unpaid_autoweboffice", Path(__file__).parent / "locale")
_ = DOMAIN.gettext
ngettext = DOMAIN.ngettext

__all__ = ["DOMAIN", "N_", "Said", "_", "ngettext", "shown"]


class Said(Phrase):
    """English text, as stored and compared, shown in the active language through this plugin's catalog:
    ``Said(N_("invoice {id}: no e-mail"), id=...)``."""

    domain = DOMAIN


def shown(text: str) -> str:
    """``text`` in the active language when it is :class:`Said`, else as it is."""
    return text.human() if isinstance(text, Phrase) else text
