"""Dedupe planning: which actual orders to mark False because of a paid twin or a duplicate.

Pure: orders and what the store knows about them in, decisions out — no store, no connector, no clock.
Orders are grouped by customer key (normalized e-mail, else phone) and product key across all sources;
orders of a group created within ``window`` (``same_product_within``) of each other are one purchase:

- an actual order whose customer paid for the product within ``window`` before it was created, or any time
  after, has a *paid twin* -> False (a refunded order is never a paid twin; an older payment is an earlier
  purchase, e.g. last month's club fee);
- of several actual orders of one purchase one is kept — the one a playbook holds (the earliest entered),
  else a partly paid one, else the newest — and the others are False;
- partly paid orders are never marked False (money was received: a person must look at them);
- an order a manager holds or the customer promised to pay (see :class:`Facts`) is skipped, or marked False
  with a warning when ``force`` is given;
- actual orders without a customer key or a product key are left alone, with the reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone, tzinfo
from operator import attrgetter
from typing import Callable, Iterable, Iterator, Mapping

from unpaid.config import DEFAULT_SAME_PRODUCT_WITHIN
from unpaid.i18n import N_, Phrase
from unpaid.model import Order, Status

FALSE, KEEP, SKIP = "false", "keep", "skip"


@dataclass(frozen=True)
class Facts:
    """What the store knows of one order that dedupe must respect.

    ``playbook``/``entered_at``: its earliest active playbook enrollment; ``manager``/``held_until``: a live
    claim; ``promised_on``: the promised day when the order's latest call outcome is ``promised``.
    """

    playbook: str | None = None
    entered_at: datetime | None = None
    manager: str | None = None
    held_until: datetime | None = None
    promised_on: date | None = None


@dataclass(frozen=True)
class Decision:
    """What dedupe does with one order, and why; ``twin`` is the order that justifies it.

    ``warning`` is set when the order is marked False only because ``force`` overrode a hold on it.
    """

    order: Order
    action: str  # FALSE, KEEP or SKIP
    reason: str
    twin: str | None = None
    warning: str | None = None

    @property
    def order_id(self) -> str:
        return self.order.id


@dataclass(frozen=True)
class _Context:
    window: timedelta
    facts: Mapping[str, Facts]
    today: date | None
    force: bool
    zone: tzinfo

    def local(self, moment: datetime) -> str:
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def hold(self, order: Order) -> str | None:
        """Why ``order`` must not be marked False without --force, or None."""
        facts = self.facts.get(order.id)
        if facts is None:
            return None
        if facts.manager is not None and facts.held_until is not None:
            return Phrase(N_("a manager ({manager}) holds it until {moment}"), manager=facts.manager,
                          moment=self.local(facts.held_until))
        if facts.promised_on is not None:
            if self.today is None or facts.promised_on >= self.today:
                return Phrase(N_("promised to pay on {day}"), day=facts.promised_on.isoformat())
            if order.status is Status.PAYMENT_WAITING:
                return Phrase(N_("waiting for payment since a promise to pay on {day}"),
                              day=facts.promised_on.isoformat())
        return None


class Brief:
    """The few columns of an order the rules decide on (id, status, creation and payment times): what
    :func:`plan_stream` reads of the many orders it looks at, most of which get no decision."""

    __slots__ = ("id", "status", "created_at", "paid_at", "is_actual")

    def __init__(self, id: str, status: Status, created_at: datetime, paid_at: datetime | None = None):
        self.id, self.status, self.created_at, self.paid_at = id, status, created_at, paid_at
        self.is_actual = status.is_actual

    def __repr__(self) -> str:
        return f"Brief({self.id!r}, {self.status!r})"


# Creation time, then id: ties between orders created in the same second break the same way every run.
_AGE = attrgetter("created_at", "id")


def _newest(orders: list[Order]) -> Order:
    return orders[0] if len(orders) == 1 else max(orders, key=_AGE)


def paid_moment(order: Order) -> datetime:
    """When the order was paid: ``paid_at``, else its creation when the source does not say."""
    return order.paid_at or order.created_at


def is_paid_twin(order: Order, paid: Order, window: timedelta = DEFAULT_SAME_PRODUCT_WITHIN) -> bool:
    """True when ``paid`` (same customer and product) pays for the purchase ``order`` belongs to.

    That is: ``paid`` is paid (refunded is not) and was paid no more than ``window`` before ``order`` was
    created, or any time after.
    """
    return paid.status is Status.PAID and _pays_for(paid_moment(paid), order, window)


def _pays_for(moment: datetime, order: Order, window: timedelta) -> bool:
    # A payment at ``moment`` pays for ``order``'s purchase: made at most ``window`` before it, or after.
    return moment >= order.created_at - window


def related_ids(orders: Iterable[Order]) -> set[str]:
    """Ids of actual orders that share customer and product with another order: the ones :func:`plan`
    may need :class:`Facts` for."""
    groups: dict[tuple[str, str], list[Order]] = {}
    for order in orders:
        if order.customer.key is not None and order.product_key is not None:
            groups.setdefault((order.customer.key, order.product_key), []).append(order)
    return {o.id for group in groups.values() if len({g.id for g in group}) > 1 for o in group if o.is_actual}


def plan(orders: Iterable[Order], facts: Mapping[str, Facts] | None = None, *,
         window: timedelta = DEFAULT_SAME_PRODUCT_WITHIN, today: date | None = None, force: bool = False,
         zone: tzinfo = timezone.utc) -> list[Decision]:
    """Decide for every actual order that is a twin, a duplicate or unkeyed; order is deterministic.

    ``facts``: order id -> :class:`Facts`; ``today`` (local) tells a live promise from a past one (None:
    every promise counts); ``zone`` renders times in reasons. Orders that need no decision (the only actual
    order of its purchase) are absent. Running the plan again after its False decisions were applied (with
    the same facts) proposes no new False.
    """
    ctx = _Context(window, facts or {}, today, force, zone)
    groups: dict[tuple[str, str], dict[str, Order]] = {}
    unkeyed: list[Decision] = []
    for order in orders:
        customer, product = order.customer.key, order.product_key
        if customer is None or product is None:
            if order.is_actual:
                unkeyed.append(unkeyed_decision(order))
            continue
        groups.setdefault((customer, product), {})[order.id] = order
    decisions: list[Decision] = []
    for key in sorted(groups):
        decisions += _decide(list(groups[key].values()), ctx)
    unique = {d.order_id: d for d in unkeyed}
    return decisions + [unique[k] for k in sorted(unique)]


def unkeyed_decision(order: Order) -> Decision:
    """An actual order without a customer key or a product key: left alone, with the reason."""
    if order.customer.key is None:
        return Decision(order, SKIP, Phrase(N_("no customer e-mail or phone: cannot look for twins")))
    return Decision(order, SKIP, Phrase(N_("no product: cannot look for twins")))


def plan_stream(batches: Iterable[list[list[Order | Brief]]], facts_of: Callable[[set[str]], Mapping[str, Facts]],
                unkeyed: Iterable[Order], *, window: timedelta = DEFAULT_SAME_PRODUCT_WITHIN,
                today: date | None = None, force: bool = False, zone: tzinfo = timezone.utc,
                orders_of: Callable[[list[str]], Mapping[str, Order]] | None = None) -> Iterator[Decision]:
    """:func:`plan`'s decisions, in its order, from orders already grouped: a batch at a time.

    ``batches`` yield groups (one customer and product each, in key order; groups that cannot need a
    decision may be left out), ``facts_of(ids)`` gives the facts of a batch's related orders, ``unkeyed``
    the actual orders without a customer or product key, by id. Memory holds one batch, not every order.
    The groups may hold :class:`Brief` orders: then ``orders_of(ids)`` gives the whole orders of a batch's
    decisions (order id -> order), which the decisions carry; the others are never built.
    """
    for groups in batches:
        # The orders related_ids would name: the actual ones of groups with more than one order.
        facts = facts_of({o.id for group in groups if len(group) > 1 for o in group if o.is_actual})
        ctx = _Context(window, facts, today, force, zone)
        decisions = [d for group in groups for d in _decide(group, ctx)]
        if orders_of is not None and decisions:
            whole = orders_of([d.order.id for d in decisions])
            decisions = [Decision(whole[d.order.id], d.action, d.reason, d.twin, d.warning) for d in decisions]
        yield from decisions
    for order in unkeyed:
        yield unkeyed_decision(order)


def _decide(group: list[Order], ctx: _Context) -> list[Decision]:
    actual = sorted((o for o in group if o.is_actual), key=_AGE, reverse=True)
    # is_paid_twin, with each payment's moment taken once per group
    paid = [(paid_moment(o), o) for o in group if o.status is Status.PAID]
    window = ctx.window
    out: list[Decision] = []
    rest = []
    for o in actual:
        twins = [p for moment, p in paid if _pays_for(moment, o, window)]
        if not twins:
            rest.append(o)
            continue
        twin = _newest(twins)
        if o.status is Status.PART_PAID:
            out.append(Decision(o, SKIP, Phrase(N_("partly paid, with paid twin {twin}: check by hand"), twin=twin.id),
                                twin.id))
        else:
            out.append(_false(o, Phrase(N_("paid twin {twin}"), twin=twin.id), twin.id, ctx))
    while len(rest) > 1:  # an order alone in its purchase keeps itself: no decision
        keep, why = _keeper(rest, ctx)
        same = [o for o in rest if abs(o.created_at - keep.created_at) <= ctx.window]
        taken = {o.id for o in same}
        rest = [o for o in rest if o.id not in taken]
        if len(same) < 2:
            continue
        out.append(Decision(keep, KEEP, Phrase(N_("{why} of {n} actual orders"), why=why[0], n=len(same))))
        for o in same:
            if o is keep:
                continue
            if o.status is Status.PART_PAID:
                out.append(Decision(o, SKIP, Phrase(N_("partly paid, duplicate of {order}: check by hand"),
                                                    order=keep.id), keep.id))
            else:
                out.append(_false(o, Phrase(N_("duplicate of {order} ({why})"), order=keep.id, why=why[1]), keep.id,
                                  ctx))
    if len(out) < 2:
        return out
    rank = {o.id: i for i, o in enumerate(actual)}  # newest first, as the orders were listed before
    return sorted(out, key=lambda d: rank[d.order.id])


def _keeper(orders: list[Order], ctx: _Context) -> tuple[Order, tuple[Phrase, Phrase]]:
    """The order to keep among ``orders`` and why: (reason on the kept one, reason on the others)."""
    enrolled = [(f.entered_at, o.id, o, f.playbook) for o in orders
                if (f := ctx.facts.get(o.id)) is not None and f.entered_at is not None]
    if enrolled:
        entered_at, _, keep, playbook = min(enrolled, key=lambda e: (e[0], e[1]))
        return keep, (Phrase(N_("kept: in playbook {playbook} since {moment}"), playbook=playbook,
                             moment=ctx.local(entered_at)),
                      Phrase(N_("kept the one in playbook {playbook}"), playbook=playbook))
    part_paid = [o for o in orders if o.status is Status.PART_PAID]
    if part_paid:
        return _newest(part_paid), (Phrase(N_("kept the partly paid one")), Phrase(N_("kept the partly paid one")))
    return _newest(orders), (Phrase(N_("kept the newest")), Phrase(N_("kept the newest")))


def _false(order: Order, reason: str, twin: str, ctx: _Context) -> Decision:
    """Mark False — unless a manager or a promise holds the order, which only ``force`` overrides."""
    hold = ctx.hold(order)
    if hold is None:
        return Decision(order, FALSE, reason, twin)
    if ctx.force:
        return Decision(order, FALSE, reason, twin, warning=Phrase(N_("False although {hold} (--force)"), hold=hold))
    return Decision(order, SKIP, Phrase(N_("{hold}: left alone — {reason}; --force marks it False"), hold=hold,
                                        reason=reason), twin)


def relation(order: Order, other: Order, window: timedelta = DEFAULT_SAME_PRODUCT_WITHIN) -> str | None:
    """How ``other`` relates to ``order`` on an order card: ``paid twin``, ``duplicate`` or None.

    Only orders of one purchase relate: a payment older than ``window`` before ``order`` was created, or
    an actual order created further than ``window`` away, is another purchase.
    """
    if other.id == order.id or order.product_key is None or other.product_key != order.product_key:
        return None
    if order.customer.key is None or other.customer.key != order.customer.key:
        return None
    if is_paid_twin(order, other, window):
        return N_("paid twin")
    if other.is_actual and abs(other.created_at - order.created_at) <= window:
        return N_("duplicate")
    return None
