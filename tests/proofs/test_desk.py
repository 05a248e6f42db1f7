"""Concurrent desk claims: many `unpaid next` processes at once never hand one order to two managers."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections import Counter
from datetime import timedelta
from pathlib import Path

from tests.proofs.harness import T0, UNPAID, Result, Shop, rng, size
from tests.proofs.table import Row, record

CALLS = [{"name": "call", "action": "call", "script": "Call about {{ order.number }}"},
         {"name": "close", "action": "cancel", "reason": "Expired", "after": "30d"}]  # keeps the task open
MANAGER = Path(__file__).with_name("manager.py")


def test_concurrent_next_never_hands_an_order_to_two_managers(tmp_path, proof_db):
    orders, managers = size(40, 150), size(6, 12)
    r = rng("desk")
    shop = Shop(tmp_path, steps=CALLS, db=proof_db)
    shop.add(orders, T0 - timedelta(hours=2))
    assert shop.unpaid(T0, "sync").code == 0 and shop.unpaid(T0, "run").code == 0
    handed, empty, errors = [], 0, []
    for _ in range(orders + 3):  # rounds until one round finds the queue empty for everybody
        if empty == managers:
            break
        names = r.sample([f"m{i}" for i in range(managers * 2)], managers)
        procs = [shop.spawn(T0, "--format", "json", "next", "--manager", name) for name in names]
        empty = 0
        for name, proc in zip(names, procs):
            result = shop.finish(proc)
            if result.code == 0:
                handed.append((json.loads(result.stdout)["order_id"], name))
            elif "queue is empty" in result.stderr:
                empty += 1
            else:
                errors.append(result.stderr)
    twice = [o for o, n in Counter(o for o, _ in handed).items() if n > 1]
    with shop.csv.open(encoding="utf-8") as f:  # each take set the order In work in the shop's file too
        in_work = {f"shop:{row['id']}" for row in csv.DictReader(f) if row["status"] == "in_work"}
    lost = {f"shop:{i}" for i in range(1, orders + 1)} - {o for o, _ in handed}
    lost |= {o for o, _ in handed} - in_work
    row = record(Row(f"desk{' on PostgreSQL' if proof_db else ''}: {managers} concurrent `next`, {orders} calls", shop.tally.runs, len(twice), len(lost),
                     0, len(shop.tally.crashes)))
    assert not errors, errors[:3]
    assert row.ok, (twice[:5], sorted(lost)[:5])


def test_managers_looping_next_and_outcome_give_each_call_once(tmp_path, proof_db):
    """Many managers, each a process looping `next` then `outcome`, empty one queue: every due call is given to
    exactly one manager and ends with exactly one recorded outcome."""
    orders, managers = size(90, 2000), size(6, 50)
    shop = Shop(tmp_path, steps=CALLS, db=proof_db)
    shop.add(orders, T0 - timedelta(hours=2))
    assert shop.unpaid(T0, "sync").code == 0 and shop.unpaid(T0, "run").code == 0
    seed = rng("desk loop").randrange(10**9)
    procs = [subprocess.Popen([sys.executable, str(MANAGER), T0.isoformat(), f"m{i}", f"{seed}:{i}"], cwd=shop.root,
                              env=shop.env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True) for i in range(managers)]
    handed, errors = [], []
    for proc in procs:
        out, err = proc.communicate(timeout=1800)
        if proc.returncode != 0:
            errors.append(err[-2000:])
        for line in out.splitlines():
            step = json.loads(line)
            result = shop.tally.add(Result([*UNPAID, *step["args"]], step["code"], step["stdout"], step["stderr"]))
            if result.argv[2] == "next" and result.code == 0:
                handed.append(json.loads(result.stdout)["order_id"])
            elif result.code != 0 and "queue is empty" not in result.stderr:
                errors.append(result.stderr)
    given = Counter(handed)
    outcomes = Counter(order for order, data in shop.rows("SELECT order_id, data FROM history WHERE kind = 'call'")
                       if json.loads(data or "{}").get("outcome"))
    due = {f"shop:{i}" for i in range(1, orders + 1)}
    twice = [o for o, n in given.items() if n > 1] + [o for o, n in outcomes.items() if n > 1]
    lost = (due - set(given)) | (set(given) - set(outcomes))
    print(f"{managers} managers, {orders} calls: {len(given)} orders given, {len(twice)} double claims or outcomes,"
          f" {len(lost)} lost outcomes")
    row = record(Row(f"desk{' on PostgreSQL' if proof_db else ''}: {managers} managers looping `next`/`outcome`,"
                     f" {orders} calls", shop.tally.runs, len(twice), len(lost), 0, len(shop.tally.crashes)))
    assert not errors, errors[:3]
    assert row.ok, (twice[:5], sorted(lost)[:5])
