"""The action ledger: every automatic or manual action is claimed before and recorded after it happens.

States: ``planned`` -> ``claimed`` (run id, lease) -> ``done`` | ``skipped`` | ``failed`` | ``uncertain``.
A claim is one conditional statement inside ``BEGIN IMMEDIATE``, so two runs can never both win it;
a claim whose lease ran out before a result was written becomes ``uncertain`` (effect unknown).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Mapping

from unpaid.clock import from_iso, to_iso

if TYPE_CHECKING:
    from unpaid.store import Store

PLANNED, CLAIMED, DONE, SKIPPED, FAILED, UNCERTAIN = "planned", "claimed", "done", "skipped", "failed", "uncertain"
FINAL = frozenset({DONE, SKIPPED})


def ledger_key(order_id: str, playbook: str, step: str, repeat: int = 0) -> str:
    """The idempotency key of an action: ``order|playbook|step|repeat``."""
    return f"{order_id}|{playbook}|{step}|{repeat}"


@dataclass(frozen=True)
class LedgerEntry:
    key: str
    order_id: str
    playbook: str
    step: str
    repeat: int
    action: str
    state: str
    due_at: datetime | None
    run_id: str | None
    lease_until: datetime | None
    attempts: int
    next_try_at: datetime | None
    error: str | None
    result: Mapping[str, Any] | None
    created_at: datetime
    updated_at: datetime


class Ledger:
    def __init__(self, store: "Store"):
        self.store = store

    def claim(self, key: str, *, order_id: str, playbook: str, step: str, repeat: int, action: str,
              due_at: datetime | None, run_id: str, now: datetime, lease_until: datetime,
              retry_uncertain: bool = False, result: Mapping[str, Any] | None = None) -> bool:
        """Claim an action for this run; True only for the one caller that wins.

        A new key is inserted as claimed. An existing one is taken only when it is ``planned``,
        ``failed`` and due for a retry, or (``retry_uncertain``, for idempotent effects) ``uncertain``.
        ``result`` is what is known before acting (the channel of a send): a run killed mid-send leaves it
        for the review queue.
        """
        states = [PLANNED, FAILED] + ([UNCERTAIN] if retry_uncertain else [])
        now, lease_until = self.store.lease_clock(now, lease_until)
        stamp, lease = to_iso(now), to_iso(lease_until)
        with self.store.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO ledger (key, order_id, playbook, step, repeat, action, state, due_at, run_id,"
                " lease_until, attempts, result, created_at, updated_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)"
                " ON CONFLICT (key) DO UPDATE SET state = excluded.state, run_id = excluded.run_id,"
                " lease_until = excluded.lease_until, attempts = ledger.attempts + 1, result = excluded.result,"
                " updated_at = excluded.updated_at"
                f" WHERE ledger.state IN ({', '.join('?' * len(states))})"
                " AND (ledger.next_try_at IS NULL OR ledger.next_try_at <= excluded.updated_at)",
                (key, order_id, playbook, step, repeat, action, CLAIMED, to_iso(due_at), run_id, lease,
                 _json(result), stamp, stamp, *states),
            )
            return cur.rowcount == 1

    def finish(self, key: str, run_id: str, state: str, now: datetime, *, result: Mapping[str, Any] | None = None,
               error: str | None = None, next_try_at: datetime | None = None) -> bool:
        """Record the outcome of a claimed action; False when the claim was lost (lease expired, taken over).

        Without ``result`` the one written by the claim stays."""
        with self.store.transaction() as conn:
            cur = conn.execute(
                "UPDATE ledger SET state = ?, result = COALESCE(?, result), error = ?, next_try_at = ?,"
                " lease_until = NULL, updated_at = ? WHERE key = ? AND run_id = ? AND state = ?",
                (state, _json(result), error, to_iso(next_try_at), to_iso(now), key, run_id, CLAIMED),
            )
            return cur.rowcount == 1

    def release(self, key: str, run_id: str, now: datetime, *, error: str,
                next_try_at: datetime | None = None) -> bool:
        """Give a claim back untried (its channel or source could not be used): the claim's attempt is not
        counted. Due again at once (``planned``), or from ``next_try_at`` (``failed``, waiting like a retry).
        False when the claim was lost."""
        with self.store.transaction() as conn:
            cur = conn.execute(
                "UPDATE ledger SET state = ?, attempts = MAX(attempts - 1, 0), error = ?, next_try_at = ?,"
                " lease_until = NULL, updated_at = ? WHERE key = ? AND run_id = ? AND state = ?",
                (FAILED if next_try_at else PLANNED, error, to_iso(next_try_at), to_iso(now), key, run_id, CLAIMED),
            )
            return cur.rowcount == 1

    def record(self, key: str, *, order_id: str, playbook: str, step: str, repeat: int, action: str, state: str,
               now: datetime, due_at: datetime | None = None, result: Mapping[str, Any] | None = None,
               error: str | None = None) -> bool:
        """Write a final decision (e.g. ``skipped`` with a reason) for an action never claimed; no-op if it exists."""
        with self.store.transaction() as conn:
            cur = conn.execute(
                "INSERT INTO ledger (key, order_id, playbook, step, repeat, action, state, due_at, attempts, error,"
                " result, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0, ?, ?, ?, ?)"
                " ON CONFLICT (key) DO NOTHING",
                (key, order_id, playbook, step, repeat, action, state, to_iso(due_at), error, _json(result),
                 to_iso(now), to_iso(now)),
            )
            return cur.rowcount == 1

    def resolve(self, key: str, sent: bool, now: datetime, actor: str) -> bool:
        """Settle an action a human checked: ``uncertain`` or ``failed`` -> ``done`` (it happened) or back to
        ``planned`` (it did not: the next run does it). False when the key is not waiting for that."""
        note = f"resolved as {'sent' if sent else 'unsent'} by {actor}"
        with self.store.transaction() as conn:
            if sent:  # what was known of the send (channel, Message-ID) stays next to the note
                cur = conn.execute(
                    "UPDATE ledger SET state = ?, result = json_patch(COALESCE(result, '{}'), ?), next_try_at = NULL,"
                    " lease_until = NULL, updated_at = ? WHERE key = ? AND state IN (?, ?)",
                    (DONE, json.dumps({"resolved": note}), to_iso(now), key, UNCERTAIN, FAILED))
            else:
                cur = conn.execute(
                    "UPDATE ledger SET state = ?, error = ?, run_id = NULL, next_try_at = NULL, lease_until = NULL,"
                    " updated_at = ? WHERE key = ? AND state IN (?, ?)",
                    (PLANNED, note, to_iso(now), key, UNCERTAIN, FAILED))
            return cur.rowcount == 1

    def expire_leases(self, now: datetime) -> list[str]:
        """Turn claims whose lease ran out into ``uncertain``; return their keys."""
        (now,) = self.store.lease_clock(now)
        with self.store.transaction() as conn:
            keys = [r[0] for r in conn.execute(
                "SELECT key FROM ledger WHERE state = ? AND lease_until <= ?", (CLAIMED, to_iso(now)))]
            conn.execute("UPDATE ledger SET state = ?, updated_at = ? WHERE state = ? AND lease_until <= ?",
                         (UNCERTAIN, to_iso(now), CLAIMED, to_iso(now)))
        return keys

    def get(self, key: str) -> LedgerEntry | None:
        row = self.store.conn.execute("SELECT * FROM ledger WHERE key = ?", (key,)).fetchone()
        return _entry(row) if row else None

    def for_order(self, order_id: str) -> list[LedgerEntry]:
        rows = self.store.conn.execute("SELECT * FROM ledger WHERE order_id = ? ORDER BY created_at, key",
                                       (order_id,))
        return [_entry(r) for r in rows]

    def for_planning(self, passed: Mapping[str, Mapping[str, int]], playbook: str
                     ) -> tuple[dict[str, dict[str, LedgerEntry]], set[str]]:
        """What the planner reads of ``playbook``'s ledger for the orders of ``passed`` (order id -> its
        enrollment's ``loops``): order id -> key -> entry, as :meth:`for_orders` with ``results=False`` and
        ``passed`` reads them, and the keys of the entries that are not ``done``.

        The entries of earlier passes that are not done (skipped steps of past weeks: half the rows of
        a weekly playbook's ledger) are left out in SQL, by the stored enrollment's ``loops`` (step names
        are plain labels, so ``$.step`` is their JSON path); ``passed`` checks the rest again.
        Rows come as plain tuples (building entries from them is twice as fast as from rows read by
        name), their moments parsed once each by one :class:`_Times`; ``result`` is left None (the planner
        never looks at it)."""
        ids = list(passed)
        out: dict[str, dict[str, LedgerEntry]] = {}
        pending: set[str] = set()
        columns = ", ".join(f"l.{c}" for c in _COLUMNS.split(", ")).replace("l.result", "NULL")
        cur = self.store.conn.cursor()
        cur.row_factory = None
        times = _Times()
        done, nothing = DONE, {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            sql = (f"SELECT {columns} FROM ledger l JOIN enrollments e ON e.order_id = l.order_id"
                   f" AND e.playbook = l.playbook WHERE l.order_id IN ({', '.join('?' * len(chunk))})"
                   " AND l.playbook = ? AND (l.state = ? OR l.repeat >="
                   " CAST(COALESCE(json_extract(e.loops, '$.' || l.step), '0') AS INTEGER))")
            for row in cur.execute(sql, [*chunk, playbook, done]):
                # row[0] key, [1] order id, [3] step, [4] repeat, [6] state
                if row[6] != done:
                    if row[4] < passed.get(row[1], nothing).get(row[3], 0):
                        continue  # an earlier pass's: no decision looks at it any more
                    pending.add(row[0])
                entries = out.get(row[1])
                if entries is None:
                    entries = out[row[1]] = {}
                entries[row[0]] = _entry_from_tuple(row, times)
        return out, pending

    def by_state(self, *states: str) -> list[LedgerEntry]:
        sql = f"SELECT * FROM ledger WHERE state IN ({', '.join('?' * len(states))}) ORDER BY updated_at, key"
        return [_entry(r) for r in self.store.conn.execute(sql, states)]


def _json(value: Mapping[str, Any] | None) -> str | None:
    return json.dumps(dict(value), ensure_ascii=False, default=str) if value else None


_COLUMNS = ("key, order_id, playbook, step, repeat, action, state, due_at, run_id, lease_until, attempts,"
            " next_try_at, error, result, created_at, updated_at")


class _Times(dict):
    """ISO text -> datetime, each text parsed once; a look-up, not a call, for the texts already seen."""

    def __missing__(self, text: str) -> datetime:
        moment = self[text] = datetime.fromisoformat(text)
        return moment


def _entry_from_tuple(row: tuple, times: dict[str, datetime] | None = None) -> LedgerEntry:
    """An entry from a row of ``SELECT {_COLUMNS}``; ``times`` (a :class:`_Times`) memoizes the parsed moments."""
    key, order_id, playbook, step, repeat, action, state, due_at, run_id, lease_until, attempts, next_try_at, \
        error, result, created_at, updated_at = row
    t = times if times is not None else _Times()
    entry = _new(LedgerEntry)  # every field, in its order, as LedgerEntry(...) sets them (without the frozen checks)
    entry.__dict__.update(
        key=key, order_id=order_id, playbook=playbook, step=step, repeat=repeat, action=action, state=state,
        due_at=t[due_at] if due_at else None, run_id=run_id, lease_until=t[lease_until] if lease_until else None,
        attempts=attempts, next_try_at=t[next_try_at] if next_try_at else None, error=error,
        result=json.loads(result) if result else None, created_at=t[created_at] if created_at else None,
        updated_at=t[updated_at] if updated_at else None)
    return entry


_new = object.__new__


def _entry(row) -> LedgerEntry:
    return LedgerEntry(
        key=row["key"], order_id=row["order_id"], playbook=row["playbook"], step=row["step"], repeat=row["repeat"],
        action=row["action"], state=row["state"], due_at=from_iso(row["due_at"]), run_id=row["run_id"],
        lease_until=from_iso(row["lease_until"]), attempts=row["attempts"], next_try_at=from_iso(row["next_try_at"]),
        error=row["error"], result=json.loads(row["result"]) if row["result"] else None,
        created_at=from_iso(row["created_at"]), updated_at=from_iso(row["updated_at"]),
    )
