"""Invalid playbooks are refused at load and by `unpaid playbooks check FILE`: one line naming the file,
the step and the field; exit code 2; no traceback; nothing runs."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from tests.playbook.shop import at, order

GOOD_STEP = """
[[playbooks.remind.steps]]
name = "first"
action = "send"
template = "hello"
"""

HEAD = """
[segments.fresh]
sources = ["gc"]
min_age = "1h"

[playbooks.remind]
segment = "{segment}"
channel = "email"
"""

HELLO = "Subject: Order {{ order.number }}\n\nPay here: {{ payment_link }}\n"


def write(tmp_path, step: str = GOOD_STEP, segment: str = "fresh", template: str | None = HELLO,
          name: str = "remind.toml"):
    folder = tmp_path / "books"
    (folder / "templates").mkdir(parents=True, exist_ok=True)
    if template is not None:
        (folder / "templates" / "hello.txt").write_text(template, encoding="utf-8")
    path = folder / name
    path.write_text(HEAD.format(segment=segment) + step, encoding="utf-8")
    return path


def step(**fields) -> str:
    body = {"name": "first", "action": "send", "template": "hello", **fields}
    lines = [f"{k} = {json.dumps(v)}" for k, v in body.items() if v is not None]
    return "\n[[playbooks.remind.steps]]\n" + "\n".join(lines) + "\n"


def assert_refused(result, *needles):
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    line = result.stderr.strip().splitlines()[-1]
    assert line.startswith("Error: "), result.stderr
    for needle in needles:
        assert needle in line, (needle, line)


CASES = {
    "unknown action": (step(action="email"), ("remind.toml", "steps[1] (first)", ".action", "'email'")),
    "action that is a list": (step(action=[]), ("(first)", ".action", "[]")),  # found by tests/proofs
    "negative delay": (step(after="-1d"), ("remind.toml", "steps[1] (first)", ".after", "negative")),
    "offer above 100%": (step(action="offer", template=None, kind="discount", percent=150, valid="2d"),
                         ("remind.toml", "steps[1] (first)", ".percent", "150")),
    "zero offer": (step(action="offer", template=None, percent=0, valid="2d"), ("(first)", ".percent")),
    "missing template file": (step(template="nope"), ("remind.toml", "(first)", "'nope'", "nope.txt")),
    "goto to an unknown step": (GOOD_STEP + step(name="again", action="goto", template=None, to="nowhere"),
                                ("remind.toml", "steps[2] (again)", ".to", "'nowhere'")),
    "unknown condition field": (step(when=["paid_twice"]), ("(first)", ".when", "paid_twice")),
    "unknown channel": (step(channel="pigeon"), ("(first)", ".channel", "'pigeon'")),
    "bad window": ('window = { hours = "25:00-09:00" }\n' + GOOD_STEP, ("remind.toml", "window.hours")),
    "unknown window time zone": ('window = { hours = "09:00-21:00", timezone = "Mars/Olympus" }\n' + GOOD_STEP,
                                 ("remind.toml", "playbooks.remind.window.timezone", "Mars/Olympus")),
    "fallback with a missing template": (GOOD_STEP.replace('"hello"', '"hello"\nfallback = { action = "send", '
                                                           'channel = "email", template = "ask" }'),
                                         ("remind.toml", "(first).fallback", "'ask'")),
    "trigger the source cannot do": (step(action="trigger", template=None, trigger="funnel"),
                                     ("(first)", ".trigger", "'funnel'")),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_check_refuses_an_invalid_playbook(shop, tmp_path, case):
    body, needles = CASES[case]
    result = shop.cli(["playbooks", "check", str(write(tmp_path, body))])
    assert_refused(result, *needles)


def test_unknown_segment_names_the_playbook_and_the_field(shop, tmp_path):
    result = shop.cli(["playbooks", "check", str(write(tmp_path, segment="stale"))])
    assert_refused(result, "remind.toml", "playbooks.remind.segment", "'stale'")


def test_template_syntax_error_names_the_template_file_and_line(shop, tmp_path):
    path = write(tmp_path, template="Subject: hi\n\n{% if offer %}no end\n")
    result = shop.cli(["playbooks", "check", str(path)])
    assert_refused(result, "hello.txt:3", "syntax")


def test_template_with_an_unknown_variable_names_the_step(shop, tmp_path):
    path = write(tmp_path, template="Subject: hi\n\n{{ cusotmer.name }}\n")
    result = shop.cli(["playbooks", "check", str(path)])
    assert_refused(result, "hello.txt", "'cusotmer'", "(first)")


def test_template_with_an_unknown_attribute_is_caught_by_the_sample_render(shop, tmp_path):
    path = write(tmp_path, template="Subject: hi\n\n{{ order.numbr }}\n")
    result = shop.cli(["playbooks", "check", str(path)])
    assert_refused(result, "hello.txt", "numbr")


def test_offer_fields_used_without_a_guard_are_refused(shop, tmp_path):
    path = write(tmp_path, template="Subject: hi\n\nOnly {{ offer.percent }}% off\n")
    result = shop.cli(["playbooks", "check", str(path)])
    assert_refused(result, "hello.txt", "without an offer", "(first)")


def test_template_without_a_subject_line_is_refused(shop, tmp_path):
    result = shop.cli(["playbooks", "check", str(write(tmp_path, template="Hello\n"))])
    assert_refused(result, "hello.txt", "Subject")


def test_call_script_with_a_syntax_error_names_the_step(shop, tmp_path):
    body = step(action="call", template=None, script="{{ order.number ")
    result = shop.cli(["playbooks", "check", str(write(tmp_path, body))])
    assert_refused(result, "remind.toml", "(first)", "script")


def test_opened_needs_a_source_that_reports_opens(shop, tmp_path):
    body = step(when=["not opened"])
    ok = shop.cli(["playbooks", "check", str(write(tmp_path, body))])  # gc reports opens
    assert ok.exit_code == 0, ok.output
    path = write(tmp_path, body).read_text().replace('sources = ["gc"]', 'sources = ["awo"]')
    (tmp_path / "books" / "remind.toml").write_text(path)
    result = shop.cli(["playbooks", "check", str(tmp_path / "books" / "remind.toml")])
    assert_refused(result, "remind.toml", "playbooks.remind", "opened", "'awo'")


def test_a_good_file_is_ok_and_listed(shop, tmp_path):
    result = shop.cli(["playbooks", "check", str(write(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "ok  remind: 1 step" in result.stdout
    listed = shop.cli(["--format", "json", "playbooks"])
    assert listed.exit_code == 0, listed.output
    names = {row["name"] for row in listed.json()}
    assert {"getcourse_mailing", "getcourse_process", "awo_thanks", "awo_reminder", "pharmacy"} <= names
    pharmacy = next(r for r in listed.json() if r["name"] == "pharmacy")
    assert pharmacy["span"] == "6w" and "Europe/Kyiv" in pharmacy["window"]


def test_check_of_a_missing_file_or_a_file_without_playbooks(shop, tmp_path):
    assert_refused(shop.cli(["playbooks", "check", str(tmp_path / "absent.toml")]), "absent.toml")
    empty = tmp_path / "empty.toml"
    empty.write_text("[segments.x]\nmin_age = \"1h\"\n")
    assert_refused(shop.cli(["playbooks", "check", str(empty)]), "empty.toml", "no [playbooks.NAME]")


def test_a_broken_playbook_in_playbook_files_stops_run_and_plan_before_anything_happens(shop, tmp_path):
    created = at("2026-11-24T10:00")
    shop.add(order("gc", "1", created))
    broken = write(tmp_path, step(after="-2h"))
    config = tmp_path / "unpaid.toml"
    config.write_text(config.read_text().replace('playbook_files = ["', f'playbook_files = ["{broken}", "'))
    for command in (["run"], ["plan"], ["playbooks"]):
        result = shop.cli(["--now", (created + timedelta(hours=2)).isoformat(), *command])
        assert_refused(result, "remind.toml", "(first)", ".after")
    assert shop.outbox() == []
    with shop.store() as store:
        assert store.ledger.for_order("gc:1") == []
