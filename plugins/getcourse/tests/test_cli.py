"""The CLI path: `unpaid sync` and `unpaid getcourse groups|reasons` with a getcourse source on the emulator."""

from __future__ import annotations

import pytest

from unpaid import plugins

from .conftest import DEVELOPER, SECRET, deal


@pytest.fixture
def school(emulator, tmp_path, monkeypatch):
    """unpaid.toml with [sources.school] pointing at the emulator; the key from the environment."""
    monkeypatch.setenv("UNPAID_LOAD_PLUGINS", "unpaid-getcourse")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.setenv("UNPAID_SECRET_SCHOOL_SECRET_KEY", SECRET)
    plugins.set_plugins(None)
    (tmp_path / "unpaid.toml").write_text(f'''timezone = "Europe/Moscow"

[sources.school]
type = "getcourse"
account = "school"
base_url = "{emulator.base_url}"
first_wait = "0"
poll_interval = "0.05"
''', encoding="utf-8")
    for n in range(1, 4):
        emulator.account.put_deal(deal(n, status="payed" if n == 3 else "new"))
    yield emulator
    plugins.set_plugins(None)


def test_sync_stores_the_deals_and_shows_the_budget(school, cli, tmp_path):
    result = cli("sync school")
    assert result.exit_code == 0, result.output
    assert "school: 3 orders" in result.stderr
    assert "requests left" in result.stderr
    assert not (tmp_path / "cache" / "unpaid").exists()  # the budget and the index live in the store
    listed = cli("--format json orders --all")
    assert listed.exit_code == 0, listed.output
    assert {o["id"] for o in listed.json()} >= {"school:7001", "school:7002"}


def test_sync_with_a_wrong_key_exits_3_naming_the_fix(school, cli, monkeypatch):
    monkeypatch.setenv("UNPAID_SECRET_SCHOOL_SECRET_KEY", "wrong-key-777")
    result = cli("sync school")
    assert result.exit_code == 3
    assert "account school refused the secret key" in result.stderr and "unpaid auth set school" in result.stderr
    assert "wrong-key-777" not in result.output and "Traceback" not in result.output


def test_missing_key_is_a_config_error(school, cli, monkeypatch):
    monkeypatch.delenv("UNPAID_SECRET_SCHOOL_SECRET_KEY")
    result = cli("sync school")
    assert result.exit_code in (2, 3)
    assert "UNPAID_SECRET_SCHOOL_SECRET_KEY" in result.stderr


def test_groups_and_reasons_commands(school, cli, monkeypatch):
    result = cli("--format json getcourse groups school")
    assert result.exit_code == 0, result.output
    assert {"id": "2", "name": "Дожим: 3 письма"} in result.json()
    without = cli("getcourse reasons school")
    assert without.exit_code == 2 and "developer_key" in without.stderr  # setup, not an outage
    monkeypatch.setenv("UNPAID_SECRET_SCHOOL_DEVELOPER_KEY", DEVELOPER)
    reasons = cli("--format json getcourse reasons school")
    assert reasons.exit_code == 0, reasons.output
    assert reasons.json()[0]["name"] == "Дорого"
