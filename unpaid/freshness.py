"""Whether the store's copy of an order is fresh enough to act on, and the cheapest way to refresh it.

A copy is as fresh as the later of its own write (``orders.synced_at``) and the start of the last
complete sync of its source, which read every change up to then. A connector sets ``fresh_within``
(seconds, default 0: always re-read): a copy younger than that is acted on without a fresh read.
A connector that sets ``refresh_by_sync`` (one order costs as much as every change, as with an
export API) is refreshed by one incremental sync for all stale copies instead of a read per order;
when its ``wait_for_sync()`` says another command was syncing it, that sync's result is used instead.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Sequence

from unpaid.clock import from_iso, to_iso
from unpaid.i18n import _

if TYPE_CHECKING:
    from unpaid.connector import Connector, ConnectorError
    from unpaid.model import Order
    from unpaid.store import Store

#: source_state scope of the core's own marks: key = source name, value = when its last complete sync started.
SCOPE = "unpaid:synced"


def mark_synced(store: "Store", source: str, at: datetime) -> None:
    """Record that a sync of ``source`` that started at ``at`` read everything; inside a transaction."""
    store.conn.execute(
        "INSERT INTO source_state (scope, key, value, updated_at) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (SCOPE, source, json.dumps(to_iso(at)), to_iso(at)))


def forget_synced(store: "Store", source: str) -> None:
    """A full re-read was asked for: nothing is vouched for until it completes."""
    store.conn.execute("DELETE FROM source_state WHERE scope = ? AND key = ?", (SCOPE, source))


def synced_at(store: "Store", source: str) -> datetime | None:
    row = store.conn.execute("SELECT value FROM source_state WHERE scope = ? AND key = ?", (SCOPE, source)).fetchone()
    return from_iso(json.loads(row[0])) if row else None


def stale(store: "Store", connector: "Connector", orders: Sequence["Order"], now: datetime,
          since: datetime | None = None) -> list["Order"]:
    """The orders whose stored copy is older than the connector's ``fresh_within`` (or than ``since``,
    when that is earlier: a run counts what it read itself as fresh until it ends). Every order, for a
    connector without ``fresh_within``."""
    window = float(getattr(connector, "fresh_within", 0) or 0)
    if window <= 0:
        return list(orders)
    cutoff = now - timedelta(seconds=window)
    if since is not None:
        cutoff = min(cutoff, since)
    vouched = synced_at(store, connector.name)
    if vouched is not None and vouched >= cutoff:
        return []
    stamps = dict(store.conn.execute(
        f"SELECT id, synced_at FROM orders WHERE id IN ({','.join('?' * len(orders))})",
        [o.id for o in orders]).fetchall()) if orders else {}
    return [o for o in orders if not (stamps.get(o.id) and from_iso(stamps[o.id]) >= cutoff)]


def refresh(store: "Store", connector: "Connector", orders: Sequence["Order"], now: datetime
            ) -> tuple[dict[str, "Order | ConnectorError"], bool]:
    """Fresh copies of ``orders`` by native id (or the error for one), and whether they are already stored.

    ``refresh_by_sync`` connectors are synced once (their copies are then the store's); the others are
    asked with :meth:`Connector.fetch_many` and the caller stores what comes back.
    """
    if not orders:
        return {}, False
    if not getattr(connector, "refresh_by_sync", False):
        return connector.fetch_many([o.native_id for o in orders]), False
    from unpaid.connector import Temporary
    from unpaid.sync import sync_source

    waited = getattr(connector, "wait_for_sync", None)
    if waited is not None and waited() and not stale(store, connector, orders, now):
        # Another command of ours was syncing the source: what it read serves, at no cost.
        return {o.native_id: store.orders.get(o.id) or o for o in orders}, True
    result = sync_source(store, connector, now)
    failure = result.error or (None if result.complete else Temporary(
        connector.name, _("the sync that re-reads orders before acting stopped early"),
        _("run `unpaid sync {source}` and try again").format(source=connector.name)))
    found: dict[str, Order | ConnectorError] = {}
    for order in orders:
        copy = store.orders.get(order.id) if failure is None else None
        found[order.native_id] = copy if copy is not None else failure or Temporary(
            connector.name, _("{order} was not found in the store after the sync").format(order=order.id),
            _("run `unpaid sync` and try again"))
    return found, True
