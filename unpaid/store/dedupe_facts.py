"""What dedupe must respect, read from the store: active playbook enrollments, live claims, payment promises."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING, Iterable

from unpaid.clock import from_iso
from unpaid.dedupe import Facts
from unpaid.store.enrollments import ACTIVE
from unpaid.store.tasks import Tasks

if TYPE_CHECKING:
    from unpaid.store import Store

_CHUNK = 500


def dedupe_facts(store: "Store", order_ids: Iterable[str], now: datetime) -> dict[str, Facts]:
    """order id -> :class:`Facts`, for the orders that have any."""
    ids = sorted(set(order_ids))
    enrolled: dict[str, tuple[str, datetime]] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        sql = (f"SELECT order_id, playbook, entered_at FROM enrollments WHERE state = ?"
               f" AND order_id IN ({', '.join('?' * len(chunk))}) ORDER BY entered_at, playbook")
        for order_id, playbook, entered_at in store.conn.execute(sql, [ACTIVE, *chunk]):
            enrolled.setdefault(order_id, (playbook, from_iso(entered_at)))
    wanted = set(ids)
    claims = {oid: c for oid, c in store.claims.held(now).items() if oid in wanted}
    promises = {}
    for oid, outcome in Tasks(store).last_outcomes(ids).items():
        promised_on = outcome.data.get("promised_on") if outcome.outcome == "promised" else None
        if promised_on:
            promises[oid] = date.fromisoformat(promised_on)
    out = {}
    for oid in enrolled.keys() | claims.keys() | promises.keys():
        playbook, entered_at = enrolled.get(oid, (None, None))
        claim = claims.get(oid)
        out[oid] = Facts(playbook, entered_at, claim.manager if claim else None, claim.lease_until if claim else None,
                         promises.get(oid))
    return out
