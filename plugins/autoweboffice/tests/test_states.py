"""Every state flag of an invoice counts: refunds, closed invoices, the recycle bin, codes nobody mapped,
and statuses AutoWebOffice cannot hold. Over the CLI where a user would see it, on the emulator."""

from datetime import timedelta

import pytest

from awo_env import KEYS, NOW, SOURCE_CONFIG, make_connector, one_step_playbook
from unpaid.clock import to_iso
from unpaid.model import ACTUAL, FINISHED, Status
from unpaid_autoweboffice.emulator import Emulator
from unpaid_autoweboffice.mapping import format_date
from unpaid_autoweboffice.seeds import bulk_seed, demo_seed

LATER = to_iso(NOW + timedelta(hours=2))


@pytest.fixture
def school(open_school, monkeypatch):
    emu = open_school(SOURCE_CONFIG)
    monkeypatch.setenv("UNPAID_NOW", to_iso(NOW))
    return emu


def add_invoice(emu, native_id, email, goods, days, **fields):
    """Another invoice of the demo school, ``days`` before NOW, with its one line."""
    stamp = format_date(NOW - timedelta(days=days), emu.account.zone)
    emu.account.put_invoice({"id_account": native_id, "email": email, "account_sum": "4900", "date_of_order": stamp,
                             "id_contact": "6", **fields},
                            [{"id_account_line": f"{native_id}1", "id_account": native_id, "id_goods": goods,
                              "goods": "Курс", "price": "4900", "quantity": "1", "sum_price": "4900"}])


def shown(cli, order_id):
    result = cli(["show", order_id, "--format", "json"])
    assert result.exit_code == 0, result.output
    return result.json()["order"]


def test_a_refunded_invoice_is_refunded_and_never_a_paid_twin(cli, school):
    """Егор bought course 11 twenty days ago and got his money back; his new order of it is not binned."""
    add_invoice(school, "1011", "egor@example.ru", 11, 20, id_account_status="5", goods_return="1",
                date_of_payment=format_date(NOW - timedelta(days=20), school.account.zone),
                goods_return_date=format_date(NOW - timedelta(days=10), school.account.zone))
    assert cli(["sync"]).exit_code == 0
    order = shown(cli, "awo:1011")
    assert order["status"] == "refunded" and order["paid"] is None
    assert order["extra"]["flags"] == "refunded" and order["extra"]["refunded_at"].startswith("2025-02-28")
    result = cli(["dedupe", "--format", "json"])
    assert result.exit_code == 0, result.output
    assert "awo:1006" not in {r["id"] for r in result.json() if r["action"] == "false"}


def test_a_closed_invoice_is_finished(school):
    add_invoice(school, "1011", "egor@example.ru", 11, 5, close_account="1", id_account_status="1")
    add_invoice(school, "1012", "egor@example.ru", 12, 5, close_account="1", id_account_status="5")
    conn = make_connector(school, keys=school.secrets())
    unpaid, paid = conn.fetch_order("1011"), conn.fetch_order("1012")
    assert unpaid.status is Status.CANCELLED and unpaid.cancel_reason == "closed in AutoWebOffice"
    assert paid.status is Status.PAID and unpaid.extra["flags"] == paid.extra["flags"] == "closed"


def test_an_unknown_status_code_is_kept_reported_once_and_not_worked_until_mapped(cli, school, tmp_path):
    for invoice in ("1002", "1003"):
        school.account.tables["accounts"][invoice]["id_account_status"] = "7"
    result = cli(["-q", "sync"])
    assert result.exit_code == 0, result.output
    warned = [line for line in result.stderr.splitlines() if "cannot map" in line]
    assert len(warned) == 1 and "2 invoices have status codes unpaid cannot map (7 (2))" in warned[0]
    assert 'status_map = { 7 = "in_work" }' in warned[0]
    order = shown(cli, "awo:1002")
    assert (order["status"], order["native_status"]) == ("unmapped", "7")
    listed = {r["native_id"] for r in cli(["orders", "--format", "json"]).json()}
    assert "1002" not in listed and "1001" in listed  # not worked: out of the actual orders
    assert Status.UNMAPPED not in ACTUAL and Status.UNMAPPED in FINISHED  # no playbook step, even after a re-read

    config = tmp_path / "unpaid.toml"
    config.write_text(config.read_text() + 'status_map = { 7 = "in_work" }\n')
    result = cli(["sync"], env={"UNPAID_NOW": LATER})
    assert result.exit_code == 0 and "cannot map" not in result.stderr
    assert shown(cli, "awo:1002")["status"] == "in_work"


def test_statuses_autoweboffice_cannot_hold_are_not_reverted_by_the_next_recheck(cli, school):
    assert cli(["sync"]).exit_code == 0
    for invoice, status in (("1003", "part_paid"), ("1009", "new")):
        result = cli(["status", f"awo:{invoice}", status])
        assert result.exit_code == 0, result.output
    assert school.account.tables["accounts"]["1003"]["id_account_status"] == "3"
    result = cli(["sync", "--format", "json"], env={"UNPAID_NOW": LATER})
    assert result.exit_code == 0 and result.json()[0]["status_changes"] == 0
    assert shown(cli, "awo:1003")["status"] == "part_paid" and shown(cli, "awo:1009")["status"] == "new"
    school.account.update("accounts", "1003", {"id_account_status": "5"})  # paid in AutoWebOffice
    later = to_iso(NOW + timedelta(hours=4))
    assert cli(["sync"], env={"UNPAID_NOW": later}).exit_code == 0
    assert shown(cli, "awo:1003")["status"] == "paid"


def test_one_rejected_invoice_does_not_make_every_sync_store_the_rest_again():
    seed = bulk_seed(150, NOW, lines_per_invoice=1, subdomain="school")
    seed["keys"] = {"get": KEYS["get_key"], "set": KEYS["set_key"]}
    seed["accounts"][9]["account_sum"] = "12 руб"  # invoice 10, about 340 days old
    clock = [NOW]
    with Emulator(seed, rate_limit=None) as emu:
        conn = make_connector(emu, clock=lambda: clock[0], recheck_every="1h", recheck_days=30)
        first = list(conn.fetch_orders(None))
        clock[0] = NOW + timedelta(hours=2)  # the periodic re-read is due
        second = list(conn.fetch_orders(first[-1].bookmark))
    assert sum(len(p.orders) for p in first) == 149
    assert sum(len(p.orders) for p in second) == 0
    (reject,) = [r for p in second for r in p.rejects]
    assert reject.where.startswith("invoice 10 ") and reject.repeated


def test_comments_and_flags_are_shown_by_show_and_in_json(cli, school):
    school.account.update("accounts", "1001", {"account_comment": "Позвоните после 18:00"})
    assert cli(["sync"]).exit_code == 0
    assert shown(cli, "awo:1001")["extra"]["comment"] == "Позвоните после 18:00"
    assert shown(cli, "awo:1010")["extra"]["flags"] == "in the recycle bin"
    card = cli(["show", "awo:1001"]).stdout + cli(["show", "awo:1010"]).stdout
    assert "Позвоните после 18:00" in card and "in the recycle bin" in card


def test_pushing_refunded_is_refused_and_changes_nothing():
    with Emulator(demo_seed(NOW, subdomain="school"), rate_limit=None) as emu:
        emu.account.get_key, emu.account.set_key = KEYS["get_key"], KEYS["set_key"]
        with pytest.raises(Exception, match="AutoWebOffice has no status for refunded"):
            make_connector(emu).push_status("1005", Status.REFUNDED)
        assert emu.account.tables["accounts"]["1005"]["deleted"] == "0"


def test_a_step_whose_fresh_read_finds_an_unmapped_code_leaves_the_order_alone(cli, open_school, tmp_path):
    emu = open_school(one_step_playbook(tmp_path, "tag", "{ tag = 31 }") + SOURCE_CONFIG)
    now = to_iso(NOW)
    assert cli(["--now", now, "sync"]).exit_code == 0
    emu.account.tables["accounts"]["1003"]["id_account_status"] = "7"  # Вера's, changed after the sync
    result = cli(["--now", now, "--format", "json", "run"])
    assert result.exit_code in (0, 1), result.output
    row = next(r for r in result.json() if r["order_id"] == "awo:1003" and r["step"] == "tag")
    assert row["result"] == "skipped" and "unmapped" in row["detail"]
    tagged = {r["id_contact"] for r in emu.account.tables["contacttaglnk"].values()}
    assert "3" not in tagged and "1" in tagged
