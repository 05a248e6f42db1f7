import os
import sqlite3
import stat
import threading
from datetime import datetime, timedelta, timezone

import pytest

from unpaid.errors import StoreError
from unpaid.model import Customer, LineItem, Money, Order, Status
from unpaid.store import Store, schema
from unpaid.store.history import Entry
from unpaid.store.ledger import CLAIMED, DONE, FAILED, UNCERTAIN, ledger_key
from unpaid.store.orders import OrderQuery

T0 = datetime(2026, 11, 1, 10, 0, tzinfo=timezone.utc)


def order(native_id, status=Status.NEW, email="a@example.com", minutes=0, product="p1"):
    return Order("shop", native_id, status, T0 + timedelta(minutes=minutes), Money(150_000, "RUB"),
                 Customer(email=email, phone="+79991234567", name="Анна"),
                 (LineItem(product, "Курс", 1, Money(150_000, "RUB")),), number=f"N{native_id}",
                 native_status=status.value, extra={"utm_source": "vk"})


def test_new_store_is_wal_owner_only_and_migrated(tmp_path):
    path = tmp_path / "sub" / "unpaid.db"
    with Store.open(path) as store:
        assert store.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600


def test_reopening_does_not_migrate_twice(tmp_path):
    Store.open(tmp_path / "u.db").close()
    with Store.open(tmp_path / "u.db") as store:
        assert store.conn.execute("PRAGMA user_version").fetchone()[0] == schema.LATEST


def test_a_file_that_is_not_sqlite_is_refused_and_left_untouched(tmp_path):
    path = tmp_path / "orders.csv"
    path.write_text("id,status\n1,new\n")
    with pytest.raises(StoreError, match="not an unpaid database"):
        Store.open(path)
    assert path.read_text() == "id,status\n1,new\n"


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "u.db"
    Store.open(path).close()
    conn = sqlite3.connect(path)
    conn.execute(f"PRAGMA user_version = {schema.LATEST + 5}")
    conn.close()
    with pytest.raises(StoreError, match="newer unpaid"):
        Store.open(path)


def test_locked_store_gives_a_clear_error(tmp_path, monkeypatch):
    import unpaid.store as store_module

    path = tmp_path / "u.db"
    Store.open(path).close()
    holder = sqlite3.connect(path, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    monkeypatch.setattr(store_module, "BUSY_TIMEOUT_MS", 100)
    try:
        store = Store.open(path)
        with pytest.raises(StoreError, match="locked by another process"):
            with store.transaction():
                pass
    except StoreError as exc:  # opening itself may hit the lock first
        assert "locked" in str(exc)
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def test_order_round_trips_through_the_store(tmp_store):
    original = order("1")
    with tmp_store.transaction():
        tmp_store.orders.upsert([original], T0)
    stored = tmp_store.orders.get("shop:1")
    assert stored == original
    assert stored.extra == {"utm_source": "vk"}
    assert stored.customer.key == "a@example.com"


def test_upsert_reports_status_changes_only(tmp_store):
    with tmp_store.transaction():
        assert tmp_store.orders.upsert([order("1"), order("2")], T0) == []
    with tmp_store.transaction():
        changes = tmp_store.orders.upsert([order("1", Status.PAID), order("2")], T0)
    assert [(c.order_id, c.old, c.new) for c in changes] == [("shop:1", "new", "paid")]


def test_transaction_rolls_back_on_error(tmp_store):
    with pytest.raises(RuntimeError):
        with tmp_store.transaction():
            tmp_store.orders.upsert([order("1")], T0)
            raise RuntimeError("boom")
    assert tmp_store.orders.get("shop:1") is None


def test_query_filters_and_sorts(tmp_store):
    with tmp_store.transaction():
        tmp_store.orders.upsert([order("1", minutes=0), order("2", Status.PAID, minutes=5),
                                 order("3", minutes=10, email="b@example.com", product="p2")], T0)
    assert [o.native_id for o in tmp_store.orders.query(OrderQuery())] == ["3", "1"]
    assert tmp_store.orders.count(OrderQuery(statuses=None)) == 3
    assert [o.native_id for o in tmp_store.orders.query(OrderQuery(products=["p2"]))] == ["3"]
    assert [o.native_id for o in tmp_store.orders.query(OrderQuery(customer="B@example.com"))] == ["3"]
    older = OrderQuery(created_before=T0 + timedelta(minutes=7), sort="oldest")
    assert [o.native_id for o in tmp_store.orders.query(older)] == ["1"]
    assert [o.native_id for o in tmp_store.orders.query(OrderQuery(statuses=None), limit=1, offset=1)] == ["2"]


def test_history_is_append_only(tmp_store):
    """Either backend refuses (SQLite with a DatabaseError, PostgreSQL with its own)."""
    with tmp_store.transaction():
        tmp_store.history.add(Entry("shop:1", T0, "user:anna", "comment", "called, no answer"))
    with pytest.raises(Exception, match="append-only"):
        tmp_store.conn.execute("UPDATE history SET summary = 'x'")
    with pytest.raises(Exception, match="append-only"):
        tmp_store.conn.execute("DELETE FROM history")
    assert [e.summary for e in tmp_store.history.for_order("shop:1")] == ["called, no answer"]


def test_history_redacts_known_secrets(tmp_store):
    from unpaid.secrets import remember

    remember("s3cr3t-api-key")
    with tmp_store.transaction():
        tmp_store.history.add(Entry("shop:1", T0, "sync", "error", "GET /x?key=abc failed with s3cr3t-api-key",
                                    {"url": "https://a/?key=zzz"}))
    entry = tmp_store.history.for_order("shop:1")[0]
    assert "s3cr3t" not in entry.summary and "key=abc" not in entry.summary
    assert "zzz" not in str(entry.data)


def _claim(store, run_id, now, lease=timedelta(minutes=5), **kw):
    key = ledger_key("shop:1", "remind", "first")
    return store.ledger.claim(key, order_id="shop:1", playbook="remind", step="first", repeat=0, action="message",
                              due_at=now, run_id=run_id, now=now, lease_until=now + lease, **kw)


def test_ledger_claim_is_won_once(tmp_store):
    assert _claim(tmp_store, "run-a", T0)
    assert not _claim(tmp_store, "run-b", T0)
    key = ledger_key("shop:1", "remind", "first")
    assert tmp_store.ledger.finish(key, "run-a", DONE, T0, result={"message_id": "m1"})
    assert not _claim(tmp_store, "run-c", T0 + timedelta(days=1))
    assert tmp_store.ledger.get(key).state == DONE


def test_expired_lease_becomes_uncertain_and_is_not_reclaimed_by_default(tmp_store):
    assert _claim(tmp_store, "run-a", T0)
    assert tmp_store.ledger.expire_leases(T0 + timedelta(minutes=10)) == [ledger_key("shop:1", "remind", "first")]
    key = ledger_key("shop:1", "remind", "first")
    assert tmp_store.ledger.get(key).state == UNCERTAIN
    assert not tmp_store.ledger.finish(key, "run-a", DONE, T0)  # the lost claim cannot write a result
    assert not _claim(tmp_store, "run-b", T0 + timedelta(minutes=11))
    assert _claim(tmp_store, "run-b", T0 + timedelta(minutes=11), retry_uncertain=True)


def test_failed_action_is_retried_only_after_next_try(tmp_store):
    key = ledger_key("shop:1", "remind", "first")
    assert _claim(tmp_store, "run-a", T0)
    tmp_store.ledger.finish(key, "run-a", FAILED, T0, error="timeout", next_try_at=T0 + timedelta(minutes=30))
    assert not _claim(tmp_store, "run-b", T0 + timedelta(minutes=10))
    assert _claim(tmp_store, "run-b", T0 + timedelta(minutes=31))
    assert tmp_store.ledger.get(key).attempts == 2


def test_concurrent_claims_from_two_connections_have_one_winner(tmp_path):
    path = tmp_path / "u.db"
    Store.open(path).close()
    wins = []
    barrier = threading.Barrier(8)

    def worker(n):
        store = Store.open(path)
        barrier.wait()
        wins.append(_claim(store, f"run-{n}", T0))
        store.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(wins) == [False] * 7 + [True]
    with Store.open(path) as store:
        assert store.ledger.get(ledger_key("shop:1", "remind", "first")).state == CLAIMED


def test_manager_claims_have_one_holder_until_the_lease_ends(tmp_store):
    first = tmp_store.claims.try_claim("shop:1", "anna", T0, T0 + timedelta(minutes=30))
    assert first.manager == "anna"
    second = tmp_store.claims.try_claim("shop:1", "boris", T0 + timedelta(minutes=1), T0 + timedelta(minutes=31))
    assert second.manager == "anna"
    later = tmp_store.claims.try_claim("shop:1", "boris", T0 + timedelta(minutes=31), T0 + timedelta(minutes=61))
    assert later.manager == "boris"
    assert not tmp_store.claims.release("shop:1", "anna")
    assert tmp_store.claims.release("shop:1", "boris")
    assert tmp_store.claims.get("shop:1", T0) is None


def test_live_claims_of_many_orders_are_read_at_once_and_leave_out_run_out_leases(tmp_store):
    tmp_store.claims.try_claim("shop:1", "anna", T0, T0 + timedelta(minutes=30))
    tmp_store.claims.try_claim("shop:1100", "boris", T0, T0 + timedelta(minutes=5))
    ids = [f"shop:{n}" for n in range(1, 1201)]  # more than one chunk of 500
    live = tmp_store.claims.live_for(ids, T0 + timedelta(minutes=10))
    assert {k: c.manager for k, c in live.items()} == {"shop:1": "anna"}
    assert live["shop:1"] == tmp_store.claims.get("shop:1", T0 + timedelta(minutes=10))
    assert set(tmp_store.claims.live_for(reversed(ids), T0)) == {"shop:1", "shop:1100"}
    assert tmp_store.claims.live_for([], T0) == {}


def test_bookmarks(tmp_store):
    assert tmp_store.bookmarks.get("shop") is None
    with tmp_store.transaction():
        tmp_store.bookmarks.set("shop", "abc", T0)
        tmp_store.bookmarks.set("shop", "def", T0)
    assert tmp_store.bookmarks.get("shop") == "def"


def test_statistics_after_a_large_sync_let_a_page_of_newest_orders_walk_the_creation_index(tmp_store):
    # Mostly unpaid orders in five statuses: the listing should stop after a page, not sort them all.
    statuses = [Status.NEW, Status.IN_WORK, Status.PAYMENT_WAITING, Status.NOT_CONFIRMED, Status.PART_PAID,
                Status.PAID, Status.CANCELLED]
    rows = [order(str(n), statuses[n % len(statuses)], email=f"c{n}@example.com", minutes=n) for n in range(30_000)]
    with tmp_store.transaction():
        tmp_store.orders.upsert(rows, T0)
        tmp_store.orders.analyze()
    where, args = OrderQuery().where()
    plan = " ".join(str(r[-1]) for r in tmp_store.conn.execute(
        f"EXPLAIN QUERY PLAN SELECT * FROM orders{where} ORDER BY created_at DESC, id DESC LIMIT 100", args))
    assert "orders_created" in plan and "TEMP B-TREE" not in plan, plan


def _sqlite_wal_db(path):
    """A WAL database made by plain sqlite3 (as an older unpaid or the sqlite3 CLI would); stays open."""
    conn = sqlite3.connect(path)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("CREATE TABLE t (x)")
    conn.execute("INSERT INTO t VALUES (1)")
    conn.commit()
    return conn


def _modes(path):
    return {p.name: stat.S_IMODE(p.stat().st_mode) for p in path.parent.iterdir()}


@pytest.mark.parametrize("mask", [0o000, 0o022])
def test_an_existing_database_and_its_wal_files_become_owner_only(tmp_path, mask):
    path = tmp_path / "u.db"
    old = os.umask(mask)
    other = _sqlite_wal_db(path)  # kept open, so its -wal and -shm files stay
    try:
        assert set(_modes(path)) == {"u.db", "u.db-wal", "u.db-shm"}
        assert all(mode & 0o044 for mode in _modes(path).values())
        Store.open(path).close()
        assert set(_modes(path).values()) == {0o600}
    finally:
        os.umask(old)
        other.close()


def test_a_database_we_do_not_own_or_may_not_chmod_keeps_its_mode(tmp_path, monkeypatch):
    import unpaid.store as store_module

    path = tmp_path / "u.db"
    _sqlite_wal_db(path).close()
    path.chmod(0o644)
    monkeypatch.setattr(store_module.os, "geteuid", lambda: os.stat(path).st_uid + 1)
    Store.open(path).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
    monkeypatch.undo()

    def refuse(*args):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(store_module.os, "chmod", refuse)
    Store.open(path).close()
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o644
