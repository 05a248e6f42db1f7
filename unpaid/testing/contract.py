"""``ConnectorContract``: the conformance suite every connector's tests subclass.

A plugin's test file writes ``class TestMyConnector(ConnectorContract)`` and supplies fixtures:

- ``connector`` — a built connector for a named source, with a page size below
  ``len(sample_orders)`` so that paging is exercised;
- ``seed`` — a callable ``seed(orders)`` that puts canonical orders into the backend (a file, an
  emulator, memory), replacing any with the same native id;
- ``reopen`` — a callable returning a *new* connector built from the same settings, as the next
  process would build it: what one instance wrote, another must read back from the source;
- ``faults`` (optional) — an object with ``auth_failure()``, ``rate_limit(retry_after)``,
  ``temporary()``, ``garbage()`` and ``unreadable(native_id)``, each making the backend fail that
  way; leave a method out (or raise NotImplementedError) when the backend cannot fail like that;
- ``secrets`` (optional) — the secret values the connector was built with.

Checks that a connector cannot support are opted out of by capability: a check that needs
``push_status`` is skipped when the spec does not declare ``PUSH_STATUS``, and the undeclared
capability must then raise :class:`NotSupported`. Each check has a one-line docstring saying
what it proves, and can be called directly with plain arguments (that is how the suite is tested).
A failed check names what the connector did wrong and the section of docs/connectors/writing.md
that covers it.
"""

from __future__ import annotations

import functools
import re
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterable

import pytest

from unpaid.connector import (
    AuthFailed, Capability, Connector, ConnectorSpec, InvalidData, NotFound, NotSupported, Page, RateLimited, Temporary,
)
from unpaid.model import Customer, LineItem, Money, Order, Status

#: The method each capability stands for.
METHODS = {
    Capability.FETCH: "fetch_orders",
    Capability.FETCH_ONE: "fetch_order",
    Capability.PUSH_STATUS: "push_status",
    Capability.UPDATE_CONTACT: "update_contact",
    Capability.TRIGGER: "trigger",
    Capability.COMMENT: "add_comment",
    Capability.SET_MANAGER: "set_manager",
    Capability.EVENTS: "fetch_events",
}
#: Setting keys that look like credentials and must be marked ``secret=True``.
SECRET_LIKE = re.compile(r"(^|_)(key|token|password|secret|apikey)($|_)", re.IGNORECASE)
NAME = re.compile(r"^[a-z][a-z0-9_-]*$")
T0 = datetime(2025, 3, 1, 9, 0, tzinfo=timezone.utc)
#: The one moment every order of :func:`same_second_orders` was created and last changed.
SHARED_MOMENT = T0 + timedelta(hours=12)
UNKNOWN_ID = "999999999"
#: The page every failure points to.
DOC = "docs/connectors/writing.md"
REASON = "Слишком дорого; too expensive"


def covers(section: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Mark a check with the section of writing.md it proves: its failure message ends with a pointer there."""

    def decorate(check: Callable[..., Any]) -> Callable[..., Any]:
        @functools.wraps(check)
        def run(*args: Any, **kwargs: Any) -> Any:
            try:
                return check(*args, **kwargs)
            except AssertionError as exc:
                raise AssertionError(f"{exc} (see {DOC}#{section})") from None

        run.section = section  # type: ignore[attr-defined]
        return run

    return decorate


def sample_orders(source: str) -> list[Order]:
    """Five canonical orders covering statuses, currencies, e-mail-only and phone-only customers."""

    def order(n: int, status: Status, amount: int, currency: str = "RUB", email: str | None = None,
              phone: str | None = None, name: str = "") -> Order:
        return Order(source, str(1000 + n), status, T0 + timedelta(hours=n), Money(amount, currency),
                     Customer(email=email, phone=phone, name=name),
                     (LineItem(f"course-{n}", f"Course {n}"),), number=f"A-{1000 + n}", native_status=status.value)

    return [
        order(1, Status.NEW, 499000, email="anna@example.com", phone="+79991234567", name="Анна Иванова"),
        order(2, Status.PAYMENT_WAITING, 1999, "USD", email="bob@example.com", name="Bob Stone"),
        order(3, Status.IN_WORK, 1290000, phone="+79990000003", name="Пётр Петров"),
        order(4, Status.PART_PAID, 2500000, email="olga@example.com", name="Ольга"),
        order(5, Status.NOT_CONFIRMED, 99000, email="ivan@example.com", phone="+380671234567", name="Іван"),
    ]


def copies(orders: list[Order], first_id: int, count: int, **changes: Any) -> list[Order]:
    """``count`` new orders shaped like ``orders`` (cycled), with ids from ``first_id`` and ``changes`` applied."""
    made = []
    for i in range(count):
        n = first_id + i
        made.append(replace(orders[i % len(orders)], native_id=str(n), number=f"A-{n}", **changes))
    return made


def drain(pages: Iterable[Page]) -> tuple[list[Order], list[Page]]:
    """All orders of an iterator of pages, and the pages."""
    pages = list(pages)
    return [o for p in pages for o in p.orders], pages


def last_bookmark(pages: list[Page], since: str | None) -> str | None:
    return pages[-1].bookmark if pages else since


def raises(error: type[BaseException], call: Callable[[], Any], what: str) -> Any:
    """Run ``call`` and return the ``error`` it raised; AssertionError (a failed check) when it raised none."""
    try:
        call()
    except error as exc:
        return exc
    except Exception as exc:  # noqa: BLE001 - a wrong error type is a failed check, named
        raise AssertionError(f"{what} raised {type(exc).__name__} ({exc}), not {error.__name__}") from None
    raise AssertionError(f"{what} did not raise {error.__name__}")


def essence(order: Order) -> tuple:
    """What every connector must carry through unchanged."""
    return (order.native_id, order.status, order.total, order.created_at, order.customer.key, order.product_key)


def source_state(order: Order) -> tuple:
    """Everything a write may change, and nothing the source stamps by itself (``updated_at``)."""
    return (order.status, order.native_status, order.cancel_reason, order.paid, order.manager,
            order.customer.email, order.customer.phone, order.customer.name, order.total)


def pushable(connector: Connector) -> list[Status]:
    """The statuses the spec says ``push_status`` writes (every status but UNMAPPED when it does not say)."""
    declared = connector.spec.pushes
    return [s for s in Status if s is not Status.UNMAPPED and (declared is None or s in declared)]


class ConnectorContract:
    """The conformance suite; subclass it in a class named ``Test...`` and supply the fixtures."""

    #: False when the source has nowhere to keep a cancellation's reason.
    keeps_cancel_reason = True

    @pytest.fixture
    def faults(self) -> Any:
        return None

    @pytest.fixture
    def secrets(self) -> dict[str, str]:
        return {}

    @pytest.fixture
    def reopen(self) -> Callable[[], Connector]:
        def missing() -> Connector:
            pytest.fail("supply a `reopen` fixture: a callable building a new connector from the same settings "
                        f"(see {DOC}#10-the-conformance-suite)")

        return missing

    def sample_orders(self, source: str) -> list[Order]:
        """The orders the checks seed; override to adapt them to what the source can hold."""
        return sample_orders(source)

    def same_second_orders(self, source: str) -> list[Order]:
        """Seven orders created and changed in the same second: more than a page, so a page boundary falls
        between orders whose timestamps are equal."""
        return copies(self.sample_orders(source), 3001, 7, created_at=SHARED_MOMENT, updated_at=SHARED_MOMENT)

    def reads_back_as(self, status: Status) -> Status:
        """The status the source reports after ``status`` was pushed; override for a source whose status
        list is coarser than the canonical one (and leave such statuses out of the spec's ``pushes``)."""
        return status

    def needs(self, connector: Connector, capability: Capability) -> None:
        """Skip the calling check when the connector does not declare ``capability``."""
        if capability not in connector.spec.capabilities:
            pytest.skip(f"{connector.spec.name} does not declare {capability.value}")

    def seeded(self, connector: Connector, seed: Callable[[list[Order]], None]) -> list[Order]:
        orders = self.sample_orders(connector.name)
        seed(orders)
        return orders

    def reopened(self, connector: Connector, reopen: Callable[[], Connector]) -> Connector:
        """A new instance for the same source, sharing only what the core shares: the store-backed ``state``."""
        fresh = reopen()
        assert fresh is not connector, "`reopen` must build a new connector, not return the same one"
        fresh.name = connector.name
        fresh.state = connector.state
        return fresh

    def read_back(self, connector: Connector, native_id: str) -> Order:
        """The order as the source reports it: fetch_order when declared, else a full listing."""
        if Capability.FETCH_ONE in connector.spec.capabilities:
            return connector.fetch_order(native_id)
        listed = {o.native_id: o for o in drain(connector.fetch_orders(None))[0]}
        assert native_id in listed, f"order {native_id} is missing from the listing after a write"
        return listed[native_id]

    # ---- the spec ----

    @covers("2-the-spec-and-the-factory")
    def test_spec_is_valid(self, connector):
        """The connector sets its spec, which has a name, a title, FETCH among typed capabilities, and
        triggers/events only when declared."""
        spec = getattr(connector, "spec", None)
        assert isinstance(spec, ConnectorSpec), "the connector does not set self.spec to its ConnectorSpec"
        assert NAME.match(spec.name), f"spec name {spec.name!r} must be lower-case letters, digits, - or _"
        assert spec.title.strip(), "spec title is empty"
        assert all(isinstance(c, Capability) for c in spec.capabilities), "capabilities must be Capability members"
        assert Capability.FETCH in spec.capabilities, "every connector must declare FETCH"
        assert callable(spec.factory), "spec factory is not callable"
        assert bool(spec.triggers) == (Capability.TRIGGER in spec.capabilities), "triggers listed iff TRIGGER"
        assert bool(spec.events) == (Capability.EVENTS in spec.capabilities), "events listed iff EVENTS"
        assert spec.pushes is None or all(isinstance(s, Status) for s in spec.pushes), \
            "pushes must hold Status members"
        assert connector.name, "the connector must carry its source name"

    @covers("2-the-spec-and-the-factory")
    def test_spec_settings_are_well_formed(self, connector):
        """Setting keys are unique identifiers with help text; credentials are marked secret and have no default."""
        keys = [s.key for s in connector.spec.settings]
        assert len(keys) == len(set(keys)), f"duplicate setting keys: {keys}"
        for s in connector.spec.settings:
            assert re.match(r"^[a-z][a-z0-9_]*$", s.key), f"setting key {s.key!r} is not a lower-case identifier"
            assert s.help.strip(), f"setting {s.key!r} has no help text"
            if SECRET_LIKE.search(s.key):
                assert s.secret, f"setting {s.key!r} looks like a credential but is not marked secret"
            if s.secret:
                assert s.default is None, f"secret setting {s.key!r} must not have a default"

    @covers("2-the-spec-and-the-factory")
    def test_declared_capabilities_are_implemented(self, connector):
        """Every declared capability's method is overridden, not the base that raises NotSupported."""
        for cap in connector.spec.capabilities:
            method = METHODS[cap]
            assert getattr(type(connector), method) is not getattr(Connector, method), \
                f"{cap.value} is declared but {method} is not implemented"

    @covers("2-the-spec-and-the-factory")
    def test_undeclared_capabilities_raise_not_supported(self, connector, seed):
        """Every capability the spec does not declare raises NotSupported naming it."""
        native = self.seeded(connector, seed)[0].native_id
        calls = {
            Capability.FETCH_ONE: lambda: connector.fetch_order(native),
            Capability.PUSH_STATUS: lambda: connector.push_status(native, Status.IN_WORK),
            Capability.UPDATE_CONTACT: lambda: connector.update_contact(native, email="new@example.com"),
            Capability.TRIGGER: lambda: connector.trigger(native, "group"),
            Capability.COMMENT: lambda: connector.add_comment(native, "hello"),
            Capability.SET_MANAGER: lambda: connector.set_manager(native, "anna"),
            Capability.EVENTS: lambda: list(connector.fetch_events(None)),
        }
        for cap, call in calls.items():
            if cap in connector.spec.capabilities:
                continue
            exc = raises(NotSupported, call, f"{METHODS[cap]} (capability {cap.value} is not declared)")
            assert exc.capability == cap.value, f"NotSupported names {exc.capability!r}, not {cap.value!r}"

    # ---- fetching ----

    @covers("3-mapping-records-to-orders")
    def test_fetch_returns_seeded_orders(self, connector, seed):
        """A full fetch returns exactly the seeded orders with status, money, time, customer and product intact."""
        orders = self.seeded(connector, seed)
        fetched, _ = drain(connector.fetch_orders(None))
        got, want = sorted(map(essence, fetched)), sorted(map(essence, orders))
        assert got == want, f"fetched orders differ from the seeded ones:\n got  {got}\n want {want}"

    @covers("3-mapping-records-to-orders")
    def test_fetched_orders_are_canonical(self, connector, seed):
        """Fetched orders have unique ids, canonical + native status, minor-unit money, UTC times, a customer key."""
        self.seeded(connector, seed)
        fetched, pages = drain(connector.fetch_orders(None))
        assert fetched, "fetch returned nothing"
        ids = [o.native_id for o in fetched]
        assert all(isinstance(i, str) and i.strip() for i in ids), f"empty native ids: {ids}"
        assert len(ids) == len(set(ids)), f"duplicate native ids in one fetch: {ids}"
        for o in fetched:
            assert o.source == connector.name, f"{o.native_id}: source {o.source!r} is not {connector.name!r}"
            assert isinstance(o.status, Status), f"{o.native_id}: status {o.status!r} is not a Status"
            assert o.native_status, f"{o.native_id}: the native status value is not kept"
            for money in (o.total, o.paid):
                if money is not None:
                    assert type(money.minor) is int, f"{o.native_id}: money {money!r} is not in integer minor units"
                    assert re.match(r"^[A-Z]{3}$", money.currency), f"{o.native_id}: currency {money.currency!r}"
            for moment in (o.created_at, o.updated_at, o.paid_at):
                if moment is not None:
                    assert moment.utcoffset() == timedelta(0), f"{o.native_id}: time {moment!r} is not aware UTC"
            assert o.customer.key, f"{o.native_id}: no customer key (e-mail or phone)"
        assert all(p.bookmark for p in pages), "every page must carry a bookmark"

    @covers("4-bookmarks-and-pages")
    def test_refetch_from_bookmark_brings_no_duplicates(self, connector, seed):
        """A second fetch from the returned bookmark brings none of the unchanged orders again."""
        self.seeded(connector, seed)
        _, pages = drain(connector.fetch_orders(None))
        again, _ = drain(connector.fetch_orders(last_bookmark(pages, None)))
        assert again == [], f"unchanged orders fetched again: {[o.native_id for o in again]}"

    @covers("4-bookmarks-and-pages")
    def test_change_after_bookmark_is_picked_up(self, connector, seed):
        """An order paid and an order added after the bookmark both come in the next incremental fetch."""
        orders = self.seeded(connector, seed)
        _, pages = drain(connector.fetch_orders(None))
        bookmark = last_bookmark(pages, None)
        later = max(o.created_at for o in orders) + timedelta(days=1)
        paid = replace(orders[1], status=Status.PAID, native_status=Status.PAID.value, updated_at=later)
        added = replace(orders[0], native_id="2001", number="A-2001", created_at=later, updated_at=later)
        seed([paid, added])
        fetched, _ = drain(connector.fetch_orders(bookmark))
        by_id = {o.native_id: o for o in fetched}
        assert paid.native_id in by_id, "a status change after the bookmark was not picked up"
        assert by_id[paid.native_id].status is Status.PAID, "the change after the bookmark came with the old status"
        assert added.native_id in by_id, "an order added after the bookmark was not picked up"

    @covers("4-bookmarks-and-pages")
    def test_crash_after_first_page_loses_nothing(self, connector, seed):
        """Stopping after page 1 and resuming from its bookmark yields every other order."""
        orders = self.seeded(connector, seed)
        pages = connector.fetch_orders(None)
        first = next(iter(pages))
        getattr(pages, "close", lambda: None)()  # the process died here
        assert len(first.orders) < len(orders), \
            f"page 1 held all {len(orders)} orders: configure a smaller page size so paging is tested"
        rest, _ = drain(connector.fetch_orders(first.bookmark))
        got = {o.native_id for o in first.orders} | {o.native_id for o in rest}
        assert got == {o.native_id for o in orders}, f"lost after a crash: {sorted({o.native_id for o in orders} - got)}"

    @covers("4-bookmarks-and-pages")
    def test_orders_sharing_a_timestamp_survive_page_boundaries(self, connector, seed):
        """Orders changed in the same second all come, in one fetch and after a crash after any page."""
        orders = self.seeded(connector, seed) + self.same_second_orders(connector.name)
        seed(orders[len(self.sample_orders(connector.name)):])
        want = {o.native_id for o in orders}
        fetched, pages = drain(connector.fetch_orders(None))
        lost = sorted(want - {o.native_id for o in fetched})
        assert not lost, (f"a full fetch lost {lost} of {len(want)} orders, those sharing a timestamp "
                          "with the end of a page: page by a cursor that is unique (time and id), not time alone")
        for k, page in enumerate(pages):  # the process died after storing page k: resume from its bookmark
            rest, _ = drain(connector.fetch_orders(page.bookmark))
            seen = {o.native_id for p in pages[: k + 1] for o in p.orders} | {o.native_id for o in rest}
            lost = sorted(want - seen)
            assert not lost, (f"resuming from page {k + 1}'s bookmark lost {lost}: a bookmark must not skip "
                              "orders that share its timestamp but were not on the page")

    @covers("5-rejects")
    def test_unreadable_record_is_rejected_and_read_once_repaired(self, connector, seed, faults):
        """One unreadable record becomes a Reject, the others are stored, and once repaired the next fetch from
        the bookmark brings it: the bookmark never moves past a record that was not read."""
        orders = self.seeded(connector, seed)
        bad = orders[1]
        self.inject(faults, "unreadable", bad.native_id)
        fetched, pages = drain(connector.fetch_orders(None))
        ids = {o.native_id for o in fetched}
        rejects = [r for p in pages for r in p.rejects]
        assert bad.native_id not in ids, f"order {bad.native_id} was unreadable but came as an order"
        assert rejects, f"order {bad.native_id} was unreadable and dropped without a Reject"
        missing = sorted({o.native_id for o in orders} - {bad.native_id} - ids)
        assert not missing, f"one unreadable record cost the readable orders {missing}"
        seed([bad])  # the shop fixed the record; its time stamp did not change
        again, _ = drain(connector.fetch_orders(last_bookmark(pages, None)))
        assert bad.native_id in {o.native_id for o in again}, \
            (f"order {bad.native_id} was repaired but the fetch from the last bookmark did not bring it: the "
             "bookmark moved past a record that was never read")

    @covers("6-writing-back")
    def test_fetch_order_agrees_with_listing(self, connector, seed):
        """fetch_order returns the same order the listing returned."""
        self.needs(connector, Capability.FETCH_ONE)
        self.seeded(connector, seed)
        fetched, _ = drain(connector.fetch_orders(None))
        for listed in fetched:
            one = connector.fetch_order(listed.native_id)
            assert essence(one) == essence(listed), f"fetch_order({listed.native_id}) disagrees with the listing"
            assert one.native_status == listed.native_status, \
                f"fetch_order({listed.native_id}) keeps native status {one.native_status!r}, the listing " \
                f"{listed.native_status!r}"

    @covers("6-writing-back")
    def test_fetch_order_unknown_raises_not_found(self, connector, seed):
        """fetch_order of an id the source does not have raises NotFound."""
        self.needs(connector, Capability.FETCH_ONE)
        self.seeded(connector, seed)
        raises(NotFound, lambda: connector.fetch_order(UNKNOWN_ID), f"fetch_order({UNKNOWN_ID!r})")

    # ---- writing back ----

    @covers("6-writing-back")
    def test_push_status_round_trips(self, connector, seed, reopen):
        """A pushed status is what a new connector reads back from the source, by id and in the listing."""
        self.needs(connector, Capability.PUSH_STATUS)
        target = self.seeded(connector, seed)[0]
        connector.push_status(target.native_id, Status.PAID)
        fresh = self.reopened(connector, reopen)
        want = self.reads_back_as(Status.PAID)
        if Capability.FETCH_ONE in connector.spec.capabilities:
            got = fresh.fetch_order(target.native_id).status
            assert got is want, f"pushed {want.value}, a new connector reads back {got.value}: the write did not " \
                "reach the source"
        listed = {o.native_id: o for o in drain(fresh.fetch_orders(None))[0]}
        assert listed[target.native_id].status is want, "the listing of a new connector does not show the pushed status"
        assert {o.native_id for o in listed.values()} == {o.native_id for o in self.sample_orders(connector.name)}, \
            "a status push added or removed orders"

    @covers("6-writing-back")
    def test_every_pushable_status_round_trips(self, connector, seed, reopen):
        """Each status the spec declares pushable (``pushes``), pushed onto an order in another status, is what a
        new connector reads back."""
        self.needs(connector, Capability.PUSH_STATUS)
        samples = self.seeded(connector, seed)
        statuses = pushable(connector)
        assert statuses, "the spec declares push_status but `pushes` is empty"
        targets = []
        for i, status in enumerate(statuses):
            base = next(o for o in samples if self.reads_back_as(o.status) is not self.reads_back_as(status))
            targets.append(copies([base], 4001 + i, 1)[0])
        seed(targets)
        for target, status in zip(targets, statuses):
            connector.push_status(target.native_id, status, REASON if status is Status.CANCELLED else None)
        fresh = self.reopened(connector, reopen)
        wrong = []
        for target, status in zip(targets, statuses):
            got = self.read_back(fresh, target.native_id).status
            if got is not self.reads_back_as(status):
                wrong.append(f"{status.value} read back as {got.value}")
        assert not wrong, (f"pushed statuses did not reach the source: {'; '.join(wrong)} — push every status "
                           "in `pushes` (None: all but unmapped), or declare only those the source can hold")

    @covers("6-writing-back")
    def test_cancel_keeps_reason(self, connector, seed, reopen):
        """Cancelling with a reason stores the cancellation, and the reason where the source can hold it."""
        self.needs(connector, Capability.PUSH_STATUS)
        if Status.CANCELLED not in pushable(connector):
            pytest.skip(f"{connector.spec.name} does not push cancelled")
        target = self.seeded(connector, seed)[2]
        connector.push_status(target.native_id, Status.CANCELLED, REASON)
        after = self.read_back(self.reopened(connector, reopen), target.native_id)
        assert after.status is self.reads_back_as(Status.CANCELLED), f"cancelled read back as {after.status.value}"
        if self.keeps_cancel_reason:
            assert after.cancel_reason == REASON, \
                f"the cancel reason read back is {after.cancel_reason!r} (set keeps_cancel_reason = False " \
                "when the source has nowhere to keep it)"

    @covers("6-writing-back")
    def test_writes_done_twice_leave_the_source_as_once(self, connector, seed, reopen):
        """Every write (status, cancel reason, contact, manager) done twice leaves the source as done once, and the
        second one does not fail: the core repeats writes after a crash."""
        caps = connector.spec.capabilities
        writes: list[tuple[str, Callable[[str], Any]]] = []
        if Capability.PUSH_STATUS in caps:
            for status in [s for s in pushable(connector) if s in (Status.CANCELLED, Status.PAYMENT_WAITING)][:2]:
                reason = REASON if status is Status.CANCELLED else None
                writes.append((f"push_status({status.value})",
                               lambda n, status=status, reason=reason: connector.push_status(n, status, reason)))
        if Capability.UPDATE_CONTACT in caps:
            writes.append(("update_contact", lambda n: connector.update_contact(
                n, email="twice@example.com", phone="+79995550022", name="Дважды")))
        if Capability.SET_MANAGER in caps:
            writes.append(("set_manager", lambda n: connector.set_manager(n, "Ольга")))
        if not writes:
            pytest.skip(f"{connector.spec.name} declares no write whose result it can read back")
        samples = self.seeded(connector, seed)
        for i, (what, write) in enumerate(writes):
            target = samples[i % len(samples)].native_id
            write(target)
            once = source_state(self.read_back(self.reopened(connector, reopen), target))
            try:
                write(target)
            except Exception as exc:  # noqa: BLE001 - a failing repeat is the finding
                raise AssertionError(f"{what} done a second time raised {type(exc).__name__}: {exc}") from None
            twice = source_state(self.read_back(self.reopened(connector, reopen), target))
            assert twice == once, f"{what} done twice left the source as {twice}, once as {once}"

    @covers("6-writing-back")
    def test_update_contact_round_trips(self, connector, seed, reopen):
        """Corrected e-mail, phone and name are what a new connector reads back from the source."""
        self.needs(connector, Capability.UPDATE_CONTACT)
        target = self.seeded(connector, seed)[0]
        connector.update_contact(target.native_id, email="anna.new@example.com", phone="+79995550011",
                                 name="Анна Смирнова")
        after = self.read_back(self.reopened(connector, reopen), target.native_id).customer
        got = (after.email, after.phone, after.name)
        assert got == ("anna.new@example.com", "+79995550011", "Анна Смирнова"), \
            f"the corrected contact read back as {got}"

    @covers("6-writing-back")
    def test_set_manager_round_trips(self, connector, seed, reopen):
        """The manager set by `unpaid take` is the order's manager a new connector reads back."""
        self.needs(connector, Capability.SET_MANAGER)
        target = self.seeded(connector, seed)[0]
        connector.set_manager(target.native_id, "Ольга")
        got = self.read_back(self.reopened(connector, reopen), target.native_id).manager
        assert got == "Ольга", f"the manager read back is {got!r}, not the one set"

    @covers("6-writing-back")
    def test_triggers_work(self, connector, seed):
        """Each declared trigger action runs on a seeded order, and again (triggers are idempotent)."""
        self.needs(connector, Capability.TRIGGER)
        target = self.seeded(connector, seed)[0]
        for action in connector.spec.triggers:
            connector.trigger(target.native_id, action, {})
            try:
                connector.trigger(target.native_id, action, {})
            except Exception as exc:  # noqa: BLE001 - a failing repeat is the finding
                raise AssertionError(f"trigger {action!r} done a second time raised {type(exc).__name__}: {exc}") \
                    from None

    @covers("6-writing-back")
    def test_add_comment_works(self, connector, seed):
        """A comment can be added to a seeded order."""
        self.needs(connector, Capability.COMMENT)
        target = self.seeded(connector, seed)[0]
        connector.add_comment(target.native_id, "Called, will pay tomorrow")

    @covers("6-writing-back")
    def test_fetch_events_are_declared_kinds(self, connector, seed):
        """fetch_events reports only the event kinds the spec declares, with aware UTC times."""
        self.needs(connector, Capability.EVENTS)
        self.seeded(connector, seed)
        for event in connector.fetch_events(None):
            assert event.kind in connector.spec.events, f"event kind {event.kind!r} is not declared"
            assert event.at.utcoffset() == timedelta(0), f"event time {event.at!r} is not aware UTC"

    # ---- faults and secrets ----

    def inject(self, faults: Any, kind: str, *args: Any) -> None:
        """Arm fault ``kind`` or skip the calling check when the backend cannot simulate it."""
        method = getattr(faults, kind, None)
        if method is None:
            pytest.skip(f"the backend cannot simulate {kind}")
        try:
            method(*args)
        except NotImplementedError:
            pytest.skip(f"the backend cannot simulate {kind}")

    @covers("7-errors")
    def test_auth_failure_maps_to_auth_failed(self, connector, seed, faults):
        """Rejected credentials surface as AuthFailed (not retryable)."""
        self.seeded(connector, seed)
        self.inject(faults, "auth_failure")
        exc = raises(AuthFailed, lambda: drain(connector.fetch_orders(None)), "fetch after an auth failure")
        assert not exc.retryable, "AuthFailed must not be retryable"

    @covers("7-errors")
    def test_rate_limit_maps_to_rate_limited(self, connector, seed, faults):
        """A spent request budget surfaces as RateLimited carrying the source's retry-after."""
        self.seeded(connector, seed)
        self.inject(faults, "rate_limit", 7)
        exc = raises(RateLimited, lambda: drain(connector.fetch_orders(None)), "fetch when rate limited")
        assert exc.retry_after == 7 and exc.retryable, f"retry_after {exc.retry_after!r} is not the source's 7"

    @covers("7-errors")
    def test_temporary_failure_maps_to_temporary(self, connector, seed, faults):
        """A 5xx, reset or timeout surfaces as Temporary (retryable)."""
        self.seeded(connector, seed)
        self.inject(faults, "temporary")
        exc = raises(Temporary, lambda: drain(connector.fetch_orders(None)), "fetch during an outage")
        assert exc.retryable, "Temporary must be retryable"

    @covers("7-errors")
    def test_garbage_maps_to_invalid_data(self, connector, seed, faults):
        """An unreadable answer surfaces as InvalidData with a fix, never a raw parser exception."""
        self.seeded(connector, seed)
        self.inject(faults, "garbage")
        exc = raises(InvalidData, lambda: drain(connector.fetch_orders(None)), "fetch of an unreadable answer")
        assert exc.fix, "InvalidData should tell the user what to do (its `fix`)"

    @covers("7-errors")
    def test_secrets_never_leak(self, connector, seed, faults, secrets):
        """No secret value appears in the connector's repr or in any error it raises."""
        if not secrets:
            pytest.skip(f"{connector.spec.name} was built without secrets")
        texts = [repr(connector), str(connector)]
        self.seeded(connector, seed)
        calls: list[Callable[[], Any]] = [lambda: connector.fetch_order(UNKNOWN_ID)]
        for kind, args in (("auth_failure", ()), ("rate_limit", (1,)), ("temporary", ()), ("garbage", ())):
            method = getattr(faults, kind, None)
            if method is not None:
                calls.append(lambda method=method, args=args: (method(*args), drain(connector.fetch_orders(None))))
        for call in calls:
            try:
                call()
            except NotImplementedError:
                continue
            except Exception as exc:  # noqa: BLE001 - every error's text is checked
                texts += [str(exc), repr(exc), str(getattr(exc, "fix", ""))]
        for value in secrets.values():
            leaked = [t for t in texts if value and value in t]
            assert not leaked, f"a secret appears in: {leaked[0][:200]}"
