"""The conformance suite run against InMemoryConnector, and proof that it fails broken connectors."""

from dataclasses import replace
from datetime import timezone

import pytest

from unpaid.connector import (
    AuthFailed, Capability, Connector, InvalidData, Page, RateLimited, Temporary,
)
from unpaid.testing.contract import ConnectorContract, sample_orders
from unpaid.testing.fakes import BACKENDS, SPEC, InMemoryConnector, backend

TOKEN = "mem-s3cret-9f2c"


class MemoryFaults:
    """Arms the memory backend to fail its next call the way a remote API would."""

    def __init__(self, source: str):
        self.source = source

    def auth_failure(self):
        backend(self.source).fail_next(AuthFailed(self.source, "401: the API key was rejected", "run `unpaid auth set`"))

    def rate_limit(self, retry_after):
        backend(self.source).fail_next(RateLimited(self.source, "429: too many requests", "wait",
                                                   retry_after=retry_after))

    def temporary(self):
        backend(self.source).fail_next(Temporary(self.source, "502: bad gateway", "try again later"))

    def garbage(self):
        backend(self.source).fail_next(InvalidData(self.source, "the answer is not JSON", "report it to the source"))


@pytest.fixture(autouse=True)
def _fresh_backends():
    BACKENDS.clear()
    yield
    BACKENDS.clear()


class TestInMemoryConnector(ConnectorContract):
    @pytest.fixture
    def secrets(self):
        return {"token": TOKEN}

    @pytest.fixture
    def connector(self, secrets):
        return SPEC.factory("shop", {"page_size": 2}, secrets)

    @pytest.fixture
    def seed(self, connector):
        return lambda orders: backend(connector.name).put(*orders)

    @pytest.fixture
    def faults(self, connector):
        return MemoryFaults(connector.name)


# ---- the suite must fail connectors that break the contract ----

CONTRACT = ConnectorContract()


def seed_shop(orders):
    backend("shop").put(*orders)


class IgnoresBookmark(InMemoryConnector):
    def fetch_orders(self, since):
        return super().fetch_orders(None)


class SkipsToTheEnd(InMemoryConnector):
    """Page 1's bookmark claims everything was read: a crash after it loses orders."""

    def fetch_orders(self, since):
        pages = list(super().fetch_orders(since))
        for page in pages:
            yield Page(page.orders, pages[-1].bookmark)


class ForgetsPushes(InMemoryConnector):
    def push_status(self, native_id, status, reason=None):
        self.fetch_order(native_id)


class LeaksToken(InMemoryConnector):
    def __init__(self, name, settings, token):
        super().__init__(name, settings)
        self.token = token

    def __repr__(self):
        return f"LeaksToken(token={self.token!r})"


class NaiveTimes(InMemoryConnector):
    def fetch_orders(self, since):
        for page in super().fetch_orders(since):
            yield Page([replace(o, created_at=o.created_at.replace(tzinfo=None)) for o in page.orders], page.bookmark)


class CommentsSecretly(InMemoryConnector):
    """Implements add_comment but does not declare COMMENT."""

    def __init__(self, name, settings):
        super().__init__(name, settings)
        self.spec = replace(SPEC, capabilities=SPEC.capabilities - {Capability.COMMENT})


class DeclaresFetchOneOnly(InMemoryConnector):
    """Declares FETCH_ONE but inherits the base fetch_order that raises NotSupported."""

    fetch_order = Connector.fetch_order


@pytest.mark.parametrize("broken, check", [
    (IgnoresBookmark, "test_refetch_from_bookmark_brings_no_duplicates"),
    (SkipsToTheEnd, "test_crash_after_first_page_loses_nothing"),
    (ForgetsPushes, "test_push_status_round_trips"),
    (NaiveTimes, "test_fetched_orders_are_canonical"),
    (CommentsSecretly, "test_undeclared_capabilities_raise_not_supported"),
])
def test_broken_connector_fails_the_check(broken, check):
    with pytest.raises(AssertionError):
        getattr(CONTRACT, check)(broken("shop", {"page_size": 2}), seed_shop)


def test_a_connector_that_repeats_everything_fails_the_incremental_check_but_not_the_fetch():
    connector = IgnoresBookmark("shop", {"page_size": 2})
    CONTRACT.test_fetch_returns_seeded_orders(connector, seed_shop)  # full fetch is fine
    with pytest.raises(AssertionError, match="unchanged orders fetched again"):
        CONTRACT.test_refetch_from_bookmark_brings_no_duplicates(connector, seed_shop)


def test_leaked_secret_fails_the_secret_check():
    connector = LeaksToken("shop", {"page_size": 2}, TOKEN)
    with pytest.raises(AssertionError, match="a secret appears"):
        CONTRACT.test_secrets_never_leak(connector, seed_shop, MemoryFaults("shop"), {"token": TOKEN})


def test_declared_but_unimplemented_capability_fails():
    connector = DeclaresFetchOneOnly("shop", {"page_size": 2})
    with pytest.raises(AssertionError, match="fetch_one is declared"):
        CONTRACT.test_declared_capabilities_are_implemented(connector)


def test_missing_capability_skips_its_checks_and_must_raise_not_supported():
    class NoPush(InMemoryConnector):
        push_status = Connector.push_status

        def __init__(self, name, settings):
            super().__init__(name, settings)
            self.spec = replace(SPEC, capabilities=SPEC.capabilities - {Capability.PUSH_STATUS})

    connector = NoPush("shop", {"page_size": 2})
    with pytest.raises(pytest.skip.Exception, match="does not declare push_status"):
        CONTRACT.test_push_status_round_trips(connector, seed_shop)
    CONTRACT.test_undeclared_capabilities_raise_not_supported(connector, seed_shop)


def test_missing_fault_kind_is_skipped_with_a_reason():
    connector = InMemoryConnector("shop", {"page_size": 2})
    with pytest.raises(pytest.skip.Exception, match="cannot simulate rate_limit"):
        CONTRACT.test_rate_limit_maps_to_rate_limited(connector, seed_shop, object())


def test_sample_orders_are_canonical_utc_with_customer_keys():
    orders = sample_orders("shop")
    assert len({o.native_id for o in orders}) == len(orders) >= 3
    assert all(o.created_at.tzinfo is timezone.utc and o.customer.key for o in orders)
