"""What dedupe reads from the store: the groups of orders that may be twins (grouped in SQL), the orders it
cannot group, and what it must respect: active playbook enrollments, live claims, payment promises."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING, Iterable, Iterator

from unpaid.clock import from_iso
from unpaid.dedupe import Brief, Facts
from unpaid.store.enrollments import ACTIVE
from unpaid.store.tasks import Tasks

if TYPE_CHECKING:
    from unpaid.model import Order
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


def _actual() -> tuple[str, list[str]]:
    from unpaid.model import ACTUAL

    values = sorted(s.value for s in ACTUAL)
    return f"status IN ({', '.join('?' * len(values))})", values


def dedupe_groups(store: "Store", window: timedelta, batch: int = 20_000) -> Iterator[list[list[Brief]]]:
    """Orders grouped by customer and product key, in key order, in batches of about ``batch`` orders: each
    as a :class:`~unpaid.dedupe.Brief`, what the rules decide on (:func:`orders_by_id` reads whole orders).

    Only groups that may need a decision are read: more than one order and either two actual ones or one
    actual order and a payment at most ``window`` (and a second, for rounding) before it. The grouping runs
    in SQL over the ``orders_dedupe`` index, in its order (no sort of every row); each group comes whole.
    """
    from unpaid.model import Status

    actual, values = _actual()
    paid = Status.PAID.value
    days = (window + timedelta(seconds=1)).total_seconds() / 86400
    # One aggregate filtered by HAVING: a CTE of every group, filtered after, cost a third more. Only actual
    # and paid orders are aggregated (cancelled, false and refunded ones neither decide nor get a decision:
    # 40 % of the rows, skipped on the index), so an order that is not paid is an actual one. A group passes
    # with two actual orders, or one and a payment: it always has more than one order.
    na, first = "SUM(status != ?)", "MIN(CASE WHEN status != ? THEN created_at END)"
    last = "MAX(CASE WHEN status = ? THEN COALESCE(paid_at, created_at) END)"
    if store.postgres:  # HAVING cannot name the select's aliases there: the aggregates are written out
        having = (f" HAVING ({na} > 1 OR ({na} = 1 AND {last} IS NOT NULL AND ("
                  f" julianday({last}) IS NULL OR julianday({first}) IS NULL"
                  f" OR julianday({last}) >= julianday({first}) - ?)))")
        having_params = [paid] * 7 + [days]
    else:
        having = (" HAVING (na > 1 OR (na = 1 AND last_paid IS NOT NULL AND ("
                  " julianday(last_paid) IS NULL OR julianday(first_actual) IS NULL"
                  " OR julianday(last_paid) >= julianday(first_actual) - ?)))")
        having_params = [days]
    sql = (
        f"WITH g AS (SELECT customer_key AS c, product_key AS p, {na} AS na, {first} AS first_actual,"
        f" {last} AS last_paid"
        f" FROM orders WHERE customer_key IS NOT NULL AND product_key IS NOT NULL AND (status = ? OR {actual})"
        " GROUP BY customer_key, product_key" + having +
        " ORDER BY customer_key, product_key)"
        # The few columns the rules decide on: most of these orders get no decision, and are never read whole.
        " SELECT o.customer_key, o.product_key, o.id, o.status, o.created_at, o.paid_at"
        " FROM g CROSS JOIN orders o ON o.customer_key = g.c AND o.product_key = g.p"
        f" AND (o.status = ? OR o.{actual})"
    )
    if store.postgres:  # PostgreSQL promises no order without ORDER BY; SQLite's is the index's, asked for here
        sql += " ORDER BY o.customer_key, o.product_key, o.status, o.created_at, o.paid_at, o.id"
    params = [paid, paid, paid, paid, *values, *having_params, paid, *values]
    statuses = {s.value: s for s in Status}
    out: list[list[Brief]] = []
    size, key, group = 0, None, []
    cur = store.conn.cursor()
    cur.row_factory = None  # plain tuples
    cur.execute(sql, params)
    for customer, product, oid, status, created_at, paid_at in cur:
        k = (customer, product)
        if k != key:
            if key is not None and k < key:  # the index's order, which the planner's output order relies on
                raise RuntimeError(f"dedupe read the groups out of order: {k} after {key}")
            if group:
                out.append(group)
                size += len(group)
                if size >= batch:
                    yield out
                    out, size = [], 0
            key, group = k, []
        group.append(Brief(oid, statuses.get(status) or Status(status), from_iso(created_at), from_iso(paid_at)))
    if group:
        out.append(group)
    if out:
        yield out


def orders_by_id(store: "Store", ids: Iterable[str]) -> dict[str, "Order"]:
    """order id -> the stored order, for ``ids`` (the ones the store has)."""
    from unpaid.store.orders import from_row

    wanted = sorted(set(ids))  # in key order, the look-ups walk the primary key's pages once
    out = {}
    for start in range(0, len(wanted), _CHUNK):
        chunk = wanted[start : start + _CHUNK]
        for row in store.dicts(f"SELECT * FROM orders WHERE id IN ({', '.join('?' * len(chunk))})", chunk):
            out[row["id"]] = from_row(row)
    return out


def unkeyed_orders(store: "Store") -> Iterator["Order"]:
    """Actual orders without a customer key or a product key, by id."""
    from unpaid.store.orders import from_row

    actual, values = _actual()
    # Schema 12's partial index holds just these orders; SQLite, without statistics, would rather walk the
    # status index over every actual order (a quarter of a million at 1M) and sort them.
    hint = "" if store.postgres else " INDEXED BY orders_unkeyed"
    sql = (f"SELECT * FROM orders{hint} WHERE (customer_key IS NULL OR product_key IS NULL) AND {actual}"
           " ORDER BY id")
    for row in store.dicts(sql, values):
        yield from_row(row)
