"""Manager claims on orders: one holder at a time, with a lease that expires."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterable

from unpaid.clock import from_iso, to_iso

if TYPE_CHECKING:
    from unpaid.store import Store

_CHUNK = 500


@dataclass(frozen=True)
class Claim:
    order_id: str
    manager: str
    claimed_at: datetime
    lease_until: datetime


class Claims:
    def __init__(self, store: "Store"):
        self.store = store

    def get(self, order_id: str, now: datetime) -> Claim | None:
        """The live claim on an order (expired leases count as no claim)."""
        (now,) = self.store.lease_clock(now)
        row = self.store.conn.execute(
            "SELECT * FROM claims WHERE order_id = ? AND lease_until > ?", (order_id, to_iso(now))
        ).fetchone()
        return _claim(row) if row else None

    def live_for(self, order_ids: Iterable[str], now: datetime) -> dict[str, Claim]:
        """The live claims on these orders, by order id, in one query per 500 orders (a queue page asked
        one query, and one read of the server's clock, per row)."""
        ids, out = list(order_ids), {}
        if not ids:
            return out
        (now,) = self.store.lease_clock(now)
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start:start + _CHUNK]
            rows = self.store.conn.execute(f"SELECT * FROM claims WHERE order_id IN ({', '.join('?' * len(chunk))})"
                                           " AND lease_until > ?", [*chunk, to_iso(now)])
            out.update((r["order_id"], _claim(r)) for r in rows)
        return out

    def try_claim(self, order_id: str, manager: str, now: datetime, lease_until: datetime) -> Claim:
        """Claim atomically; return the claim that holds afterwards (ours, or the other holder's).

        One statement decides: insert, or take over when the lease expired or we already hold it.
        """
        now, lease_until = self.store.lease_clock(now, lease_until)
        with self.store.transaction() as conn:
            self._lock_order(order_id)
            conn.execute(
                "INSERT INTO claims (order_id, manager, claimed_at, lease_until) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (order_id) DO UPDATE SET manager = excluded.manager,"
                " claimed_at = excluded.claimed_at, lease_until = excluded.lease_until"
                " WHERE claims.lease_until <= excluded.claimed_at OR claims.manager = excluded.manager",
                (order_id, manager, to_iso(now), to_iso(lease_until)),
            )
            row = conn.execute("SELECT * FROM claims WHERE order_id = ?", (order_id,)).fetchone()
        return _claim(row)

    def release(self, order_id: str, manager: str | None = None) -> bool:
        """Drop a claim (only ``manager``'s when given); True when one was removed."""
        sql, args = "DELETE FROM claims WHERE order_id = ?", [order_id]
        if manager:
            sql += " AND manager = ?"
            args.append(manager)
        with self.store.transaction() as conn:
            self._lock_order(order_id)
            return conn.execute(sql, args).rowcount > 0

    def _lock_order(self, order_id: str) -> None:
        """PostgreSQL: lock the order's queue row (``desk_queue``, when it has one) before its claim changes. A
        claim's triggers write ``held_until`` on that row, and ``next`` locks the row before it claims: taking
        the two locks in the same order everywhere is what keeps two managers from waiting on each other for
        ever (a deadlock). (No other command writes the queue meanwhile: a claim holds the store's writer lock.)"""
        if self.store.postgres:
            self.store.conn.execute("SELECT 1 FROM desk_queue WHERE order_id = ? FOR NO KEY UPDATE", (order_id,))

    def held(self, now: datetime) -> dict[str, Claim]:
        (now,) = self.store.lease_clock(now)
        rows = self.store.conn.execute("SELECT * FROM claims WHERE lease_until > ?", (to_iso(now),))
        return {r["order_id"]: _claim(r) for r in rows}


def _claim(row) -> Claim:
    return Claim(row["order_id"], row["manager"], from_iso(row["claimed_at"]), from_iso(row["lease_until"]))
