"""The autoweboffice connector's words in the shop's language: its own gettext domain, ``unpaid_autoweboffice``."""

from __future__ import annotations

from pathlib import Path

from unpaid.i18n import Domain, N_

DOMAIN = Domain("unpaid_autoweboffice", Path(__file__).parent / "locale")
_ = DOMAIN.gettext
ngettext = DOMAIN.ngettext

__all__ = ["DOMAIN", "N_", "Said", "_", "ngettext", "shown"]


class Said(str):
    """English text, as stored with an order and compared by tests, that can also be shown in the active
    language: ``Said(N_("invoice {id}: no e-mail"), id=...)``; :meth:`shown` gives the translation."""

    template: str
    params: dict

    def __new__(cls, template: str, **params: object) -> "Said":
        said = super().__new__(cls, template.format(**params))
        said.template, said.params = template, params
        return said

    def shown(self) -> str:
        return _(self.template).format(**self.params)


def shown(text: str) -> str:
    """``text`` in the active language when it is :class:`Said`, else as it is."""
    return text.shown() if isinstance(text, Said) else text
