"""The desk's calling hours keep the shop's ``[calendar]``: no next call on a day off or a holiday."""

from datetime import datetime, timedelta, timezone

from tests.desk.conftest import NOW, make_order, write_config

UTC = timezone.utc
CALENDAR = '[calendar]\ndays_off = ["sun"]\nholidays = ["2026-12-31", "2027-01-01"]\n'
SAT_1730 = datetime(2026, 11, 28, 17, 30, tzinfo=UTC)


def due(desk, order_id="shop:1"):
    with desk.store() as store:
        from unpaid.store.desk import DeskStore

        return DeskStore(store).open_task(order_id).due_at


def test_an_unanswered_call_on_saturday_evening_is_called_again_on_monday(desk):
    write_config(desk.root, CALENDAR)
    desk.add(make_order("1"), task_due=SAT_1730 - timedelta(minutes=5))
    desk("take shop:1 -m anna", now=SAT_1730)
    out = desk("outcome shop:1 no_answer -m anna", now=SAT_1730).stdout
    assert "next call 2026-11-30 09:00" in out  # not Sunday 09:00
    assert due(desk) == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
    assert desk.queue(datetime(2026, 11, 29, 19, 0, tzinfo=UTC)) == []


def test_without_a_calendar_sunday_is_a_working_day(desk):
    desk.add(make_order("1"), task_due=SAT_1730 - timedelta(minutes=5))
    assert "next call 2026-11-29 09:00" in desk("outcome shop:1 no_answer -m anna", now=SAT_1730).stdout


def test_thinking_callback_and_postpone_skip_the_holidays(desk):
    write_config(desk.root, CALENDAR)
    desk.add(make_order("1"), make_order("2"), make_order("3"), task_due=NOW - timedelta(hours=1))
    before_new_year = datetime(2026, 12, 29, 10, 0, tzinfo=UTC)
    out = desk("outcome shop:1 thinking -m anna", now=before_new_year).stdout
    assert "next call 2027-01-02 09:00" in out  # two days on is the 31st, then the 1st: both holidays

    out = desk("outcome shop:2 callback --at 2026-11-29T12:00 -m anna").stdout
    assert out.startswith("call back at 2026-11-30 09:00 (2026-11-29 is a day off: moved to the next working day)")
    assert due(desk, "shop:2") == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)

    result = desk("postpone shop:3 --days 5 -m anna")  # Tuesday + 5 days is a Sunday
    assert result.stdout.startswith("shop:3: next call 2026-11-30 09:00")
    assert "2026-11-29 is a day off: moved to the next working day" in result.stderr
    assert due(desk, "shop:3") == datetime(2026, 11, 30, 9, 0, tzinfo=UTC)
