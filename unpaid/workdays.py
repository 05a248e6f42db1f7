"""``[calendar]`` in unpaid.toml: the shop's days off and holidays, kept out of send windows and calling hours.

Dates are read in the config's time zone: a holiday is that whole local day, wherever the customer is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

from unpaid.clock import get_zone
from unpaid.errors import ConfigError
from unpaid.i18n import _, ngettext

#: Weekday names, Monday first: the same words as a playbook window's ``days``.
DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
#: The most off days in a row looked past before giving up (a year and its holidays).
_HORIZON = 400


@dataclass(frozen=True)
class Calendar:
    """Weekdays off (0 = Monday) and holiday dates, local to ``timezone``."""

    days_off: frozenset[int] = frozenset()
    holidays: frozenset[date] = frozenset()
    timezone: str = "UTC"

    def __bool__(self) -> bool:
        return bool(self.days_off or self.holidays)

    def is_off(self, day: date) -> bool:
        return day.weekday() in self.days_off or day in self.holidays

    def off_at(self, at: datetime) -> bool:
        """Whether the moment ``at`` falls on a day off or a holiday."""
        return self.is_off(at.astimezone(get_zone(self.timezone)).date())

    def next_open(self, at: datetime) -> datetime:
        """``at`` when it is on a working day, else the start of the next working day (UTC)."""
        zone = get_zone(self.timezone)
        day = at.astimezone(zone).date()
        if not self.is_off(day):
            return at
        for _round in range(_HORIZON):
            day += timedelta(days=1)
            if not self.is_off(day):
                return datetime.combine(day, time(0), tzinfo=zone).astimezone(timezone.utc)
        return at  # every day off for a year is refused at load; keep the moment rather than lose it

    def describe(self) -> str:
        """``except sun and 2 holidays``, for window descriptions."""
        days = ",".join(DAYS[d] for d in sorted(self.days_off))
        n = len(self.holidays)
        if days and n:
            return ngettext("except {days} and {n} holiday", "except {days} and {n} holidays", n).format(days=days, n=n)
        if n:
            return ngettext("except {n} holiday", "except {n} holidays", n).format(n=n)
        return _("except {days}").format(days=days)


def parse_calendar(raw: Any, where: str, zone: str) -> Calendar:
    """Validate ``[calendar]``; ConfigError naming ``calendar.KEY`` (and the list item) and the fix."""
    if raw is None:
        return Calendar(timezone=zone)
    if not isinstance(raw, dict):
        raise ConfigError(_("{where}: `calendar` must be a table").format(where=where),
                          _("write [calendar] with days_off = [\"sun\"] and holidays = [\"2026-12-31\"]"))
    for key in raw:
        if key not in ("days_off", "holidays"):
            raise ConfigError(_("{where}: `calendar.{key}` is not a calendar setting").format(where=where, key=key),
                              _("use days_off and holidays"))
    days = frozenset(_day(item, f"calendar.days_off[{i}]", where)
                     for i, item in enumerate(_list(raw, "days_off", where), start=1))
    if len(days) == 7:
        raise ConfigError(_("{where}: calendar.days_off: every day of the week is off").format(where=where),
                          _("leave at least one working day, e.g. days_off = [\"sat\", \"sun\"]"))
    holidays = frozenset(_date(item, f"calendar.holidays[{i}]", where)
                         for i, item in enumerate(_list(raw, "holidays", where), start=1))
    return Calendar(days, holidays, zone)


def _list(raw: dict, key: str, where: str) -> list:
    value = raw.get(key, [])
    if not isinstance(value, list):
        example = '["sun"]' if key == "days_off" else '["2026-12-31", "2027-01-01"]'
        raise ConfigError(_("{where}: calendar.{key}: {value!r} is not a list").format(
            where=where, key=key, value=value),
                          _("write {key} = {example}").format(key=key, example=example))
    return value


def _day(item: Any, key: str, where: str) -> int:
    text = item.strip().lower()[:3] if isinstance(item, str) else None  # "sun" or "sunday", as in windows
    if text not in DAYS:
        raise ConfigError(_("{where}: {key}: {item!r} is not a day of the week").format(
            where=where, key=key, item=item),
                          _("use {names}").format(names=', '.join(DAYS)))
    return DAYS.index(text)


def _date(item: Any, key: str, where: str) -> date:
    if isinstance(item, date) and not isinstance(item, datetime):  # a bare TOML date
        return item
    try:
        if isinstance(item, str) and len(item.strip()) == 10:
            return date.fromisoformat(item.strip())
    except ValueError:
        pass
    raise ConfigError(_("{where}: {key}: {item!r} is not a date").format(where=where, key=key, item=item),
                      _("write YYYY-MM-DD"))
