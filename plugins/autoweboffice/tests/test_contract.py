"""AutoWebOffice passes the connector conformance suite, over real HTTP against the emulator."""

from dataclasses import replace

import pytest

from unpaid.model import Status
from unpaid.testing.contract import ConnectorContract, sample_orders
from unpaid_autoweboffice.mapping import STATUS_FROM_NATIVE, invoice_from_order, native_status_for

from awo_env import KEYS, make_connector


class Faults:
    def __init__(self, emulator):
        self.emulator = emulator

    def auth_failure(self):
        self.emulator.fail_next("auth")

    def rate_limit(self, retry_after):
        self.emulator.fail_next("429", retry_after=retry_after)

    def temporary(self):
        self.emulator.fail_next("500")

    def garbage(self):
        self.emulator.fail_next("garbage")


class TestAutoWebOfficeConnector(ConnectorContract):
    def sample_orders(self, source):
        """One currency per account, and statuses as AutoWebOffice holds them (no "new", no partial payment)."""
        adapted = []
        for order in sample_orders(source):
            status = STATUS_FROM_NATIVE[native_status_for(order.status)]
            adapted.append(replace(order, status=status, native_status=native_status_for(status),
                                   total=replace(order.total, currency="RUB")))
        return adapted

    @pytest.fixture
    def reopen(self, emulator):
        built = []

        def build():
            built.append(make_connector(emulator, page_size=2))
            return built[-1]

        yield build
        for conn in built:
            conn.close()

    @pytest.fixture
    def connector(self, reopen):
        return reopen()

    @pytest.fixture
    def seed(self, emulator):
        def put(orders):
            for order in orders:
                emulator.account.put_invoice(*invoice_from_order(order, emulator.account.zone))

        return put

    @pytest.fixture
    def faults(self, emulator):
        return Faults(emulator)

    @pytest.fixture
    def secrets(self):
        return dict(KEYS)


def test_adapted_samples_still_cover_several_statuses():
    statuses = {o.status for o in TestAutoWebOfficeConnector().sample_orders("awo")}
    assert {Status.PAYMENT_WAITING, Status.IN_WORK, Status.NOT_CONFIRMED} <= statuses
