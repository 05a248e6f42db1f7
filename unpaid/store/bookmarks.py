"""Per-source sync bookmarks, written in the same transaction as the page they close."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from unpaid.clock import to_iso

if TYPE_CHECKING:
    from unpaid.store import Store


class Bookmarks:
    def __init__(self, store: "Store"):
        self.store = store

    def get(self, source: str) -> str | None:
        row = self.store.conn.execute("SELECT value FROM bookmarks WHERE source = ?", (source,)).fetchone()
        return row[0] if row else None

    def set(self, source: str, value: str | None, at: datetime) -> None:
        self.store.conn.execute(
            "INSERT INTO bookmarks (source, value, updated_at) VALUES (?, ?, ?)"
            " ON CONFLICT (source) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
            (source, value, to_iso(at)),
        )

    def all(self) -> dict[str, tuple[str | None, str]]:
        return {r[0]: (r[1], r[2]) for r in self.store.conn.execute("SELECT source, value, updated_at FROM bookmarks")}
