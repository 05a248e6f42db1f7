"""Call tasks for the managers' queue, created by playbook ``call`` steps, and the last call outcome.

A task is one *call* in the sense of docs/cases.md: it stays ``open`` while the desk keeps trying (an
unanswered dial, a callback, "thinking" move its due time and count a dial), and is closed once an
outcome settles it (``done``) or the playbook ends (``cancelled``). The desk records each dial as a
history entry of kind ``call`` with ``data.outcome``; :meth:`Tasks.last_outcomes` reads the latest one.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterable

from unpaid.clock import from_iso, to_iso

if TYPE_CHECKING:
    from unpaid.store import Store

OPEN, DONE, CANCELLED = "open", "done", "cancelled"
_CHUNK = 500


@dataclass(frozen=True)
class Task:
    id: int
    key: str
    order_id: str
    playbook: str
    step: str
    due_at: datetime
    script: str
    state: str
    attempts: int
    outcome: str | None
    manager: str | None
    created_at: datetime
    closed_at: datetime | None

    def as_dict(self) -> dict:
        return {"id": self.id, "order_id": self.order_id, "playbook": self.playbook, "step": self.step,
                "due_at": to_iso(self.due_at), "script": self.script, "state": self.state,
                "attempts": self.attempts, "outcome": self.outcome, "manager": self.manager,
                "created_at": to_iso(self.created_at), "closed_at": to_iso(self.closed_at)}


@dataclass(frozen=True)
class Outcome:
    """The last call outcome the desk recorded for an order."""

    order_id: str
    outcome: str
    at: datetime
    data: dict


class Tasks:
    def __init__(self, store: "Store"):
        self.store = store

    def create(self, key: str, *, order_id: str, playbook: str, step: str, due_at: datetime, script: str,
               attempts: int, now: datetime) -> Task:
        """Create the task for ledger key ``key`` once; a repeated call returns the existing task."""
        with self.store.transaction() as conn:
            conn.execute(
                "INSERT OR IGNORE INTO tasks (key, order_id, playbook, step, due_at, script, state, attempts,"
                " created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, order_id, playbook, step, to_iso(due_at), script, OPEN, attempts, to_iso(now)))
            return _task(conn.execute("SELECT * FROM tasks WHERE key = ?", (key,)).fetchone())

    def get(self, task_id: int) -> Task | None:
        row = self.store.conn.execute("SELECT * FROM tasks WHERE id = ?", (task_id,)).fetchone()
        return _task(row) if row else None

    def for_orders(self, order_ids: Iterable[str], playbook: str | None = None) -> dict[str, list[Task]]:
        ids, out = list(order_ids), {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            sql = f"SELECT * FROM tasks WHERE order_id IN ({', '.join('?' * len(chunk))})"
            args: list = list(chunk)
            if playbook:
                sql += " AND playbook = ?"
                args.append(playbook)
            for row in self.store.dicts(sql + " ORDER BY id", args):
                out.setdefault(row["order_id"], []).append(_task(row))
        return out

    def for_playbook_and_open(self, order_ids: Iterable[str], playbook: str) -> tuple[dict[str, list[Task]], list[Task]]:
        """``for_orders(ids, playbook)`` and the open tasks of other playbooks among ``open_for_orders(ids)``,
        read together: one query, and an open task of the playbook is built once."""
        ids, mine, others = list(order_ids), {}, []
        cur = self.store.conn.cursor()
        cur.row_factory = None  # plain tuples: planning reads tens of thousands of tasks
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            sql = (f"SELECT {_COLUMNS} FROM tasks WHERE order_id IN ({', '.join('?' * len(chunk))})"
                   " AND (playbook = ? OR state = ?) ORDER BY id")
            for row in cur.execute(sql, [*chunk, playbook, OPEN]):
                task = _from_tuple(row)
                if task.playbook == playbook:
                    mine.setdefault(task.order_id, []).append(task)
                else:
                    others.append(task)
        return mine, others

    def open_for_orders(self, order_ids: Iterable[str]) -> list[Task]:
        """The open tasks of these orders, whoever opened them."""
        ids, out = list(order_ids), []
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            out += [_task(r) for r in self.store.dicts(
                f"SELECT * FROM tasks WHERE order_id IN ({', '.join('?' * len(chunk))}) AND state = ? ORDER BY id",
                [*chunk, OPEN])]
        return out

    def open_tasks(self, due_before: datetime | None = None) -> list[Task]:
        """Open tasks, earliest due first (``due_before`` keeps only those due by then)."""
        sql, args = "SELECT * FROM tasks WHERE state = ?", [OPEN]
        if due_before is not None:
            sql += " AND due_at <= ?"
            args.append(to_iso(due_before))
        return [_task(r) for r in self.store.conn.execute(sql + " ORDER BY due_at, id", args)]

    def close(self, task_id: int, outcome: str | None, at: datetime, manager: str | None = None,
              state: str = DONE) -> bool:
        """Close an open task with the call outcome; False when it was not open."""
        with self.store.transaction() as conn:
            cur = conn.execute(
                "UPDATE tasks SET state = ?, outcome = ?, manager = COALESCE(?, manager), closed_at = ?"
                " WHERE id = ? AND state = ?", (state, outcome, manager, to_iso(at), task_id, OPEN))
            return cur.rowcount == 1

    def reschedule(self, task_id: int, due_at: datetime, outcome: str, manager: str | None = None) -> bool:
        """The call goes on: move an open task to ``due_at`` after a dial with ``outcome`` (one more attempt)."""
        with self.store.transaction() as conn:
            cur = conn.execute(
                "UPDATE tasks SET due_at = ?, outcome = ?, attempts = attempts + 1, manager = ?"
                " WHERE id = ? AND state = ?", (to_iso(due_at), outcome, manager, task_id, OPEN))
            return cur.rowcount == 1

    def open_for_order(self, order_id: str) -> Task | None:
        """The order's open call, whoever opened it (a playbook or the desk), earliest due first."""
        row = self.store.conn.execute("SELECT * FROM tasks WHERE order_id = ? AND state = ? ORDER BY due_at, id"
                                      " LIMIT 1", (order_id, OPEN)).fetchone()
        return _task(row) if row else None

    def adopt(self, task_id: int, playbook: str, step: str) -> bool:
        """A playbook's call step finds the order's call already open: it waits for that one instead of a second."""
        cur = self.store.conn.execute("UPDATE tasks SET playbook = ?, step = ? WHERE id = ? AND state = ?",
                                      (playbook, step, task_id, OPEN))
        return cur.rowcount == 1

    def postpone(self, task_id: int, due_at: datetime) -> bool:
        """Move an open task's due time."""
        with self.store.transaction() as conn:
            cur = conn.execute("UPDATE tasks SET due_at = ? WHERE id = ? AND state = ?",
                               (to_iso(due_at), task_id, OPEN))
            return cur.rowcount == 1

    def cancel_open(self, order_id: str, playbook: str | None, at: datetime) -> int:
        """Cancel the order's open tasks (of one playbook, or all); returns how many."""
        sql, args = "UPDATE tasks SET state = ?, closed_at = ? WHERE order_id = ? AND state = ?", \
            [CANCELLED, to_iso(at), order_id, OPEN]
        if playbook:
            sql += " AND playbook = ?"
            args.append(playbook)
        return self.store.conn.execute(sql, args).rowcount

    def last_outcomes(self, order_ids: Iterable[str]) -> dict[str, Outcome]:
        """The latest ``call`` history entry with an outcome, per order."""
        ids, out = list(order_ids), {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            sql = (f"SELECT order_id, at, data FROM history WHERE kind = 'call'"
                   f" AND order_id IN ({', '.join('?' * len(chunk))}) ORDER BY id")
            for order_id, at, data in self.store.conn.execute(sql, chunk):
                parsed = json.loads(data) if data else {}
                if parsed.get("outcome"):
                    out[order_id] = Outcome(order_id, parsed["outcome"], from_iso(at), parsed)
        return out


def _task(row) -> Task:
    return Task(id=row["id"], key=row["key"], order_id=row["order_id"], playbook=row["playbook"], step=row["step"],
                due_at=from_iso(row["due_at"]), script=row["script"], state=row["state"], attempts=row["attempts"],
                outcome=row["outcome"], manager=row["manager"], created_at=from_iso(row["created_at"]),
                closed_at=from_iso(row["closed_at"]))


_COLUMNS = "id, key, order_id, playbook, step, due_at, script, state, attempts, outcome, manager, created_at, closed_at"
_new = object.__new__


def _from_tuple(row: tuple) -> Task:
    """:func:`_task` of a row of ``SELECT {_COLUMNS}``: every field, in its order, as Task(...) sets them
    (without the frozen class's checks)."""
    task = _new(Task)
    task.__dict__.update(zip(_FIELDS, row))
    task.__dict__.update(due_at=from_iso(row[5]), created_at=from_iso(row[11]),
                         closed_at=from_iso(row[12]) if row[12] else None)
    return task


_FIELDS = tuple(_COLUMNS.split(", "))
