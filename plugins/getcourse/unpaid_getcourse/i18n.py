"""The getcourse connector's words in the shop's language: its own gettext domain, ``unpaid_getcourse``."""

from __future__ import annotations

from pathlib import Path

from unpaid.i18n import Domain, N_

DOMAIN = Domain("unpaid_getcourse", Path(__file__).parent / "locale")
_ = DOMAIN.gettext
ngettext = DOMAIN.ngettext

__all__ = ["DOMAIN", "N_", "_", "ngettext"]
