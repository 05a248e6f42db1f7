"""A playbook switched off with `enabled = false` is left out of `plan` and `run`, but can be previewed by name."""

from __future__ import annotations

import pytest

from tests.cli.test_events import CONFIG, ORDERS


@pytest.fixture
def shop(tmp_path, monkeypatch):
    pytest.importorskip("unpaid_csv")
    monkeypatch.setenv("UNPAID_LOAD_PLUGINS", "csv")
    (tmp_path / "orders.csv").write_text(ORDERS, encoding="utf-8")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "letter.txt").write_text("Subject: Order {{ order.number }}\n\nPay\n")
    config = CONFIG.format(events='imported_events = ["open"]').replace('cap = false', 'cap = false\nenabled = false')
    (tmp_path / "unpaid.toml").write_text(config, encoding="utf-8")
    return tmp_path


def test_a_switched_off_playbook_is_neither_planned_nor_run_unless_named(cli, shop):
    now = ["--now", "2026-11-24T12:00+03:00"]
    assert cli([*now, "sync"]).exit_code == 0
    assert cli([*now, "plan", "--format", "json"]).json() == []
    preview = cli([*now, "plan", "--playbook", "mailing", "--format", "json"]).json()
    assert {r["order_id"] for r in preview if r["kind"] == "act"} == {"shop:1", "shop:2"}
    ran = cli([*now, "run", "--playbook", "mailing"])
    assert ran.exit_code == 0 and not (shop / "outbox").exists()
