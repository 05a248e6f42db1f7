"""The append-only history of everything done to an order (triggers forbid UPDATE and DELETE)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Iterable, Mapping

from unpaid.clock import from_iso, to_iso
from unpaid.secrets import redact

if TYPE_CHECKING:
    from unpaid.store import Store


@dataclass(frozen=True)
class Entry:
    """One history event. ``actor`` is who did it: ``manager:anna``, ``playbook:reminders``, ``sync``, ``cli``."""

    order_id: str
    at: datetime
    actor: str
    kind: str
    summary: str
    data: Mapping[str, Any] | None = None
    command: str | None = None
    id: int | None = None

    @property
    def automatic(self) -> bool:
        """True for entries written by unattended runs (playbooks, sync) rather than a person."""
        return self.actor.startswith(("playbook:", "sync", "dedupe:auto"))

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "order_id": self.order_id,
            "at": to_iso(self.at),
            "actor": self.actor,
            "automatic": self.automatic,
            "kind": self.kind,
            "summary": self.summary,
            "command": self.command,
            "data": dict(self.data) if self.data else {},
        }


class History:
    """Append and read history entries; secrets are redacted before anything is written."""

    def __init__(self, store: "Store"):
        self.store = store

    def add(self, entry: Entry) -> None:
        self.add_many([entry])

    def add_many(self, entries: Iterable[Entry]) -> None:
        self.store.conn.executemany(
            "INSERT INTO history (order_id, at, actor, command, kind, summary, data) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                (e.order_id, to_iso(e.at), e.actor, e.command, e.kind, redact(e.summary),
                 redact(json.dumps(dict(e.data), ensure_ascii=False, default=str)) if e.data else None)
                for e in entries
            ),
        )

    def contact_counts(self, order_ids: Iterable[str]) -> dict[str, tuple[int, int]]:
        """Per order: (dials the desk recorded, messages sent to the customer by anyone) — what
        ``attempts`` counts (docs/cases.md), for the playbooks and the queue alike."""
        ids, out = list(order_ids), {}
        for start in range(0, len(ids), 500):
            chunk = ids[start : start + 500]
            out.update((r[0], (r[1] or 0, r[2] or 0)) for r in self.store.conn.execute(
                "SELECT order_id, SUM(kind = 'call'), SUM(kind = 'message') FROM history"
                f" WHERE order_id IN ({', '.join('?' * len(chunk))}) AND kind IN ('call', 'message')"
                " GROUP BY order_id", chunk))
        return out

    def for_order(self, order_id: str) -> list[Entry]:
        rows = self.store.conn.execute(
            "SELECT * FROM history WHERE order_id = ? ORDER BY id", (order_id,)
        ).fetchall()
        return [_entry(r) for r in rows]

    def query(self, *, kinds: Iterable[str] = (), since: datetime | None = None, until: datetime | None = None,
              actor_prefix: str | None = None) -> list[Entry]:
        """Entries filtered by kind, time window and actor prefix, oldest first."""
        clauses, args = [], []
        kinds = list(kinds)
        if kinds:
            clauses.append(f"kind IN ({', '.join('?' * len(kinds))})")
            args += kinds
        if since:
            clauses.append("at >= ?")
            args.append(to_iso(since))
        if until:
            clauses.append("at < ?")
            args.append(to_iso(until))
        if actor_prefix:
            clauses.append("actor LIKE ?")
            args.append(actor_prefix + "%")
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        return [_entry(r) for r in self.store.conn.execute(f"SELECT * FROM history{where} ORDER BY id", args)]


def _entry(row) -> Entry:
    return Entry(
        id=row["id"], order_id=row["order_id"], at=from_iso(row["at"]), actor=row["actor"],
        command=row["command"], kind=row["kind"], summary=row["summary"],
        data=json.loads(row["data"]) if row["data"] else None,
    )
