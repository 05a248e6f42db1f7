import json
import sqlite3
from datetime import timedelta

import pytest

from unpaid import hookimpl
from unpaid.connector import AuthFailed, Page, Reject
from unpaid.model import Status
from unpaid.testing.fakes import SPEC, InMemoryConnector, backend

TWO_SOURCES = '[sources.gc]\ntype = "memory"\n\n[sources.shop]\ntype = "memory"\n'


class RejectingConnector(InMemoryConnector):
    """Reads like the memory connector, plus one unreadable row per page."""

    def fetch_orders(self, since):
        for n, page in enumerate(super().fetch_orders(since), start=1):
            yield Page(page.orders, page.bookmark, [Reject(f"orders.csv:{n + 1}", "column 'Created': not a date")])


class RejectingPlugin:
    @staticmethod
    @hookimpl
    def register_connectors(register):
        register(SPEC.__class__(**{**SPEC.__dict__, "name": "rejecting",
                                   "factory": lambda name, settings, secrets: RejectingConnector(name, settings)}))


def test_sync_pulls_orders_and_reports_one_line_per_source(cli, shop, make, tmp_path):
    (tmp_path / "unpaid.toml").write_text(TWO_SOURCES)
    shop.put(make("1"), make("2", age=timedelta(hours=1)), make("3"))
    backend("gc").put(make("7", source="gc"))
    result = cli("--now 2026-11-24T09:00:00Z sync")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert "gc: 1 order\n" in result.stderr and "shop: 3 orders" in result.stderr
    assert "total: 4 orders stored from 2 sources" in result.stderr
    assert "\r" not in result.stderr  # progress only on a terminal

    # The next run is incremental; a payment at the source shows up as a status change.
    shop.put(make("2", Status.PAID, age=timedelta(minutes=1)))
    result = cli("--now 2026-11-24T09:05:00Z sync shop --format json")
    [data] = result.json()
    assert (data["source"], data["orders"], data["status_changes"], data["newly_paid"]) == ("shop", 1, 1, 1)
    assert data["error"] is None and data["rejects"] == []
    history = cli("--now 2026-11-24T09:05:00Z show shop:2 --format json").json()["history"]
    assert [(h["actor"], h["automatic"], h["data"]["to"]) for h in history] == [("sync", True, "paid")]


def test_unreachable_source_exits_3_and_does_not_stop_the_others(cli, shop, make, tmp_path):
    (tmp_path / "unpaid.toml").write_text(TWO_SOURCES)
    shop.put(make("1"))
    backend("gc").put(make("7", source="gc"))
    backend("gc").fail_next(AuthFailed("gc", "the API key was refused", "run `unpaid auth set gc`"))
    result = cli("--now 2026-11-24T09:00:00Z sync --format json")
    assert result.exit_code == 3
    by_source = {r["source"]: r for r in result.json()}
    assert "API key was refused" in by_source["gc"]["error"] and by_source["shop"]["orders"] == 1
    assert "Error: gc: the API key was refused — run `unpaid auth set gc`" in result.stderr
    assert cli("orders --format json").json()[0]["id"] == "shop:1"


def test_rejected_rows_are_reported_and_good_rows_kept(cli, shop, make, tmp_path, register_plugin):
    register_plugin(RejectingPlugin, name="rejecting")
    (tmp_path / "unpaid.toml").write_text('[sources.shop]\ntype = "rejecting"\n')
    shop.put(make("1"), make("2"), make("3"))
    result = cli("--now 2026-11-24T09:00:00Z sync")
    assert result.exit_code == 0, result.output
    assert "shop: 3 orders, 2 rejected" in result.stderr
    assert "Warning: shop: rejected orders.csv:2: column 'Created': not a date" in result.stderr
    assert len(cli("orders --format json").json()) == 3

    shop.put(make("4", age=timedelta(hours=1)))
    strict = cli("--now 2026-11-24T09:00:00Z sync --strict --format json")
    assert strict.exit_code == 1
    assert strict.json()[0]["rejects"] == [{"where": "orders.csv:2", "reason": "column 'Created': not a date",
                                            "repeated": False}]


def test_unknown_source_lists_the_configured_ones(cli, shop, tmp_path):
    result = cli("sync shopp")
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        f"Error: unknown source 'shopp' (configured in {tmp_path / 'unpaid.toml'}: shop)"
        " — add [sources.shopp] to the config or use one of the configured names"]


def test_no_sources_configured(cli, tmp_path):
    result = cli("sync")
    assert result.exit_code == 2 and "no sources configured" in result.stderr


def test_malformed_toml_is_one_line_naming_the_file(cli, shop, tmp_path):
    (tmp_path / "unpaid.toml").write_text('[sources.shop]\ntype = memory\n')
    result = cli("sync")
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert line.startswith("Error: ") and "unpaid.toml: invalid TOML" in line and "line 2" in line


def test_a_store_that_is_not_sqlite_is_left_untouched(cli, shop, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("my shopping list\n")
    result = cli(["--db", str(notes), "sync"])
    assert result.exit_code == 2
    [line] = result.stderr.strip().splitlines()
    assert "notes.txt is not an unpaid database" in line
    assert notes.read_text() == "my shopping list\n"


@pytest.mark.sqlite_only("a SQLite lock on the file (PostgreSQL's writers wait: tests/store)")
def test_a_locked_store_is_one_line_and_exit_2(cli, seed, make, tmp_path, monkeypatch):
    seed(make("1"))
    monkeypatch.setattr("unpaid.store.BUSY_TIMEOUT_MS", 200)
    other = sqlite3.connect(tmp_path / "unpaid.db", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        backend("shop").put(make("2", age=timedelta(hours=1)))
        result = cli("--now 2026-11-24T09:00:00Z sync")
    finally:
        other.execute("ROLLBACK")
        other.close()
    assert result.exit_code == 2
    assert "is locked by another process" in result.stderr and "Traceback" not in result.output
    assert json.loads(cli("orders --format json").stdout)[0]["id"] == "shop:1"
