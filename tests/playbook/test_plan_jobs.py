"""`unpaid plan --jobs N`: a plan computed by several processes, customers split between them, is exactly the plan
of one process — rows, their order and the summary — and a failure or a stop in any process stops it cleanly."""

from __future__ import annotations

import json
import os
from datetime import timedelta

import pytest

from tests.forks import counted_forks
from tests.playbook.shop import at, order
from unpaid.errors import StoreError
from unpaid.model import Status
from unpaid import workers
from unpaid.playbook import planning
from unpaid.testing.fixtures import chosen_store

ON_POSTGRES = chosen_store() == "postgres"
several = pytest.mark.skipif(ON_POSTGRES, reason="on PostgreSQL a plan is computed in one process")

HOUR = timedelta(hours=1)


def a_busy_shop(shop):
    """Orders of every example playbook, many customers with several orders (one chain per purchase, the
    frequency cap, paid twins), some without any contact, after a few days of runs."""
    start = at("2026-11-02T11:00")
    orders = []
    for n in range(60):
        created = start + timedelta(hours=7 * n)
        email = None if n % 11 == 0 else f"c{n % 17}@example.com"
        phone = None if email is None else f"+7999123{n % 17:04d}"
        product = f"course-{n % 3}"
        for source in ("gc", "awo", "pharmacy"):
            status = Status.PAID if (n + len(source)) % 13 == 0 else Status.NEW
            orders.append(order(source, f"{n}", created, email=email, phone=phone, product=product, status=status,
                                name=f"Customer {n % 17}"))
    shop.add(*orders)
    for day in range(4):
        shop.run(at("2026-11-10T12:00") + timedelta(days=day))
    now = at("2026-11-14T15:00")
    # New orders of the same few customers, some the same purchase twice: their chains and caps meet in the plan.
    shop.add(*(order("awo", f"new{n}", now - timedelta(minutes=90 + n), email=f"c{n % 7}@example.com",
                     phone=None, product=f"course-{n % 2}") for n in range(24)))
    return now


def plan(shop, now, *args):
    result = shop.cli(["--now", now.isoformat(), *args])
    assert result.exit_code == 0, result.output
    return result


def test_several_processes_write_the_plan_of_one(shop, monkeypatch):
    now = a_busy_shop(shop)
    forks = counted_forks(monkeypatch)
    for fmt in ("jsonl", "json"):
        one = plan(shop, now, "--format", fmt, "plan", "--until", "+1w", "--jobs", "1")
        assert forks == []
        rows = one.json() if fmt == "json" else [json.loads(line) for line in one.stdout.splitlines()]
        assert len(rows) > 100 and len({r["playbook"] for r in rows}) >= 4
        assert {"act", "out", "skip"} <= {r["kind"] for r in rows}
        assert any("one chain per customer and product" in r["reason"] for r in rows)
        assert any("frequency cap" in r["reason"] for r in rows)
        for jobs in (2, 3):
            many = plan(shop, now, "--format", fmt, "plan", "--until", "+1w", "--jobs", str(jobs))
            assert len(forks) == (0 if ON_POSTGRES else jobs - 1)
            forks.clear()
            assert many.stdout == one.stdout
            assert many.stderr == one.stderr  # the summary counts every process's decisions


@several
def test_the_split_keeps_each_customer_in_one_process(shop, monkeypatch):
    """Customers' orders decide each other (one story per purchase, the cap): split by order instead, the plan
    would differ — this is what the test above relies on."""
    now = a_busy_shop(shop)
    one = plan(shop, now, "--format", "jsonl", "plan", "--until", "+1w", "--jobs", "1")
    real_layout = planning.layout

    def by_order(scope, jobs):
        plan_, total = real_layout(scope, jobs)
        return [(name, [[(oid, i % jobs) for i, (oid, _) in enumerate(chunk)] for chunk in chunks])
                for name, chunks in plan_], total

    monkeypatch.setattr(planning, "layout", by_order)
    split = plan(shop, now, "--format", "jsonl", "plan", "--until", "+1w", "--jobs", "2")
    assert split.stdout != one.stdout


@several
def test_a_failing_process_stops_the_plan_with_its_error(shop, monkeypatch):
    now = a_busy_shop(shop)
    parent = os.getpid()
    real_cases = planning._cases

    def cases(scope, pb, ids):
        if os.getpid() != parent:
            raise StoreError("unpaid.db: disk I/O error", "check the disk")
        return real_cases(scope, pb, ids)

    monkeypatch.setattr(planning, "_cases", cases)
    result = shop.cli(["--now", now.isoformat(), "--format", "jsonl", "plan", "--jobs", "2"])
    assert result.exit_code == 2
    assert "unpaid.db: disk I/O error — check the disk" in result.stderr
    # no row of the other process either: only the error, as JSON scripts read it (docs/exit-codes.md)
    assert [json.loads(line) for line in result.stdout.splitlines()] == [
        {"error": "unpaid.db: disk I/O error — check the disk", "exit": 2}]


@several
def test_a_stop_leaves_no_process_and_no_file_behind(shop, monkeypatch, tmp_path):
    from unpaid.signals import Interrupted

    now = a_busy_shop(shop)
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr("tempfile.tempdir", str(scratch))
    real_write = planning._write_part
    children = counted_forks(monkeypatch)
    def write(scope, plan_, part, folder, encode):
        if part == 0:
            raise Interrupted("SIGTERM")
        return real_write(scope, plan_, part, folder, encode)

    monkeypatch.setattr(planning, "_write_part", write)
    result = shop.cli(["--now", now.isoformat(), "--format", "jsonl", "plan", "--jobs", "3"])
    assert result.exit_code == 130
    assert len(children) == 2
    for pid in children:  # killed and waited for: none is left running or a zombie
        with pytest.raises(ChildProcessError):
            os.waitpid(pid, os.WNOHANG)
    assert list(scratch.iterdir()) == []


def test_unset_jobs_plan_a_small_store_in_one_process_and_a_large_one_on_every_cpu_up_to_4(shop, monkeypatch):
    now = a_busy_shop(shop)
    forks = counted_forks(monkeypatch)
    small = plan(shop, now, "--format", "jsonl", "plan")
    assert forks == []  # fewer than planning.PARALLEL_FROM (5,000) candidates, as docs/playbooks.md says
    assert planning.PARALLEL_FROM == 5_000
    monkeypatch.setattr(planning, "PARALLEL_FROM", 1)
    large = plan(shop, now, "--format", "jsonl", "plan")
    cpus = workers.available_cpus()
    assert len(forks) == (0 if ON_POSTGRES else min(4, cpus) - 1)
    assert large.stdout == small.stdout
