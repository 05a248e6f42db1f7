"""The ``unpaid`` commands on an AutoWebOffice source served by the emulator (real HTTP, real SQLite).

Seed 001 ("how to work unpaid invoices in AutoWebOffice") describes four plays; each test below
runs what one of them needs from unpaid against the demo school:
1. a reminder to everyone who has not paid within 2 days,
2. the order (payment) link sent again,
3. a personal 5 % offer valid for 2 days, started as an AutoWebOffice process,
4. a call list of non-payers who left a phone.
"""

from datetime import timedelta

import pytest

from awo_env import NOW, SOURCE_CONFIG
from unpaid.clock import to_iso

CONFIG = SOURCE_CONFIG + """\
group = 1
tag = 31
funnel = 41
cancel_comment = true
allow_resend_invoice = true
"""


@pytest.fixture
def school(open_school, monkeypatch):
    """The demo school on an emulator, an unpaid.toml pointing at it, keys in the environment."""
    emu = open_school(CONFIG)
    monkeypatch.setenv("UNPAID_NOW", to_iso(NOW))
    return emu


def unpaid_ids(cli, *args):
    result = cli(["orders", "--source", "awo", "--format", "json", *args])
    assert result.exit_code == 0, result.output
    return {row["native_id"]: row for row in result.json()}


def test_sync_then_list_the_unpaid_invoices_older_than_two_days(cli, school):
    """Play 1: the reminder goes to invoices unpaid for 2 days, each with its payment link."""
    result = cli(["sync"])
    assert result.exit_code == 0, result.output
    assert "invoice 1004: no e-mail" in result.stderr
    rows = unpaid_ids(cli, "--older-than", "2d")
    # unpaid and older than 2 days; paid 1005, refused 1007, deleted 1010 and the young 1006/1008 are not due
    assert set(rows) == {"1001", "1002", "1003", "1004", "1009"}
    assert all(r["payment_link"].startswith("https://demo-school.autoweboffice.ru/?r=ordering/cart/s2&id=")
               for r in rows.values())
    assert rows["1001"]["customer"]["email"] == "anna.smirnova@example.ru"


def test_payment_in_autoweboffice_removes_the_invoice_from_the_list(cli, school):
    """A paid invoice never gets a reminder: the next sync's re-read sees the payment."""
    cli(["sync"])
    school.account.update("accounts", "1002", {"id_account_status": "5"})
    later = to_iso(NOW + timedelta(hours=2))
    result = cli(["sync"], env={"UNPAID_NOW": later})
    assert result.exit_code == 0, result.output
    assert "1002" not in unpaid_ids(cli, "--older-than", "2d")


def test_resend_the_order_link_and_start_the_offer_process(school):
    """Plays 2 and 3: re-send the invoice e-mail; tag, subscribe and put the buyer into the funnel."""
    from unpaid.config import load_config
    from unpaid.sources import open_connector

    with open_connector(load_config(None), "awo") as conn:
        order = conn.fetch_order("1001")  # the fresh read the runner does before acting
        assert order.is_actual and order.payment_link
        conn.trigger("1001", "resend_invoice")
        for action in ("subscribe", "tag", "funnel"):
            conn.trigger("1001", action, {"group": 2} if action == "subscribe" else {})
            conn.trigger("1001", action, {"group": 2} if action == "subscribe" else {})
    tables = school.account.tables
    assert school.account.sent_mails == ["1001"]
    assert [(r["id_contact"], r["id_newsletter"]) for r in tables["contactnewsletterlinks"].values()] == [("1", "2")]
    assert [(r["id_contact"], r["id_contact_tag"]) for r in tables["contacttaglnk"].values()] == [("1", "31")]
    assert [(r["id_contact"], r["id_funnel"]) for r in tables["funnelcontact"].values()] == [("1", "41")]


def test_call_list_of_non_payers_with_phones(cli, school):
    """Play 4: who ordered, has not paid, and left a phone — one row per customer."""
    cli(["sync"])
    rows = unpaid_ids(cli).values()
    phones = {r["customer"]["phone"]: r["customer"]["name"] for r in rows if r["customer"]["phone"]}
    assert phones == {"+79161112233": "Анна Смирнова", "+79032223344": "Борис Петров", "+79993334455": "Глеб Соколов",
                      "+79155556677": "Егор Попов", "+79057778899": "Зоя Морозова"}
    assert all(r["status"] not in ("paid", "cancelled", "false") for r in rows)


def test_cancel_from_the_cli_reaches_autoweboffice_with_its_reason(cli, school):
    cli(["sync"])
    result = cli(["status", "awo:1003", "cancelled", "--reason", "Too expensive"])
    assert result.exit_code == 0, result.output
    row = school.account.tables["accounts"]["1003"]
    assert row["id_account_status"] == "2" and row["account_comment"] == "Отказ: Too expensive"
    show = cli(["show", "awo:1003", "--format", "json"]).json()
    assert any("Too expensive" in (h.get("summary") or "") + str(h.get("data")) for h in show["history"])


def test_wrong_key_stops_sync_with_one_line_and_exit_3(cli, school, monkeypatch):
    monkeypatch.setenv("UNPAID_SECRET_AWO_GET_KEY", "not-the-key-0000")
    result = cli(["sync"])
    assert result.exit_code == 3
    assert "get_key (API KEY GET)" in result.stderr and "not-the-key-0000" not in result.output
    assert "Traceback" not in result.output


def test_non_json_answer_keeps_earlier_pages_and_the_bookmark(cli, school, cli_db):
    """A maintenance page mid-sync: exit 3, nothing lost, the bookmark not past what was stored."""
    from unpaid.store import Store

    cli(["sync"])
    with Store.open(cli_db) as store:
        before = store.bookmarks.get("awo")
    school.account.create("accounts", {"email": "late@example.ru", "account_sum": "990", "id_contact": "1"})
    school.fail_next("garbage")
    result = cli(["sync"], env={"UNPAID_NOW": to_iso(NOW + timedelta(hours=2))})
    assert result.exit_code == 3 and "not JSON" in result.stderr
    with Store.open(cli_db) as store:
        assert store.bookmarks.get("awo") == before
    assert cli(["sync"]).exit_code == 0
    assert "late@example.ru" in {r["customer"]["email"] for r in unpaid_ids(cli).values()}


def test_unknown_subdomain_via_the_cli(cli, school, tmp_path):
    config = tmp_path / "unpaid.toml"
    config.write_text(config.read_text(encoding="utf-8").replace('subdomain = "demo-school"', 'subdomain = "nope"')
                      .replace("/demo-school/", "/{subdomain}/"), encoding="utf-8")
    result = cli(["sync"])
    assert result.exit_code == 3 and "no AutoWebOffice account 'nope'" in result.stderr


def test_missing_get_key_is_a_config_error(cli, school, monkeypatch):
    monkeypatch.delenv("UNPAID_SECRET_AWO_GET_KEY")
    result = cli(["sync"])
    assert result.exit_code == 2 and "UNPAID_SECRET_AWO_GET_KEY" in result.stderr
