"""The conformance suite run against InMemoryConnector, the reference every broken variant is cut from."""

from datetime import timezone

import pytest

from unpaid.connector import AuthFailed, InvalidData, RateLimited, Temporary
from unpaid.testing.contract import ConnectorContract, sample_orders
from unpaid.testing.fakes import BACKENDS, SPEC, backend

TOKEN = "mem-s3cret-9f2c"


class MemoryFaults:
    """Arms the memory backend to fail the way a remote API would."""

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

    def unreadable(self, native_id):
        backend(self.source).unreadable.add(native_id)


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
    def reopen(self, secrets):
        return lambda: SPEC.factory("shop", {"page_size": 2}, secrets)

    @pytest.fixture
    def seed(self, connector):
        return lambda orders: backend(connector.name).put(*orders)

    @pytest.fixture
    def faults(self, connector):
        return MemoryFaults(connector.name)


def test_sample_orders_are_canonical_utc_with_customer_keys():
    orders = sample_orders("shop")
    assert len({o.native_id for o in orders}) == len(orders) >= 3
    assert all(o.created_at.tzinfo is timezone.utc and o.customer.key for o in orders)


def test_reopen_is_required_by_the_round_trips():
    with pytest.raises(pytest.fail.Exception, match="supply a `reopen` fixture"):
        ConnectorContract.reopen.__wrapped__(ConnectorContract())()
