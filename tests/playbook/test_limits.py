"""Limits: templates that would hang or eat memory, and loops that would repeat in one run, are refused at load
(exit 2, naming the template or the steps); a template that only blows up with real data fails its item."""

from __future__ import annotations

import time

import pytest

from tests.playbook.procs import T0
from tests.playbook.test_load import GOOD_STEP, assert_refused, step, write
from unpaid.errors import ConfigError
from unpaid.playbook.model import parse_playbook
from unpaid.segments import parse_segment

NESTED = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
HUGE = {
    "a loop inside a loop": (NESTED, "more than 2 s"),
    "a repeated string": ("{{ 'x' * 300000000 }}", "300,000,000"),
    "a repeated list": ("{{ [1] * 300000000 }}", "300,000,000"),
    "a huge power": ("{{ 2 ** 99999999 }}", "exponent"),
    # 20 characters a turn: the output limit comes after 50,000 turns, long before the time limit.
    "too much output": ("{% for i in range(100000) %}xxxxxxxxxxxxxxxxxxxx{% endfor %}", "1,000,000 characters"),
}


@pytest.mark.parametrize("case", sorted(HUGE))
def test_a_template_past_the_limits_is_refused_at_check(shop, tmp_path, case):
    body, needle = HUGE[case]
    path = write(tmp_path, template=f"Subject: hi\n\n{body}\n")
    result = shop.cli(["playbooks", "check", str(path)])
    assert_refused(result, "hello.txt", needle, "(first)")


def test_a_call_script_past_the_limits_is_refused(shop, tmp_path):
    path = write(tmp_path, step(action="call", template=None, script=NESTED))
    assert_refused(shop.cli(["playbooks", "check", str(path)]), "(first).script", "more than 2 s")


def test_a_template_that_only_grows_with_real_data_fails_its_item(world):
    """The sample order renders small; a real order's data makes it huge: that send fails, naming the template."""
    (world.root / "templates" / "letter.txt").write_text(
        "Subject: hi\n\n{% for i in range(order.extra.get('lines', 1)) %}"
        "{% for j in range(100) %}xxxxxxxxxx{% endfor %}{% endfor %}\n")
    from tests.playbook.shop import order
    from datetime import timedelta

    world.add(order("shop", "1", T0 - timedelta(hours=2), lines=5000))
    result = world.run(T0, code=1)
    [row] = [r for r in result.json() if r["step"] == "letter"]
    assert row["result"] == "failed" and "letter.txt" in row["detail"] and "1,000,000" in row["detail"]
    assert world.sent() == []


# ---- loops without a delay ----


def playbook(*steps: dict):
    segment = parse_segment("s", {"min_age": "1h"}, "segment")
    return parse_playbook("p", {"segment": {"min_age": "1h"}, "channel": "mail", "steps": list(steps)},
                          "unpaid.toml: playbooks.p", {"s": segment})


LETTER = {"name": "letter", "action": "send", "template": "letter"}
OFFER = {"name": "offer", "action": "offer", "percent": 5, "valid": "2d"}


@pytest.mark.parametrize("steps, loop", [
    ([LETTER, {"name": "again", "action": "goto", "to": "letter"}], "letter -> again -> letter"),
    ([LETTER, OFFER, {"name": "again", "action": "goto", "to": "offer"}], "offer -> again -> offer"),
    ([{"name": "again", "action": "goto", "to": "again"}], "again -> again"),
    ([{**LETTER, "after": "1d"}, OFFER, {"name": "again", "action": "goto", "to": "offer"}], "offer -> again"),
    ([{**LETTER, "at": "1d"}, {"name": "again", "action": "goto", "to": "letter"}], "letter -> again"),
    ([{"name": "jump", "action": "goto", "to": "back"}, {**LETTER, "after": "1d"},
      {"name": "back", "action": "goto", "to": "jump"}], "jump -> back -> jump"),
])
def test_a_loop_without_a_delay_or_a_condition_is_refused_naming_its_steps(steps, loop):
    with pytest.raises(ConfigError, match="has no delay") as err:
        playbook(*steps)
    assert loop in str(err.value) and "playbooks.p.steps" in str(err.value)


@pytest.mark.parametrize("steps", [
    [LETTER, {"name": "again", "action": "goto", "to": "letter", "after": "1d"}],
    [{**LETTER, "after": "2h"}, {"name": "again", "action": "goto", "to": "letter"}],
    [LETTER, {"name": "again", "action": "goto", "to": "letter", "when": ["attempts < 3"]}],
    [{"name": "call", "action": "call", "script": "hi"}, {"name": "again", "action": "goto", "to": "call"}],
    [{"name": "skip", "action": "goto", "to": "letter"}, OFFER, LETTER],
])
def test_loops_that_wait_or_stop_are_accepted(steps):
    playbook(*steps)


def test_check_refuses_a_zero_delay_loop(shop, tmp_path):
    body = GOOD_STEP + step(name="again", action="goto", template=None, to="first")
    assert_refused(shop.cli(["playbooks", "check", str(write(tmp_path, body))]),
                   "remind.toml", "first -> again -> first", "no delay")


def test_the_time_limit_counts_processor_time_not_waiting(monkeypatch):
    """A busy machine makes a letter wait for a core; only the template's own work counts against the limit."""
    from jinja2 import Environment

    from unpaid import template_limits
    from unpaid.template_limits import TemplateLimit, render_limited

    monkeypatch.setattr(template_limits, "MAX_SECONDS", 0.3)
    env = Environment()
    waiting = env.from_string("{{ wait() }}done")
    assert render_limited(waiting, {"wait": lambda: time.sleep(0.8) or ""}) == "done"
    busy = env.from_string("{% for i in range(10**9) %}{% endfor %}")
    with pytest.raises(TemplateLimit, match="more than 0.3 s"):
        render_limited(busy, {})
