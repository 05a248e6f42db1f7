"""A playbook switched off with `enabled = false` is left out of `plan` and `run`, but can be previewed by name."""

from __future__ import annotations

import pytest

from tests.cli.test_events import CONFIG


@pytest.fixture
def shop(csv_shop):
    config = CONFIG.format(events="").replace("cap = false", "cap = false\nenabled = false")
    return csv_shop(config.replace('when = ["not opened"]', ""))


def test_a_switched_off_playbook_is_neither_planned_nor_run_unless_named(cli, shop):
    now = ["--now", "2026-11-24T12:00+03:00"]
    assert cli([*now, "sync"]).exit_code == 0
    assert cli([*now, "plan", "--format", "json"]).json() == []
    preview = cli([*now, "plan", "--playbook", "mailing", "--format", "json"]).json()
    assert {r["order_id"] for r in preview if r["kind"] == "act"} == {"shop:1", "shop:2"}
    ran = cli([*now, "run", "--playbook", "mailing"])
    assert ran.exit_code == 0 and not (shop / "outbox").exists()
