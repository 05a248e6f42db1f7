"""Offers (discount or bonus %, valid until a moment): one active offer per order, escalation only upward."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Iterable

from unpaid.clock import from_iso, to_iso

if TYPE_CHECKING:
    from unpaid.store import Store

ACTIVE, SUPERSEDED = "active", "superseded"
_CHUNK = 500


@dataclass(frozen=True)
class StoredOffer:
    id: int
    key: str
    order_id: str
    playbook: str
    step: str
    kind: str
    percent: int
    valid_until: datetime
    state: str
    created_at: datetime

    def as_dict(self) -> dict:
        return {"order_id": self.order_id, "playbook": self.playbook, "step": self.step, "kind": self.kind,
                "percent": self.percent, "valid_until": to_iso(self.valid_until), "state": self.state}


class Offers:
    def __init__(self, store: "Store"):
        self.store = store

    def active(self, order_id: str, now: datetime) -> StoredOffer | None:
        return self.for_orders([order_id], now).get(order_id)

    def for_orders(self, order_ids: Iterable[str], now: datetime) -> dict[str, StoredOffer]:
        """The active, unexpired offer of each order that has one."""
        ids, out = list(order_ids), {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            sql = (f"SELECT * FROM offers WHERE state = ? AND valid_until > ?"
                   f" AND order_id IN ({', '.join('?' * len(chunk))}) ORDER BY percent")
            for row in self.store.conn.execute(sql, [ACTIVE, to_iso(now), *chunk]):
                out[row["order_id"]] = _offer(row)
        return out

    def make(self, key: str, *, order_id: str, playbook: str, step: str, kind: str, percent: int,
             valid_until: datetime, now: datetime) -> tuple[StoredOffer, bool]:
        """Make the offer for ledger key ``key`` (once); returns (the active offer, whether it is new).

        An active offer of the same or a higher percent stays: offers only ever go up.
        """
        with self.store.transaction() as conn:
            row = conn.execute("SELECT * FROM offers WHERE key = ?", (key,)).fetchone()
            if row:
                return _offer(row), False
            current = self.active(order_id, now)
            if current and current.percent >= percent:
                return current, False
            conn.execute("UPDATE offers SET state = ? WHERE order_id = ? AND state = ?",
                         (SUPERSEDED, order_id, ACTIVE))
            conn.execute(
                "INSERT INTO offers (key, order_id, playbook, step, kind, percent, valid_until, state, created_at)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (key, order_id, playbook, step, kind, percent, to_iso(valid_until), ACTIVE, to_iso(now)))
            return _offer(conn.execute("SELECT * FROM offers WHERE key = ?", (key,)).fetchone()), True


def _offer(row) -> StoredOffer:
    return StoredOffer(row["id"], row["key"], row["order_id"], row["playbook"], row["step"], row["kind"],
                       row["percent"], from_iso(row["valid_until"]), row["state"], from_iso(row["created_at"]))
