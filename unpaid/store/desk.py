"""The desk's reads and writes: the queue page in one query, per-order call facts, task assignment.

The queue is driven by the open call tasks (indexed by state and due time), joined to actual orders
and filtered against live claims, so its cost follows the number of due tasks, not of orders.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterable

from unpaid.clock import from_iso, to_iso
from unpaid.model import ACTUAL
from unpaid.store.orders import from_row as order_from_row
from unpaid.store.tasks import OPEN, Task, _task

if TYPE_CHECKING:
    from unpaid.model import Order
    from unpaid.store import Store

_CHUNK = 500
SORTS = {
    "newest": "o.created_at DESC, o.id DESC",
    "oldest": "o.created_at ASC, o.id ASC",
    "due": "t.due_at ASC, o.created_at DESC",
    "amount": "o.total_minor DESC, o.created_at DESC",
}
#: Orders first walked, newest (oldest) first, to find a page sorted by creation before reading every due task.
_WALK = 5000
_WALKS = {"newest": ("DESC", ">="), "oldest": ("ASC", "<=")}
#: Orders ``next`` considers per read on PostgreSQL: more than the managers who claim at the same moment.
_CANDIDATES = 64
#: Tasks the desk created (callbacks, retries, postponements) have keys ``ORDER|desk|call|N``.
_MANAGER_FIRST = "(t2.key LIKE '%|desk|call|%') DESC"
_ORDER_COLS = ("id", "source", "native_id", "number", "status", "native_status", "created_at", "updated_at",
               "paid_at", "customer_key", "email", "phone", "name", "customer_native_id", "product_key",
               "product_title", "total_minor", "currency", "paid_minor", "manager", "payment_link",
               "cancel_reason", "items", "extra")


@dataclass(frozen=True)
class OrderStats:
    """What the history says about an order, for the queue: calls, messages, the last comment."""

    calls: int = 0
    messages: int = 0
    last_comment: str | None = None
    last_comment_at: datetime | None = None


class DeskStore:
    def __init__(self, store: "Store"):
        self.store = store

    def _where(self, until: datetime, now: datetime, manager: str | None,
               free_only: bool = False, counting: bool = False) -> tuple[str, list]:
        actual = sorted(s.value for s in ACTUAL)
        one_per_order = (" AND t.id = (SELECT t2.id FROM tasks t2 WHERE t2.order_id = t.order_id AND t2.state = ?"
                         f" ORDER BY {_MANAGER_FIRST}, t2.due_at, t2.id LIMIT 1)")
        if counting:  # every due task is read: make the choice only for the few orders with more than one
            one_per_order = (" AND (t.order_id NOT IN (SELECT order_id FROM tasks WHERE state = ? GROUP BY order_id"
                             " HAVING COUNT(*) > 1) OR t.id = (SELECT t2.id FROM tasks t2 WHERE t2.order_id ="
                             f" t.order_id AND t2.state = ? ORDER BY {_MANAGER_FIRST}, t2.due_at, t2.id LIMIT 1))")
        # A count needs no order column: the status each task carries (kept by triggers) spares a look-up
        # of every due task's order; a page joins its orders anyway.
        sql = (" FROM tasks t" + ("" if counting else " JOIN orders o ON o.id = t.order_id") +
               " LEFT JOIN claims c ON c.order_id = t.order_id AND c.lease_until > ?"
               " WHERE t.state = ? AND t.due_at <= ?"
               f" AND {'t.order_status' if counting else 'o.status'} IN ({', '.join('?' * len(actual))})"
               # One row per order: the call a manager scheduled wins over the playbooks' own, else the earliest.
               + one_per_order)
        args: list = [to_iso(now), OPEN, to_iso(until), *actual, OPEN] + ([OPEN] if counting else [])
        if manager and not free_only:
            sql += " AND (c.manager IS NULL OR c.manager = ?)"
            args.append(manager)
        else:
            sql += " AND c.manager IS NULL"
        if manager:
            sql += " AND (t.manager IS NULL OR t.manager = ?)"
            args.append(manager)
        return sql, args

    def count_due(self, until: datetime, now: datetime, manager: str | None) -> int:
        """Orders whose call task is due by ``until`` and that ``manager`` may take."""
        where, args = self._where(until, now, manager, counting=True)
        return self.store.conn.execute("SELECT COUNT(*)" + where, args).fetchone()[0]

    def count_due_by(self, until: datetime, sooner: datetime, now: datetime, manager: str | None) -> tuple[int, int]:
        """:meth:`count_due` for ``until`` and for an earlier ``sooner``, in one pass over the due tasks."""
        where, args = self._where(until, now, manager, counting=True)
        total, soon = self.store.conn.execute("SELECT COUNT(*), COUNT(CASE WHEN t.due_at <= ? THEN 1 END)" + where,
                                              [to_iso(sooner), *args]).fetchone()
        return total, soon or 0

    def due_page(self, until: datetime, now: datetime, manager: str | None, sort: str, limit: int,
                 offset: int = 0, free_only: bool = False) -> list[tuple[Task, "Order"]]:
        """One page of (task, order), in ``sort`` order (``free_only``: none held, not even by ``manager``).

        Sorted by creation, the page usually lies among the newest (oldest) orders: it is looked for among
        the first 5,000, then 50,000, ... orders walked along the creation index, as long as such a walk
        reads fewer rows than there are due tasks; only when they hold too few rows is every due task
        read and sorted. (Claims taken from the newest orders first push the page further back.)
        """
        where, args = self._where(until, now, manager, free_only)
        cols = ", ".join(f"o.{c} AS o_{c}" for c in _ORDER_COLS)
        rows = None
        if sort in _WALKS:
            direction, compare = _WALKS[sort]
            # CROSS JOIN keeps the orders as the outer loop, walked along orders_created.
            walk = where.replace(" FROM tasks t JOIN orders o ON o.id = t.order_id",
                                 " FROM orders o CROSS JOIN tasks t ON t.order_id = o.id", 1)
            sql = (f"SELECT t.*, {cols}{walk} AND (o.created_at, o.id) {compare} (?, ?)"
                   f" ORDER BY {SORTS[sort]} LIMIT ? OFFSET ?")
            size = _WALK
            while rows is None and self._due_at_least(until, (size + 1) // 2):
                edge = self.store.conn.execute(
                    f"SELECT created_at, id FROM orders ORDER BY created_at {direction}, id {direction}"
                    " LIMIT 1 OFFSET ?", (size - 1,)).fetchone()
                if edge is None:  # fewer orders than that: the plain query reads no more
                    break
                rows = self.store.conn.execute(sql, [*args, edge[0], edge[1], limit, offset]).fetchall()
                if len(rows) < limit:
                    rows = None  # the page may reach past the walked orders
                size *= 10
        if rows is None:
            sql = f"SELECT t.*, {cols}{where} ORDER BY {SORTS[sort]} LIMIT ? OFFSET ?"
            rows = self.store.conn.execute(sql, [*args, limit, offset]).fetchall()
        out = []
        for row in rows:
            order_row = {c: row[f"o_{c}"] for c in _ORDER_COLS}
            out.append((_task(row), order_from_row(order_row)))
        return out

    def _due_at_least(self, until: datetime, n: int) -> bool:
        """Whether ``n`` or more tasks are due by ``until``: at most ``n`` index entries read, not all of them
        (counting 100,290 due calls cost every ``next`` 148 ms on a loaded PostgreSQL; this: 1.5 ms)."""
        return self.store.conn.execute("SELECT COUNT(*) FROM (SELECT 1 FROM tasks WHERE state = ? AND due_at <= ?"
                                       " LIMIT ?) AS due", (OPEN, to_iso(until), n)).fetchone()[0] >= n

    def lock_next_free(self, now: datetime, manager: str | None, sort: str,
                       lease_now: datetime | None = None) -> str | None:
        """PostgreSQL: the first order of ``manager``'s queue in ``sort`` order that is due, free and not being
        claimed by another manager this moment, locked (``FOR NO KEY UPDATE ... SKIP LOCKED``) until the
        transaction ends; None when there is none or every such order is locked by others.

        Many managers asking at once each get a different order in one read: a locked row is passed over,
        not waited for, so none re-reads a page the others are taking. Sorted by creation (or amount) it walks
        the orders along their creation (amount) index and stops at the first that qualifies (each order's own call
        is looked up beside it, as the queue's one-call-per-order rule has it); by due time it walks the
        due calls in order. (SQLite's ``next`` reads a page under the file's write lock instead.) Claims
        are compared with ``lease_now`` when given (the database server's clock), calls' due times with ``now``.
        """
        lease_now = lease_now or now
        lock = f"ORDER BY {SORTS[sort]} LIMIT 1 FOR NO KEY UPDATE OF o SKIP LOCKED"
        if sort != "due":  # sorted by the order's own columns, each with an index to walk
            # The first _CANDIDATES such orders are found from the indexes alone (a row to be locked would be
            # read from the table, for every order walked), then the first of them nobody holds is locked.
            actual = sorted(s.value for s in ACTUAL)
            sql = ("WITH candidates AS MATERIALIZED (SELECT o.id FROM orders o JOIN LATERAL (SELECT t2.due_at,"
                   f" t2.manager FROM tasks t2 WHERE t2.order_id = o.id AND t2.state = ? ORDER BY {_MANAGER_FIRST},"
                   f" t2.due_at, t2.id LIMIT 1) t ON TRUE WHERE o.status IN ({', '.join('?' * len(actual))})"
                   " AND t.due_at <= ? AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.order_id = o.id"
                   " AND c.lease_until > ?)")
            args: list = [OPEN, *actual, to_iso(now), to_iso(lease_now)]
            if manager:
                sql += " AND (t.manager IS NULL OR t.manager = ?)"
                args.append(manager)
            sql += (f" ORDER BY {SORTS[sort]} LIMIT ?) SELECT o.id FROM candidates JOIN orders o ON o.id ="
                    f" candidates.id {lock}")
            args.append(_CANDIDATES)
        else:
            where, args = self._where(now, lease_now, manager, free_only=True)
            sql = f"SELECT o.id{where} {lock}"
        row = self.store.conn.execute(sql, args).fetchone()
        return row[0] if row else None

    def lock_open_calls(self, order_id: str) -> bool:
        """Lock the order's open calls for this transaction; False when another one holds them (PostgreSQL's
        ``FOR UPDATE SKIP LOCKED``: a manager claiming in parallel moves on instead of waiting). SQLite's
        ``BEGIN IMMEDIATE`` already holds the whole file: always True."""
        if not self.store.postgres:
            return True
        return self.store.conn.execute("SELECT id FROM tasks WHERE order_id = ? AND state = ? FOR UPDATE SKIP LOCKED",
                                       (order_id, OPEN)).fetchone() is not None

    def still_free_and_due(self, order_id: str, now: datetime, manager: str | None,
                           lease_now: datetime | None = None) -> bool:
        """Whether the order is still a row of ``manager``'s queue that nobody holds (the queue's own rule).

        ``unpaid next`` asks this inside the transaction that claims the order. ``lease_now``: the moment
        claims are compared with, when not ``now`` (the database server's clock: ``Store.lease_clock``).
        """
        where, args = self._where(now, lease_now or now, manager, free_only=True)
        return self.store.conn.execute("SELECT 1" + where + " AND t.order_id = ? LIMIT 1",
                                       [*args, order_id]).fetchone() is not None

    def open_task(self, order_id: str) -> Task | None:
        """The order's current call task: the one a manager scheduled, else the earliest open one."""
        tasks = self.open_tasks(order_id)
        return tasks[0] if tasks else None

    def open_tasks(self, order_id: str) -> list[Task]:
        rows = self.store.conn.execute("SELECT * FROM tasks t2 WHERE order_id = ? AND state = ?"
                                       f" ORDER BY {_MANAGER_FIRST}, due_at, id", (order_id, OPEN))
        return [_task(r) for r in rows]

    def task_count(self, order_id: str) -> int:
        return self.store.conn.execute("SELECT COUNT(*) FROM tasks WHERE order_id = ?", (order_id,)).fetchone()[0]

    def assign(self, task_id: int, manager: str | None) -> None:
        """Keep a follow-up call with the manager who arranged it."""
        self.store.conn.execute("UPDATE tasks SET manager = ? WHERE id = ?", (manager, task_id))

    def stats(self, order_ids: Iterable[str]) -> dict[str, OrderStats]:
        """Calls, messages and the last comment (a comment or a call note) per order.

        The counts are the playbooks' (``History.contact_counts``): the queue's attempts and a playbook's
        ``attempts`` are one number."""
        ids, out = list(order_ids), {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            marks = ", ".join("?" * len(chunk))
            counts = self.store.history.contact_counts(chunk)
            comments: dict[str, tuple[str, str]] = {}
            for order_id, kind, at, summary, data in self.store.conn.execute(
                    f"SELECT order_id, kind, at, summary, data FROM history WHERE order_id IN ({marks})"
                    " AND kind IN ('comment', 'call') ORDER BY id", chunk):
                text = summary if kind == "comment" else (json.loads(data or "{}").get("comment") or None)
                if text:
                    comments[order_id] = (text, at)
            for order_id in chunk:
                calls, messages = counts.get(order_id, (0, 0))
                text, at = comments.get(order_id, (None, None))
                out[order_id] = OrderStats(calls, messages, text, from_iso(at))
        return out

    def calls(self, order_id: str) -> list[tuple[str, datetime, dict]]:
        """Every recorded call outcome of the order, oldest first: (outcome, at, data)."""
        rows = self.store.conn.execute("SELECT at, data FROM history WHERE order_id = ? AND kind = 'call'"
                                       " ORDER BY id", (order_id,))
        out = []
        for at, data in rows:
            parsed = json.loads(data) if data else {}
            if parsed.get("outcome"):
                out.append((parsed["outcome"], from_iso(at), parsed))
        return out

    def set_address(self, order_id: str, address: str) -> None:
        """Keep a corrected postal address in the order's extra fields."""
        self.store.conn.execute("UPDATE orders SET extra = json_set(COALESCE(extra, '{}'), '$.address', ?)"
                                " WHERE id = ?", (address, order_id))

    def manager_actions(self, since: datetime | None, manager: str | None) -> list[tuple[str, str, str, datetime, dict]]:
        """(order_id, actor, kind, at, data) of call and message entries by managers, oldest first."""
        sql = "SELECT order_id, actor, kind, at, data FROM history WHERE kind IN ('call', 'message')"
        args: list = []
        if since is not None:
            sql += " AND at >= ?"
            args.append(to_iso(since))
        sql += " AND actor = ?" if manager else " AND actor LIKE 'manager:%'"
        if manager:
            args.append(f"manager:{manager}")
        return [(r[0], r[1], r[2], from_iso(r[3]), json.loads(r[4]) if r[4] else {})
                for r in self.store.conn.execute(sql + " ORDER BY id", args)]

    def paid_after(self, order_ids: Iterable[str]) -> dict[str, datetime]:
        """Paid orders among ``order_ids`` and when they were paid (or last updated)."""
        ids, out = list(order_ids), {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            sql = (f"SELECT id, COALESCE(paid_at, updated_at, synced_at) FROM orders WHERE status = 'paid'"
                   f" AND id IN ({', '.join('?' * len(chunk))})")
            out.update({r[0]: from_iso(r[1]) for r in self.store.conn.execute(sql, chunk)})
        return out
