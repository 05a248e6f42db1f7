"""Pull pages from a connector into the store: each page and its bookmark in one transaction.

After the last page of a full read (the connector's :class:`Snapshot`), stored orders the source no
longer holds are marked missing; those still missing after the source's grace period, and still
unpaid, are cancelled locally with a reason, so that nothing is ever sent about them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Callable

from unpaid.connector import Connector, ConnectorError, Reject, Snapshot
from unpaid.cycles import no_cycle_collection
from unpaid.i18n import N_, Phrase
from unpaid.model import ACTUAL, STATUS_LABELS, Status
from unpaid.store import Store
from unpaid.store.history import Entry
from unpaid.store.orders import StatusChange

#: A sync that wrote this many orders refreshes the query planner's statistics.
ANALYZE_AFTER = 10_000
#: A read that misses more than this share of the stored orders is not trusted to mark any missing
#: (a half-written export, the wrong file): it is reported instead.
MISSING_SHARE_LIMIT = 0.5
MISSING_REASON = N_("removed from the source")


@dataclass
class SyncResult:
    """What one source's sync did; ``error`` is set when it stopped early (pages before it are kept).

    ``counts`` is how the records read add up, when the connector says (``rows`` = ``orders`` +
    ``rejected`` + ``folded``); ``orders`` is how many were written to the store this time.
    """

    source: str
    pages: int = 0
    orders: int = 0
    changes: list[StatusChange] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    complete: bool = True
    notes: list[str] = field(default_factory=list)
    #: Things a person must look at although the sync went on (shown even with -q).
    warnings: list[str] = field(default_factory=list)
    error: ConnectorError | None = None
    counts: dict[str, int] = field(default_factory=dict)
    missing: list[str] = field(default_factory=list)
    back: list[str] = field(default_factory=list)
    cancelled: list[str] = field(default_factory=list)

    @property
    def paid(self) -> int:
        return sum(1 for c in self.changes if c.new == Status.PAID.value)

    @property
    def new_rejects(self) -> list[Reject]:
        return [r for r in self.rejects if not r.repeated]

    def as_dict(self) -> dict:
        return {
            "source": self.source,
            "pages": self.pages,
            "orders": self.orders,
            **{k: v for k, v in self.counts.items() if k != "orders"},
            "orders_in_source": self.counts.get("orders"),
            "status_changes": len(self.changes),
            "newly_paid": self.paid,
            "rejected": len(self.rejects),
            "rejected_new": len(self.new_rejects),
            "missing": len(self.missing),
            "found_again": len(self.back),
            "cancelled_missing": len(self.cancelled),
            "complete": self.complete and self.error is None,
            "notes": self.notes,
            "warnings": self.warnings,
            "error": str(self.error) if self.error else None,
        }


def _label(value: str) -> str:
    try:
        return STATUS_LABELS[Status(value)]
    except ValueError:
        return value


def sync_source(store: Store, connector: Connector, now: datetime,
                progress: Callable[[SyncResult], None] | None = None, *, full: bool = False) -> SyncResult:
    """Fetch everything new since the stored bookmark (everything, with ``full``) and upsert it.

    Connector errors stop the sync and are returned in ``result.error``; whatever pages arrived
    before are already committed with their bookmark, so the next run resumes from there. A sync
    that reads to the end vouches for every stored order of the source as of ``now``
    (:mod:`unpaid.freshness`).
    """
    from unpaid.freshness import forget_synced, mark_synced

    name = connector.name
    result = SyncResult(name)
    first_sync = store.orders.count_source(name) == 0
    bookmark = store.bookmarks.get(name)
    if full:  # a deliberate re-read from the start; the bookmark is replaced by the new one page by page
        bookmark = None
        with store.transaction():
            forget_synced(store, name)
    # Orders and pages hold no reference cycles, so reference counting frees them; the cyclic
    # collector would only re-scan a connector's long-lived tables (a million ids) again and again,
    # which doubled the time of a large sync.
    with no_cycle_collection():
        try:
            for page in connector.fetch_orders(bookmark):
                with store.transaction():
                    changes = store.orders.upsert(page.orders, now, known_new=first_sync)
                    store.history.add_many(
                        Entry(c.order_id, now, "sync", "status",
                              f"status changed at the source: {_label(c.old)} → {_label(c.new)}",
                              {"from": c.old, "to": c.new}, "unpaid sync")
                        for c in changes
                    )
                    if page.snapshot is not None and page.complete:
                        _reconcile(store, name, page.snapshot, now, result)
                    store.bookmarks.set(name, page.bookmark, now)
                result.pages += 1
                result.orders += len(page.orders)
                result.changes += changes
                result.rejects += page.rejects
                if page.counts:
                    result.counts = dict(page.counts)
                if page.note:
                    result.notes.append(page.note)
                result.warnings += page.warnings
                if not page.complete:
                    result.complete = False
                if progress:
                    progress(result)
        except ConnectorError as exc:
            result.error = exc
    if result.error is None and result.complete:
        with store.transaction():
            mark_synced(store, name, now)
    if result.orders >= ANALYZE_AFTER:
        with store.transaction():
            store.orders.analyze()
    return result


def _reconcile(store: Store, name: str, snapshot: Snapshot, now: datetime, result: SyncResult) -> None:
    """Mark orders the source no longer holds; cancel those missing past the grace period."""
    if snapshot.ids is not None:
        stored = store.orders.count_source(name)
        missing, back = store.orders.absent(name, snapshot.ids)
        if len(missing) > 10 and len(missing) > MISSING_SHARE_LIMIT * stored:
            result.warnings.append(Phrase(
                N_("{missing} of {stored} stored orders are not in the source: nothing was marked missing "
                   "(is the export complete?); orders are marked missing only when a read misses at most half of them"),
                missing=len(missing), stored=stored))
            missing = []
        store.orders.set_missing(missing, now)
        store.orders.set_missing(back, None)
        result.missing, result.back = missing, back
        # History keeps English; the order card shows these notes in the reader's language.
        store.history.add_many(Entry(i, now, "sync", "missing", N_("no longer found at the source"), None,
                                     "unpaid sync") for i in missing)
        store.history.add_many(Entry(i, now, "sync", "missing", N_("found at the source again"), None,
                                     "unpaid sync") for i in back)
    actual = {s.value for s in ACTUAL}
    for order_id, status, since in store.orders.missing(name, now - snapshot.missing_after):
        if status not in actual:
            continue
        store.orders.set_status(order_id, Status.CANCELLED, None, MISSING_REASON, now)
        store.history.add(Entry(order_id, now, "sync", "status",
                                f"status set: {_label(status)} → {_label('cancelled')} ({MISSING_REASON} "
                                f"since {since:%Y-%m-%d %H:%M} UTC)",
                                {"from": status, "to": "cancelled", "reason": MISSING_REASON}, "unpaid sync"))
        result.cancelled.append(order_id)
