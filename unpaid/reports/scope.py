"""Which orders a report covers: created in a period, of a source, a product, a playbook."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

from unpaid.errors import InputError
from unpaid.i18n import _, pgettext

#: The start of time for a report without ``--since``: the store keeps no earlier moments.
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
DEFAULT_WINDOW = timedelta(days=7)


@dataclass(frozen=True)
class Scope:
    since: datetime
    until: datetime
    source: str | None = None
    product: str | None = None
    playbook: str | None = None


def parse_scope(since: str | None, until: str | None, now: datetime, zone: tzinfo, *, source: str | None = None,
                product: str | None = None, playbook: str | None = None) -> Scope:
    """The scope of ``--since``/``--until`` (dates or moments in ``zone``; ``until`` defaults to now).

    Raises InputError naming the option for a bad date or a period that ends before it starts.
    """
    start = _when("--since", since, now, zone) if since else EPOCH
    end = _when("--until", until, now, zone) if until else now
    if start >= end:
        end = until or pgettext("end of a period", "now")
        raise InputError(_("--since {since} is not before --until {until}").format(since=since, until=end),
                         _("give a --since earlier than --until (e.g. --since 2026-11-01 --until 2026-12-01)"))
    return Scope(start, end, source, product, playbook)


def _when(option: str, text: str, now: datetime, zone: tzinfo) -> datetime:
    from unpaid.clock import parse_when

    try:
        return parse_when(text, zone, now)
    except ValueError as exc:
        raise InputError(f"{option}: {exc}", _("e.g. {option} 2026-11-01 or {option} 2026-11-01T10:00").format(
            option=option)) from None
