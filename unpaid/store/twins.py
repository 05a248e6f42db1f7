"""Paid twins: a paid order of the same customer for the same product, in any source."""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

if TYPE_CHECKING:
    from unpaid.store import Store

_CHUNK = 500


def paid_twins(store: "Store", pairs: Iterable[tuple[str, str | None, str]]) -> dict[str, str]:
    """For (order id, customer key, product key) rows, order id -> id of a paid twin, where one exists."""
    rows = [(oid, ck, pk) for oid, ck, pk in pairs if ck]
    keys = sorted({ck for _, ck, _ in rows})
    paid: dict[tuple[str, str | None], str] = {}
    for start in range(0, len(keys), _CHUNK):
        chunk = keys[start : start + _CHUNK]
        sql = (f"SELECT customer_key, product_key, id FROM orders WHERE status = 'paid'"
               f" AND customer_key IN ({', '.join('?' * len(chunk))}) ORDER BY paid_at, id")
        for ck, pk, oid in store.conn.execute(sql, chunk):
            paid.setdefault((ck, pk), oid)
    return {oid: paid[(ck, pk)] for oid, ck, pk in rows if (ck, pk) in paid and paid[(ck, pk)] != oid}
