"""Seed 001's four plays driven by `unpaid run` against the emulator: the playbook engine end to end.

1. a reminder letter with the order link to whoever has not paid within 2 days;
2. the order link sent again by AutoWebOffice itself (``resend_invoice``);
3. a 5 % personal offer valid 2 days, and the buyer put into the AutoWebOffice process holding it;
4. a call task for every non-payer who left a phone.
A payment made in AutoWebOffice between two runs stops every later step for that invoice.
"""

import json
from datetime import timedelta

import pytest

from awo_env import NOW
from unpaid.clock import to_iso

CONFIG = """\
timezone = "Europe/Moscow"
playbook_files = ["playbooks.toml"]

[sources.awo]
type = "autoweboffice"
subdomain = "{subdomain}"
base_url = "{base_url}"
rate_limit = "1000/1s"
allow_resend_invoice = true

[channels.email]
type = "outbox"
path = "outbox"
"""

PLAYBOOKS = """\
[segments.awo_unpaid_2d]
sources = ["awo"]
min_age = "2d"

[segments.awo_unpaid_2d_phone]
sources = ["awo"]
min_age = "2d"
has_phone = true

[playbooks.awo_dunning]
segment = "awo_unpaid_2d"
channel = "email"
enter_within = "7d"

[[playbooks.awo_dunning.steps]]
name = "reminder"
action = "send"
template = "reminder"

[[playbooks.awo_dunning.steps]]
name = "order_link"
action = "trigger"
trigger = "resend_invoice"
after = "1d"

[[playbooks.awo_dunning.steps]]
name = "offer"
action = "offer"
after = "1d"
kind = "discount"
percent = 5
valid = "2d"

[[playbooks.awo_dunning.steps]]
name = "offer_process"
action = "trigger"
trigger = "funnel"
params = {{ funnel = 41 }}

[playbooks.awo_calls]
segment = "awo_unpaid_2d_phone"
enter_within = "7d"

[[playbooks.awo_calls.steps]]
name = "call"
action = "call"
script = "Ask what stopped the payment and offer help with it"
"""

REMINDER = """\
Subject: Счёт {{ order.number }} ещё не оплачен

Здравствуйте{% if customer.first_name %}, {{ customer.first_name }}{% endif %}!
Вы заказали «{{ order.product }}». Завершить заказ: {{ payment_link }}
"""


@pytest.fixture
def school(open_school, tmp_path):
    emu = open_school(CONFIG)
    (tmp_path / "playbooks.toml").write_text(PLAYBOOKS.format(), encoding="utf-8")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "reminder.txt").write_text(REMINDER, encoding="utf-8")
    return emu


def at(cli, moment, *args):
    result = cli(["--now", to_iso(moment), *args])
    assert result.exit_code in (0, 1), result.output
    return result


def done(cli, moment, results=None):
    """`unpaid sync && unpaid run` as cron would; the (order, step) pairs that were carried out."""
    at(cli, moment, "sync")
    rows = at(cli, moment, "--format", "json", "run").json()
    if results is not None:
        results.extend(rows)
    return {(r["order_id"], r["step"]) for r in rows if r["result"] == "done"}


def test_the_four_plays_of_seed_001(cli, school, tmp_path):
    rows: list[dict] = []
    first = done(cli, NOW, rows)
    # Play 1: unpaid for 2 days and reachable by e-mail; Глеб (1004) left only a phone.
    assert {o for o, step in first if step == "reminder"} == {"awo:1001", "awo:1002", "awo:1003", "awo:1009"}
    letters = [json.loads(p.read_text()) for p in (tmp_path / "outbox").glob("*.json")]
    anna = next(m for m in letters if "anna.smirnova@example.ru" in json.dumps(m, ensure_ascii=False))
    assert "https://demo-school.autoweboffice.ru/?r=ordering/cart/s2&id=1001&vc=" in json.dumps(anna)
    # Play 4: a call task for each non-payer with a phone, Глеб included; Вера (1003) left no phone.
    assert {o for o, step in first if step == "call"} == {"awo:1001", "awo:1002", "awo:1004", "awo:1009"}

    school.account.update("accounts", "1002", {"id_account_status": "5"})  # Борис pays in AutoWebOffice
    later = NOW + timedelta(days=1, hours=1)
    done(cli, later, rows)
    acted = {(r["order_id"], r["step"]) for r in rows if r["result"] == "done"}

    # Play 2: a day on, AutoWebOffice re-sent the invoice e-mail to each non-payer with an e-mail — not Борис.
    assert sorted(school.account.sent_mails) == ["1001", "1003", "1009"]
    assert {o for o, step in acted if step == "order_link"} == {"awo:1001", "awo:1003", "awo:1009"}
    refused = [r for r in rows if r["order_id"] == "awo:1004" and r["step"] == "order_link"]
    assert refused and "invoice 1004 has no e-mail" in refused[0]["detail"]
    # Play 3: a day later still, the 5 % offer for 2 days and the buyer placed into the process holding it.
    later += timedelta(days=1, hours=1)
    done(cli, later, rows)
    acted = {(r["order_id"], r["step"]) for r in rows if r["result"] == "done"}
    assert {o for o, step in acted if step == "offer"} >= {"awo:1001", "awo:1003", "awo:1009"}
    funnel = {r["id_contact"] for r in school.account.tables["funnelcontact"].values() if r["id_funnel"] == "41"}
    assert {"1", "3", "8"} <= funnel and "2" not in funnel  # Анна, Вера, Зоя; never Борис
    assert not {step for o, step in acted if o == "awo:1002"} - {"reminder", "call"}

    # Running again repeats nothing: every action happened exactly once.
    before = (list(school.account.sent_mails), len(school.account.tables["funnelcontact"]))
    assert not done(cli, later + timedelta(hours=1)) & acted
    assert (list(school.account.sent_mails), len(school.account.tables["funnelcontact"])) == before
