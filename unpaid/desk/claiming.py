"""Reading the queue and claiming orders from it: one holder per order, with a lease that runs out.

A claim is one conditional upsert inside ``BEGIN IMMEDIATE`` (:meth:`unpaid.store.claims.Claims.try_claim`),
so two managers — two processes — taking the same order at once get exactly one winner. ``next`` checks
in that same transaction that the order is still due and free: the page it read may be out of date.
On PostgreSQL ``next`` reads no page: one statement finds the first due, free order that no other manager
is claiming at that moment and claims it (:meth:`unpaid.store.desk.DeskStore.claim_next`), so managers
asking at once take different orders instead of racing down the same page.
"""

from __future__ import annotations

import time
from datetime import datetime, tzinfo
from typing import TYPE_CHECKING

from unpaid.desk.journal import note
from unpaid.desk.queue import QueueView, build_rows, end_of_day
from unpaid.errors import ConflictError, InputError, NotFoundError
from unpaid.i18n import N_, _

if TYPE_CHECKING:
    from unpaid.desk.settings import DeskSettings
    from unpaid.model import Order
    from unpaid.store import Store
    from unpaid.store.claims import Claim

#: How many queue rows SQLite's ``next`` tries per round when others are claiming the same rows.
_BATCH = 16


def load_queue(store: "Store", now: datetime, zone: tzinfo, *, manager: str | None, day: datetime | None = None,
               sort: str = "newest", limit: int = 20, offset: int = 0) -> QueueView:
    """The day's counts and one page of the queue. ``day`` (a moment in a later day) plans ahead."""
    from unpaid.store.desk import DeskStore
    from unpaid.store.offers import Offers

    desk = DeskStore(store)
    if store.postgres:  # calls arranged for later that came due are read in their place, not sorted apart
        desk.promote_if_due(now)
    until = end_of_day(day, zone) if day is not None else now
    if day is None:
        today, due_now = desk.count_due_by(end_of_day(now, zone), until, now, manager)
    else:
        today = due_now = desk.count_due(end_of_day(day, zone), now, manager)
    pairs = desk.due_page(until, now, manager, sort, limit, offset)
    ids = [o.id for _task, o in pairs]
    claims = store.claims.live_for(ids, now)
    rows = build_rows(pairs, claims, Offers(store).for_orders(ids, now), desk.stats(ids), now, until, manager,
                      offset)
    return QueueView(today, due_now, rows)


def take(store: "Store", order: "Order", manager: str, now: datetime, settings: "DeskSettings",
         zone: tzinfo) -> tuple["Claim", bool]:
    """Claim ``order`` for ``manager``; (the claim, whether it is new). ConflictError names the holder."""
    if not order.is_actual:
        raise InputError(_("{order} is {status}: there is nothing to call about").format(
            order=order.id, status=order.status.label), _("take an order from `unpaid queue`"))
    before = store.claims.get(order.id, now)
    claim = store.claims.try_claim(order.id, manager, now, now + settings.lease)
    if claim.manager != manager:
        until = claim.lease_until.astimezone(zone).strftime("%Y-%m-%d %H:%M")
        raise ConflictError(_("{order} is taken by {manager} until {until}").format(
            order=order.id, manager=claim.manager, until=until),
            _("take another one with `unpaid next`, or ask them to `unpaid release` it"))
    return claim, before is None or before.manager != manager


#: Said on the card when the source's own manager field stays as it was.
MANAGER_NOTE = N_("{manager} is the order's manager in unpaid only: the manager field at the source was not "
                   "changed ({why})")
#: Said on the card when the source took it.
MANAGER_SET = N_("{manager} is the order's manager here and at the source")


def record_take(store: "Store", claim: "Claim", now: datetime, zone: tzinfo, command: str | None = None,
                at_source: bool = False) -> None:
    """The take in the history, and its manager on the stored order (and at the source when ``at_source``)."""
    until = claim.lease_until.astimezone(zone).strftime("%H:%M")
    with store.transaction():
        note(store, claim.order_id, actor=f"manager:{claim.manager}", kind="claim",
             summary=f"taken by {claim.manager} until {until}", now=now,
             data={"lease_until": claim.lease_until, "manager_at_source": at_source}, command=command)
        store.orders.set_manager(claim.order_id, claim.manager)


def take_next(store: "Store", manager: str, now: datetime, settings: "DeskSettings", zone: tzinfo,
              sort: str = "newest") -> "Claim":
    """Claim the first order of ``manager``'s queue that nobody holds and nobody else wins first."""
    from unpaid.store.desk import DeskStore

    desk = DeskStore(store)
    if store.postgres:
        return _take_next_locking(store, desk, manager, now, settings, sort)
    while True:
        page = desk.due_page(now, now, manager, sort, _BATCH, free_only=True)  # SQLite: one host, one clock
        if not page:
            raise NotFoundError(_("the queue is empty: no call is due now"),
                                _("see what comes later with `unpaid queue --date tomorrow`"))
        for _task, order in page:
            with store.transaction():
                # Between the read and now another manager may have called it (the next call is hours
                # away), taken it, or the order was paid: the write lock holds until the claim is in.
                if not desk.still_free_and_due(order.id, now, manager):
                    continue
                claim = store.claims.try_claim(order.id, manager, now, now + settings.lease)
            if claim.manager == manager:
                return claim
        # Everything on this page went to others or stopped being due meanwhile: it drops out of the next read.


def _take_next_locking(store: "Store", desk, manager: str, now: datetime, settings: "DeskSettings",
                       sort: str) -> "Claim":
    """PostgreSQL's ``next``: each round is one statement that picks the first due and free order no other
    manager is claiming this moment (they hold it locked; it is passed over) and claims it
    (:meth:`DeskStore.claim_next`).

    Fifty managers at once thus take fifty different orders in one round, where reading a shared page made
    them all try its rows in the same order (16 won a round, the rest read again).
    """
    swept = False
    while True:
        # Whether a claim is live is judged by the clock the claim is written with (the server's, unless
        # --now): a host whose clock runs ahead would otherwise see another manager's live claim as expired.
        lease_now, lease_until = store.lease_clock(now, now + settings.lease)
        picked, claim, stale = desk.claim_next(now, manager, sort, lease_now, lease_until, run_out_first=not swept)
        if stale:  # orders whose claim ran out, and calls that came due, go back in their place first, once
            desk.tidy(now, lease_now)
            swept = True
            continue
        if claim is not None and claim.manager == manager:
            return claim
        if picked is None and not desk.due_page(now, lease_now, manager, sort, 1, free_only=True):
            raise NotFoundError(_("the queue is empty: no call is due now"),
                                _("see what comes later with `unpaid queue --date tomorrow`"))
        if picked is not None and claim is None and desk.hold_again(picked, lease_now):
            continue  # its claim is live under this --now: it is passed over from now on
        if picked is None or claim is None:
            # Every free call is being claimed by others right now (or written by another command): their
            # transactions decide, in a moment.
            time.sleep(0.005)


def release(store: "Store", order: "Order", manager: str | None, now: datetime, actor: str,
            command: str | None = None) -> bool:
    """Give the order back to the queue (only ``manager``'s claim when given); False when none was held."""
    claim = store.claims.get(order.id, now)
    if claim is None:
        return False
    if manager and claim.manager != manager:
        raise ConflictError(_("{order} is held by {holder}, not {manager}").format(
            order=order.id, holder=claim.manager, manager=manager),
            _("only {holder} can release it, or wait for the lease to run out").format(holder=claim.manager))
    if store.claims.release(order.id, claim.manager):
        note(store, order.id, actor=actor, kind="release", summary=f"released by {actor.partition(':')[2]}",
             now=now, data={"holder": claim.manager}, command=command)
        return True
    return False


def check_holder(store: "Store", order: "Order", manager: str, now: datetime) -> None:
    """Refuse to act on an order someone else holds, or one that no longer needs work."""
    claim = store.claims.get(order.id, now)
    if claim is not None and claim.manager != manager:
        raise ConflictError(_("{order} is taken by {manager}").format(order=order.id, manager=claim.manager),
                            _("act on it only after they release it or their lease runs out"))
    if not order.is_actual:
        raise InputError(_("{order} is {status}: nothing more to do on it").format(
            order=order.id, status=order.status.label), _("pick an order from `unpaid queue`"))
