"""Every desk action lands twice: in the order's history (who, when, what) and in the action ledger.

Plain notes (a call outcome, a claim, a postponement) are one final ledger row written with the history
entry in one transaction. Actions with an effect outside unpaid (a comment pushed to the source, a
message) are claimed in the ledger first and finished after the effect, so a crash stays visible.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, Callable, Mapping

from unpaid.store.history import Entry
from unpaid.store.ledger import DONE, FAILED, UNCERTAIN, ledger_key

if TYPE_CHECKING:
    from unpaid.store import Store

#: The ledger's ``playbook`` column for everything done at the desk.
DESK = "desk"
_LEASE = timedelta(minutes=15)


def _next_repeat(store: "Store", order_id: str, step: str) -> int:
    row = store.conn.execute("SELECT COUNT(*) FROM ledger WHERE order_id = ? AND playbook = ? AND step = ?",
                             (order_id, DESK, step)).fetchone()
    return row[0]


def note(store: "Store", order_id: str, *, actor: str, kind: str, summary: str, now: datetime,
         data: Mapping[str, Any] | None = None, command: str | None = None) -> str:
    """Write a history entry and its ``done`` ledger row in one transaction; return the ledger key."""
    payload = {"manager": actor.partition(":")[2], **(data or {})}
    with store.transaction():
        repeat = _next_repeat(store, order_id, kind)
        key = ledger_key(order_id, DESK, kind, repeat)
        store.ledger.record(key, order_id=order_id, playbook=DESK, step=kind, repeat=repeat, action=summary,
                            state=DONE, now=now, due_at=now, result=payload)
        store.history.add(Entry(order_id, now, actor, kind, summary, payload, command))
    return key


def claim_effect(store: "Store", order_id: str, step: str, action: str, now: datetime,
                 before: Callable[[str], None] | None = None) -> tuple[str, str]:
    """Claim a new ledger row for an outside effect; ``before(key)`` runs in the same transaction.

    Returns (key, run id) to pass to :func:`finish_effect`.
    """
    run_id = uuid.uuid4().hex
    with store.transaction():
        repeat = _next_repeat(store, order_id, step)
        key = ledger_key(order_id, DESK, step, repeat)
        store.ledger.claim(key, order_id=order_id, playbook=DESK, step=step, repeat=repeat, action=action,
                           due_at=now, run_id=run_id, now=now, lease_until=now + _LEASE)
        if before is not None:
            before(key)
    return key, run_id


def finish_effect(store: "Store", key: str, run_id: str, now: datetime, *, error: str | None = None,
                  result: Mapping[str, Any] | None = None, uncertain: bool = False) -> None:
    """Record the effect done, failed (``error``) or, ``uncertain``, of unknown outcome: held for review."""
    state = UNCERTAIN if uncertain else FAILED if error else DONE
    store.ledger.finish(key, run_id, state, now, error=error, result=result)
