"""Pull pages from a connector into the store: each page and its bookmark in one transaction."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from unpaid.connector import Connector, ConnectorError, Reject
from unpaid.model import STATUS_LABELS, Status
from unpaid.store import Store
from unpaid.store.history import Entry
from unpaid.store.orders import StatusChange


#: A sync that wrote this many orders refreshes the query planner's statistics.
ANALYZE_AFTER = 10_000


@dataclass
class SyncResult:
    """What one source's sync did; ``error`` is set when it stopped early (pages before it are kept)."""

    source: str
    pages: int = 0
    orders: int = 0
    changes: list[StatusChange] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    complete: bool = True
    notes: list[str] = field(default_factory=list)
    error: ConnectorError | None = None

    @property
    def paid(self) -> int:
        return sum(1 for c in self.changes if c.new == Status.PAID.value)

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "pages": self.pages,
            "orders": self.orders,
            "status_changes": len(self.changes),
            "newly_paid": self.paid,
            "rejected": len(self.rejects),
            "complete": self.complete and self.error is None,
            "notes": self.notes,
            "error": str(self.error) if self.error else None,
        }


def _label(value: str) -> str:
    try:
        return STATUS_LABELS[Status(value)]
    except ValueError:
        return value


def sync_source(store: Store, connector: Connector, now: datetime,
                progress: Callable[[SyncResult], None] | None = None) -> SyncResult:
    """Fetch everything new since the stored bookmark and upsert it.

    Connector errors stop the sync and are returned in ``result.error``; whatever pages arrived
    before are already committed with their bookmark, so the next run resumes from there.
    """
    name = connector.name
    result = SyncResult(name)
    first_sync = store.orders.count_source(name) == 0
    try:
        for page in connector.fetch_orders(store.bookmarks.get(name)):
            with store.transaction():
                changes = store.orders.upsert(page.orders, now, known_new=first_sync)
                store.history.add_many(
                    Entry(c.order_id, now, "sync", "status",
                          f"status changed at the source: {_label(c.old)} → {_label(c.new)}",
                          {"from": c.old, "to": c.new}, "unpaid sync")
                    for c in changes
                )
                store.bookmarks.set(name, page.bookmark, now)
            result.pages += 1
            result.orders += len(page.orders)
            result.changes += changes
            result.rejects += page.rejects
            if page.note:
                result.notes.append(page.note)
            if not page.complete:
                result.complete = False
            if progress:
                progress(result)
    except ConnectorError as exc:
        result.error = exc
    if result.orders >= ANALYZE_AFTER:
        with store.transaction():
            store.orders.analyze()
    return result
