"""`unpaid orders --format json|jsonl|csv --jobs N`: an export read by several processes, range by range, writes
the bytes of one process, from one snapshot of the store, and stops cleanly when a process fails."""

from __future__ import annotations

import os
import random
import sqlite3
from dataclasses import replace
from datetime import timedelta

import pytest

from tests.forks import counted_forks
from tests.store.test_export_records import T0, generate
from unpaid import exports, workers
from unpaid.errors import StoreError
from unpaid.store import Store
from unpaid.testing.fixtures import chosen_store

ON_POSTGRES = chosen_store() == "postgres"
several = pytest.mark.skipif(ON_POSTGRES, reason="on PostgreSQL an export runs in one process")
NOW = T0 + timedelta(days=200)


@pytest.fixture
def store_of_odd_orders(cli, cli_db, monkeypatch):
    """Orders of every shape the export writes (in SQL or in Python), many sharing a creation time (the
    ranges are cut between orders of the same second), and small ranges: many of them."""
    orders = generate(random.Random(11), 400)
    orders += [replace(o, native_id=f"same{i}", created_at=T0 + timedelta(days=3)) for i, o in enumerate(orders[:40])]
    with Store.open(cli_db) as store, store.transaction():
        store.orders.upsert(orders, T0)
    monkeypatch.setattr(exports, "RANGE_ROWS", 7)
    return cli_db


def export(cli, *args):
    result = cli(["--now", NOW.isoformat(), "orders", *args])
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("fmt", ["json", "jsonl", "csv"])
def test_several_processes_write_the_export_of_one(cli, store_of_odd_orders, monkeypatch, fmt):
    forks = counted_forks(monkeypatch)
    for filters in (["--all"], ["--all", "--sort", "oldest"], ["--older-than", "100d"], ["--all", "--source", "gc"],
                    ["--status", "paid", "--sort", "oldest"]):
        one = export(cli, *filters, "--format", fmt, "--jobs", "1")
        assert forks == [] and one.stdout.count("\n") > 20
        for jobs in (2, 3):
            many = export(cli, *filters, "--format", fmt, "--jobs", str(jobs))
            assert many.stdout == one.stdout, filters
            assert many.stderr == one.stderr
            assert len(forks) == (0 if ON_POSTGRES else jobs + 1)  # the workers and the one that holds writers
            forks.clear()


@several
def test_the_workers_read_the_snapshot_of_the_moment_the_export_began(cli, store_of_odd_orders, monkeypatch):
    before = export(cli, "--all", "--format", "jsonl", "--jobs", "1").stdout

    def change(timeout: float) -> None:
        conn = sqlite3.connect(store_of_odd_orders, timeout=timeout)
        try:
            conn.execute("UPDATE orders SET name = 'Changed', status = 'paid'")
            conn.execute("DELETE FROM orders WHERE native_id LIKE 'same%'")
            conn.commit()
        except sqlite3.OperationalError:  # "database is locked": the export holds writers out right now
            pass
        finally:
            conn.close()

    real_work, real_merged = exports._work, exports._merged

    def work(open_store, q, fmt, ranges, read, write):
        if ranges[0][0] is not None:  # the second worker, the first one's read begun: someone tries to write
            change(0.2)
        return real_work(open_store, q, fmt, ranges, read, write)

    def merged(*args):  # every worker has begun its read: now someone changes the store
        change(10)
        yield from real_merged(*args)

    monkeypatch.setattr(exports, "_work", work)
    monkeypatch.setattr(exports, "_merged", merged)
    during = export(cli, "--all", "--format", "jsonl", "--jobs", "2").stdout
    assert during == before
    assert export(cli, "--all", "--format", "jsonl", "--jobs", "1").stdout != before  # the change was made


@several
def test_while_another_writes_the_export_runs_in_one_process_and_waits_for_nobody(cli, store_of_odd_orders,
                                                                                  monkeypatch):
    one = export(cli, "--all", "--format", "csv", "--jobs", "1").stdout
    writer = sqlite3.connect(store_of_odd_orders, isolation_level=None)
    writer.execute("BEGIN IMMEDIATE")  # a sync in the middle of a page
    try:
        forks = counted_forks(monkeypatch)
        for _ in range(5):  # the holder may be gone or not when it is let go
            assert export(cli, "--all", "--format", "csv", "--jobs", "2").stdout == one
            assert len(forks) == 1  # only the holder, which found the writer busy and did not wait
            forks.clear()
    finally:
        writer.execute("ROLLBACK")
        writer.close()


@several
def test_a_failing_worker_stops_the_export_with_its_error_and_leaves_nothing_behind(cli, store_of_odd_orders,
                                                                                    monkeypatch, tmp_path):
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    real_work = exports._work

    def work(open_store, q, fmt, ranges, read, write):
        def failing_store():  # every range but the first fails: worker 1 after one range, worker 2 at once
            store = open_store()
            real = store.orders.export

            def export_(rq, f, *a, **k):
                if any("<=" in sql for sql, _ in rq.extra_where):
                    raise StoreError("unpaid.db: disk I/O error", "check the disk")
                return real(rq, f, *a, **k)

            store.orders.export = export_
            return store

        return real_work(failing_store, q, fmt, ranges, read, write)

    monkeypatch.setattr(exports, "_work", work)
    forks = counted_forks(monkeypatch)
    result = cli(["--now", NOW.isoformat(), "orders", "--all", "--format", "jsonl", "--jobs", "2"])
    assert result.exit_code == 2
    assert "unpaid.db: disk I/O error — check the disk" in result.stderr
    assert len(forks) == 3
    for pid in forks:  # none left running or unreaped
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    assert list(scratch.iterdir()) == []


def test_unset_jobs_export_a_small_store_in_one_process_and_a_large_one_on_every_cpu_up_to_4(
        cli, store_of_odd_orders, monkeypatch):
    forks = counted_forks(monkeypatch)
    small = export(cli, "--all", "--format", "jsonl")
    assert forks == []  # fewer than exports.PARALLEL_FROM orders, as docs/json.md says
    assert exports.PARALLEL_FROM == 50_000
    monkeypatch.setattr(exports, "PARALLEL_FROM", 1)
    large = export(cli, "--all", "--format", "jsonl")
    jobs = min(4, workers.available_cpus())
    assert len(forks) == (0 if ON_POSTGRES or jobs < 2 else jobs + 1)
    assert large.stdout == small.stdout
    # a page, a table, or a sort the ranges do not follow: one process whatever --jobs says
    forks.clear()
    for args in (["--limit", "10"], ["--format", "table"], ["--sort", "amount", "--format", "jsonl"]):
        export(cli, "--all", "--jobs", "2", *args)
    assert forks == []


@several
def test_workers_slower_to_begin_than_writers_may_wait_give_way_to_one_process(cli, store_of_odd_orders,
                                                                               monkeypatch):
    one = export(cli, "--all", "--format", "jsonl", "--jobs", "1").stdout
    monkeypatch.setattr(exports, "HOLD_AT_MOST", 0)  # the holder lets writers go before the workers have begun
    real_merged = exports._merged
    merged = []
    monkeypatch.setattr(exports, "_merged", lambda *args: merged.append(1) or real_merged(*args))
    assert export(cli, "--all", "--format", "jsonl", "--jobs", "2").stdout == one
    assert merged == []  # their reads may differ: the export was read again in one process
