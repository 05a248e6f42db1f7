"""The reads behind ``unpaid report``: facts about the orders that entered work, gathered in SQL.

The rules (what a touch is, which payment is credited) live in :mod:`unpaid.reports`; this module fetches,
and counts over every order here so a million orders never cross into Python: :meth:`ReportStore.tally`
applies the attribution rule in SQL (a test holds it to the Python one). Rows come back one per paid,
cancelled or called order, a small part of the whole.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Iterator

from unpaid.clock import from_iso, to_iso

if TYPE_CHECKING:
    from datetime import datetime, timedelta

    from unpaid.reports.scope import Scope
    from unpaid.store import Store

#: History kinds that reach the customer: a letter or mailing, an offer, a dial the desk recorded.
TOUCH_KINDS = ("message", "offer", "call")
_TOUCH = "h.kind IN ('message', 'offer', 'call')"
#: What a playbook step leaves in the history when it acts: a message, an offer, a call task.
_STEP_KINDS = "('message', 'offer', 'task')"


@dataclass(frozen=True)
class PaidFact:
    """A paid order of the cohort and the touches around its payment."""

    order_id: str
    currency: str
    total: int
    paid_at: "datetime"
    entered_at: "datetime"
    #: The last touch at or before the payment, or None.
    last_touch: "datetime | None"
    #: The source gave it a manager and nobody at the desk took it: the shop's own sales made it.
    by_manager: bool
    #: The highest discount percent offered at or before the payment (0: none).
    discount: int
    #: The highest offer (kind, percent) made at or before the payment, or None.
    offer: tuple[str, int] | None = None
    #: Who made the last touch (``playbook:NAME``, ``manager:NAME``) — with ``detail`` only.
    last_actor: str | None = None
    #: The last playbook step that acted before the payment, as (playbook, step) — with ``detail`` only.
    last_step: tuple[str, str] | None = None


def _held_out(data: str) -> str:
    """A history entry's ``holdout`` flag is JSON true: SQLite's json_extract gives 1 for it, PostgreSQL's
    (dialect.py) the text 'true'; both read as a boolean only through this test."""
    return f"CAST(json_extract({data}, '$.holdout') AS TEXT) IN ('1', 'true')"


class ReportStore:
    def __init__(self, store: "Store"):
        self.store = store

    def _cohort(self, scope: "Scope") -> tuple[str, list[Any]]:
        """SQL of the orders that entered work in ``scope``, as the CTE ``c`` with the order's columns."""
        where, args = _period("o", scope)
        enrolled = "SELECT 1 FROM enrollments e WHERE e.order_id = o.id"
        if scope.playbook is not None:
            enrolled += " AND e.playbook = ?"
            args.append(scope.playbook)
        # The orders table is read whole, in file order: a report's period usually spans most of the store,
        # where the creation-time index would cost a random read per order (0.5 s more on a million).
        sql = ("SELECT o.id, o.status, o.paid_at, o.total_minor, o.currency, o.manager, o.cancel_reason, o.source,"
               f" o.product_key FROM orders o NOT INDEXED WHERE {where} AND EXISTS ({enrolled})")
        return f"c AS ({sql})", args

    def any_orders(self) -> bool:
        return self.store.conn.execute("SELECT 1 FROM orders LIMIT 1").fetchone() is not None

    def tally(self, scope: "Scope", window: "timedelta") -> list[dict[str, Any]]:
        """Per currency, the cohort counted in one pass: ``entered``, ``touched`` (ever), ``paid``,
        ``cancelled``, ``false``; the paid orders by credit (``recovered``, ``paid_before_touch``,
        ``paid_outside_window``, ``created_by_manager``); of the recovered ones ``revenue`` (totals),
        ``discount`` (discount costs, rounded half up) and ``days`` (entry to payment, comma-separated).

        The credit is what :func:`unpaid.reports.attribution.credit` says of each payment — the same rule in
        SQL, so that a million orders are judged without crossing into Python (tests/reports check that the
        two agree).
        """
        from unpaid.reports.attribution import BEFORE_TOUCH, BY_MANAGER, OUTSIDE, RECOVERED

        cte, args = self._cohort(scope)
        entered, entered_args = "SELECT MIN(e.entered_at) FROM enrollments e WHERE e.order_id = x.id", []
        if scope.playbook is not None:
            entered += " AND e.playbook = ?"
            entered_args.append(scope.playbook)
        # Each order's figures once, in a subquery that LIMIT keeps from being merged into the sums: merged,
        # SQLite would run a correlated subquery again for every sum that names its column.
        rows = ("SELECT c.id, c.currency, c.total_minor, c.paid_at, c.status,"
                f" EXISTS (SELECT 1 FROM history h WHERE h.order_id = c.id AND {_TOUCH}) AS touched,"
                " CASE WHEN c.status = 'paid' AND c.paid_at IS NOT NULL THEN CASE WHEN c.manager IS NOT NULL"
                " AND NOT EXISTS (SELECT 1 FROM history h WHERE h.order_id = c.id AND h.kind = 'claim') THEN ?"
                " ELSE coalesce((SELECT CASE WHEN round((julianday(c.paid_at) - julianday(MAX(h.at))) * 86400) <= ?"
                f" THEN ? ELSE ? END FROM history h WHERE h.order_id = c.id AND {_TOUCH} AND h.at <= c.paid_at"
                " HAVING MAX(h.at) IS NOT NULL), ?) END END AS credit FROM c LIMIT -1")
        # In whole seconds, as the store keeps times: a touch exactly one window before the payment counts.
        row_args = [BY_MANAGER, round(window.total_seconds()), RECOVERED, OUTSIDE, BEFORE_TOUCH]
        recovered = "x.credit = ?"
        figures = ("COUNT(*) AS entered, SUM(x.touched) AS touched, SUM(x.credit IS NOT NULL) AS paid,"
                   " SUM(x.status = 'cancelled') AS cancelled, SUM(x.status = 'false') AS false,"
                   " SUM(x.credit = ?) AS recovered, SUM(x.credit = ?) AS paid_before_touch,"
                   " SUM(x.credit = ?) AS paid_outside_window, SUM(x.credit = ?) AS created_by_manager,"
                   f" SUM(CASE WHEN {recovered} THEN x.total_minor END) AS revenue,"
                   f" SUM(CASE WHEN {recovered} THEN (x.total_minor * coalesce((SELECT MAX(f.percent) FROM offers f"
                   " WHERE f.order_id = x.id AND f.kind = 'discount' AND f.created_at <= x.paid_at), 0) + 50) / 100"
                   " END) AS discount,"
                   f" group_concat(CASE WHEN {recovered} THEN round(julianday(x.paid_at) - julianday(({entered})), 6)"
                   " END) AS days")
        figure_args = [RECOVERED, BEFORE_TOUCH, OUTSIDE, BY_MANAGER, RECOVERED, RECOVERED, RECOVERED, *entered_args]
        # Most stores hold one currency: then no GROUP BY, whose sort of every order costs as much as the
        # pass itself; a second currency shows as MIN != MAX, and only then are the orders grouped.
        [one] = self.store.dicts(f"WITH {cte} SELECT MIN(x.currency) AS currency, MAX(x.currency) AS last,"
                                 f" {figures} FROM ({rows}) x", [*args, *figure_args, *row_args])
        if not one["entered"]:
            return []
        if one.pop("last") == one["currency"]:
            return [one]
        return list(self.store.dicts(f"WITH {cte} SELECT x.currency AS currency, {figures} FROM ({rows}) x"
                                     " GROUP BY x.currency ORDER BY x.currency", [*args, *figure_args, *row_args]))

    def created(self, scope: "Scope") -> int:
        """Orders created in the scope's period (entered work or not; --playbook does not apply)."""
        where, args = _period("o", scope)
        return self.store.conn.execute(f"SELECT COUNT(*) FROM orders o WHERE {where}", args).fetchone()[0]

    def promised(self, scope: "Scope") -> int:
        """Cohort orders with at least one ``promised`` call outcome."""
        cte, args = self._cohort(scope)
        sql = (f"WITH {cte} SELECT COUNT(*) FROM c WHERE EXISTS (SELECT 1 FROM history h WHERE h.order_id = c.id"
               " AND h.kind = 'call' AND json_extract(h.data, '$.outcome') = 'promised')")
        return self.store.conn.execute(sql, args).fetchone()[0]

    def paid(self, scope: "Scope", detail: bool = False) -> Iterator[PaidFact]:
        """The cohort's paid orders with their last touch at or before the payment (and, with ``detail``, who
        made it, the last playbook step and the highest offer before it)."""
        cte, args = self._cohort(scope)
        extra = ""
        if detail:
            extra = (", (SELECT h.actor FROM history h WHERE h.order_id = c.id AND " + _TOUCH +
                     " AND h.at <= c.paid_at ORDER BY h.at DESC, h.id DESC LIMIT 1) AS last_actor,"
                     " (SELECT h.actor || char(31) || json_extract(h.data, '$.step') FROM history h"
                     f" WHERE h.order_id = c.id AND h.kind IN {_STEP_KINDS} AND h.actor LIKE 'playbook:%'"
                     " AND h.at <= c.paid_at ORDER BY h.at DESC, h.id DESC LIMIT 1) AS last_step,"
                     " (SELECT f.kind || char(31) || f.percent FROM offers f WHERE f.order_id = c.id"
                     " AND f.created_at <= c.paid_at ORDER BY f.percent DESC, f.id DESC LIMIT 1) AS offer")
        entered = "SELECT MIN(e.entered_at) FROM enrollments e WHERE e.order_id = c.id"
        if scope.playbook is not None:
            entered += " AND e.playbook = ?"
            args.append(scope.playbook)
        sql = (f"WITH {cte} SELECT c.id, c.currency, c.total_minor, c.paid_at, ({entered}) AS entered_at,"
               f" (SELECT MAX(h.at) FROM history h WHERE h.order_id = c.id AND {_TOUCH} AND h.at <= c.paid_at)"
               " AS last_touch,"
               " (c.manager IS NOT NULL AND NOT EXISTS (SELECT 1 FROM history h WHERE h.order_id = c.id"
               " AND h.kind = 'claim')) AS by_manager,"
               " (SELECT MAX(f.percent) FROM offers f WHERE f.order_id = c.id AND f.kind = 'discount'"
               f" AND f.created_at <= c.paid_at) AS discount{extra}"
               " FROM c WHERE c.status = 'paid' AND c.paid_at IS NOT NULL")
        for r in self.store.conn.execute(sql, args):
            offer = last_step = None
            if detail and r["offer"]:
                kind, _, pct = r["offer"].partition("\x1f")
                offer = (kind, int(pct))
            if detail and r["last_step"]:
                actor, _, step = r["last_step"].partition("\x1f")
                last_step = (actor.partition(":")[2], step)
            yield PaidFact(r["id"], r["currency"], r["total_minor"], from_iso(r["paid_at"]), from_iso(r["entered_at"]),
                           from_iso(r["last_touch"]), bool(r["by_manager"]),
                           r["discount"] or 0, offer, r["last_actor"] if detail else None, last_step)

    def cancellations(self, scope: "Scope") -> list[dict[str, Any]]:
        """The cohort's cancelled orders counted by reason, product, source, manager and last playbook step."""
        cte, args = self._cohort(scope)
        sql = (f"WITH {cte}, x AS (SELECT c.cancel_reason AS reason, c.product_key AS product, c.source AS source,"
               " c.manager AS manager, (SELECT json_extract(h.data, '$.step') FROM history h"
               f" WHERE h.order_id = c.id AND h.kind IN {_STEP_KINDS} AND h.actor LIKE 'playbook:%'"
               " ORDER BY h.id DESC LIMIT 1) AS step FROM c WHERE c.status = 'cancelled')"
               " SELECT reason, product, source, manager, step, COUNT(*) AS n FROM x"
               " GROUP BY reason, product, source, manager, step")
        return list(self.store.dicts(sql, args))

    def calls(self, scope: "Scope") -> list[dict[str, Any]]:
        """Every dial the desk recorded on the cohort's orders, oldest first."""
        cte, args = self._cohort(scope)
        sql = (f"WITH {cte} SELECT h.order_id, h.actor, h.at, json_extract(h.data, '$.outcome') AS outcome,"
               " json_extract(h.data, '$.promised_on') AS promised_on, c.currency, c.status, c.paid_at"
               " FROM c JOIN history h ON h.order_id = c.id WHERE h.kind = 'call' ORDER BY h.at, h.id")
        return list(self.store.dicts(sql, args))

    def step_actions(self, scope: "Scope") -> list[dict[str, Any]]:
        """What the playbooks did on the cohort's orders, one row per action (a message, an offer, a call task),
        with whether the order has an open event after it (null when the store holds no open events)."""
        cte, args = self._cohort(scope)
        opens = self.store.conn.execute("SELECT 1 FROM events WHERE kind = 'open' LIMIT 1").fetchone() is not None
        opened = ("EXISTS (SELECT 1 FROM events v WHERE v.order_id = h.order_id AND v.kind = 'open'"
                  " AND v.at >= h.at)" if opens else "NULL")
        sql = (f"WITH {cte} SELECT substr(h.actor, 10) AS playbook, json_extract(h.data, '$.step') AS step,"
               f" h.kind, c.currency, {opened} AS opened FROM c JOIN history h ON h.order_id = c.id"
               f" WHERE h.kind IN {_STEP_KINDS} AND h.actor LIKE 'playbook:%'")
        return list(self.store.dicts(sql, args))

    def offers_made(self, scope: "Scope") -> list[dict[str, Any]]:
        """Every offer made on the cohort's orders (by playbooks and managers), with the open evidence."""
        cte, args = self._cohort(scope)
        opens = self.store.conn.execute("SELECT 1 FROM events WHERE kind = 'open' LIMIT 1").fetchone() is not None
        opened = ("EXISTS (SELECT 1 FROM events v WHERE v.order_id = f.order_id AND v.kind = 'open'"
                  " AND v.at >= f.created_at)" if opens else "NULL")
        sql = (f"WITH {cte} SELECT f.kind, f.percent, c.currency, {opened} AS opened"
               " FROM c JOIN offers f ON f.order_id = c.id")
        return list(self.store.dicts(sql, args))

    def holdout(self, scope: "Scope") -> list[dict[str, Any]]:
        """Per playbook that held orders out: entered and paid-after-entry, for the held-out and the worked."""
        where, args = _period("o", scope)
        if scope.playbook is not None:
            where += " AND e.playbook = ?"
            args.append(scope.playbook)
        held = ("EXISTS (SELECT 1 FROM history h WHERE h.order_id = e.order_id AND h.kind = 'playbook'"
                f" AND h.actor = 'playbook:' || e.playbook AND {_held_out('h.data')})")
        sql = (f"SELECT e.playbook, {held} AS held_out, COUNT(*) AS entered,"
               " SUM(o.status = 'paid' AND o.paid_at IS NOT NULL AND o.paid_at >= e.entered_at) AS paid"
               " FROM enrollments e JOIN orders o ON o.id = e.order_id"
               f" WHERE {where} AND e.playbook IN (SELECT DISTINCT substr(actor, 10) FROM history"
               f" WHERE kind = 'playbook' AND {_held_out('data')})"
               " GROUP BY e.playbook, held_out ORDER BY e.playbook")
        return list(self.store.dicts(sql, args))


def _period(alias: str, scope: "Scope") -> tuple[str, list[Any]]:
    """The WHERE clause (and its arguments) of orders ``alias`` created in the period, of the source and product."""
    where, args = [f"{alias}.created_at >= ?", f"{alias}.created_at < ?"], [to_iso(scope.since), to_iso(scope.until)]
    for column, value in (("source", scope.source), ("product_key", scope.product)):
        if value is not None:
            where.append(f"{alias}.{column} = ?")
            args.append(value)
    return " AND ".join(where), args
