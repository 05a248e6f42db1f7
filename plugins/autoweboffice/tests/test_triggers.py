"""Triggers as AutoWebOffice keeps its links: the recycle bin, a funnel entered again for a new invoice,
one contact for every trigger, the cost in requests, and resend_invoice held until it is allowed."""

import pytest

from awo_env import KEYS, NOW, SOURCE_CONFIG, make_connector, one_step_playbook
from unpaid.clock import to_iso
from unpaid.connector import InvalidData, NotFound
from unpaid_autoweboffice.emulator import Emulator
from unpaid_autoweboffice.mapping import format_date
from unpaid_autoweboffice.seeds import demo_seed


@pytest.fixture
def school():
    with Emulator(demo_seed(NOW, subdomain="school"), rate_limit=None, now=lambda: NOW) as emu:
        emu.account.get_key, emu.account.set_key = KEYS["get_key"], KEYS["set_key"]
        yield emu


def connector(emu, **settings):
    """A connector whose default group, tag and funnel are the demo school's."""
    return make_connector(emu, **{"group": 1, "tag": 31, "funnel": 41, **settings})


def links(emu, table, field):
    return sorted((r["id_contact"], r[field], r["deleted"]) for r in emu.account.tables[table].values())


@pytest.mark.parametrize("action,table,field,target", [
    ("subscribe", "contactnewsletterlinks", "id_newsletter", "1"),
    ("tag", "contacttaglnk", "id_contact_tag", "31"),
    ("funnel", "funnelcontact", "id_funnel", "41"),
])
def test_a_link_in_the_recycle_bin_does_not_count_as_done(school, action, table, field, target):
    school.account.create(table, {"id_contact": "1", field: target})
    school.account.delete(table, "1")  # to the recycle bin: still listed, with deleted = 1
    connector(school).trigger("1001", action, {LINK_PARAM[action]: target})
    assert links(school, table, field) == [("1", target, "0"), ("1", target, "1")]


LINK_PARAM = {"subscribe": "group", "tag": "tag", "funnel": "funnel"}


def test_the_buyer_enters_a_funnel_again_for_a_later_invoice(school):
    conn = connector(school)
    conn.trigger("1001", "funnel", {"funnel": 41})  # Анна's first invoice
    first = next(iter(school.account.tables["funnelcontact"].values()))
    first["creation_date"] = format_date(NOW.replace(day=8), school.account.zone)  # entered two days ago
    conn.trigger("1001", "funnel", {"funnel": 41})  # the same invoice again: she is in it already
    assert len(school.account.tables["funnelcontact"]) == 1
    conn.trigger("1008", "funnel", {"funnel": 41})  # her new invoice of this morning: she enters again
    assert links(school, "funnelcontact", "id_funnel") == [("1", "41", "0"), ("1", "41", "0")]


def test_subscribe_tag_and_funnel_reach_the_same_contact(school):
    """The invoice's e-mail was corrected in AutoWebOffice; its contact stays the one it is linked to."""
    school.account.tables["accounts"]["1001"]["email"] = "anna.work@example.ru"
    contacts = len(school.account.tables["contacts"])
    conn = connector(school)
    for action in ("subscribe", "tag", "funnel"):
        conn.trigger("1001", action, {})
    assert len(school.account.tables["contacts"]) == contacts  # no contact made from the other e-mail
    assert {r["id_contact"] for table in ("contactnewsletterlinks", "contacttaglnk", "funnelcontact")
            for r in school.account.tables[table].values()} == {"1"}


@pytest.mark.parametrize("action", ["subscribe", "tag", "funnel"])
def test_a_trigger_after_the_runners_fresh_read_costs_two_requests_or_one(school, action):
    conn = connector(school)
    before = school.stats.requests
    conn.fetch_order("1001")  # what the runner does right before acting: the invoice and its lines
    conn.trigger("1001", action, {})  # the lookup and the create; the invoice is not read again
    assert school.stats.requests - before == 2 + 2
    before = school.stats.requests
    conn.fetch_order("1001")
    conn.trigger("1001", action, {})  # already linked: the lookup only
    assert school.stats.requests - before == 2 + 1


def test_without_a_fresh_read_the_trigger_reads_the_invoice_itself(school):
    conn = connector(school)
    school.account.tables["accounts"]["1001"]["email"] = ""
    conn.fetch_order("1001")
    school.account.tables["accounts"]["1001"]["email"] = "anna.smirnova@example.ru"
    import time

    conn._fresh["1001"] = (time.monotonic() - 120, conn._fresh["1001"][1])  # read two minutes ago
    conn.trigger("1001", "subscribe", {})
    assert links(school, "contactnewsletterlinks", "id_newsletter") == [("1", "1", "0")]


def test_resend_invoice_is_held_until_it_is_allowed(school):
    conn = connector(school, allow_resend_invoice=False)
    with pytest.raises(InvalidData, match="resend_invoice is experimental") as info:
        conn.trigger("1002", "resend_invoice")
    assert not info.value.retryable and "allow_resend_invoice = true" in info.value.fix
    assert school.account.sent_mails == [] and school.stats.requests == 0
    connector(school).trigger("1002", "resend_invoice")
    assert school.account.sent_mails == ["1002"]


def test_a_resend_step_of_unpaid_run_is_held_for_review_with_the_reason(cli, open_school, tmp_path):
    emu = open_school(one_step_playbook(tmp_path, "resend_invoice") + SOURCE_CONFIG)
    now = to_iso(NOW)
    assert cli(["--now", now, "sync"]).exit_code == 0
    result = cli(["--now", now, "--format", "json", "run"])
    assert result.exit_code == 1, result.output
    held = [r for r in result.json() if r["order_id"] == "awo:1001" and r["step"] == "resend_invoice"]
    assert held and "resend_invoice is experimental" in held[0]["detail"]
    assert emu.account.sent_mails == []
    assert "awo:1001" in cli(["--now", now, "review"]).stdout


def test_the_patronymic_is_kept_both_ways(school):
    school.account.tables["accounts"]["1001"]["middle_name"] = "Петровна"
    conn = connector(school)
    assert conn.fetch_order("1001").customer.name == "Анна Петровна Смирнова"
    conn.update_contact("1001", name="Анна Сергеевна Смирнова")
    contact = school.account.tables["contacts"]["1"]
    assert (contact["name"], contact["middle_name"], contact["last_name"]) == ("Анна", "Сергеевна", "Смирнова")
    assert conn.fetch_order("1001").customer.name == "Анна Сергеевна Смирнова"


def test_a_trigger_for_a_contact_deleted_for_good_names_it(school):
    del school.account.tables["contacts"]["3"]
    with pytest.raises(NotFound, match="contact 3 of invoice 1003 no longer exists in AutoWebOffice: the tag") as info:
        connector(school).trigger("1003", "tag", {})
    assert "<" not in str(info.value) and school.account.tables["contacttaglnk"] == {}
