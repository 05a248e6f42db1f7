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
from unpaid.store.claims import _claim
from unpaid.store.orders import from_row as order_from_row
from unpaid.store.tasks import OPEN, Task, _task

if TYPE_CHECKING:
    from unpaid.model import Order
    from unpaid.store.claims import Claim
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
#: The orders PostgreSQL's ``next`` may hand out: rows of ``desk_queue`` (an open call: schema 15) of an actual
#: order held by nobody. The condition of the indexes it walks: the planner uses a partial index only for a
#: query that repeats it, values included, so the statuses are written out rather than passed.
FREE = "q.held_until IS NULL AND q.status IN ({})".format(", ".join(f"'{s.value}'" for s in sorted(ACTUAL)))
#: Schema 16: the rows marked ``due_later`` (their call was arranged ahead of its due time) are out of the indexes
#: ``next`` walks by creation and by total (those walks would pass over every call arranged for later); ``next``
#: clears the mark of the calls that have come due (:meth:`DeskStore.promote_due`) before it picks. The walk by
#: due time needs no mark (:data:`_MARKED_OUT`: the sorts whose index leaves marked rows out).
WAITING_OUT = "q.due_later = 0 AND "
#: The held rows of actual orders (few: the orders being worked), beside :data:`FREE`.
HELD = FREE.replace("q.held_until IS NULL", "q.held_until IS NOT NULL")
#: The due time of the earliest call marked ``due_later``: one look at one entry of ``desk_queue_later``.
EARLIEST_MARKED = "(SELECT w.call_due FROM desk_queue w WHERE w.due_later = 1 ORDER BY w.call_due LIMIT 1)"
#: pg_advisory_xact_lock key of :meth:`DeskStore.promote_due` (the store's writer lock's, plus one), and its rows
#: per transaction.
_PROMOTE_LOCK, _PROMOTE_CHUNK = 0x756E70616965, 2000
_MARKED_OUT = ("newest", "oldest", "amount")
#: ``next``'s orders on PostgreSQL, by the queue row's columns (the order's own call's due time among them).
_PICK_SORTS = {
    "newest": "q.created_at DESC, q.order_id DESC",
    "oldest": "q.created_at ASC, q.order_id ASC",
    "due": "q.call_due ASC, q.created_at DESC",
    "amount": "q.total_minor DESC, q.created_at DESC",
}
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
        return self.count_due_by(until, until, now, manager)[0]

    def count_due_by(self, until: datetime, sooner: datetime, now: datetime, manager: str | None) -> tuple[int, int]:
        """:meth:`count_due` for ``until`` and for an earlier ``sooner``, in one pass over the due tasks."""
        if self.store.postgres:
            return self.count_by_queue(until, sooner, now, manager)
        return self.count_by_tasks(until, sooner, now, manager)

    def count_by_tasks(self, until: datetime, sooner: datetime, now: datetime, manager: str | None) -> tuple[int, int]:
        """The counts from the due calls (SQLite's: their index carries each one's order status)."""
        where, args = self._where(until, now, manager, counting=True)
        total, soon = self.store.conn.execute("SELECT COUNT(*), COUNT(CASE WHEN t.due_at <= ? THEN 1 END)" + where,
                                              [to_iso(sooner), *args]).fetchone()
        return total, soon or 0

    def count_by_queue(self, until: datetime, sooner: datetime, now: datetime, manager: str | None) -> tuple[int, int]:
        """The counts from ``desk_queue``, the orders' copies of their own call (schema 15), the same figures as
        :meth:`count_by_tasks`: the free orders counted from their index alone, less the few of them whose
        claim is live after all (a claim that came back to life after its row was freed, under an earlier
        --now: found from the live claims, schema 17's index), plus the held ones (few) that no other manager
        holds. (109,268 calls due today, no claims yet: 53-68 ms when each free order was asked whether its
        claim was live, 30-37 ms so.)"""
        # A manager's queue: calls nobody arranged or arranged for them, orders nobody else holds.
        mine, others = (" AND (q.call_manager IS NULL OR q.call_manager = ?)", " AND c.manager <> ?") if manager \
            else ("", "")
        count = ("SELECT {sign}COUNT(*) AS total, {sign}COUNT(CASE WHEN q.call_due <= ? THEN 1 END) AS soon"
                 f" FROM {{rows}} WHERE {{free}} AND q.call_due <= ?{mine}")
        live = f"c.lease_until > ?{others}"
        parts = [
            count.format(sign="", rows="desk_queue q", free=FREE),
            count.format(sign="-", rows="claims c JOIN desk_queue q ON q.order_id = c.order_id",
                         free=f"{live} AND {FREE}"),
            count.format(sign="", rows="desk_queue q", free=HELD) +
            f" AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.order_id = q.order_id AND {live})",
        ]
        who = [manager] if manager else []
        claim = [to_iso(now), *who]
        args = [to_iso(sooner), to_iso(until), *who,
                to_iso(sooner), *claim, to_iso(until), *who,
                to_iso(sooner), to_iso(until), *who, *claim]
        total, soon = self.store.conn.execute(
            f"SELECT SUM(total), SUM(soon) FROM ({' UNION ALL '.join(parts)}) AS parts", args).fetchone()
        return int(total or 0), int(soon or 0)

    def due_page(self, until: datetime, now: datetime, manager: str | None, sort: str, limit: int,
                 offset: int = 0, free_only: bool = False) -> list[tuple[Task, "Order"]]:
        """One page of (task, order), in ``sort`` order (``free_only``: none held, not even by ``manager``):
        :meth:`page_by_queue` on PostgreSQL, :meth:`page_by_tasks` on SQLite."""
        if self.store.postgres:
            return self.page_by_queue(until, now, manager, sort, limit, offset, free_only)
        return self.page_by_tasks(until, now, manager, sort, limit, offset, free_only)

    def page_by_queue(self, until: datetime, now: datetime, manager: str | None, sort: str, limit: int,
                      offset: int = 0, free_only: bool = False) -> list[tuple[Task, "Order"]]:
        """:meth:`page_by_tasks` read from ``desk_queue`` (schema 15), in one statement: the first rows in
        ``sort`` order of the index :meth:`claim_next` walks, of the calls marked ``due_later`` that are due by
        ``until`` (``sort`` by creation or total: that index leaves them out) and of the held orders (few),
        less the orders another manager holds; then their calls and orders. (On a million orders, the
        walk of 5,000 orders and their calls that found 20 took 17 ms of the server's time, and two more
        statements.)"""
        mine = " AND (q.call_manager IS NULL OR q.call_manager = ?)" if manager else ""
        others = " AND c.manager <> ?" if manager and not free_only else ""
        who = [manager] if manager else []
        part = ("SELECT * FROM (SELECT q.order_id, q.created_at, q.total_minor, q.call_due FROM desk_queue q"
                f" WHERE {{}} AND q.call_due <= ?{mine} AND NOT EXISTS (SELECT 1 FROM claims c WHERE c.order_id ="
                f" q.order_id AND c.lease_until > ?{others}) ORDER BY {_PICK_SORTS[sort]} LIMIT {{}}) AS part")
        part_args = [to_iso(until), *who, to_iso(now), *(who if others else [])]
        parts = [part.format((WAITING_OUT if sort in _MARKED_OUT else "") + FREE, "?"), part.format(HELD, "?")]
        args = [*part_args, limit + offset, *part_args, limit + offset]
        if sort in _MARKED_OUT:
            # Read only when the earliest marked call is due by then (one index entry): the first `next` that
            # finds a marked call due clears its mark, so there are mostly none, and the planner cannot know.
            parts.append(part.format("q.due_later = 1 AND " + FREE,
                                     f"CASE WHEN {EARLIEST_MARKED} <= ? THEN ? ELSE 0 END"))
            args += [*part_args, to_iso(until), limit + offset]
        cols = ", ".join(f"o.{c} AS o_{c}" for c in _ORDER_COLS)
        # The page first, then its calls and orders: joined to the parts, whose size the planner cannot know,
        # the calls were all read (a hash join over 200,000 of them: 90 ms).
        sql = (f"SELECT t.*, {cols} FROM (SELECT * FROM ({' UNION ALL '.join(parts)}) AS q"
               f" ORDER BY {_PICK_SORTS[sort]} LIMIT ? OFFSET ?) AS q"
               " JOIN tasks t ON t.order_id = q.order_id AND t.state = ? AND t.id = (SELECT t2.id FROM tasks t2"
               f" WHERE t2.order_id = q.order_id AND t2.state = ? ORDER BY {_MANAGER_FIRST}, t2.due_at, t2.id"
               f" LIMIT 1) JOIN orders o ON o.id = q.order_id ORDER BY {_PICK_SORTS[sort]}")
        args += [limit, offset, OPEN, OPEN]
        rows = self.store.conn.execute(sql, args).fetchall()
        return [(_task(row), order_from_row({c: row[f"o_{c}"] for c in _ORDER_COLS})) for row in rows]

    def page_by_tasks(self, until: datetime, now: datetime, manager: str | None, sort: str, limit: int,
                      offset: int = 0, free_only: bool = False) -> list[tuple[Task, "Order"]]:
        """The page from the due calls and their orders (SQLite's).

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

    def free_run_out(self, lease_now: datetime) -> int:
        """PostgreSQL: put the orders whose claim's lease ran out by ``lease_now`` back among the free ones
        :meth:`claim_next` walks (their ``held_until`` cleared; the claim rows stay, as on SQLite, where a
        run-out claim counts as none), up to 500 a call. Orders being written this moment are left to the
        next call."""
        return self.store.conn.execute(
            "UPDATE desk_queue SET held_until = NULL WHERE order_id IN (SELECT order_id FROM desk_queue"
            " WHERE held_until IS NOT NULL AND held_until <= ? ORDER BY held_until LIMIT 500"
            " FOR NO KEY UPDATE SKIP LOCKED)", (to_iso(lease_now),)).rowcount

    def promote_due(self, now: datetime) -> int:
        """PostgreSQL: clear the ``due_later`` mark of the queue rows whose call has come due by ``now``, so that
        :meth:`claim_next` walks them again; how many were cleared.

        One ``next`` at a time does it, ``_PROMOTE_CHUNK`` rows a transaction: fifty managers asking at once
        when a thousand calls arranged for nine o'clock come due would otherwise each lock and write their
        share, in each other's way. The others go on meanwhile, and a marked row the promoting one has not
        reached yet is passed over as a row being written is. Rows being written this moment are left to
        their writer or to the next call; none is waited for.
        """
        promoted = 0
        while True:
            with self.store.transaction(exclusive=False):
                if not self.store.conn.execute("SELECT pg_try_advisory_xact_lock(?)", (_PROMOTE_LOCK,)).fetchone()[0]:
                    return promoted
                cleared = self.store.conn.execute(
                    "UPDATE desk_queue SET due_later = 0 WHERE order_id IN (SELECT order_id FROM desk_queue"
                    " WHERE due_later = 1 AND call_due <= ? ORDER BY call_due LIMIT ? FOR NO KEY UPDATE SKIP LOCKED)",
                    (to_iso(now), _PROMOTE_CHUNK)).rowcount
            promoted += cleared
            if cleared < _PROMOTE_CHUNK:
                return promoted

    def promote_if_due(self, now: datetime) -> int:
        """:meth:`promote_due` when a marked call has come due by ``now`` (else one look at one index entry):
        ``queue`` puts them back in their place before it reads, as ``next`` does."""
        due = self.store.conn.execute(f"SELECT COALESCE({EARLIEST_MARKED} <= ?, FALSE)", (to_iso(now),)).fetchone()[0]
        return self.promote_due(now) if due else 0

    def tidy(self, now: datetime, lease_now: datetime) -> None:
        """PostgreSQL: put back in their place, before ``next`` picks, the orders whose lease ran out by
        ``lease_now`` and the calls that came due by ``now`` (what :meth:`claim_next` reports as stale)."""
        self.free_run_out(lease_now)
        self.promote_due(now)

    def hold_again(self, order_id: str, lease_now: datetime) -> bool:
        """PostgreSQL: mark the order held again when its claim is live at ``lease_now`` though its queue row
        was freed (the lease had run out by a later --now); True when it was."""
        return self.store.conn.execute(
            "UPDATE desk_queue SET held_until = (SELECT lease_until FROM claims WHERE order_id = ?)"
            " WHERE order_id = ? AND held_until IS NULL AND EXISTS (SELECT 1 FROM claims WHERE order_id = ?"
            " AND lease_until > ?)", (order_id, order_id, order_id, to_iso(lease_now))).rowcount > 0

    def claim_next(self, now: datetime, manager: str, sort: str, lease_now: datetime, lease_until: datetime,
                   run_out_first: bool = True) -> tuple[str | None, "Claim | None", bool]:
        """PostgreSQL's ``next`` in one statement: the first order of ``manager``'s queue in ``sort`` order that is
        due, free and not being claimed by another manager this moment, claimed for ``manager``.

        Returns the order looked at (None: every due and free order is being claimed by others, or there is
        none), the claim (None when another manager's claim is live after all: see :meth:`hold_again`), and
        whether the queue rows are stale (``run_out_first``: a lease has run out, or a call marked
        ``due_later`` has come due): then nothing is looked at, since such an order may come first;
        :meth:`tidy` puts them back in their place, and the statement is asked again.

        Many managers asking at once each get a different order in one read: a queue row another one is
        locking is passed over (``FOR NO KEY UPDATE ... SKIP LOCKED``), not waited for. The read walks, in
        ``sort`` order, an index of ``desk_queue``'s rows of actual orders that nobody holds (schema 15:
        copies of the order's own call, its claim, status, creation time and total, kept by triggers), and a
        call not due yet or another manager's is passed over inside the index: the first entry that
        qualifies is the order. What changed since the statement began is judged on the row as it is when
        it is locked: every payment, call and claim of the order writes that row in its own transaction, so
        the row is either read again as they left it, or locked by them and passed over, or written by them
        only after this claim (as if they came after it). The claim's insert decides against any other.
        Claims are compared with ``lease_now`` (the database server's clock, unless --now), calls' due times
        with ``now``. (SQLite's ``next`` reads a page under the file's write lock instead.)
        """
        # Each sort walks an index of the free rows (schema 15) that holds the order's own call, so a call
        # not due yet or another manager's is passed over there; the walks by creation and by total leave out
        # the calls arranged for later (schema 16: WAITING_OUT). The claims are not looked at: a row's
        # held_until is its claim's (a claim that came back to life after its row was freed, under an
        # earlier --now, is refused by the insert and held again by :meth:`hold_again`). A lease that ran out
        # or a marked call that came due (one look at the index of each, once per statement) stops the walk.
        # (The earliest lease end and due time compared, not an EXISTS of the ones before it: the plan of a
        # prepared statement is made for any value, and PostgreSQL judged such an EXISTS dear, so it planned
        # the statement anew at each call, 0.5 ms, rather than keep one plan.)
        stale = ("(COALESCE((SELECT h.held_until FROM desk_queue h WHERE h.held_until IS NOT NULL"
                 " ORDER BY h.held_until LIMIT 1) <= ?, FALSE) OR"
                 f" COALESCE({EARLIEST_MARKED} <= ?, FALSE))" if run_out_first else "?")
        free = (WAITING_OUT if sort in _MARKED_OUT else "") + FREE
        pick = ("SELECT q.order_id AS id FROM desk_queue q WHERE {} AND q.call_due <= ? AND (q.call_manager IS NULL OR"
                " q.call_manager = ?) AND NOT {} ORDER BY {} LIMIT 1 FOR NO KEY UPDATE OF q SKIP LOCKED"
                ).format(free, stale, _PICK_SORTS[sort])
        look: list = [to_iso(lease_now), to_iso(now)] if run_out_first else [False]
        sql = (f"WITH pick AS ({pick}),"
               " claimed AS (INSERT INTO claims (order_id, manager, claimed_at, lease_until)"
               " SELECT id, ?, ?, ? FROM pick ON CONFLICT (order_id) DO UPDATE SET manager = excluded.manager,"
               " claimed_at = excluded.claimed_at, lease_until = excluded.lease_until"
               " WHERE claims.lease_until <= excluded.claimed_at OR claims.manager = excluded.manager RETURNING *)"
               f" SELECT (SELECT id FROM pick) AS picked, {stale} AS stale, claimed.*"
               " FROM (SELECT 1) AS one LEFT JOIN claimed ON TRUE")
        args = [to_iso(now), manager, *look, manager, to_iso(lease_now), to_iso(lease_until), *look]
        row = self.store.conn.execute(sql, args).fetchone()
        return row["picked"], (None if row["order_id"] is None else _claim(row)), bool(row["stale"])

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
