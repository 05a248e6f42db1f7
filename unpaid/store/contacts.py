"""The contact log behind the per-customer frequency cap: one row per message, reserved at claim time.

The cap check and the reservation happen in the claim's transaction, so two runs cannot both use the
customer's last free slot.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Iterable

from unpaid.clock import from_iso, to_iso

if TYPE_CHECKING:
    from unpaid.store import Store

_CHUNK = 500


class Contacts:
    def __init__(self, store: "Store"):
        self.store = store

    def reserve(self, key: str, customer_key: str, order_id: str, at: datetime) -> None:
        self.store.conn.execute("INSERT OR IGNORE INTO contacts (key, customer_key, order_id, at) VALUES (?, ?, ?, ?)",
                                (key, customer_key, order_id, to_iso(at)))

    def release(self, key: str) -> None:
        """Give the slot back (the message was not sent)."""
        self.store.conn.execute("DELETE FROM contacts WHERE key = ?", (key,))

    def since(self, customer_key: str, since: datetime, exclude_key: str | None = None) -> list[datetime]:
        rows = self.store.conn.execute(
            "SELECT at FROM contacts WHERE customer_key = ? AND at > ? AND key != ? ORDER BY at",
            (customer_key, to_iso(since), exclude_key or ""))
        return [from_iso(r[0]) for r in rows]

    def recent(self, customer_keys: Iterable[str], since: datetime,
               exclude_keys: Iterable[str] = ()) -> dict[str, list[datetime]]:
        """customer key -> times of messages after ``since``, oldest first (without the ``exclude_keys`` ones)."""
        keys, out, skip = [k for k in set(customer_keys) if k], {}, set(exclude_keys)
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            sql = (f"SELECT customer_key, at, key FROM contacts WHERE at > ?"
                   f" AND customer_key IN ({', '.join('?' * len(chunk))}) ORDER BY at")
            for key, at, action in self.store.conn.execute(sql, [to_iso(since), *chunk]):
                if action not in skip:
                    out.setdefault(key, []).append(from_iso(at))
        return out
