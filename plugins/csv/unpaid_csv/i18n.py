"""The csv connector's words in the shop's language: its own gettext domain, ``unpaid_csv``."""

from __future__ import annotations

from pathlib import Path

from unpaid.i18n import Domain, N_

DOMAIN = Domain("unpaid_csv", Path(__file__).parent / "locale")
_ = DOMAIN.gettext
ngettext = DOMAIN.ngettext

__all__ = ["DOMAIN", "N_", "Said", "_", "ngettext", "reason", "shown"]


class Said(str):
    """A reason kept in English (stored in the bookmark, compared, given to JSON) that is shown in the active
    language: ``Said(N_("not a date: {text!r}"), text=...)``. Parameters may be Said themselves."""

    template: str
    params: dict

    def __new__(cls, template: str, **params: object) -> "Said":
        said = super().__new__(cls, template.format(**params))
        said.template, said.params = template, params
        return said

    def shown(self) -> str:
        return _(self.template).format(**{k: shown(v) for k, v in self.params.items()})

    def to_json(self) -> dict:
        return {"t": self.template, "p": {k: v.to_json() if isinstance(v, Said) else v for k, v in self.params.items()}}

    @classmethod
    def from_json(cls, data: dict) -> "Said":
        params = {k: cls.from_json(v) if isinstance(v, dict) else v for k, v in data["p"].items()}
        return cls(str(data["t"]), **params)


def shown(text: object) -> object:
    """``text`` in the active language when it is :class:`Said`, else as it is."""
    return text.shown() if isinstance(text, Said) else text


def reason(exc: BaseException) -> str:
    """The reason an exception was raised with, keeping a :class:`Said` one."""
    said = exc.args[0] if exc.args else ""
    return said if isinstance(said, Said) else str(exc)
