"""The GetCourse connector passes the conformance suite against the emulator over real HTTP."""

from __future__ import annotations

from datetime import timedelta

import pytest

from unpaid.model import LineItem
from unpaid.testing.contract import T0, ConnectorContract, sample_orders
from unpaid_getcourse.sample import seed_orders

from .conftest import DEVELOPER, SECRET


class EmulatorFaults:
    """Faults the way GetCourse (or a proxy in front of it) produces them."""

    def __init__(self, emulator):
        self.emulator = emulator

    def auth_failure(self):
        self.emulator.account.secret_key = "rotated-in-getcourse"  # the stored key is now wrong: 901

    def rate_limit(self, retry_after):
        self.emulator.retry_after = retry_after
        self.emulator.inject("429", count=10)

    def temporary(self):
        self.emulator.inject("500", count=10)

    def garbage(self):
        self.emulator.inject("garbage", count=10)


class TestGetCourseConnector(ConnectorContract):
    @pytest.fixture
    def secrets(self):
        return {"secret_key": SECRET, "developer_key": DEVELOPER}

    @pytest.fixture
    def reopen(self, make_connector, secrets):
        built = []

        def build():
            connector = make_connector(secrets=secrets, page_size=2, default_group="Дожим: 3 письма",
                                       author_user_id=1)
            # The seeded orders are from T0's day; the sync runs the next day, as it would from cron.
            connector.clock = lambda: T0 + timedelta(days=1)
            built.append(connector)
            return connector

        yield build
        for connector in built:
            connector.close()

    @pytest.fixture
    def connector(self, reopen):
        return reopen()

    @pytest.fixture
    def seed(self, emulator):
        return lambda orders: seed_orders(emulator.account, orders)

    @pytest.fixture
    def faults(self, emulator):
        return EmulatorFaults(emulator)

    def sample_orders(self, source):
        """GetCourse exports carry the offer's title, not its id: the title is the product key."""
        return [o.__class__(**{**o.__dict__, "items": (LineItem(o.items[0].title, o.items[0].title),)})
                for o in sample_orders(source)]
