"""``[calendar]``: days off and holidays, read at load with errors naming the key, kept out of windows."""

from datetime import date, datetime, timezone

import pytest

from unpaid.config import parse_config
from unpaid.errors import ConfigError
from unpaid.playbook.windows import parse_window
from unpaid.workdays import Calendar

UTC = timezone.utc


def load(tmp_path, text):
    path = tmp_path / "unpaid.toml"
    path.write_text('timezone = "Europe/Moscow"\n' + text, encoding="utf-8")
    return parse_config(path)


def test_the_calendar_is_read_in_the_configs_zone(tmp_path):
    cfg = load(tmp_path, '[calendar]\ndays_off = ["sun", "Saturday"]\nholidays = ["2026-12-31", 2027-01-01]\n')
    assert cfg.calendar == Calendar(frozenset({5, 6}), frozenset({date(2026, 12, 31), date(2027, 1, 1)}),
                                    "Europe/Moscow")
    # 2026-12-30 22:00 UTC is already the 31st in Moscow
    assert cfg.calendar.off_at(datetime(2026, 12, 30, 22, 0, tzinfo=UTC))
    assert not cfg.calendar.off_at(datetime(2026, 12, 30, 20, 59, tzinfo=UTC))
    assert not load(tmp_path, "").calendar


@pytest.mark.parametrize("body, message", [
    ('holidays = ["2026-12-31", "2026-13-01"]',
     "calendar.holidays[2]: '2026-13-01' is not a date — write YYYY-MM-DD"),  # counted from 1, as steps[1]
    ('holidays = ["31.12.2026"]', "calendar.holidays[1]: '31.12.2026' is not a date — write YYYY-MM-DD"),
    ('holidays = "2026-12-31"', "calendar.holidays: '2026-12-31' is not a list — write holidays = "),
    ('days_off = ["sun", "holiday"]', "calendar.days_off[2]: 'holiday' is not a day of the week — use mon, tue"),
    ('days_off = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"]', "calendar.days_off: every day of the week"),
    ('weekends = ["sun"]', "`calendar.weekends` is not a calendar setting — use days_off and holidays"),
])
def test_a_bad_calendar_is_refused_at_load_naming_the_key(tmp_path, body, message):
    with pytest.raises(ConfigError) as info:
        load(tmp_path, f"[calendar]\n{body}\n")
    assert str(info.value).startswith(f"{tmp_path / 'unpaid.toml'}: {message}")


def test_a_bad_calendar_stops_any_command_with_exit_2_and_one_line(tmp_path, cli):
    (tmp_path / "unpaid.toml").write_text('[calendar]\nholidays = ["2026-13-01"]\n', encoding="utf-8")
    result = cli(["--config", str(tmp_path / "unpaid.toml"), "queue"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"Error: {tmp_path / 'unpaid.toml'}: calendar.holidays[1]: '2026-13-01' is not a date — write YYYY-MM-DD"]


def test_a_window_skips_days_off_and_holidays_and_keeps_its_own_days():
    cal = Calendar(frozenset({6}), frozenset({date(2026, 12, 31), date(2027, 1, 1)}), "Europe/Moscow")
    w = parse_window({"hours": "10:00-18:00", "days": ["mon", "tue", "wed", "thu", "fri", "sat"],
                      "timezone": "Europe/Moscow"}, "w")
    from dataclasses import replace

    w = replace(w, calendar=cal)
    sat_evening = datetime(2026, 11, 28, 16, 0, tzinfo=UTC)  # 19:00 in Moscow: after hours
    assert w.next_slot(sat_evening) == datetime(2026, 11, 30, 7, 0, tzinfo=UTC)  # Monday 10:00, not Sunday
    new_year = datetime(2026, 12, 30, 16, 0, tzinfo=UTC)
    assert w.next_slot(new_year) == datetime(2027, 1, 2, 7, 0, tzinfo=UTC)  # Saturday Jan 2, 10:00
    assert "except sun and 2 holidays" in w.describe()
    # the customer's zone sets the hours, the shop's calendar the days
    assert w.next_slot(datetime(2026, 12, 30, 23, 0, tzinfo=UTC), "Asia/Vladivostok") == \
        datetime(2027, 1, 2, 0, 0, tzinfo=UTC)  # Jan 2 10:00 in Vladivostok
    # a window with no hours of its own still keeps the calendar
    any_time = replace(parse_window({}, "w"), calendar=cal)
    assert not any_time.always
    assert any_time.next_slot(datetime(2026, 11, 29, 12, 0, tzinfo=UTC)) == datetime(2026, 11, 29, 21, 0, tzinfo=UTC)
