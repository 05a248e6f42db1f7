"""The one way unpaid changes an order's status: ledger claim, fresh read, push to the source, record.

The source is the truth: the store and the history change only after the source accepted the
change. The ledger holds the intent before the push and the result after it, so a crash in
between stays visible (``claimed``, then ``uncertain``) instead of being lost. Used by
``unpaid status``, ``unpaid dedupe --apply``, playbooks and the desk.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Mapping, Sequence

from unpaid.connector import Capability, Connector, ConnectorError, NotSupported
from unpaid.errors import ConflictError, InputError
from unpaid.model import Order, Status
from unpaid.store import Store
from unpaid.store.history import Entry
from unpaid.store.ledger import DONE, FAILED, SKIPPED, ledger_key

#: How long a claim may stay unanswered before it counts as ``uncertain``: longer than any push takes.
LEASE = timedelta(minutes=15)


@dataclass(frozen=True)
class Outcome:
    """What a status change did. ``changed`` is False for a no-op (already in that status)."""

    order_id: str
    old: Status
    new: Status
    changed: bool
    note: str | None = None
    ledger_key: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {"order_id": self.order_id, "from": self.old.value, "to": self.new.value, "changed": self.changed,
                "note": self.note}


def resolve_reason(status: Status, reason: str | None, text: str | None, allowed: Sequence[str]) -> str | None:
    """The reason to record: ``reason`` matched case-insensitively against ``allowed``, or free ``text``.

    A cancellation needs one; other statuses take one as an optional note.
    """
    if reason and text:
        raise InputError("give either --reason or --reason-text, not both", "drop one of them")
    choices = ", ".join(allowed)
    if reason:
        match = next((r for r in allowed if r.casefold() == reason.strip().casefold()), None)
        if match is None:
            raise InputError(f"--reason {reason!r} is not one of the cancel reasons in the config",
                             f"use one of: {choices} — or --reason-text TEXT for another")
        return match
    if text and text.strip():
        return text.strip()
    if status is Status.CANCELLED:
        raise InputError("cancelling an order needs a reason",
                         f"add --reason with one of: {choices} — or --reason-text TEXT")
    return None


def change_status(store: Store, connector: Connector, order: Order, to: Status, *, actor: str, now: datetime,
                  reason: str | None = None, kind: str = "status", playbook: str = "manual",
                  command: str | None = None, data: Mapping[str, Any] | None = None) -> Outcome:
    """Set ``order``'s status to ``to`` in its source, then in the store, history and ledger.

    Raises NotSupported before anything is written when the source cannot push statuses;
    ConnectorError (after recording ``failed`` in the ledger) when the source fails; ConflictError
    when the source's fresh copy differs from the store's (the store is then brought up to date).
    """
    if order.status is to:
        return Outcome(order.id, order.status, to, False, f"{order.id} is already {to.label}; nothing to do")
    if Capability.PUSH_STATUS not in connector.spec.capabilities:
        raise NotSupported(connector.name, Capability.PUSH_STATUS)
    step = f"status:{to.value}"
    repeat = sum(1 for e in store.ledger.for_order(order.id) if e.playbook == playbook and e.step == step)
    key = ledger_key(order.id, playbook, step, repeat)
    run_id = uuid.uuid4().hex
    if not store.ledger.claim(key, order_id=order.id, playbook=playbook, step=step, repeat=repeat,
                              action=f"status {to.value}", due_at=now, run_id=run_id, now=now,
                              lease_until=now + LEASE):
        raise ConflictError(f"{order.id}: another run is changing this status right now",
                            "wait a moment and check with `unpaid show`")
    try:
        if Capability.FETCH_ONE in connector.spec.capabilities:
            fresh = connector.fetch_order(order.native_id)
            if fresh.status is not order.status:
                return _changed_at_source(store, order, fresh, to, key, run_id, now)
        # Sources take a reason only with cancellations; other reasons are unpaid's own notes.
        connector.push_status(order.native_id, to, reason if to is Status.CANCELLED else None)
    except ConnectorError as exc:
        store.ledger.finish(key, run_id, FAILED, now, error=str(exc))
        raise
    summary = f"status: {order.status.label} → {to.label}" + (f" — {reason}" if reason else "")
    with store.transaction():
        store.orders.set_status(order.id, to, None, reason, now)
        store.history.add(Entry(order.id, now, actor, kind, summary,
                                {"from": order.status.value, "to": to.value, "reason": reason, **(data or {})},
                                command))
        store.ledger.finish(key, run_id, DONE, now, result={"from": order.status.value, "to": to.value})
    return Outcome(order.id, order.status, to, True, None, key)


def _changed_at_source(store: Store, order: Order, fresh: Order, to: Status, key: str, run_id: str,
                       now: datetime) -> Outcome:
    """The source moved on since the last sync: take its copy, and act only if it already is ``to``."""
    fresh = replace(fresh, source=order.source)
    with store.transaction():
        store.orders.upsert([fresh], now)
        store.history.add(Entry(order.id, now, "sync", "status",
                                f"status changed at the source: {order.status.label} → {fresh.status.label}",
                                {"from": order.status.value, "to": fresh.status.value}))
        store.ledger.finish(key, run_id, SKIPPED, now,
                            result={"reason": f"already {fresh.status.value} at the source"})
    if fresh.status is to:
        return Outcome(order.id, order.status, to, False, f"{order.id} was already {to.label} at the source; "
                       "the store is updated", key)
    raise ConflictError(f"{order.id} changed at the source since the last sync "
                        f"({order.status.label} → {fresh.status.label}); nothing was pushed",
                        f"check it with `unpaid show {order.id}` and run again if still wanted")
