"""Paid twins: a paid order of the same customer for the same purchase, in any source.

A paid order is a twin of another order of the same customer and product when it was paid (or created, when
the source gives no payment time) at most ``within`` before that order was created, or any time after it;
an older payment is an earlier purchase (last month's club fee). Refunded orders are never twins.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Iterable

from unpaid.clock import from_iso, to_iso
from unpaid.config import DEFAULT_SAME_PRODUCT_WITHIN

if TYPE_CHECKING:
    from unpaid.store import Store

_CHUNK = 500
#: (order id, customer key, product key) or (order id, customer key, product key, created_at).
Row = tuple


def paid_twins(store: "Store", rows: Iterable[Row],
               within: timedelta = DEFAULT_SAME_PRODUCT_WITHIN) -> dict[str, str]:
    """For (order id, customer key, product key[, created_at]) rows, order id -> id of its paid twin, where one
    exists (the earliest paid of them).

    Without ``created_at`` the order's creation time is read from the store (for an order the store does
    not have, every payment counts, as before windows existed).
    """
    given = [(r[0], r[1], r[2], r[3] if len(r) > 3 else None) for r in rows if r[1]]
    missing = [oid for oid, _, _, created in given if created is None]
    created_at = _created(store, missing)
    keys = sorted({ck for _, ck, _, _ in given})
    paid: dict[tuple[str, str | None], list[tuple[str, str]]] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        sql = (f"SELECT customer_key, product_key, id, COALESCE(paid_at, created_at) AS moment FROM orders"
               f" WHERE status = 'paid' AND customer_key IN ({', '.join('?' * len(chunk))}) ORDER BY moment, id")
        for ck, pk, oid, moment in store.conn.execute(sql, chunk):
            paid.setdefault((ck, pk), []).append((oid, moment))
    out = {}
    for oid, ck, pk, created in given:
        if (ck, pk) not in paid:
            continue
        created = created or created_at.get(oid)
        # The store's ISO texts (UTC, fixed width) compare as the times they stand for.
        since = to_iso(created - within) if created is not None else ""
        twin = next((p for p, moment in paid.get((ck, pk), ()) if p != oid and moment >= since), None)
        if twin is not None:
            out[oid] = twin
    return out


def _created(store: "Store", ids: list[str]) -> dict[str, datetime]:
    out: dict[str, datetime] = {}
    for start in range(0, len(ids), _CHUNK):
        chunk = ids[start : start + _CHUNK]
        sql = f"SELECT id, created_at FROM orders WHERE id IN ({', '.join('?' * len(chunk))})"
        out.update((oid, from_iso(at)) for oid, at in store.conn.execute(sql, chunk))
    return out
