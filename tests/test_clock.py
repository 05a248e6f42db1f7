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


# ---- bounds: whatever is typed, a ValueError naming it, or a value within the bounds ----

from hypothesis import given, settings, strategies as st  # noqa: E402

from unpaid.clock import MAX_DURATION, YEARS  # noqa: E402

DURATION_TEXT = st.one_of(
    st.text(max_size=30),
    st.builds(lambda n, u: f"{n}{u}", st.integers(min_value=0, max_value=10**40),
              st.sampled_from(["s", "sec", "m", "min", "h", "d", "w", "x", ""])),
)


@settings(max_examples=300, deadline=None)
@given(DURATION_TEXT)
def test_parse_duration_raises_value_error_or_stays_within_a_century(text):
    try:
        delta = parse_duration(text)
    except ValueError:
        return
    assert timedelta(0) <= delta <= MAX_DURATION


@settings(max_examples=300, deadline=None)
@given(st.one_of(st.text(max_size=30), DURATION_TEXT.map(lambda t: "+" + t), DURATION_TEXT.map(lambda t: "-" + t),
                 st.datetimes().map(lambda d: d.isoformat())))
def test_parse_when_raises_value_error_or_stays_within_the_years(text):
    try:
        moment = parse_when(text, get_zone("Europe/Moscow"), NOW)
    except ValueError:
        return
    assert YEARS[0] <= moment.year <= YEARS[1] and moment.tzinfo is not None
    assert moment + MAX_DURATION > moment - MAX_DURATION  # still on the calendar either way


def test_huge_durations_and_far_dates_name_the_bound():
    with pytest.raises(ValueError, match="too long; at most 100 years"):
        parse_duration("99999999999w")
    with pytest.raises(ValueError, match="between 1970 and 2199"):
        parse_when("0001-01-01")
    with pytest.raises(ValueError, match="between 1970 and 2199"):
        parse_when("+36500d", now=NOW.replace(year=2150))


def test_a_duration_too_long_for_timedelta_is_a_value_error():  # found by tests/proofs (hypothesis)
    with pytest.raises(ValueError, match="too long"):
        parse_duration("1000000000d")
    with pytest.raises(ValueError, match="too long"):
        parse_duration("99999999999w")


@pytest.mark.parametrize("text", ["9999-12-31T23:00-01:00", "+999999999d", "-999999d"])
def test_a_date_past_the_calendar_is_a_value_error(text):  # found by tests/proofs (hypothesis)
    with pytest.raises(ValueError, match="out of range|too long"):
        parse_when(text, now=NOW)
