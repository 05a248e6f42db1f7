"""Customers who asked not to be contacted (``unpaid optout``), keyed by normalized e-mail or phone."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from unpaid.clock import from_iso, to_iso

if TYPE_CHECKING:
    from unpaid.store import Store


@dataclass(frozen=True)
class OptOut:
    address: str
    at: datetime
    actor: str
    reason: str | None

    def as_dict(self) -> dict:
        return {"address": self.address, "at": to_iso(self.at), "actor": self.actor, "reason": self.reason}


class OptOuts:
    def __init__(self, store: "Store"):
        self.store = store

    def add(self, address: str, actor: str, at: datetime, reason: str | None = None) -> bool:
        """Record an opt-out; False when the address was already out."""
        with self.store.transaction() as conn:
            cur = conn.execute("INSERT OR IGNORE INTO optouts (address, at, actor, reason) VALUES (?, ?, ?, ?)",
                               (address, to_iso(at), actor, reason))
            return cur.rowcount == 1

    def remove(self, address: str) -> bool:
        with self.store.transaction() as conn:
            return conn.execute("DELETE FROM optouts WHERE address = ?", (address,)).rowcount == 1

    def all(self) -> list[OptOut]:
        rows = self.store.conn.execute("SELECT * FROM optouts ORDER BY at, address")
        return [OptOut(r["address"], from_iso(r["at"]), r["actor"], r["reason"]) for r in rows]

    def addresses(self) -> set[str]:
        return {r[0] for r in self.store.conn.execute("SELECT address FROM optouts")}
