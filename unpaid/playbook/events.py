"""Pull opens and clicks from the sources that report them, for ``opened``/``clicked`` conditions."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Iterable

from unpaid.clock import from_iso, to_iso
from unpaid.connector import Capability, ConnectorError
from unpaid.i18n import _
from unpaid.store.events import Events

if TYPE_CHECKING:
    from unpaid.playbook.model import Playbook
    from unpaid.playbook.runner import Runner


def sync_events(runner: "Runner", playbooks: Iterable["Playbook"], now: datetime) -> int:
    """Fetch new events of every source a condition depends on; a failing source is reported, not fatal."""
    config, store = runner.config, runner.store
    wanted = sorted({s for pb in playbooks if pb.events for s in (pb.segment.sources or tuple(config.sources))})
    added = 0
    for source in wanted:
        connector = runner._connector(source)
        if connector is None or Capability.EVENTS not in connector.spec.capabilities:
            continue
        mark = f"events:{source}"
        since = store.bookmarks.get(mark)
        try:
            rows, last = [], from_iso(since) if since else None
            for ev in connector.fetch_events(since):
                rows.append((f"{source}:{ev.order_native_id}", ev.kind, ev.at, dict(ev.data)))
                last = ev.at if last is None or ev.at > last else last
        except ConnectorError as exc:
            runner.progress(_("Warning: events of {source} not read: {error}").format(source=source, error=exc))
            continue
        with store.transaction():
            added += Events(store).add_many(rows)
            if last is not None:
                store.bookmarks.set(mark, to_iso(last), now)
    return added
