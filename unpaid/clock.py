"""Time: an injectable clock (``--now`` / ``UNPAID_NOW``), durations and user-entered dates."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo

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


def parse_duration(text: str) -> timedelta:
    """Parse ``90m``, ``2d``, ``3w``, ``1h30m`` or ``1d 12h`` into a timedelta.

    Raises ValueError with the accepted units when the text is not a duration.
    """
    raw = text.strip().lower()
    pos, total = 0, 0
    for match in _DURATION.finditer(raw):
        if raw[pos : match.start()].strip():
            break
        total += int(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if not raw or pos == 0 or raw[pos:].strip():
        raise ValueError(f"not a duration: {text!r}; use a number and a unit: 30m, 2h, 3d, 2w")
    try:
        return timedelta(seconds=total)
    except OverflowError:
        raise ValueError(f"duration {text!r} is too long; the longest is 999999999d") from None


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
            try:
                return now + delta if raw[0] == "+" else now - delta
            except OverflowError:
                raise ValueError(f"{text!r} is out of range: dates go from year 1 to 9999") from None
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
        return value.astimezone(timezone.utc)
    except OverflowError:  # 9999-12-31T23:00-01:00 is past the year 9999 in UTC
        raise ValueError(f"{text!r} is out of range: dates go from year 1 to 9999") from None


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
