"""`unpaid run` re-reads the orders it acts on from the CSV file in one pass per run, not one per action, and
still never reminds an order paid (or removed) at the source after the last sync."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone

import pytest

from unpaid import plugins

from .conftest import DEMO_HEADER, write_csv
from .test_run_source_down import CONFIG, ENV

T0 = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)


@pytest.fixture(autouse=True)
def _fresh_plugins():
    plugins.set_plugins(None)
    yield
    plugins.set_plugins(None)


def row(i: int, status: str = "new") -> list[str]:
    return [str(i), f"A-{i}", (T0 - timedelta(hours=3)).isoformat(), status, f"Buyer {i}", f"c{i}@example.com", "",
            "c1", "Course", "4990.00", "RUB", "", "", ""]


def test_one_pass_over_the_file_serves_every_action_and_paid_ones_are_skipped(cli, tmp_path, monkeypatch):
    from unpaid_csv.connector import CsvConnector

    path = tmp_path / "orders.csv"
    write_csv(path, DEMO_HEADER, [row(i) for i in range(1, 7)])
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "letter.txt").write_text("Subject: Order {{ order.number }}\n\nPlease pay\n")
    (tmp_path / "unpaid.toml").write_text(CONFIG, encoding="utf-8")
    assert cli(["--now", T0.isoformat(), "sync"], env=ENV).exit_code == 0
    # After the sync: order 2 is paid, order 5 is gone from the export; the store does not know yet.
    write_csv(path, DEMO_HEADER, [row(1), row(2, "paid"), row(3), row(4), row(6)])

    opened = []
    real_open = CsvConnector._open
    monkeypatch.setattr(CsvConnector, "_open", lambda self: opened.append(1) or real_open(self))
    result = cli(["--now", T0.isoformat(), "--format", "json", "run"], env=ENV)
    assert result.exit_code == 0, result.output
    rows = {r["order_id"]: r for r in json.loads(result.stdout) if r["step"] == "letter"}

    assert len(opened) == 1  # one read for the six actions
    sent = sorted(json.loads(p.read_text())["order_id"] for p in (tmp_path / "outbox").glob("*.json"))
    assert sent == ["shop:1", "shop:3", "shop:4", "shop:6"]
    assert rows["shop:2"]["result"] == "skipped" and "paid at the source" in rows["shop:2"]["detail"]
    assert rows["shop:5"]["result"] == "skipped" and "no longer exists" in rows["shop:5"]["detail"]

    # A later run reads again (the copies are from before it started) and sends nothing twice.
    opened.clear()
    write_csv(path, DEMO_HEADER, [row(1, "paid"), row(2, "paid"), row(3), row(4), row(6)])
    result = cli(["--now", (T0 + timedelta(hours=1)).isoformat(), "--format", "json", "run"], env=ENV)
    assert result.exit_code == 0, result.output
    assert len(list((tmp_path / "outbox").glob("*.json"))) == 4


def test_a_file_gone_at_the_run_defers_every_action_and_a_later_run_sends_each_letter_once(cli, tmp_path):
    path = tmp_path / "orders.csv"
    write_csv(path, DEMO_HEADER, [row(i) for i in range(1, 4)])
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "letter.txt").write_text("Subject: Order {{ order.number }}\n\nPlease pay\n")
    (tmp_path / "unpaid.toml").write_text(CONFIG, encoding="utf-8")
    assert cli(["--now", T0.isoformat(), "sync"], env=ENV).exit_code == 0
    path.unlink()  # gone (a mount away, a rename in progress): nothing is sent, nothing is lost
    result = cli(["--now", T0.isoformat(), "--format", "json", "run"], env=ENV)
    assert result.exit_code == 3 and "orders.csv does not exist" in result.stderr  # the source is unreachable
    assert [r["result"] for r in json.loads(result.stdout) if r["step"] == "letter"] == ["deferred"] * 3
    assert not (tmp_path / "outbox").exists() or not list((tmp_path / "outbox").glob("*.json"))
    write_csv(path, DEMO_HEADER, [row(i) for i in range(1, 4)])  # back: the letters go out once
    result = cli(["--now", (T0 + timedelta(hours=3)).isoformat(), "--format", "json", "run"], env=ENV)
    assert result.exit_code == 0, result.output
    sent = sorted(json.loads(p.read_text())["order_id"] for p in (tmp_path / "outbox").glob("*.json"))
    assert sent == ["shop:1", "shop:2", "shop:3"]
