"""Opens, clicks and payments reported by sources (``connector.fetch_events``), per order."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from unpaid.clock import from_iso, to_iso

if TYPE_CHECKING:
    from unpaid.store import Store

_CHUNK = 500


class Events:
    def __init__(self, store: "Store"):
        self.store = store

    def add_many(self, rows: Iterable[tuple[str, str, datetime, Mapping[str, Any] | None]]) -> int:
        """Store (order id, kind, at, data) rows; a repeated event is ignored. Returns how many were new."""
        before = self.store.conn.total_changes
        self.store.conn.executemany(
            "INSERT OR IGNORE INTO events (order_id, kind, at, data) VALUES (?, ?, ?, ?)",
            ((o, k, to_iso(at), json.dumps(dict(d), default=str) if d else None) for o, k, at, d in rows))
        return self.store.conn.total_changes - before

    def for_orders(self, order_ids: Iterable[str]) -> dict[str, list[tuple[str, datetime]]]:
        """order id -> [(kind, at)], oldest first."""
        ids, out = list(order_ids), {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            sql = f"SELECT order_id, kind, at FROM events WHERE order_id IN ({', '.join('?' * len(chunk))}) ORDER BY at"
            for order_id, kind, at in self.store.conn.execute(sql, chunk):
                out.setdefault(order_id, []).append((kind, from_iso(at)))
        return out

    def recent(self, order_id: str | None = None, limit: int | None = None) -> list[tuple[str, str, datetime]]:
        """(order id, kind, at) rows, newest first, of one order or all."""
        sql = "SELECT order_id, kind, at FROM events"
        args: list = []
        if order_id:
            sql += " WHERE order_id = ?"
            args.append(order_id)
        sql += " ORDER BY at DESC, id DESC"
        if limit:
            sql += " LIMIT ?"
            args.append(limit)
        return [(o, k, from_iso(at)) for o, k, at in self.store.conn.execute(sql, args)]
