"""Read what the planner needs from the store: candidates narrowed in SQL, loaded in chunks.

Candidates of a playbook are its active enrollments plus the orders that became eligible within
``enter_within`` and are not enrolled yet; everything else is never read, so planning a store of a
million orders touches only the few thousand that matter.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Iterator

from unpaid.model import normalize_phone
from unpaid.cycles import no_cycle_collection
from unpaid.playbook.planner import Case
from unpaid.store.contacts import Contacts
from unpaid.store.enrollments import Enrollments
from unpaid.store.events import Events
from unpaid.store.offers import Offers
from unpaid.store.orders import OrderQuery
from unpaid.store.tasks import Tasks
from unpaid.store.twins import paid_twins

if TYPE_CHECKING:
    from unpaid.playbook.model import Playbook
    from unpaid.store import Store


def candidate_chunks(store: "Store", pb: "Playbook", now: datetime, until: datetime | None = None,
                     order_ids: list[str] | None = None) -> Iterator[list[str]]:
    """Chunks of order ids worth planning: active enrollments, then newly eligible orders."""
    enrollments = Enrollments(store)
    if order_ids is not None:
        yield list(order_ids)
        return
    yield from enrollments.active_ids(pb.name)
    seg = pb.segment
    q = seg.query(now, ignore_age=True)
    q.created_after = now - seg.min_age - pb.enter_within
    if seg.max_age is not None:
        q.created_after = max(q.created_after, (until or now) - seg.max_age)
    q.created_before = (until or now) - seg.min_age + timedelta(seconds=1)
    yield from enrollments.unenrolled_ids(pb.name, q)


def load_cases(store: "Store", pb: "Playbook", ids: list[str], now: datetime, optouts: set[str],
               cap_since: datetime, default_country: str = "7") -> list[Case]:
    """Build a :class:`Case` for each id (unknown ids are dropped), with a handful of batched queries."""
    # A chunk's orders, entries, tasks and cases hold no reference cycles, so reference counting frees
    # them; the cyclic collector would only walk them and the long-lived objects again and again while
    # they are built (a tenth of a plan's time at a million orders).
    with no_cycle_collection():
        return _load_cases(store, pb, ids, now, optouts, cap_since, default_country)


def _load_cases(store: "Store", pb: "Playbook", ids: list[str], now: datetime, optouts: set[str],
                cap_since: datetime, default_country: str) -> list[Case]:
    orders = list(store.orders.query(OrderQuery(statuses=None, ids=ids, sort="oldest")))
    if not orders:
        return []
    ids = [o.id for o in orders]
    enrollments = Enrollments(store).for_orders(ids, pb.name)
    passed = {oid: en.loops for oid, en in enrollments.items()}  # earlier passes: only their done entries count
    # A send claimed but not finished (a killed run's) holds a slot: it must not defer its own retry.
    ledger, pending = store.ledger.for_planning(passed, pb.name)
    tasks = Tasks(store)
    task_map, others_open = tasks.for_playbook_and_open(ids, pb.name)
    outcomes = tasks.last_outcomes(ids) if _uses_outcomes(pb) or _calls(pb) else {}
    events = Events(store).for_orders(ids) if pb.events else {}
    offers = Offers(store).for_orders(ids, now)
    twins = paid_twins(store, ((o.id, o.customer.key, o.product_key, o.created_at) for o in orders),
                       within=pb.purchase_window)
    chain_keys = {o.id: _chain(o) for o in orders}
    holders = Enrollments(store).chain_holders(pb.name, [k for k in chain_keys.values() if k])
    contacts = Contacts(store).recent((o.customer.key for o in orders), cap_since, pending)
    counts = store.history.contact_counts(ids)
    chain_done = _chain_done(store, pb, orders, chain_keys)
    open_calls = {t.order_id: t for t in others_open}
    cases = []
    # A normalized phone starts with "+": when no opt-out does, no phone needs normalizing to be looked up.
    phones = any(x.startswith("+") for x in optouts)
    new, none = object.__new__, (0, 0)
    for o in orders:
        oid, chain = o.id, chain_keys[o.id]
        dials, messages = counts.get(oid, none) if counts else none
        case = new(Case)  # every field, in its order, as Case(...) sets them: a few hundred per chunk
        case.__dict__.update(
            order=o, enrollment=enrollments.get(oid), ledger=ledger.get(oid) or {}, tasks=task_map.get(oid) or [],
            outcome=outcomes.get(oid) if outcomes else None, events=events.get(oid) or [] if events else [],
            offer=offers.get(oid) if offers else None, paid_twin=twins.get(oid) if twins else None,
            chain_holder=holders.get(chain) if chain and holders else None,
            optout=bool(optouts) and _opted_out(o.customer, optouts, default_country, phones),
            contacts=contacts.get(o.customer.key or "") or [] if contacts else [], dials=dials, messages=messages,
            chain_done=chain_done.get(oid) or {} if chain_done else {},
            open_call=open_calls.get(oid) if open_calls else None)
        cases.append(case)
    return cases


def _opted_out(customer, optouts: set[str], default_country: str, phones: bool = True) -> bool:
    """Whether the customer's key, phone, normalized e-mail or normalized phone is in ``optouts``.

    The normalized e-mail is the key whenever there is one, so it is not normalized a second time;
    ``phones`` False (no opt-out is a normalized phone) skips normalizing the phone.
    """
    key, phone = customer.key, customer.phone
    if (key is not None and key in optouts) or (phone is not None and phone in optouts):
        return True
    normal = normalize_phone(phone, default_country) if phone is not None and phones else None
    return normal is not None and normal in optouts


def _chain_done(store: "Store", pb: "Playbook", orders: list, chain_keys: dict[str, str | None]
                ) -> dict[str, dict[str, tuple[str, datetime]]]:
    """Per order: steps this playbook already did for another order of its customer and product created
    within ``same_product_within`` of it — one purchase, one story, even after that chain finished."""
    keys = {k for k in chain_keys.values() if k}
    if not keys:
        return {}
    asking: dict[str, set[str]] = {}
    for oid, key in chain_keys.items():
        if key:
            asking.setdefault(key, set()).add(oid)
    by_chain: dict[str, list] = {}
    for chain, step, other, created, at in Enrollments(store).chain_steps(pb.name, keys, asking):
        by_chain.setdefault(chain, []).append((step, other, created, at))
    out: dict[str, dict[str, tuple[str, datetime]]] = {}
    for o in orders:
        for step, other, created, at in by_chain.get(chain_keys[o.id] or "", ()):
            if other != o.id and abs(created - o.created_at) <= pb.purchase_window:
                out.setdefault(o.id, {}).setdefault(step, (other, at))
    return out


def _chain(order) -> str | None:
    key = order.customer.key
    return f"{key}|{order.product_key or ''}" if key else None


def _calls(pb: "Playbook") -> bool:
    """Whether the playbook opens calls: then it must know when the desk gave up calling."""
    steps = list(pb.steps) + ([pb.end] if pb.end else [])
    return any(x.action == "call" for s in steps for x in (s, s.fallback) if x is not None)


def _uses_outcomes(pb: "Playbook") -> bool:
    steps = list(pb.steps) + ([pb.end] if pb.end else [])
    return any(c.field == "last_outcome" for s in steps for c in s.when)
