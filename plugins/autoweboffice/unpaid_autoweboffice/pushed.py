"""Statuses AutoWebOffice cannot hold, remembered so that the next read does not undo them.

AutoWebOffice has no "new" and no "partly paid": pushing them writes code 1 (Создан) and 3 (В
обработке), which read back as payment_waiting and in_work — and the next re-check would report a
change nobody made. The connector remembers in its state (:mod:`unpaid.source_state`) the status it
pushed and the code it wrote; while the invoice still holds that code, a read gives the pushed
status back. Any other code (a payment, a refusal, an edit in AutoWebOffice) ends the memory.
"""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING, Mapping

from unpaid.model import Order, Status

if TYPE_CHECKING:
    from unpaid.source_state import State

PREFIX = "pushed:"
#: Canonical statuses written as a code that reads back as another status.
AMBIGUOUS = frozenset({Status.NEW, Status.PART_PAID})


def remember(state: "State", native_id: str, status: Status, code: str) -> None:
    """Note a pushed status (forget an older note when the new status reads back as itself)."""
    if status in AMBIGUOUS:
        state.put(PREFIX + native_id, {"status": status.value, "code": code})
    elif state.get(PREFIX + native_id) is not None:
        state.delete(PREFIX + native_id)


def recall(state: "State", orders: list[Order], codes: Mapping[str, Status]) -> list[Order]:
    """The orders, each with the status pushed to it while its code is still the one written."""
    if not orders:
        return orders
    notes = state.get_many([PREFIX + o.native_id for o in orders])
    if not notes:
        return orders
    out = []
    for order in orders:
        note = notes.get(PREFIX + order.native_id)
        if note and order.native_status == note.get("code") and order.status is codes.get(note.get("code")):
            order = replace(order, status=Status(note["status"]), paid_at=None, paid=None)
        elif note:
            state.delete(PREFIX + order.native_id)  # the invoice moved on at the source
        out.append(order)
    return out
