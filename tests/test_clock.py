from datetime import datetime, timedelta, timezone

import pytest

from unpaid.clock import Clock, format_duration, get_zone, parse_duration, parse_when

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


@pytest.mark.parametrize("text, delta", [
    ("90m", timedelta(minutes=90)), ("2d", timedelta(days=2)), ("3w", timedelta(weeks=3)),
    ("1h30m", timedelta(minutes=90)), ("1d 12h", timedelta(hours=36)), ("45s", timedelta(seconds=45)),
])
def test_parse_duration(text, delta):
    assert parse_duration(text) == delta


@pytest.mark.parametrize("text", ["", "7x", "d", "2d junk", "-1d"])
def test_parse_duration_rejects_with_units_hint(text):
    with pytest.raises(ValueError, match="30m, 2h, 3d, 2w"):
        parse_duration(text)


def test_format_duration_is_compact():
    assert format_duration(timedelta(days=2, hours=3, minutes=5)) == "2d 3h"
    assert format_duration(timedelta(seconds=30)) == "30s"


def test_parse_when_reads_naive_times_in_the_configured_zone():
    moscow = get_zone("Europe/Moscow")
    assert parse_when("2026-11-24T12:00", moscow) == datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
    assert parse_when("2026-11-24T12:00Z", moscow) == datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
    assert parse_when("24.11.2026 12:00", moscow) == datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def test_parse_when_relative_to_now():
    assert parse_when("+2d", now=NOW) == NOW + timedelta(days=2)
    assert parse_when("tomorrow", get_zone("Europe/Moscow"), now=NOW) == datetime(2026, 11, 24, 21, 0, tzinfo=timezone.utc)


def test_parse_when_rejects_garbage():
    with pytest.raises(ValueError, match="not a date"):
        parse_when("soon")


def test_fixed_clock_does_not_move():
    clock = Clock.from_option("2026-11-24T09:00:00Z")
    assert clock.now() == NOW == clock.now()
    assert Clock().now().tzinfo is not None


def test_unknown_zone_is_named():
    with pytest.raises(ValueError, match="Mars/Olympus"):
        get_zone("Mars/Olympus")


def test_a_duration_too_long_for_timedelta_is_a_value_error():  # found by tests/proofs (hypothesis)
    with pytest.raises(ValueError, match="too long"):
        parse_duration("1000000000d")
    with pytest.raises(ValueError, match="too long"):
        parse_duration("99999999999w")


@pytest.mark.parametrize("text", ["9999-12-31T23:00-01:00", "+999999999d", "-999999d"])
def test_a_date_past_the_calendar_is_a_value_error(text):  # found by tests/proofs (hypothesis)
    with pytest.raises(ValueError, match="out of range"):
        parse_when(text, now=NOW)
