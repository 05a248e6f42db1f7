"""Exports under the API's rules: row caps ([UNK]: truncate or refuse), 905 locks, lost starts, 908."""

from __future__ import annotations

import threading

import pytest

from unpaid.connector import InvalidData, RateLimited, Temporary
from unpaid.sync import sync_source
from unpaid_getcourse import wire

from .conftest import SECRET, deal


def spread(emulator, count: int) -> None:
    """``count`` deals, two a day from 2026-10-01."""
    for n in range(1, count + 1):
        emulator.account.put_deal(deal(n, created_at=f"2026-10-{(n + 1) // 2:02d} 12:00:00"))


@pytest.mark.parametrize("mode", ["truncate", "refuse"])
def test_a_first_sync_past_the_row_cap_splits_until_nothing_is_cut(emulator, make_connector, tmp_store, fixed_now,
                                                                    mode):
    spread(emulator, 12)
    emulator.account.row_cap, emulator.account.row_cap_mode = 5, mode
    result = sync_source(tmp_store, make_connector(row_cap=5, first_sync_from="2026-10-01"), fixed_now)
    assert result.error is None, result.error
    assert tmp_store.orders.count_source("school") == 12  # not 5: a truncated export is never the whole
    if mode == "truncate":
        assert any("row cap" in note for note in result.notes)


def test_one_day_over_the_cap_stops_loudly_and_keeps_the_window(emulator, make_connector, tmp_store, fixed_now):
    for n in range(1, 7):
        emulator.account.put_deal(deal(n, created_at="2026-10-05 12:00:00"))
    emulator.account.row_cap = 5
    result = sync_source(tmp_store, make_connector(row_cap=5, first_sync_from="2026-10-05"), fixed_now)
    assert isinstance(result.error, InvalidData) and "cannot be split further" in str(result.error)
    assert '"from": null' in tmp_store.bookmarks.get("school")  # the first sync is not taken as done


def test_a_lost_export_start_blocks_and_the_sync_waits_it_out(emulator, make_connector, tmp_store, fixed_now):
    spread(emulator, 3)
    emulator.account.uncollected_blocks = 0.3  # [UNK] how long GetCourse keeps an uncollected export
    emulator.inject("lost", "/pl/api/account/deals")
    first = sync_source(tmp_store, make_connector(), fixed_now)
    assert isinstance(first.error, Temporary)  # the answer never came: not repeated (it may have started)
    again = sync_source(tmp_store, make_connector(busy_wait="1s"), fixed_now)
    assert again.error is None and tmp_store.orders.count_source("school") == 3


def test_a_lost_start_that_keeps_blocking_is_a_clear_retryable_error(emulator, make_connector, tmp_store, fixed_now):
    spread(emulator, 3)
    emulator.inject("lost", "/pl/api/account/deals")
    sync_source(tmp_store, make_connector(), fixed_now)
    result = sync_source(tmp_store, make_connector(busy_wait="0.1s"), fixed_now)
    assert isinstance(result.error, RateLimited) and "905" in str(result.error) and "waited" in str(result.error)
    assert result.error.retryable and result.error.exit_code == 3


def test_our_own_export_is_waited_for_without_spending_the_budget(emulator, make_connector):
    spread(emulator, 2)
    cron = make_connector()
    cron.marker.hold()  # cron's sync is exporting right now
    emulator.account.build_delay = 0.3
    _, started = emulator.account.start_export(SECRET, {"created_at[from]": "2026-01-01"})

    def cron_collects():
        emulator.account.exports[started["info"]["export_id"]].collected = True
        cron.marker.release()

    threading.Timer(0.3, cron_collects).start()
    desk = make_connector(busy_wait="2s", poll_interval="0.05")
    orders = [o for page in desk.fetch_orders(None) for o in page.orders]
    assert len(orders) == 2
    assert emulator.requests("/pl/api/account/deals") == 1  # one start, after the wait: no 905 was spent


def test_unreadable_filter_dates_are_no_filter_908(emulator):
    code, body = emulator.account.start_export(SECRET, {"created_at[from]": "01.10.2026"})
    assert body["error_code"] == wire.NO_FILTER and body["error_message"] == "Должен быть передан хотя бы один фильтр"


@pytest.mark.parametrize("stamped", [True, False])
def test_new_deals_arrive_whether_or_not_creation_counts_as_a_status_change(emulator, make_connector, stamped):
    """[UNK] both ways: the hourly creation-date check catches what a status-change export does not."""
    emulator.account.status_changed_on_create = stamped
    emulator.account.put_deal(deal(1, created_at="2026-10-01 12:00:00", status_changed_at="2026-10-01 12:00:00"))
    connector = make_connector(created_check="0s")
    mark = list(connector.fetch_orders(None))[-1].bookmark
    emulator.account.put_deal(deal(2, created_at=emulator.account.now_local()))
    seen = {o.native_id for page in connector.fetch_orders(mark) for o in page.orders}
    assert "7002" in seen
