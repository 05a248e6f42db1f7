"""`unpaid events`: opens imported from a mail service drive `not opened` (seed 000/003) on any source."""

from __future__ import annotations

import json

import pytest

CONFIG = """
timezone = "Europe/Moscow"
db = "unpaid.db"

[sources.shop]
type = "csv"
path = "orders.csv"
{events}

[channels.email]
type = "outbox"
path = "outbox"

[playbooks.mailing]
segment = {{ min_age = "1h" }}
channel = "email"
cap = false

[[playbooks.mailing.steps]]
name = "first"
action = "send"
template = "letter"

[[playbooks.mailing.steps]]
name = "second"
action = "send"
after = "1d"
when = ["not opened"]
template = "letter"
"""


@pytest.fixture
def shop(csv_shop):
    return lambda events='imported_events = ["open"]': csv_shop(CONFIG.format(events=events))


def _sent(folder):
    return sorted((m["order_id"], m["data"]["step"]) for m in
                  (json.loads(p.read_text()) for p in (folder / "outbox").glob("*.json")))


def test_not_opened_without_a_way_to_learn_of_opens_is_a_config_error(cli, shop):
    shop(events="")
    result = cli(["playbooks"])
    assert result.exit_code == 2 and "does not report open events" in result.stderr
    assert 'imported_events = ["open"]' in result.stderr and "Traceback" not in result.output


def test_imported_opens_stop_the_second_letter(cli, shop):
    folder = shop()
    assert cli(["--now", "2026-11-24T12:00+03:00", "sync"]).exit_code == 0
    assert cli(["--now", "2026-11-24T12:00+03:00", "run"]).exit_code == 0
    assert _sent(folder) == [("shop:1", "first"), ("shop:2", "first")]
    # the mail service's export (";"-separated, Russian date): an open by e-mail, and an unknown customer
    (folder / "opens.csv").write_text("email;event;date\nOPENS@example.com;opened;24.11.2026 15:30\n"
                                      "nobody@example.com;open;2026-11-24T15:00\n", encoding="utf-8")
    result = cli(["events", "import", str(folder / "opens.csv")])
    assert result.exit_code == 1
    assert f"{folder / 'opens.csv'}:3: skipped: no unpaid order of nobody@example.com" in result.stderr
    assert "1 event recorded" in result.stderr  # only the unpaid order of that customer, not the paid one
    again = cli(["events", "import", str(folder / "opens.csv")])
    assert "0 events recorded, 1 already known" in again.stderr
    listed = cli(["events", "--format", "json"]).json()
    assert [(e["order_id"], e["kind"]) for e in listed] == [("shop:1", "open")]

    assert cli(["--now", "2026-11-25T13:00+03:00", "run"]).exit_code == 0
    assert _sent(folder) == [("shop:1", "first"), ("shop:2", "first"), ("shop:2", "second")]


def test_bad_rows_and_files_name_the_line_and_the_fix(cli, shop):
    folder = shop()
    assert cli(["--now", "2026-11-24T12:00+03:00", "sync"]).exit_code == 0
    (folder / "events.jsonl").write_text('{"order": "1", "kind": "click", "at": "2026-11-24T13:00"}\n'
                                         '{"order": "shop:9", "kind": "open", "at": "2026-11-24T13:00"}\n'
                                         '{"order": "shop:1", "kind": "bounce", "at": "2026-11-24T13:00"}\n'
                                         'not json\n'
                                         '{"order": "shop:2", "kind": "open", "at": "someday"}\n')
    result = cli(["events", "import", str(folder / "events.jsonl"), "--source", "shop"])
    assert result.exit_code == 1
    err = result.stderr
    assert ":2: skipped: no order shop:9 in the store" in err and ":3: skipped: kind 'bounce'" in err
    assert ":4: skipped: not JSON" in err and ":5: skipped: at: not a date" in err
    assert "1 event recorded" in err  # line 1: 1 -> shop:1 with --source
    no_header = folder / "plain.csv"
    no_header.write_text("a,b\n1,2\n")
    assert "the header needs kind, at and order or email" in cli(["events", "import", str(no_header)]).stderr
    missing = cli(["events", "import", str(folder / "nope.csv")])
    assert missing.exit_code == 2 and "cannot read it" in missing.stderr
    assert cli(["events", "add", "shop:9", "open"]).exit_code == 2
    added = cli(["--now", "2026-11-24T14:00+03:00", "events", "add", "shop:2", "open"])
    assert added.exit_code == 0 and "recorded" in added.stderr
