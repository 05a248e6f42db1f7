"""Concurrent desk claims: many `unpaid next` processes at once never hand one order to two managers."""

from __future__ import annotations

import csv
import json
from collections import Counter
from datetime import timedelta

from tests.proofs.harness import T0, Shop, rng, size
from tests.proofs.table import Row, record

CALLS = [{"name": "call", "action": "call", "script": "Call about {{ order.number }}"},
         {"name": "close", "action": "cancel", "reason": "Expired", "after": "30d"}]  # keeps the task open


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
