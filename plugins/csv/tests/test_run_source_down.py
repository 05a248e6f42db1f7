"""`unpaid run` while the CSV file is missing: every action is deferred (exit 3), none given up; once the file
is back, a later run sends each letter once."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from unpaid import plugins

from .conftest import DEMO_HEADER, write_csv

ENV = {"UNPAID_LOAD_PLUGINS": "unpaid-csv"}
T0 = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
CONFIG = """timezone = "UTC"

[sources.shop]
type = "csv"
path = "orders.csv"

[channels.mail]
type = "outbox"
path = "outbox"

[segments.unpaid]
min_age = "1h"

[playbooks.remind]
segment = "unpaid"
channel = "mail"

[[playbooks.remind.steps]]
name = "letter"
action = "send"
template = "letter"
"""


@pytest.fixture(autouse=True)
def _fresh_plugins():
    plugins.set_plugins(None)
    yield
    plugins.set_plugins(None)


def run(cli, now: datetime, code: int, command: str = "run"):
    result = cli(["--now", now.isoformat(), "--format", "json", command], env=ENV)
    assert result.exit_code == code, result.output
    return json.loads(result.stdout) if result.stdout.strip() else []


@pytest.fixture
def shop(cli, tmp_path):
    """Three orders in orders.csv, synced; returns the file's path."""
    csv_path = tmp_path / "orders.csv"
    rows = [[str(i), f"A-{i}", (T0 - timedelta(hours=3)).isoformat(), "new", f"Buyer {i}", f"c{i}@example.com", "",
             "c1", "Course", "4990.00", "RUB", "", "", ""] for i in (1, 2, 3)]
    write_csv(csv_path, DEMO_HEADER, rows)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "letter.txt").write_text("Subject: Order {{ order.number }}\n\nPlease pay\n")
    (tmp_path / "unpaid.toml").write_text(CONFIG, encoding="utf-8")
    assert cli(["--now", T0.isoformat(), "sync"], env=ENV).exit_code == 0
    return csv_path


def test_a_missing_file_defers_every_action_and_the_letters_go_out_once_it_is_back(cli, tmp_path, shop, cli_db):
    from unpaid.store import Store

    saved = shop.read_bytes()
    shop.unlink()

    for minutes in range(0, 600, 60):  # ten runs over ten hours: more than --max-attempts, none gives up
        out = run(cli, T0 + timedelta(minutes=minutes), code=3)
        assert {r["result"] for r in out} <= {"deferred", "entered"}
    assert not (tmp_path / "outbox").exists()
    with Store.open(cli_db) as store:
        entries = [store.ledger.get(f"shop:{i}|remind|letter|0") for i in (1, 2, 3)]
    assert all(e is None or (e.state == "failed" and e.attempts == 0 and "source unreachable" in e.error)
               for e in entries)
    plan = run(cli, T0 + timedelta(hours=10), code=0, command="plan")
    assert {p["kind"] for p in plan if p["step"] == "letter"} <= {"act", "act later"}  # waiting, never held

    shop.write_bytes(saved)
    later = T0 + timedelta(hours=13)
    done = run(cli, later, code=0)
    assert sorted(r["order_id"] for r in done if r["result"] == "done") == ["shop:1", "shop:2", "shop:3"]
    assert not [r for r in run(cli, later + timedelta(hours=1), code=0) if r["result"] == "done"]
    letters = sorted(json.loads(p.read_text())["to"] for p in (tmp_path / "outbox").glob("*.json"))
    assert letters == ["c1@example.com", "c2@example.com", "c3@example.com"]


def test_the_run_says_which_source_could_not_be_read(cli, shop):
    shop.unlink()
    result = cli(["--now", T0.isoformat(), "run"], env=ENV)
    assert result.exit_code == 3
    [line] = [ln for ln in result.stderr.splitlines() if ln.startswith("Error: ")]
    assert "orders.csv does not exist" in line and "source shop" in line and "stay due" in line
