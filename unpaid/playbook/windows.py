"""Send windows: the hours and weekdays a playbook may reach a customer, in a time zone.

An action that falls outside the window is deferred to the next allowed moment, never dropped. The
shop's ``[calendar]`` (days off, holidays) is attached to every window at load and applies on top.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, Mapping

from unpaid.clock import get_zone
from unpaid.i18n import _
from unpaid.workdays import DAYS, Calendar

_HOURS = re.compile(r"^\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*$")


@dataclass(frozen=True)
class Window:
    """Allowed local hours ``[start, end)`` on ``days`` (0 = Monday); ``end <= start`` spans midnight."""

    start: time = time(0, 0)
    end: time = time(0, 0)
    days: frozenset[int] = frozenset(range(7))
    timezone: str | None = None
    #: The shop's days off and holidays (in the config's zone), on top of ``days``.
    calendar: Calendar | None = None

    @property
    def always(self) -> bool:
        return self.start == self.end == time(0, 0) and len(self.days) == 7 and not self.calendar

    def describe(self, zone_name: str | None = None) -> str:
        """``09:00-21:00 every day Europe/Moscow``, in ``zone_name`` (the customer's) when given."""
        days = _("every day") if len(self.days) == 7 else ",".join(DAYS[d] for d in sorted(self.days))
        text = f"{self.start:%H:%M}-{self.end:%H:%M} {days} {zone_name or self.timezone or 'UTC'}"
        return f"{text}, {self.calendar.describe()}" if self.calendar else text

    def next_slot(self, at: datetime, zone_name: str | None = None) -> datetime:
        """The first allowed moment at or after ``at`` (UTC), in the customer's zone when known."""
        if self.always:
            return at
        if not self.calendar:
            return self._slot(at, zone_name)
        # The window and the calendar may be in different zones: step between the two until both agree.
        for _round in range(400):
            slot = self._slot(at, zone_name)
            at = self.calendar.next_open(slot)
            if at == slot:
                return slot
        return at

    def _slot(self, at: datetime, zone_name: str | None) -> datetime:
        """:meth:`next_slot` by hours and weekdays alone."""
        zone = _zone(zone_name or self.timezone)
        local = at.astimezone(zone)
        for offset in range(-1, 9):
            day = local.date() + timedelta(days=offset)
            if day.weekday() not in self.days:
                continue
            begin, finish = _interval(day, self.start, self.end, zone)
            if at < finish:
                return max(at, begin).astimezone(timezone.utc)
        return at  # no allowed day at all is rejected at load; keep the action rather than drop it

    def allows(self, at: datetime, zone_name: str | None = None) -> bool:
        return self.next_slot(at, zone_name) == at


def _interval(day: date, start: time, end: time, zone: tzinfo) -> tuple[datetime, datetime]:
    begin = datetime.combine(day, start, tzinfo=zone)
    finish_day = day if end > start else day + timedelta(days=1)
    finish = datetime.combine(finish_day, end, tzinfo=zone)
    return begin.astimezone(timezone.utc), finish.astimezone(timezone.utc)


def _zone(name: str | None) -> tzinfo:
    try:
        return get_zone(name)
    except ValueError:
        return timezone.utc  # an unknown customer zone falls back to UTC; playbook zones are checked at load


def parse_window(body: Any, where: str) -> Window:
    """Read ``{hours = "09:00-21:00", days = ["mon", ...], timezone = "Europe/Moscow"}``.

    ``quiet = "21:00-09:00"`` may replace ``hours`` (the complement). Raises ValueError naming the field.
    """
    if not isinstance(body, Mapping):
        raise ValueError(_("{where} must be a table like {{ hours = \"09:00-21:00\" }}").format(where=where))
    unknown = set(body) - {"hours", "quiet", "days", "timezone"}
    if unknown:
        raise ValueError(_("{where}.{value} is not a window field (use hours, quiet, days, timezone)").format(
            where=where, value=sorted(unknown)[0]))
    if "hours" in body and "quiet" in body:
        raise ValueError(_("{where}: give either hours or quiet, not both").format(where=where))
    start = end = time(0, 0)
    if "hours" in body or "quiet" in body:
        k = "hours" if "hours" in body else "quiet"
        a, b = _hours(body[k], f"{where}.{k}")
        start, end = (a, b) if k == "hours" else (b, a)
        if start == end:
            raise ValueError(_("{where}.{k} is an empty range").format(where=where, k=k))
    days = frozenset(range(7))
    if "days" in body:
        raw = body["days"]
        if not isinstance(raw, list) or not raw:
            raise ValueError(_("{where}.days must be a non-empty list such as [\"mon\", \"tue\"]").format(where=where))
        try:
            days = frozenset(DAYS.index(str(d).lower()[:3]) for d in raw)
        except ValueError:
            raise ValueError(_("{where}.days: use day names {names}").format(
                where=where, names=', '.join(DAYS))) from None
    zone = body.get("timezone")
    if zone is not None:
        try:
            get_zone(str(zone))
        except ValueError as exc:
            raise ValueError(_("{where}.timezone: {exc}").format(where=where, exc=exc)) from None
    return Window(start, end, days, zone)


def _hours(raw: Any, where: str) -> tuple[time, time]:
    m = _HOURS.match(str(raw))
    if not m:
        raise ValueError(_("{where} must look like \"09:00-21:00\", got {raw!r}").format(where=where, raw=raw))
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
        raise ValueError(_("{where}: {raw!r} is not a time range").format(where=where, raw=raw))
    return time(h1 % 24, m1), time(h2 % 24, m2)
