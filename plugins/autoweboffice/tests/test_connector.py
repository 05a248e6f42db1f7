"""AutoWebOffice-specific behaviour, over real HTTP against the emulator."""

import json
from datetime import timedelta

import pytest

from awo_env import KEYS, NOW, make_connector
from unpaid.connector import AuthFailed, ConnectorError, InvalidData, NotFound, Temporary
from unpaid.errors import ConfigError
from unpaid.model import Status
from unpaid_autoweboffice.seeds import bulk_seed, demo_seed


def drain(pages):
    pages = list(pages)
    return [o for p in pages for o in p.orders], pages


@pytest.fixture
def school():
    """The demo school (10 invoices, dated relative to NOW) on an emulator without a rate limit."""
    from unpaid_autoweboffice.emulator import Emulator

    with Emulator(demo_seed(NOW, subdomain="school"), rate_limit=None, now=lambda: NOW) as emu:
        emu.account.get_key, emu.account.set_key = KEYS["get_key"], KEYS["set_key"]
        yield emu


def test_empty_account_is_an_empty_page_not_an_error(emulator):
    conn = make_connector(emulator)
    orders, pages = drain(conn.fetch_orders(None))
    assert orders == [] and len(pages) == 1 and pages[0].bookmark


def test_invoices_come_with_lines_pay_links_and_soft_deletes_as_false(school):
    conn = make_connector(school)
    orders, pages = drain(conn.fetch_orders(None))
    by_id = {o.native_id: o for o in orders}
    assert len(by_id) == 10
    assert by_id["1010"].status is Status.FALSE and by_id["1005"].status is Status.PAID
    assert by_id["1007"].status is Status.CANCELLED and by_id["1009"].status is Status.IN_WORK
    first = by_id["1001"]
    assert first.payment_link.startswith("https://school.autoweboffice.ru/?r=ordering/cart/s2&id=1001&vc=")
    assert first.items[0].title == "Курс «Финансовая грамотность»" and first.total.minor == 490000
    assert "invoice 1004: no e-mail" in pages[0].note  # Глеб left only a phone
    assert by_id["1004"].customer.key == "+79993334455"


def test_lines_are_read_by_walking_the_table_not_per_invoice():
    from unpaid_autoweboffice.emulator import Emulator

    seed = bulk_seed(120, NOW, lines_per_invoice=2, subdomain="school")
    seed["keys"] = {"get": KEYS["get_key"], "set": KEYS["set_key"]}
    with Emulator(seed, rate_limit=None) as emu:
        conn = make_connector(emu, page_size=50)
        orders, _ = drain(conn.fetch_orders(None))
        assert len(orders) == 120 and all(len(o.items) == 2 for o in orders)
        assert all(sum(i.price.minor for i in o.items) == o.total.minor for o in orders)
        # 3 pages of invoices (the last short) + 5 pages of 240 lines (the last short), nothing per invoice,
        # and for each walk longer than a page one read of the highest id, which bounds its pages
        assert emu.stats.requests == 3 + 5 + 2


def test_incremental_sync_picks_new_invoices_and_payments_of_recent_ones(school):
    now = [NOW]
    conn = make_connector(school, clock=lambda: now[0], recheck_every="1h")
    _, pages = drain(conn.fetch_orders(None))
    bookmark = pages[-1].bookmark
    school.account.update("accounts", "1003", {"id_account_status": "5"})  # paid 5 days after ordering
    school.account.create("accounts", {"email": "new@example.ru", "account_sum": "990", "id_contact": "1"})

    now[0] = NOW + timedelta(minutes=10)  # re-read not due yet: only the new invoice
    orders, pages = drain(conn.fetch_orders(bookmark))
    assert [o.customer.email for o in orders] == ["new@example.ru"]

    now[0] = NOW + timedelta(hours=2)  # the periodic re-read finds the payment, and nothing unchanged
    orders, pages = drain(conn.fetch_orders(pages[-1].bookmark))
    assert [(o.native_id, o.status) for o in orders] == [("1003", Status.PAID)]
    orders, _ = drain(conn.fetch_orders(pages[-1].bookmark))
    assert orders == []


def test_unreadable_invoice_is_rejected_and_the_bookmark_stays_below_it(school):
    school.account.tables["accounts"]["1002"]["account_sum"] = "12 руб"
    conn = make_connector(school, recheck_every="1h")
    orders, pages = drain(conn.fetch_orders(None))
    assert "1002" not in {o.native_id for o in orders} and len(orders) == 9
    (reject,) = [r for p in pages for r in p.rejects]
    assert reject.where.startswith("invoice 1002") and "account_sum" in reject.reason
    school.account.tables["accounts"]["1002"]["account_sum"] = "1990"  # fixed in AutoWebOffice
    orders, _ = drain(conn.fetch_orders(pages[-1].bookmark))
    assert "1002" in {o.native_id for o in orders}


def test_sum_that_does_not_match_lines_is_kept_and_reported(school):
    school.account.tables["accounts"]["1001"]["account_sum"] = "5100"
    orders, pages = drain(make_connector(school).fetch_orders(None))
    order = {o.native_id: o for o in orders}["1001"]
    assert order.total.minor == 510000 and "does not match its lines" in order.extra["warning"]
    assert "invoice 1001: account_sum 5100 does not match" in pages[0].note


def test_wrong_get_key_names_the_key_and_the_fix(school):
    conn = make_connector(school, keys={"get_key": "wrong-key-123", "set_key": KEYS["set_key"]})
    with pytest.raises(AuthFailed) as info:
        drain(conn.fetch_orders(None))
    assert "get_key (API KEY GET)" in str(info.value) and "unpaid auth set awo" in str(info.value)
    assert "wrong-key-123" not in str(info.value)


def test_get_key_used_for_a_write_is_named(school):
    conn = make_connector(school, keys={"get_key": KEYS["get_key"], "set_key": KEYS["get_key"]})
    with pytest.raises(AuthFailed, match="is the GET key stored as set_key"):
        conn.push_status("1001", Status.PAID)
    assert school.account.tables["accounts"]["1001"]["id_account_status"] == "1"


def test_missing_set_key_is_a_config_error_before_any_write(school):
    conn = make_connector(school, keys={"get_key": KEYS["get_key"]})
    with pytest.raises(ConfigError, match="no set_key stored") as info:
        conn.trigger("1001", "resend_invoice")
    assert "UNPAID_SECRET_AWO_SET_KEY" in info.value.fix


def test_unknown_subdomain_is_named(school):
    conn = make_connector(school, subdomain="typo-school", base_url=school.base_url.replace("/school/", "/{subdomain}/"))
    with pytest.raises(ConnectorError, match="no AutoWebOffice account 'typo-school'") as info:
        drain(conn.fetch_orders(None))
    assert "subdomain" in info.value.fix


def test_unknown_invoice_is_not_found(school):
    with pytest.raises(NotFound, match="999 does not exist"):
        make_connector(school).fetch_order("999")


def test_bad_sort_is_a_server_error(school):
    conn = make_connector(school)
    with pytest.raises(Temporary, match="500"):
        conn.client.list("accounts", sort="date_of_ordr ASC")


def test_batch_create_reads_concatenated_objects_and_russian_refusals(school):
    client = make_connector(school).client
    rows = client.create("contacts", [{"email": "a@example.ru"}, {"email": "b@example.ru"}])
    assert [r["email"] for r in rows] == ["a@example.ru", "b@example.ru"]
    rows = client.create("contacts", [{"email": "c@example.ru"}, {"email": "oops"}], keep_going=True)
    assert rows[0]["email"] == "c@example.ru" and rows[1]["inputData"] == {"email": "oops"}
    with pytest.raises(InvalidData, match="Email не является правильным E-Mail адресом"):
        client.create("contacts", [{"email": "oops"}])


def test_status_push_uses_put_and_the_server_fills_the_payment_date(school):
    conn = make_connector(school)
    conn.push_status("1002", Status.PAID)
    row = school.account.tables["accounts"]["1002"]
    assert row["id_account_status"] == "5" and row["date_of_payment"] != "0000-00-00 00:00:00"
    assert conn.fetch_order("1002").paid_at is not None


def test_cancel_records_the_reason_in_the_comment_only_when_configured(school):
    make_connector(school, cancel_comment=False).push_status("1001", Status.CANCELLED, "Дорого")
    assert school.account.tables["accounts"]["1001"]["account_comment"] == ""
    make_connector(school).push_status("1002", Status.CANCELLED, "Дорого")
    assert school.account.tables["accounts"]["1002"]["account_comment"] == "Отказ: Дорого"


def test_false_is_a_soft_delete(school):
    conn = make_connector(school)
    conn.push_status("1001", Status.FALSE)
    assert school.account.tables["accounts"]["1001"]["deleted"] == "1"
    assert conn.fetch_order("1001").status is Status.FALSE


def test_invalid_email_is_refused_with_the_servers_message(school):
    with pytest.raises(InvalidData, match="Email не является"):
        make_connector(school).update_contact("1001", email="not-an-address")


@pytest.mark.parametrize("action,table,field,value", [
    ("subscribe", "contactnewsletterlinks", "id_newsletter", "2"),
    ("tag", "contacttaglnk", "id_contact_tag", "32"),
    ("funnel", "funnelcontact", "id_funnel", "42"),
])
def test_triggers_are_idempotent_and_use_the_ids_the_step_names(school, action, table, field, value):
    conn = make_connector(school)
    params = {"subscribe": {"group": 2}, "tag": {"tag": 32}, "funnel": {"funnel": 42}}[action]
    conn.trigger("1001", action, params)
    conn.trigger("1001", action, params)
    rows = [r for r in school.account.tables[table].values() if r["id_contact"] == "1"]
    assert [r[field] for r in rows] == [value]


def test_funnel_check_survives_the_server_ignoring_the_funnel_filter(school):
    conn = make_connector(school)
    conn.trigger("1001", "funnel", {"funnel": 41})
    conn.trigger("1001", "funnel", {"funnel": 42})  # the search by funnel is ignored: 41 comes back
    conn.trigger("1001", "funnel", {"funnel": 42})
    funnels = sorted(r["id_funnel"] for r in school.account.tables["funnelcontact"].values())
    assert funnels == ["41", "42"]


def test_subscribe_needs_an_email(school):
    with pytest.raises(InvalidData, match="invoice 1004 has no e-mail"):
        make_connector(school).trigger("1004", "subscribe", {"group": 1})


def test_trigger_without_an_id_names_the_param(school):
    conn = make_connector(school, group=None)
    with pytest.raises(ConfigError, match="needs params.group"):
        conn.trigger("1001", "subscribe", {})
    with pytest.raises(ConfigError, match="unknown trigger action 'group'"):
        conn.trigger("1001", "group", {})


def test_resend_invoice_asks_autoweboffice_to_send_the_email(school):
    make_connector(school).trigger("1002", "resend_invoice")
    assert school.account.sent_mails == ["1002"]


def test_the_client_retries_a_rate_limit_answer_honouring_retry_after(school):
    import stamina

    from unpaid.http import RetryPolicy

    conn = make_connector(school, retry=RetryPolicy(attempts=3))
    school.fail_next("429", count=2, retry_after=1)
    with stamina.set_testing(True, attempts=3):  # no real sleeping in the test
        order = conn.fetch_order("1001")
    assert order.native_id == "1001" and school.stats.requests >= 3


def test_emulator_control_endpoints(school):
    import httpx

    base = school.base_url.rsplit("/school/", 1)[0]
    assert httpx.post(f"{base}/_emulator/faults", json={"kind": "garbage"}).text == "ok"
    with pytest.raises(InvalidData, match="not JSON") as info:
        make_connector(school).fetch_order("1001")
    assert info.value.retryable  # maintenance: the run retries the action later instead of giving up
    stats = json.loads(httpx.get(f"{base}/_emulator/stats").text)
    assert stats["requests"] >= 1 and stats["max_in_window"] >= 1
