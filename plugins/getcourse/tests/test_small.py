"""The smaller things a real school ran into, each with its test."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from unpaid.connector import InvalidData
from unpaid.errors import ConfigError
from unpaid.sync import sync_source

from .conftest import DEVELOPER, SECRET, deal

WITH_DEV = {"secret_key": SECRET, "developer_key": DEVELOPER}


def test_an_empty_200_from_the_tech_api_is_not_a_refused_key(emulator, make_connector):
    emulator.account.put_deal(deal(1))
    emulator.inject("empty", "/pl/api/v1/deal/get-fields")
    answer = make_connector(secrets=WITH_DEV).fetch_many(["7001"])["7001"]
    assert isinstance(answer, InvalidData) and "empty body" in str(answer) and "403" not in str(answer)


def test_a_redirect_is_followed_on_polls_as_on_the_start(emulator, make_connector):
    emulator.account.put_deal(deal(1))
    emulator.redirect_to = emulator.base_url  # the account's own domain answers the same
    emulator.inject("redirect", "/pl/api/account/exports/")
    orders = [o for page in make_connector().fetch_orders(None) for o in page.orders]
    assert [o.native_id for o in orders] == ["7001"]


@pytest.mark.parametrize("value", ["2014-13-01", "yesterday", "01.01.2014"])
def test_first_sync_from_is_checked(make_connector, value):
    with pytest.raises(ConfigError, match="first_sync_from") as info:
        make_connector(first_sync_from=value)
    assert "YYYY-MM-DD" in info.value.fix


def test_without_any_timezone_exports_are_read_as_moscow_time(emulator, make_connector):
    emulator.account.put_deal(deal(1, created_at="2026-10-02 12:00:00"))
    connector = make_connector(timezone=None)  # and the config's zone is the default, UTC
    [order] = [o for page in connector.fetch_orders(None) for o in page.orders]
    assert order.created_at == datetime(2026, 10, 2, 9, 0, tzinfo=timezone.utc)


def test_state_dir_is_refused_with_the_way_out(make_connector, tmp_path):
    with pytest.raises(ConfigError, match="state_dir` is no longer used") as info:
        make_connector(state_dir=str(tmp_path))
    assert "remove state_dir" in info.value.fix


def test_a_sync_keeps_the_payment_link_a_fresh_read_found(emulator, make_connector, tmp_store, fixed_now):
    emulator.account.put_deal(deal(1))
    with_dev = make_connector(secrets=WITH_DEV)
    sync_source(tmp_store, with_dev, fixed_now)
    fresh = with_dev.fetch_order("7001")
    assert fresh.payment_link
    with tmp_store.transaction():
        tmp_store.orders.upsert([fresh], fixed_now)
    emulator.account.set_status(emulator.account.deals[7001], "in_work")
    sync_source(tmp_store, make_connector(secrets=WITH_DEV), fixed_now)
    stored = tmp_store.orders.get("school:7001")
    assert stored.status.value == "in_work" and stored.payment_link == fresh.payment_link


def test_retries_leave_no_stray_line_on_stderr(emulator, make_connector, capfd):
    import stamina

    emulator.account.put_deal(deal(1))
    emulator.inject("503", "/pl/api/account/deals")
    stamina.set_testing(False)
    try:
        [page for page in make_connector(retry_wait="0.01").fetch_orders(None)]
    finally:
        stamina.set_testing(True, attempts=3, cap=True)
    assert "stamina" not in capfd.readouterr().err


def test_a_buyers_new_phone_arrives_with_the_daily_full_read(emulator, make_connector, tmp_store, fixed_now):
    import time

    emulator.account.put_deal(deal(1))
    sync_source(tmp_store, make_connector(), fixed_now)
    emulator.account.users[emulator.account.deals[7001]["user_id"]]["phone"] = "+79995554433"
    sync_source(tmp_store, make_connector(), fixed_now)  # no status changed: no export names the deal
    assert tmp_store.orders.get("school:7001").customer.phone != "+79995554433"
    tomorrow = make_connector()
    tomorrow.moment = lambda: time.time() + 86_400
    sync_source(tmp_store, tomorrow, fixed_now)
    assert tmp_store.orders.get("school:7001").customer.phone == "+79995554433"
