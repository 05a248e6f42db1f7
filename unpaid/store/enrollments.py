"""Per-(order, playbook) enrollment state: where the order is in the playbook, paused until when, or why it left.

An order enters a playbook at most once. ``seq`` grows by one on every move, so two runs that try to
move the same enrollment cannot both succeed (compare-and-set), and one active chain per customer and
product is enforced by a partial unique index.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Iterable, Iterator, Mapping

from unpaid.clock import from_iso, to_iso

if TYPE_CHECKING:
    from unpaid.store import Store
    from unpaid.store.orders import OrderQuery

ACTIVE, EXITED, FINISHED = "active", "exited", "finished"
_CHUNK = 500


@dataclass(frozen=True)
class Enrollment:
    order_id: str
    playbook: str
    state: str
    entered_at: datetime
    cursor: int = 0
    cursor_since: datetime | None = None
    loops: Mapping[str, int] = field(default_factory=dict)
    seq: int = 0
    chain_key: str | None = None
    paused_until: datetime | None = None
    exit_reason: str | None = None
    exited_at: datetime | None = None

    def as_dict(self) -> dict:
        return {"order_id": self.order_id, "playbook": self.playbook, "state": self.state,
                "entered_at": to_iso(self.entered_at), "step_index": self.cursor,
                "paused_until": to_iso(self.paused_until), "exit_reason": self.exit_reason,
                "exited_at": to_iso(self.exited_at)}


class Enrollments:
    """Read and move enrollments; every write is one conditional statement."""

    def __init__(self, store: "Store"):
        self.store = store

    def enter(self, order_id: str, playbook: str, chain_key: str | None, entered_at: datetime,
              now: datetime) -> bool:
        """Enrol the order; False when it is already enrolled or its customer+product chain is taken."""
        with self.store.transaction() as conn:
            cur = conn.execute(
                "INSERT OR IGNORE INTO enrollments (order_id, playbook, chain_key, state, entered_at, cursor,"
                " cursor_since, seq, updated_at) VALUES (?, ?, ?, ?, ?, 0, ?, 0, ?)",
                (order_id, playbook, chain_key, ACTIVE, to_iso(entered_at), to_iso(entered_at), to_iso(now)))
            return cur.rowcount == 1

    def get(self, order_id: str, playbook: str) -> Enrollment | None:
        row = self.store.conn.execute("SELECT * FROM enrollments WHERE order_id = ? AND playbook = ?",
                                      (order_id, playbook)).fetchone()
        return _enrollment(row) if row else None

    def for_order(self, order_id: str) -> list[Enrollment]:
        rows = self.store.conn.execute("SELECT * FROM enrollments WHERE order_id = ? ORDER BY entered_at",
                                       (order_id,))
        return [_enrollment(r) for r in rows]

    def for_orders(self, order_ids: Iterable[str], playbook: str) -> dict[str, Enrollment]:
        """order id -> its enrollment in ``playbook``; read as plain tuples (planning reads tens of thousands)."""
        ids, out = list(order_ids), {}
        cur = self.store.conn.cursor()
        cur.row_factory = None
        loops: dict[str, dict] = {}  # most enrollments of a playbook went through the same loops: parsed once
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            sql = (f"SELECT {_COLUMNS} FROM enrollments WHERE playbook = ?"
                   f" AND order_id IN ({', '.join('?' * len(chunk))})")
            for row in cur.execute(sql, [playbook, *chunk]):
                out[row[0]] = _from_tuple(row, loops)
        return out

    def active_ids(self, playbook: str) -> Iterator[list[str]]:
        """Order ids of the playbook's active enrollments, in chunks (streamed)."""
        cur = self.store.conn.execute(
            "SELECT order_id FROM enrollments WHERE playbook = ? AND state = ? ORDER BY order_id", (playbook, ACTIVE))
        while True:
            rows = cur.fetchmany(_CHUNK)
            if not rows:
                return
            yield [r[0] for r in rows]

    def chain_holders(self, playbook: str, chain_keys: Iterable[str]) -> dict[str, str]:
        """chain key -> order id holding the active chain for it."""
        keys, out = [k for k in chain_keys if k], {}
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            sql = ("SELECT chain_key, order_id FROM enrollments WHERE playbook = ? AND state = ?"
                   f" AND chain_key IN ({', '.join('?' * len(chunk))})")
            out.update(self.store.conn.execute(sql, [playbook, ACTIVE, *chunk]).fetchall())
        return out

    def chain_steps(self, playbook: str, chain_keys: Iterable[str],
                    asking: Mapping[str, set[str]] | None = None) -> list[tuple[str, str, str, datetime, datetime]]:
        """Contact and offer steps this playbook did for the orders of these chains, in any enrollment state:
        (chain key, step, order id, order created at, done at), oldest first.

        ``asking`` (chain key -> the orders that ask about it) leaves out the chains where no order asks about
        another's steps: one whose only enrollment is the asking order's own is not read.
        """
        keys, out = sorted(set(chain_keys)), []
        if asking is not None:
            others: set[str] = set()
            for start in range(0, len(keys), _CHUNK):
                chunk = keys[start : start + _CHUNK]
                sql = (f"SELECT chain_key, order_id FROM enrollments WHERE chain_key IN ({', '.join('?' * len(chunk))})"
                       " AND playbook = ?")
                others.update(k for k, oid in self.store.conn.execute(sql, [*chunk, playbook])
                              if asking.get(k, set()) - {oid})
            keys = [k for k in keys if k in others]
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            # CROSS JOIN keeps the chains' enrollments the outer loop: left to itself, SQLite may walk every
            # done ledger entry per call (it has no statistics for a ledger that was empty at ANALYZE), and
            # a run that loads a case per action grows quadratic with the ledger.
            sql = ("SELECT e.chain_key, l.step, l.order_id, o.created_at, l.updated_at FROM enrollments e"
                   " CROSS JOIN ledger l ON l.order_id = e.order_id AND l.playbook = e.playbook"
                   " CROSS JOIN orders o ON o.id = e.order_id"
                   f" WHERE e.chain_key IN ({', '.join('?' * len(chunk))}) AND e.playbook = ?"
                   " AND l.state = 'done' AND l.action IN ('send', 'trigger', 'call', 'offer')"
                   " ORDER BY l.updated_at")
            out += [(r[0], r[1], r[2], from_iso(r[3]), from_iso(r[4]))
                    for r in self.store.conn.execute(sql, [*chunk, playbook])]
        return out

    def advance(self, order_id: str, playbook: str, seq: int, cursor: int, cursor_since: datetime,
                loops: Mapping[str, int], now: datetime) -> bool:
        """Move to step ``cursor``; only succeeds when nobody moved it since ``seq`` was read."""
        cur = self.store.conn.execute(
            "UPDATE enrollments SET cursor = ?, cursor_since = ?, loops = ?, seq = seq + 1, updated_at = ?"
            " WHERE order_id = ? AND playbook = ? AND seq = ? AND state = ?",
            (cursor, to_iso(cursor_since), json.dumps(dict(loops)) if loops else None, to_iso(now),
             order_id, playbook, seq, ACTIVE))
        return cur.rowcount == 1

    def close(self, order_id: str, playbook: str, state: str, reason: str, at: datetime) -> bool:
        """Mark an active enrollment exited or finished, with the reason; False when it was not active."""
        cur = self.store.conn.execute(
            "UPDATE enrollments SET state = ?, exit_reason = ?, exited_at = ?, seq = seq + 1, updated_at = ?"
            " WHERE order_id = ? AND playbook = ? AND state = ?",
            (state, reason, to_iso(at), to_iso(at), order_id, playbook, ACTIVE))
        return cur.rowcount == 1

    def pause(self, order_id: str, until: datetime | None, now: datetime) -> int:
        """Pause every active playbook of the order until ``until`` (None resumes); returns how many."""
        cur = self.store.conn.execute(
            "UPDATE enrollments SET paused_until = ?, seq = seq + 1, updated_at = ? WHERE order_id = ? AND state = ?",
            (to_iso(until), to_iso(now), order_id, ACTIVE))
        return cur.rowcount

    def unenrolled_ids(self, playbook: str, query: "OrderQuery") -> Iterator[list[str]]:
        """Ids of orders matching ``query`` that never entered ``playbook``, in chunks (streamed)."""
        where, args = query.where()
        clause = "NOT EXISTS (SELECT 1 FROM enrollments e WHERE e.order_id = orders.id AND e.playbook = ?)"
        where = f"{where} AND {clause}" if where else f" WHERE {clause}"
        cur = self.store.conn.execute(f"SELECT id FROM orders{where} ORDER BY created_at, id", [*args, playbook])
        while True:
            rows = cur.fetchmany(_CHUNK)
            if not rows:
                return
            yield [r[0] for r in rows]

    def counts(self) -> dict[tuple[str, str], int]:
        """(playbook, state) -> number of enrollments."""
        rows = self.store.conn.execute("SELECT playbook, state, COUNT(*) FROM enrollments GROUP BY playbook, state")
        return {(r[0], r[1]): r[2] for r in rows}


def _enrollment(row: sqlite3.Row) -> Enrollment:
    return Enrollment(
        order_id=row["order_id"], playbook=row["playbook"], state=row["state"],
        entered_at=from_iso(row["entered_at"]), cursor=row["cursor"], cursor_since=from_iso(row["cursor_since"]),
        loops=json.loads(row["loops"]) if row["loops"] else {}, seq=row["seq"], chain_key=row["chain_key"],
        paused_until=from_iso(row["paused_until"]), exit_reason=row["exit_reason"],
        exited_at=from_iso(row["exited_at"]))



_COLUMNS = ("order_id, playbook, state, entered_at, cursor, cursor_since, loops, seq, chain_key, paused_until,"
            " exit_reason, exited_at")
_new = object.__new__


def _from_tuple(row: tuple, loops: dict[str, dict]) -> Enrollment:
    """:func:`_enrollment` of a row of ``SELECT {_COLUMNS}``; ``loops`` memoizes the parsed ``loops`` texts
    (each enrollment gets its own copy)."""
    order_id, playbook, state, entered_at, cursor, cursor_since, loop_text, seq, chain_key, paused_until, \
        exit_reason, exited_at = row
    parsed: dict = {}
    if loop_text:
        parsed = loops.get(loop_text)
        if parsed is None:
            parsed = loops[loop_text] = json.loads(loop_text)
        parsed = dict(parsed)
    en = _new(Enrollment)  # every field, in its order, as Enrollment(...) sets them (without the frozen checks)
    en.__dict__.update(
        order_id=order_id, playbook=playbook, state=state, entered_at=from_iso(entered_at), cursor=cursor,
        cursor_since=from_iso(cursor_since), loops=parsed, seq=seq, chain_key=chain_key,
        paused_until=from_iso(paused_until) if paused_until else None, exit_reason=exit_reason,
        exited_at=from_iso(exited_at) if exited_at else None)
    return en
