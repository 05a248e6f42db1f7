"""Unknown ids, unknown accounts, wrong keys and refused values: the answers the real API gives.

The emulator answers an unknown id with 404 (a read) or 400 (a change) and the text
``Error: Didn't find any model <b>accounts</b> …``; each unknown of the fact sheet is switched both ways.
"""

import pytest

from awo_env import KEYS, NOW, SOURCE_CONFIG as CONFIG, make_connector, make_seed
from unpaid.clock import to_iso
from unpaid.connector import AuthFailed, ConnectorError, InvalidData, NotFound
from unpaid.errors import ExitCode
from unpaid.model import Status
from unpaid_autoweboffice.emulator import Emulator
from unpaid_autoweboffice.seeds import demo_seed

ANSWERS = [dict(not_found="http", tagged=True), dict(not_found="http", tagged=False),
           dict(not_found="200", tagged=True), dict(not_found="200", tagged=False)]


def school(**options):
    emu = Emulator(demo_seed(NOW, subdomain="school"), rate_limit=None, now=lambda: NOW, **options)
    emu.account.get_key, emu.account.set_key = KEYS["get_key"], KEYS["set_key"]
    return emu


@pytest.mark.parametrize("answer", ANSWERS, ids=lambda a: f"{a['not_found']}-{'tags' if a['tagged'] else 'plain'}")
def test_an_unknown_id_is_not_found_for_that_object_however_it_is_answered(answer):
    with school(**answer) as emu:
        conn = make_connector(emu)
        with pytest.raises(NotFound) as read:
            conn.fetch_order("999")
        with pytest.raises(NotFound) as change:
            conn.push_status("999", Status.CANCELLED, "Дорого")
        with pytest.raises(NotFound):
            conn.client.delete("accounts", "999")
    for error in (read.value, change.value):
        assert "invoice 999 does not exist in AutoWebOffice" in str(error)
        assert "<" not in str(error) and "account 'school'" not in str(error)


@pytest.mark.parametrize("empty_status", [200, 404])
def test_an_empty_search_is_an_empty_page_with_200_or_404(empty_status):
    with Emulator(make_seed(), rate_limit=None, empty_status=empty_status) as emu:
        pages = list(make_connector(emu).fetch_orders(None))
    assert [o for p in pages for o in p.orders] == [] and pages[-1].bookmark


def test_the_emulator_answers_unknown_ids_as_the_fact_sheet_says():
    import httpx

    with school() as emu:
        url = emu.base_url
        read = httpx.get(url, params={"r": "api/rest/accounts", "key": KEYS["get_key"], "id": "999"})
        change = httpx.put(url, params={"r": "api/rest/accounts", "key": KEYS["set_key"], "id": "999"})
        swapped = httpx.get(url, params={"r": "api/rest/accounts", "key": KEYS["set_key"]})
    assert read.status_code == 404 and change.status_code == 400 and swapped.status_code == 401
    assert read.text == "Error: Didn't find any model <b>accounts</b> with ID <b>999</b>."


def test_an_unknown_account_is_still_named_as_such():
    with school() as emu:
        conn = make_connector(emu, subdomain="typo", base_url=emu.base_url.replace("/school/", "/{subdomain}/"))
        with pytest.raises(ConnectorError, match="no AutoWebOffice account 'typo'") as info:
            conn.fetch_order("1001")
    assert not isinstance(info.value, NotFound) and "<" not in str(info.value)


def test_swapped_keys_are_named_although_the_api_answers_401():
    with school() as emu:
        swapped = make_connector(emu, keys={"get_key": KEYS["set_key"], "set_key": KEYS["get_key"]})
        with pytest.raises(AuthFailed, match="SET key stored as get_key"):
            swapped.fetch_order("1001")
        with pytest.raises(AuthFailed, match="GET key stored as set_key"):
            swapped.push_status("1001", Status.PAID)
        assert emu.account.tables["accounts"]["1001"]["id_account_status"] == "1"


@pytest.mark.parametrize("refusal_status", [200, 400])
def test_a_refused_value_is_exit_1_with_the_servers_words(refusal_status):
    with school(refusal_status=refusal_status) as emu:
        conn = make_connector(emu)
        with pytest.raises(InvalidData, match="Email не является правильным E-Mail адресом") as info:
            conn.update_contact("1001", email="not-an-address")
        with pytest.raises(InvalidData, match="Сумма счета должна быть числом") as strict:
            conn.client.update("accounts", "1001", {"account_sum": "abc"})
        assert emu.account.tables["accounts"]["1001"]["account_sum"] == "4900"
    assert info.value.exit_code == strict.value.exit_code == ExitCode.FAILED


@pytest.fixture
def cli_school(open_school, monkeypatch):
    def open_(**options):
        emu = open_school(CONFIG, **options)
        monkeypatch.setenv("UNPAID_NOW", to_iso(NOW))
        return emu

    return open_


def test_doctor_online_passes_on_a_correct_setup_with_one_request_per_key(cli, cli_school):
    emu = cli_school()
    result = cli(["doctor", "--online"])
    assert "source awo: online" in result.output and "get_key accepted; set_key accepted" in result.output
    assert emu.stats.requests == 2 and emu.account.tables["accounts"]["1001"]["id_account_status"] == "1"


@pytest.mark.parametrize("fault,words", [
    ("subdomain", "no AutoWebOffice account 'nope'"),
    ("swapped", "the SET key stored as get_key"),
    ("set_key", "is the GET key stored as set_key"),
    ("down", "failed"),
])
def test_doctor_online_names_each_fault(cli, cli_school, tmp_path, monkeypatch, fault, words):
    emu = cli_school()
    config = tmp_path / "unpaid.toml"
    if fault == "subdomain":
        config.write_text(config.read_text().replace('subdomain = "demo-school"', 'subdomain = "nope"')
                          .replace("/demo-school/", "/{subdomain}/"))
    elif fault == "swapped":
        monkeypatch.setenv("UNPAID_SECRET_AWO_GET_KEY", emu.account.set_key)
    elif fault == "set_key":
        monkeypatch.setenv("UNPAID_SECRET_AWO_SET_KEY", emu.account.get_key)
    else:
        emu.stop()
    result = cli(["doctor", "--online"])
    assert result.exit_code == ExitCode.SOURCE, result.output
    assert words in result.output and "<b>" not in result.output


def test_status_of_an_invoice_deleted_for_good_says_so(cli, cli_school):
    emu = cli_school()
    assert cli(["sync"]).exit_code == 0
    del emu.account.tables["accounts"]["1003"]
    result = cli(["status", "awo:1003", "cancelled", "--reason-text", "Дорого"])
    assert result.exit_code == ExitCode.USAGE
    assert "invoice 1003 does not exist in AutoWebOffice" in result.stderr
    assert "no AutoWebOffice account" not in result.stderr and "<b>" not in result.stderr


def test_edit_when_the_contact_is_gone_changes_nothing_and_says_why(cli, cli_school):
    emu = cli_school()
    assert cli(["sync"]).exit_code == 0
    del emu.account.tables["contacts"]["1"]
    result = cli(["edit", "awo:1001", "-m", "Ольга", "--email", "anna.new@example.ru"])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "contact 1 of invoice 1001 no longer exists in AutoWebOffice" in result.stderr
    assert "<b>" not in result.stderr and "likely a bug" not in result.stderr
    assert emu.account.tables["accounts"]["1001"]["email"] == "anna.smirnova@example.ru"


def test_edit_with_an_address_the_api_refuses_exits_1(cli, cli_school):
    cli_school()
    assert cli(["sync"]).exit_code == 0
    result = cli(["edit", "awo:1001", "-m", "Ольга", "--email", "anna..smirnova@example.ru"])
    assert result.exit_code == ExitCode.FAILED, result.output
    assert "Email не является правильным E-Mail адресом" in result.stderr


def test_the_emulator_process_takes_the_switches():
    import subprocess
    import sys

    import httpx

    server = subprocess.Popen([sys.executable, "-m", "unpaid_autoweboffice.emulator", "--port", "0", "--plain",
                               "--not-found", "200", "--rate", "off"], stdout=subprocess.PIPE, text=True)
    try:
        url = server.stdout.readline().split(" at ", 1)[1].split(" ", 1)[0]
        answer = httpx.get(url, params={"r": "api/rest/accounts", "key": "demo-get-key-0000", "id": "999"})
    finally:
        server.terminate()
        server.wait(10)
    assert answer.status_code == 200 and answer.text == "Error: Didn't find any model accounts with ID 999."


def test_a_step_for_an_invoice_deleted_for_good_leaves_the_playbook(cli, open_school, tmp_path):
    from awo_env import one_step_playbook

    emu = open_school(one_step_playbook(tmp_path, "tag", "{ tag = 31 }") + CONFIG)
    now = to_iso(NOW)
    assert cli(["--now", now, "sync"]).exit_code == 0
    del emu.account.tables["accounts"]["1003"]
    result = cli(["--now", now, "--format", "json", "run"])
    row = next(r for r in result.json() if r["order_id"] == "awo:1003" and r["step"] == "tag")
    assert row["result"] == "skipped" and "no longer exists at the source" in row["detail"]
