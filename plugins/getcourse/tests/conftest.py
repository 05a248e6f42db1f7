"""Fixtures for the GetCourse plugin: a real emulator on 127.0.0.1 and connectors pointed at it."""

from __future__ import annotations

from typing import Any, Callable

import pytest
import stamina

from unpaid.source_state import StoreState
from unpaid.sources import check_settings
from unpaid_getcourse.emulator import Emulator, start
from unpaid_getcourse.sample import base_seed

pytest_plugins = ["unpaid.testing.fixtures"]

SECRET = "gc-secret-0001"
READ_ONLY = "gc-readonly-0001"
DEVELOPER = "gc-dev-0001"


@pytest.fixture(autouse=True)
def fast_retries():
    """Retries still happen (up to 3 attempts) but without the backoff waits."""
    stamina.set_testing(True, attempts=3, cap=True)
    yield
    stamina.set_testing(False)


def deal(n: int, **fields: Any) -> dict[str, Any]:
    """A seed deal: ``deal(1, status="payed")``; dates are local to the account (Moscow)."""
    base = {"id": 7000 + n, "number": str(500 + n), "email": f"buyer{n}@example.com", "phone": f"+7999000{n:04d}",
            "name": f"Покупатель {n}", "title": "Курс «Продажи»", "cost": 499000, "status": "new",
            "created_at": f"2026-10-{n % 28 + 1:02d} 12:00:00"}
    return {**base, **fields}


@pytest.fixture
def emulator() -> Emulator:
    """An empty school with the demo keys, groups and reasons; exports build at once."""
    emu = start(base_seed())
    yield emu
    emu.stop()


@pytest.fixture
def make_connector(emulator, tmp_path, cli_db) -> Callable[..., Any]:
    """Build a connector for the emulator the way ``open_connector`` does (settings checked, defaults filled,
    state in a store shared by every connector the test builds, as by every process)."""
    from unpaid_getcourse.spec import SPEC

    def make(name: str = "school", secrets: dict[str, str] | None = None, **settings: Any):
        values = check_settings("test", name, {"account": "school", "base_url": emulator.base_url,
                                               "first_wait": 0.01, "poll_interval": 0.02, "poll_max": 0.05,
                                               "export_timeout": 5, "busy_wait": 0.05,
                                               "retry_wait": 0.01, "timezone": "Europe/Moscow", **settings}, SPEC.settings, "sources")
        values.update({"_timezone": "UTC", "_default_country": "7", "_config_dir": str(tmp_path)})
        connector = SPEC.factory(name, values, {"secret_key": SECRET} if secrets is None else secrets)
        connector.state = StoreState(cli_db, name)  # as open_connector does: in the store
        return connector

    return make
