"""`unpaid migrate`: a SQLite store copied into PostgreSQL and back, table by table, equal to the digest."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from unpaid.errors import StoreError
from unpaid.store import Store, migrate
from unpaid.store.tasks import Tasks
from tests.desk.conftest import make_order

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def _fill(target: str, n: int = 300) -> None:
    from unpaid.store.history import Entry

    with Store.open(target) as store:
        orders = [make_order(str(i), age=timedelta(days=3, minutes=i)) for i in range(n)]
        with store.transaction():
            store.orders.upsert(orders, T0)
            for o in orders[:50]:
                store.history.add(Entry(o.id, T0, "user:anna", "comment", f"called {o.id}"))
        for o in orders[:40]:
            Tasks(store).create(f"{o.id}|pb|call|0", order_id=o.id, playbook="pb", step="call", due_at=T0,
                                script="", attempts=1, now=T0)
        store.claims.try_claim(orders[0].id, "anna", T0, T0 + timedelta(minutes=30))
        store.ledger.claim("k1", order_id=orders[1].id, playbook="pb", step="s", repeat=0, action="email",
                           due_at=T0, run_id="r", now=T0, lease_until=T0 + timedelta(minutes=5))


def _digests(target: str) -> dict[str, str]:
    with Store.open(target) as store:
        return {t: migrate.digest(store, t) for t in migrate.tables(store)}


def test_sqlite_to_postgresql_and_back_keeps_every_row(tmp_path, pg_url, pg_server, cli):
    db = str(tmp_path / "shop.db")
    _fill(db)
    dry = cli(["--db", db, "--format", "json", "migrate", "--to", pg_url, "--dry-run"])
    assert dry.exit_code == 0, dry.output
    assert {r["table"]: r["source"] for r in dry.json()}["orders"] == 300
    assert all(r["target"] == 0 for r in dry.json())
    result = cli(["--db", db, "--format", "json", "migrate", "--to", pg_url])
    assert result.exit_code == 0, result.output
    assert all(r["ok"] for r in result.json()) and "every count is equal" in result.stderr
    assert _digests(pg_url) == _digests(db)
    # New rows on PostgreSQL get ids after the copied ones (the identity sequences moved on).
    with Store.open(pg_url) as store:
        task = Tasks(store).create("shop:299|pb|call|0", order_id="shop:299", playbook="pb", step="call",
                                   due_at=T0, script="", attempts=1, now=T0)
        assert task.id == 41
    back = str(tmp_path / "back.db")
    assert cli(["--db", back, "migrate", "--from", pg_url]).exit_code == 0
    assert _digests(back) == _digests(pg_url)


def test_a_copy_cut_short_is_resumed_by_running_it_again(tmp_path, pg_url):
    db = str(tmp_path / "shop.db")
    _fill(db)
    with Store.open(db) as src, Store.open(pg_url) as dst:
        # As if killed half-way through the orders: some rows there, the marker written.
        migrate.copy(src, dst, pg_url)
        dst.conn.execute("DELETE FROM orders WHERE id > ?", ("shop:150",))
        assert 0 < migrate.count(dst, "orders") < 300
    counts = migrate.run(db, pg_url)
    assert all(c.ok for c in counts)
    assert _digests(pg_url) == _digests(db)


def test_a_target_with_another_shops_data_is_refused_with_exit_2_and_left_alone(tmp_path, pg_url, cli):
    ours, theirs = str(tmp_path / "ours.db"), str(tmp_path / "theirs.db")
    _fill(ours)
    with Store.open(theirs) as store:
        with store.transaction():
            store.orders.upsert([make_order("x1"), make_order("x2")], T0)
    assert cli(["--db", theirs, "migrate", "--to", pg_url]).exit_code == 0
    before = _digests(pg_url)
    result = cli(["--db", ours, "migrate", "--to", pg_url])
    assert result.exit_code == 2 and "already holds another shop's data" in result.stderr, result.output
    assert _digests(pg_url) == before


def test_migrate_needs_one_direction(cli):
    assert cli(["migrate"]).exit_code == 2
    with pytest.raises(StoreError, match="names the store in use"):
        migrate.run("a.db", "a.db")


@pytest.mark.parametrize("here, there", [
    ("unpaid.db", "./unpaid.db"),
    ("unpaid.db", "../{folder}/unpaid.db"),
    ("postgres://anna@db.example.com/shop", "postgresql://anna@DB.example.com:5432/shop?sslmode=require"),
])
def test_the_store_in_use_written_another_way_is_refused_before_anything_opens(cli, tmp_path, here, there):
    """"./unpaid.db" for unpaid.db was told "already holds another shop's data": it is the store in use."""
    there = there.format(folder=tmp_path.name)
    result = cli(["--db", here, "migrate", "--to", there])
    assert result.exit_code == 2 and "--to / --from names the store in use" in result.stderr, result.output
    assert not (tmp_path / "unpaid.db").exists()  # nothing opened, not even created


def test_counts_that_differ_end_with_exit_1_and_name_the_table(tmp_path, pg_url, cli):
    db = str(tmp_path / "shop.db")
    _fill(db, 20)
    assert cli(["--db", db, "migrate", "--to", pg_url]).exit_code == 0
    with Store.open(pg_url) as store:  # the team went on working on PostgreSQL
        with store.transaction():
            store.orders.upsert([make_order("new-1")], T0)
    again = cli(["--db", db, "migrate", "--to", pg_url])
    assert again.exit_code == 1 and "row counts differ in orders" in again.stderr, again.output
