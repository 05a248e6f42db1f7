"""Changes written back to the emulator: statuses, groups, comments, dictionaries; with and without a developer key."""

from __future__ import annotations

import pytest

from unpaid.connector import AuthFailed, BadSource, InvalidData, NotFound, Temporary
from unpaid.errors import ConfigError
from unpaid.model import Status
from unpaid_getcourse.client import NoDeveloperKey

from .conftest import DEVELOPER, SECRET, deal

WITH_DEV = {"secret_key": SECRET, "developer_key": DEVELOPER}


@pytest.fixture
def synced(emulator, make_connector):
    """A connector without a developer key after one sync (so it knows the deals' numbers and buyers)."""
    emulator.account.put_deal(deal(1))
    emulator.account.put_deal(deal(2, email=None, phone="+79990001111"))
    connector = make_connector(reason_field="Причина отмены")
    connector.bookmark = list(connector.fetch_orders(None))[-1].bookmark
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


def test_a_deal_missing_from_the_index_is_a_retryable_failure_never_gone(emulator, synced, make_connector):
    with pytest.raises(Temporary, match="not in the connector's index") as info:
        synced.push_status("123", Status.IN_WORK)
    assert "unpaid sync school" in info.value.fix
    answer = synced.fetch_many(["123", "7001"])
    assert isinstance(answer["123"], Temporary) and answer["7001"].native_id == "7001"
    # The next sync reads every deal again (the index is rebuilt), then goes back to incremental.
    later = make_connector()
    pages = list(later.fetch_orders(synced.bookmark))
    assert list(emulator.account.exports.values())[-1].query.get("created_at[from]") == "2014-01-01"
    assert not later.index.rebuild_wanted() and pages


def test_the_index_lives_in_the_store_not_a_cache_dir(emulator, synced, make_connector, tmp_path):
    fresh_process = make_connector()  # a new process (or a container restart): same store, no cache dir
    assert fresh_process.index.get("7001")[1] == "501"
    assert not (tmp_path / "cache").exists()


def test_a_failed_user_read_is_not_the_deal_gone(emulator, make_connector):
    emulator.account.put_deal(deal(1))
    emulator.account.users.pop(emulator.account.deals[7001]["user_id"])  # user/get-fields: 404
    answer = make_connector(secrets=WITH_DEV).fetch_many(["7001", "999"])
    assert isinstance(answer["7001"], Temporary) and "buyer" in str(answer["7001"])
    assert isinstance(answer["999"], NotFound)  # the source said so for that deal


def test_phone_only_buyer_is_named_by_phone(emulator, synced):
    synced.push_status("7002", Status.IN_WORK)
    assert emulator.account.deals[7002]["status"] == "in_work"
    synced.trigger("7002", "group", {"name": "Ученики"})
    assert 3 in emulator.account.users[emulator.account.deals[7002]["user_id"]]["groups"]


def test_a_buyer_without_email_or_phone_is_refused_before_writing(emulator, make_connector):
    emulator.account.put_deal(deal(1, email=None, phone=None))
    connector = make_connector()
    list(connector.fetch_orders(None))
    before = emulator.requests("/pl/api/deals")
    with pytest.raises(BadSource, match="neither an e-mail nor a phone") as info:
        connector.push_status("7001", Status.IN_WORK)
    assert info.value.exit_code == 2 and emulator.requests("/pl/api/deals") == before


def test_the_emulator_refuses_an_import_without_email_and_phone(emulator):
    from unpaid_getcourse import wire
    from unpaid_getcourse.writes import import_call

    _, body = import_call(emulator.account, "users", {"action": "add", "key": SECRET,
                                                     "params": wire.encode_params({"user": {"email": ""}})})
    assert body["result"]["error_message"] == "Не указан ни эл. адрес, ни телефон"


def test_a_cancel_reason_with_nowhere_to_go_is_refused_not_dropped(emulator, make_connector):
    emulator.account.put_deal(deal(1))
    connector = make_connector()
    list(connector.fetch_orders(None))
    with pytest.raises(BadSource, match="cancel reason «Дорого» has nowhere to go") as info:
        connector.push_status("7001", Status.CANCELLED, "Дорого")
    assert "reason_field" in info.value.fix and emulator.account.deals[7001]["status"] == "new"


def test_marking_paid_records_a_payment_even_with_a_developer_key(emulator, make_connector):
    emulator.account.put_deal(deal(1))
    make_connector(secrets=WITH_DEV).push_status("7001", Status.PAID)
    assert emulator.account.deals[7001]["status"] == "payed" and emulator.account.deals[7001]["paid"] == 499000
    assert emulator.requests("/pl/api/deals") == 1  # through the import API: only it records a payment


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


def test_comment_needs_the_developer_key_and_an_author(emulator, make_connector):
    emulator.account.put_deal(deal(1))
    with pytest.raises(NoDeveloperKey, match="needs the Tech API") as info:
        make_connector().add_comment("7001", "перезвонить")
    assert "developer_key" in info.value.fix and info.value.exit_code == 2
    with pytest.raises(ConfigError, match="author_user_id"):
        make_connector(secrets=WITH_DEV).add_comment("7001", "перезвонить")
    assert emulator.requests("/pl/api/v1/deal/add-comment") == 0
    make_connector(secrets=WITH_DEV, author_user_id=77).add_comment("7001", "перезвонить")
    assert emulator.account.comments[-1] == {"deal_id": 7001, "text": "перезвонить", "user_id": 77}


def test_the_emulator_refuses_a_comment_without_its_author(emulator):
    from unpaid_getcourse.writes import tech_call

    emulator.account.put_deal(deal(1))
    status, body = tech_call(emulator.account, "POST", "deal/add-comment", f"Bearer {DEVELOPER}_{SECRET}", {},
                             {"dealId": 7001, "text": "x"})
    assert status == 400 and body["errors"] == ["Не заполнено поле userId"]


def test_wrong_developer_key_is_auth_failed(emulator, make_connector):
    emulator.account.put_deal(deal(1))
    with pytest.raises(AuthFailed, match="Tech API refused"):
        make_connector(secrets={"secret_key": SECRET, "developer_key": "nope"}).fetch_order("7001")


def test_dictionaries(emulator, make_connector):
    groups = make_connector().groups()  # export API: one budget request
    assert {"id": "2", "name": "Дожим: 3 письма"} in groups
    assert emulator.requests("/pl/api/account/groups") == 1
    assert make_connector(secrets=WITH_DEV).cancel_reasons()[0] == {"id": 1, "name": "Дорого"}
