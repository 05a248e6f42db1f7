"""Changes written back to the emulator: statuses, groups, comments, dictionaries; with and without a developer key."""

from __future__ import annotations

import pytest

from unpaid.connector import AuthFailed, InvalidData, NotFound
from unpaid.model import Status

from .conftest import DEVELOPER, SECRET, deal

WITH_DEV = {"secret_key": SECRET, "developer_key": DEVELOPER}


@pytest.fixture
def synced(emulator, make_connector):
    """A connector without a developer key after one sync (so it knows the deals' numbers and buyers)."""
    emulator.account.put_deal(deal(1))
    emulator.account.put_deal(deal(2, email=None, phone="+79990001111"))
    connector = make_connector(reason_field="Причина отмены")
    list(connector.fetch_orders(None))
    return connector


def test_push_through_the_import_api_by_deal_number(emulator, synced):
    synced.push_status("7001", Status.CANCELLED, "Дорого")
    changed = emulator.account.deals[7001]
    assert changed["status"] == "cancelled" and changed["custom"]["Причина отмены"] == "Дорого"
    assert len(emulator.account.deals) == 2  # edited by number, not created


def test_push_checks_the_inner_success_flag(emulator, synced):
    emulator.account.users[emulator.account.deals[7001]["user_id"]]["email"] = "changed@example.com"
    with pytest.raises(InvalidData, match="did not apply the deal import: Заказ с таким номером"):
        synced.push_status("7001", Status.IN_WORK)


def test_fresh_read_without_developer_key_is_one_user_export(emulator, synced):
    emulator.account.set_status(emulator.account.deals[7001], "payed")
    before = emulator.requests("/pl/api/account/deals")
    order = synced.fetch_order("7001")
    assert order.status is Status.PAID
    assert emulator.requests("/pl/api/account/deals") == before + 1


def test_unknown_deal_without_developer_key_says_sync_first(synced):
    with pytest.raises(NotFound, match="not known here") as info:
        synced.push_status("123", Status.IN_WORK)
    assert "unpaid sync school" in info.value.fix


def test_group_by_name_through_the_import_api(emulator, synced):
    synced.trigger("7001", "group", {"name": "Дожим: 3 письма"})
    synced.trigger("7001", "group", {"name": "Дожим: 3 письма"})  # idempotent
    user = emulator.account.users[emulator.account.deals[7001]["user_id"]]
    assert list(user["groups"]) == [2]


def test_group_by_id_through_the_tech_api(emulator, make_connector):
    emulator.account.put_deal(deal(1))
    make_connector(secrets=WITH_DEV).trigger("7001", "group", {"id": 3})
    assert 3 in emulator.account.users[emulator.account.deals[7001]["user_id"]]["groups"]


def test_tech_api_push_sets_cancel_reason_by_name(emulator, make_connector):
    emulator.account.put_deal(deal(1))
    make_connector(secrets=WITH_DEV).push_status("7001", Status.CANCELLED, "дорого")
    changed = emulator.account.deals[7001]
    assert changed["status"] == "cancelled" and changed["cancel_reason_id"] == 1


def test_comment_needs_the_developer_key(emulator, make_connector):
    emulator.account.put_deal(deal(1))
    with pytest.raises(AuthFailed, match="needs the Tech API") as info:
        make_connector().add_comment("7001", "перезвонить")
    assert "developer_key" in info.value.fix
    make_connector(secrets=WITH_DEV).add_comment("7001", "перезвонить")
    assert emulator.account.comments[-1]["text"] == "перезвонить"


def test_wrong_developer_key_is_auth_failed(emulator, make_connector):
    emulator.account.put_deal(deal(1))
    with pytest.raises(AuthFailed, match="Tech API refused"):
        make_connector(secrets={"secret_key": SECRET, "developer_key": "nope"}).fetch_order("7001")


def test_dictionaries(emulator, make_connector):
    groups = make_connector().groups()  # export API: one budget request
    assert {"id": "2", "name": "Дожим: 3 письма"} in groups
    assert emulator.requests("/pl/api/account/groups") == 1
    assert make_connector(secrets=WITH_DEV).cancel_reasons()[0] == {"id": 1, "name": "Дорого"}
