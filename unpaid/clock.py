"""Time: an injectable clock (``--now`` / ``UNPAID_NOW``), durations and user-entered dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from functools import lru_cache

_UNITS = {
    "s": 1,
    "sec": 1,
    "m": 60,
    "min": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
}
_DURATION = re.compile(r"(\d+)\s*(s|sec|min|m|h|d|w)", re.IGNORECASE)
#: The longest duration anything takes (a lease, a delay, an age): a century. Longer is a typo, and
#: adding it to a date would leave the calendar.
MAX_DURATION = timedelta(days=36525)
#: User-entered moments (``--now``, ``--until``, ``--at``, event times) lie in these years, so a moment
#: plus any duration stays a valid date.
YEARS = (1970, 2199)


def parse_duration(text: str) -> timedelta:
    """Parse ``90m``, ``2d``, ``3w``, ``1h30m`` or ``1d 12h`` into a timedelta.

    Raises ValueError with the accepted units when the text is not a duration.
    """
    raw = text.strip().lower()
    pos, total = 0, 0
    for match in _DURATION.finditer(raw):
        if raw[pos : match.start()].strip():
            break
        digits = match.group(1).lstrip("0") or "0"
        # Checked before int(): a number of thousands of digits is refused by Python itself, with a
        # message about integer string conversion that names nothing the user typed.
        total += (int(digits) if len(digits) <= 15 else 10**15) * _UNITS[match.group(2)]
        pos = match.end()
    if not raw or pos == 0 or raw[pos:].strip():
        raise ValueError(f"not a duration: {text!r}; use a number and a unit: 30m, 2h, 3d, 2w")
    if total > MAX_DURATION.total_seconds():
        raise ValueError(f"{text.strip()!r} is too long; at most 100 years (5218w)")
    return timedelta(seconds=total)


@lru_cache(maxsize=1024)
def format_duration(delta: timedelta) -> str:
    """Render a timedelta compactly: ``2d 3h``, ``45m``."""
    seconds = int(delta.total_seconds())
    sign = "-" if seconds < 0 else ""
    seconds = abs(seconds)
    parts = []
    for unit, size in (("w", 604800), ("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return sign + (" ".join(parts[:2]) if parts else f"{seconds}s")


def get_zone(name: str | None) -> tzinfo:
    """Return the zone for an IANA name (``Europe/Moscow``); UTC for None."""
    if not name:
        return timezone.utc
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}; use an IANA name such as Europe/Moscow") from None


def parse_when(text: str, zone: tzinfo = timezone.utc, now: datetime | None = None) -> datetime:
    """Parse a user-entered moment into aware UTC.

    Accepts ISO-8601 and other common formats (python-dateutil), ``today``, ``tomorrow``, and
    relative offsets ``+2d`` / ``-3h`` from ``now``. Values without an offset are read in ``zone``.
    """
    raw = text.strip()
    if not raw:
        raise ValueError("empty date; use e.g. 2026-11-24 or 2026-11-24T10:00")
    if now is not None:
        lowered = raw.lower()
        if lowered in ("now",):
            return now
        if lowered in ("today", "tomorrow"):
            local = now.astimezone(zone).replace(hour=0, minute=0, second=0, microsecond=0)
            if lowered == "tomorrow":
                local += timedelta(days=1)
            return local.astimezone(timezone.utc)
        if raw[0] in "+-" and raw[1:2].isdigit():
            delta = parse_duration(raw[1:])
            return _in_range(now + delta if raw[0] == "+" else now - delta, text)
    try:
        value = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        from dateutil import parser  # imported here: dateutil costs ~35 ms at start-up

        try:
            value = parser.parse(raw, dayfirst="." in raw)
        except (ValueError, OverflowError):
            raise ValueError(f"not a date: {text!r}; use e.g. 2026-11-24 or 2026-11-24T10:00") from None
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    try:
        return _in_range(value.astimezone(timezone.utc), text)
    except OverflowError:  # 0001-01-01 in a zone east of UTC
        return _in_range(None, text)


def _in_range(value: datetime | None, text: str) -> datetime:
    """``value`` when it lies within :data:`YEARS`, else ValueError quoting ``text``."""
    if value is None or not YEARS[0] <= value.year <= YEARS[1]:
        raise ValueError(f"{text.strip()!r} is out of range; give a moment between {YEARS[0]} and {YEARS[1]}")
    return value


def to_iso(dt: datetime | None) -> str | None:
    """Render an aware datetime as ISO-8601 UTC with a ``Z``: the store's and JSON's format."""
    if dt is None:
        return None
    if dt.tzinfo is not timezone.utc:
        dt = dt.astimezone(timezone.utc)
    # isoformat is C code and ~3x faster than strftime; it runs for every order a sync writes.
    return dt.replace(microsecond=0, tzinfo=None).isoformat() + "Z"


def from_iso(text: str | None) -> datetime | None:
    """Inverse of :func:`to_iso`."""
    if not text:
        return None
    return datetime.fromisoformat(text)  # Python 3.11 reads the "Z" itself


@dataclass(frozen=True)
class Clock:
    """Tells the time; fixed when ``--now`` is given, so runs can be replayed and simulated."""

    fixed: datetime | None = None

    def now(self) -> datetime:
        if self.fixed is not None:
            return self.fixed
        return datetime.now(timezone.utc).replace(microsecond=0)

    @classmethod
    def from_option(cls, text: str | None, zone: tzinfo = timezone.utc) -> "Clock":
        """Build a clock from the ``--now`` option; None means the system clock."""
        if not text:
            return cls()
        return cls(parse_when(text, zone))
