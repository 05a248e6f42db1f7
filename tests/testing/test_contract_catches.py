"""The suite tests itself: each deliberately broken connector fails the check that names its fault.

Every variant is InMemoryConnector with one thing done wrong, the way a connector written in a hurry
does it. The check must fail with a message saying what is wrong and the section of writing.md that
covers it; a variant the suite let pass would be a hole in it.
"""

import inspect
from dataclasses import replace

import pytest

from unpaid.connector import Capability, Connector, ConnectorError, Page, Temporary
from unpaid.model import Status
from unpaid.testing.contract import DOC, ConnectorContract
from unpaid.testing.fakes import SPEC, InMemoryConnector, backend, bookmark_of, position

from .test_contract_memory import TOKEN, MemoryFaults, _fresh_backends  # noqa: F401 - autouse: empty backends

SOURCE = "shop"


# ---- fetching ----

class DropsLastPage(InMemoryConnector):
    def fetch_orders(self, since):
        pages = list(super().fetch_orders(since))
        yield from pages[:-1]


class SkipsAPage(InMemoryConnector):
    def fetch_orders(self, since):
        for i, page in enumerate(super().fetch_orders(since)):
            if i != 1:
                yield page


class OverlappingPages(InMemoryConnector):
    """Each page starts with the last order of the one before (an off-by-one offset)."""

    def fetch_orders(self, since):
        previous = None
        for page in super().fetch_orders(since):
            yield replace(page, orders=([previous] if previous else []) + page.orders)
            previous = page.orders[-1] if page.orders else previous


class RepeatsOrders(InMemoryConnector):
    def fetch_orders(self, since):
        for page in super().fetch_orders(since):
            yield replace(page, orders=page.orders + page.orders[:1])


class IgnoresBookmark(InMemoryConnector):
    def fetch_orders(self, since):
        return super().fetch_orders(None)


class SkipsToTheEnd(InMemoryConnector):
    """Page 1's bookmark claims everything was read: a crash after it loses orders."""

    def fetch_orders(self, since):
        pages = list(super().fetch_orders(since))
        for page in pages:
            yield Page(page.orders, pages[-1].bookmark)


class TimestampCursor(InMemoryConnector):
    """Asks the source for `updated > the last time seen`, page after page: equal times are lost."""

    def fetch_orders(self, since):
        self.backend.check()
        after = since
        while True:
            moment = after.partition("|")[0] if after and after != "start" else None
            todo = sorted((o for o in self.backend.orders.values()
                           if moment is None or bookmark_of(position(o)).partition("|")[0] > moment), key=position)
            chunk = todo[: self.page_size]
            if not chunk:
                return
            after = bookmark_of(position(chunk[-1]))
            yield Page([replace(o, source=self.name) for o in chunk], after)


class NaiveTimes(InMemoryConnector):
    def fetch_orders(self, since):
        for page in super().fetch_orders(since):
            yield Page([replace(o, created_at=o.created_at.replace(tzinfo=None)) for o in page.orders], page.bookmark)


class DropsUnreadable(InMemoryConnector):
    """Skips records it cannot read, says nothing and moves its bookmark past them."""

    def fetch_orders(self, since):
        bad = set(self.backend.unreadable)
        self.backend.unreadable.clear()
        try:
            for page in super().fetch_orders(since):
                yield replace(page, orders=[o for o in page.orders if o.native_id not in bad])
        finally:
            self.backend.unreadable |= bad


class SwallowsErrors(InMemoryConnector):
    def fetch_orders(self, since):
        try:
            yield from super().fetch_orders(since)
        except ConnectorError:
            return


class UnknownIsKeyError(InMemoryConnector):
    def fetch_order(self, native_id):
        if native_id not in self.backend.orders:
            raise KeyError(native_id)
        return super().fetch_order(native_id)


# ---- writing back ----

class ForgetsPushes(InMemoryConnector):
    def push_status(self, native_id, status, reason=None):
        self.fetch_order(native_id)


class PushesPaidAndCancelledOnly(InMemoryConnector):
    def push_status(self, native_id, status, reason=None):
        if status in (Status.PAID, Status.CANCELLED):
            super().push_status(native_id, status, reason)


class RemembersPushesInMemory(InMemoryConnector):
    """Keeps what it pushed in its own dict and shows it: the shop never hears of it."""

    def __init__(self, name, settings):
        super().__init__(name, settings)
        self.pushed = {}

    def push_status(self, native_id, status, reason=None):
        self.fetch_order(native_id)
        self.pushed[native_id] = (status, reason)

    def fetch_order(self, native_id):
        order = super().fetch_order(native_id)
        if native_id in self.pushed:
            status, reason = self.pushed[native_id]
            order = order.with_status(status, status.value, reason)
        return order

    def fetch_orders(self, since):
        for page in super().fetch_orders(since):
            yield replace(page, orders=[self.fetch_order(o.native_id) if o.native_id in self.pushed else o
                                        for o in page.orders])


class AppendsReasonEachPush(InMemoryConnector):
    """A cancel reason is added to the one already there: pushed twice, it reads twice."""

    def push_status(self, native_id, status, reason=None):
        before = self.fetch_order(native_id).cancel_reason
        if reason and before:
            reason = f"{before}; {reason}"
        super().push_status(native_id, status, reason)


class RefusesRepeatedPush(InMemoryConnector):
    """The source answers "already in that status" and the connector passes it on as an error."""

    def push_status(self, native_id, status, reason=None):
        if self.fetch_order(native_id).status is status:
            raise Temporary(self.name, f"order {native_id} is already {status.value}")
        super().push_status(native_id, status, reason)


class IgnoresSetManager(InMemoryConnector):
    def set_manager(self, native_id, manager):
        self.fetch_order(native_id)


class IgnoresContactUpdates(InMemoryConnector):
    def update_contact(self, native_id, *, email=None, phone=None, name=None):
        self.fetch_order(native_id)


# ---- the spec and secrets ----

class CommentsSecretly(InMemoryConnector):
    """Implements add_comment but does not declare COMMENT."""

    def __init__(self, name, settings):
        super().__init__(name, settings)
        self.spec = replace(SPEC, capabilities=SPEC.capabilities - {Capability.COMMENT})


class DeclaresFetchOneOnly(InMemoryConnector):
    """Declares FETCH_ONE but inherits the base fetch_order that raises NotSupported."""

    fetch_order = Connector.fetch_order


class LeaksToken(InMemoryConnector):
    def __repr__(self):
        return f"LeaksToken(token={TOKEN!r})"


BROKEN = [
    # (connector, the check that must fail, what its message must say, the doc section it points to)
    (DropsLastPage, "test_fetch_returns_seeded_orders", "fetched orders differ", "3-mapping-records-to-orders"),
    (SkipsAPage, "test_fetch_returns_seeded_orders", "fetched orders differ", "3-mapping-records-to-orders"),
    (OverlappingPages, "test_fetched_orders_are_canonical", "duplicate native ids", "3-mapping-records-to-orders"),
    (RepeatsOrders, "test_fetched_orders_are_canonical", "duplicate native ids", "3-mapping-records-to-orders"),
    (NaiveTimes, "test_fetched_orders_are_canonical", "is not aware UTC", "3-mapping-records-to-orders"),
    (IgnoresBookmark, "test_refetch_from_bookmark_brings_no_duplicates", "unchanged orders fetched again",
     "4-bookmarks-and-pages"),
    (SkipsToTheEnd, "test_crash_after_first_page_loses_nothing", "lost after a crash", "4-bookmarks-and-pages"),
    (TimestampCursor, "test_orders_sharing_a_timestamp_survive_page_boundaries", "sharing a timestamp",
     "4-bookmarks-and-pages"),
    (DropsUnreadable, "test_unreadable_record_is_rejected_and_read_once_repaired", "dropped without a Reject",
     "5-rejects"),
    (UnknownIsKeyError, "test_fetch_order_unknown_raises_not_found", "raised KeyError", "6-writing-back"),
    (ForgetsPushes, "test_push_status_round_trips", "did not reach the source", "6-writing-back"),
    (PushesPaidAndCancelledOnly, "test_every_pushable_status_round_trips", "in_work read back as",
     "6-writing-back"),
    (RemembersPushesInMemory, "test_push_status_round_trips", "a new connector reads back", "6-writing-back"),
    (RemembersPushesInMemory, "test_every_pushable_status_round_trips", "did not reach the source",
     "6-writing-back"),
    (AppendsReasonEachPush, "test_writes_done_twice_leave_the_source_as_once", "push_status(cancelled) done twice",
     "6-writing-back"),
    (RefusesRepeatedPush, "test_writes_done_twice_leave_the_source_as_once", "a second time raised Temporary",
     "6-writing-back"),
    (IgnoresSetManager, "test_set_manager_round_trips", "manager read back", "6-writing-back"),
    (IgnoresContactUpdates, "test_update_contact_round_trips", "corrected contact read back", "6-writing-back"),
    (SwallowsErrors, "test_temporary_failure_maps_to_temporary", "did not raise Temporary", "7-errors"),
    (SwallowsErrors, "test_auth_failure_maps_to_auth_failed", "did not raise AuthFailed", "7-errors"),
    (CommentsSecretly, "test_undeclared_capabilities_raise_not_supported", "did not raise NotSupported",
     "2-the-spec-and-the-factory"),
    (DeclaresFetchOneOnly, "test_declared_capabilities_are_implemented", "fetch_one is declared",
     "2-the-spec-and-the-factory"),
    (LeaksToken, "test_secrets_never_leak", "a secret appears", "7-errors"),
]


def run_check(name, connector_type):
    """Call check ``name`` the way pytest would, with the memory backend's fixtures."""
    contract = ConnectorContract()
    build = lambda: connector_type(SOURCE, {"page_size": 2})  # noqa: E731
    fixtures = {"connector": build(), "seed": lambda orders: backend(SOURCE).put(*orders), "reopen": build,
                "faults": MemoryFaults(SOURCE), "secrets": {"token": TOKEN}}
    check = getattr(contract, name)
    return check(**{p: fixtures[p] for p in inspect.signature(check).parameters})


@pytest.mark.parametrize("broken, check, says, section", BROKEN, ids=[f"{b.__name__}-{c}" for b, c, *_ in BROKEN])
def test_the_suite_fails_the_broken_connector(broken, check, says, section):
    with pytest.raises(AssertionError) as failed:
        run_check(check, broken)
    message = str(failed.value)
    assert says in message
    assert message.endswith(f"(see {DOC}#{section})")


@pytest.mark.parametrize("check", sorted({c for _, c, *_ in BROKEN}))
def test_the_reference_connector_passes_the_same_check(check):
    run_check(check, InMemoryConnector)


def test_missing_capability_skips_its_checks_and_must_raise_not_supported():
    class NoPush(InMemoryConnector):
        push_status = Connector.push_status

        def __init__(self, name, settings):
            super().__init__(name, settings)
            self.spec = replace(SPEC, capabilities=SPEC.capabilities - {Capability.PUSH_STATUS})

    with pytest.raises(pytest.skip.Exception, match="does not declare push_status"):
        run_check("test_push_status_round_trips", NoPush)
    run_check("test_undeclared_capabilities_raise_not_supported", NoPush)


def test_a_connector_declaring_fewer_pushable_statuses_is_pushed_only_those():
    class PaidAndCancelledDeclared(PushesPaidAndCancelledOnly):
        def __init__(self, name, settings):
            super().__init__(name, settings)
            self.spec = replace(SPEC, pushes=frozenset({Status.PAID, Status.CANCELLED}))

    run_check("test_every_pushable_status_round_trips", PaidAndCancelledDeclared)


def test_missing_fault_kind_is_skipped_with_a_reason():
    connector = InMemoryConnector(SOURCE, {"page_size": 2})
    with pytest.raises(pytest.skip.Exception, match="cannot simulate rate_limit"):
        ConnectorContract().test_rate_limit_maps_to_rate_limited(connector, lambda o: None, object())
