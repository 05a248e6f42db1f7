"""Sync against the emulator: budget, polling, locks, bad keys and plans, bad rows, resuming."""

from __future__ import annotations

import json

import pytest

from unpaid.connector import AuthFailed, ConnectorError, InvalidData, RateLimited, Temporary
from unpaid.model import Status
from unpaid.sync import sync_source

from .conftest import READ_ONLY, SECRET, deal


def drain(pages):
    pages = list(pages)
    return [o for p in pages for o in p.orders], pages


def seed(emulator, *deals):
    for d in deals:
        emulator.account.put_deal(d)


def test_first_sync_is_one_export_and_reads_the_russian_table(emulator, make_connector):
    seed(emulator, deal(1, status="payed", payed_at="2026-10-02 13:00:00", paid=499000),
         deal(2, status="pending"), deal(3, status="waiting_for_return", cost=1234567, currency="USD"))
    orders, pages = drain(make_connector().fetch_orders(None))
    by_id = {o.native_id: o for o in orders}
    assert by_id["7001"].status is Status.PAID and by_id["7001"].paid.minor == 499000
    assert by_id["7002"].status is Status.IN_WORK and by_id["7002"].native_status == "pending"
    assert by_id["7003"].status is Status.REFUNDED and by_id["7003"].native_status == "waiting_for_return"
    assert by_id["7003"].total.minor == 1234567 and by_id["7003"].total.currency == "USD"
    assert by_id["7001"].created_at.isoformat() == "2026-10-02T09:00:00+00:00"  # 12:00 Moscow
    assert by_id["7001"].customer.email == "buyer1@example.com" and by_id["7001"].number == "501"
    assert emulator.requests("/pl/api/account/deals") == 1  # one start, then polls; no per-order calls
    assert "requests left" in pages[-1].note
    assert json.loads(pages[-1].bookmark)["from"]


def test_incremental_sync_picks_up_status_changes_and_payments(emulator, make_connector):
    seed(emulator, deal(1), deal(2), deal(3))
    connector = make_connector()
    _, pages = drain(connector.fetch_orders(None))
    acc = emulator.account
    acc.set_status(acc.deals[7002], "payed")  # paid today
    acc.set_status(acc.deals[7003], "cancelled")
    acc.put_deal(deal(4, created_at=acc.now_local()))
    orders, _ = drain(connector.fetch_orders(pages[-1].bookmark))
    by_id = {o.native_id: o for o in orders}
    assert by_id["7002"].status is Status.PAID and by_id["7003"].status is Status.CANCELLED
    assert "7004" in by_id and "7001" not in by_id  # unchanged orders from earlier days stay out
    # One export: a new deal's creation is a status change too; the creation-date check runs hourly.
    assert emulator.requests("/pl/api/account/deals") == 1 + 1


def test_budget_is_shared_by_every_connector_of_the_account(emulator, make_connector):
    seed(emulator, deal(1))
    drain(make_connector().fetch_orders(None))
    used = emulator.requests("/pl/api/account/")
    other = make_connector(name="again")  # another source of the account: the same budget in the store
    assert other.client.budget.remaining() == 100 - used


def test_budget_spent_stops_before_asking_and_resumes(emulator, make_connector, tmp_path):
    seed(emulator, deal(1))
    connector = make_connector(budget=1)
    with pytest.raises(RateLimited, match="needs 2 export requests and 1 of 1 are left") as info:
        drain(connector.fetch_orders(None))
    assert "run again after" in info.value.fix
    assert emulator.requests() == 0


def test_903_from_the_server_stops_cleanly(emulator, make_connector):
    seed(emulator, deal(1))
    emulator.account.budget = 0  # other integrations spent it
    with pytest.raises(RateLimited, match="account school: the export budget is spent .903") as info:
        drain(make_connector().fetch_orders(None))
    assert info.value.retry_after > 0
    assert make_connector().client.budget.remaining() == 0  # remembered for the next process


def test_905_another_export_running(emulator, make_connector):
    seed(emulator, deal(1))
    emulator.account.build_delay = 30
    emulator.account.start_export(SECRET, {"created_at[from]": "2020-01-01"})  # someone else's export
    with pytest.raises(RateLimited, match="another export is running .905"):
        drain(make_connector().fetch_orders(None))


def test_export_never_ready_keeps_the_export_for_next_run(emulator, make_connector, tmp_store, fixed_now):
    seed(emulator, deal(1), deal(2))
    emulator.account.build_delay = 30
    connector = make_connector(export_timeout=0.2)
    result = sync_source(tmp_store, connector, fixed_now)
    assert isinstance(result.error, Temporary)
    assert "account school: export" in str(result.error) and "was not ready" in str(result.error)
    assert "collects the same export" in result.error.fix
    mark = json.loads(tmp_store.bookmarks.get("school"))
    assert mark["from"] is None and mark["run"]["export_id"]  # nothing advanced, the export remembered
    for export in emulator.account.exports.values():
        export.ready_at = 0  # GetCourse finished building it
    result = sync_source(tmp_store, connector, fixed_now)
    assert result.error is None and result.orders == 2
    assert emulator.requests("/pl/api/account/deals") == 1  # collected, not started again


def test_wrong_key_is_auth_failed_naming_the_fix(emulator, make_connector):
    with pytest.raises(AuthFailed, match="account school refused the secret key .901") as info:
        drain(make_connector(secrets={"secret_key": "wrong-key-123"}).fetch_orders(None))
    assert "saas/account/api" in info.value.fix and "unpaid auth set school" in info.value.fix
    assert "wrong-key-123" not in str(info.value)


def test_api_off_for_the_plan(emulator, make_connector):
    seed(emulator, deal(1))
    emulator.account.api_enabled = False
    with pytest.raises(AuthFailed, match="not available on the account's plan .917"):
        drain(make_connector().fetch_orders(None))


def test_bad_rows_are_rejected_and_the_window_moves_on(emulator, make_connector, tmp_store, fixed_now):
    seed(emulator, deal(1), deal(2, created_at="2026-13-45 99:00:00"), deal(3, cost_text="двенадцать"),
         deal(4, status="archived"))
    result = sync_source(tmp_store, make_connector(), fixed_now)
    reasons = {r.where: r.reason for r in result.rejects}
    assert result.orders == 1 and tmp_store.orders.count_source("school") == 1
    assert "Дата создания" in reasons["deal 7002"] and "2026-13-45" in reasons["deal 7002"]
    assert "Стоимость" in reasons["deal 7003"] and "двенадцать" in reasons["deal 7003"]
    assert "unknown status 'archived'" in reasons["deal 7004"]
    # One bad row no longer turns every later sync into a full export: the next one is incremental.
    assert json.loads(tmp_store.bookmarks.get("school"))["from"] is not None
    sync_source(tmp_store, make_connector(), fixed_now)
    assert "status_changed_at[from]" in list(emulator.account.exports.values())[-1].query


def test_transient_faults_are_retried(emulator, make_connector):
    seed(emulator, deal(1))
    emulator.inject("503", "/pl/api/account/deals")
    emulator.inject("reset", "/pl/api/account/exports")
    orders, _ = drain(make_connector().fetch_orders(None))
    assert [o.native_id for o in orders] == ["7001"]


def test_timeouts_surface_as_temporary(emulator, make_connector):
    emulator.fault_delay = 0.5
    emulator.inject("timeout", "/pl/api/account/deals", count=5)
    with pytest.raises(Temporary, match="timed out"):
        drain(make_connector(timeout=0.2).fetch_orders(None))


def test_garbage_and_an_empty_200_are_clear_errors(emulator, make_connector):
    emulator.inject("garbage", "/pl/api/account/deals")
    with pytest.raises(InvalidData, match="not JSON"):
        drain(make_connector().fetch_orders(None))
    emulator.inject("empty", "/pl/api/account/deals")
    with pytest.raises(AuthFailed, match="empty body"):
        drain(make_connector().fetch_orders(None))


def test_a_crash_mid_export_resumes_from_the_stored_rows(emulator, make_connector, tmp_store, fixed_now):
    seed(emulator, *(deal(n) for n in range(1, 8)))
    connector = make_connector(page_size=3)
    pages = connector.fetch_orders(None)
    stored = [next(pages), next(pages)]  # the export start, then rows 1-3
    pages.close()
    again, _ = drain(connector.fetch_orders(stored[-1].bookmark))
    assert len(stored[1].orders) == 3
    assert {o.native_id for o in stored[1].orders} | {o.native_id for o in again} == {str(7000 + n) for n in range(1, 8)}
    assert not {o.native_id for o in stored[1].orders} & {o.native_id for o in again}
    assert emulator.requests("/pl/api/account/deals") == 1


def test_a_redirect_to_the_school_domain_is_named(emulator, make_connector):
    seed(emulator, deal(1))
    connector = make_connector()
    drain(connector.fetch_orders(None))
    emulator.redirect_to = "https://school.example"
    emulator.inject("redirect", "/pl/api/deals")
    with pytest.raises(ConnectorError, match="redirected .301. to https://school.example") as info:
        connector.push_status("7001", Status.IN_WORK)
    assert "base_url" in info.value.fix
    assert emulator.account.deals[7001]["status"] == "new"


def test_read_only_key_reads_but_cannot_write(emulator, make_connector):
    seed(emulator, deal(1))
    connector = make_connector(secrets={"secret_key": READ_ONLY})
    assert len(drain(connector.fetch_orders(None))[0]) == 1
    with pytest.raises(AuthFailed, match="may only read") as info:
        connector.push_status("7001", Status.CANCELLED)
    assert "«Чтение и запись»" in info.value.fix
