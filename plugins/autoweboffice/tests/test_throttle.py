"""The client-side throttle against the emulator's own count of its busiest window (real time)."""

import time

import pytest

from awo_env import make_connector, make_seed
from unpaid.connector import RateLimited
from unpaid_autoweboffice.emulator import Emulator


def test_client_never_exceeds_the_limit_and_is_never_refused():
    with Emulator(make_seed(), rate_limit=(5, 1.0)) as emu:
        conn = make_connector(emu, rate_limit="5/1s")
        started = time.monotonic()
        for _ in range(16):
            conn.client.list("accounts")
        elapsed = time.monotonic() - started
    assert emu.stats.requests == 16 and emu.stats.limited == 0
    assert emu.stats.max_in_window <= 5
    assert elapsed >= 3.0  # 16 requests at 5 per second need at least three full windows


def test_without_the_throttle_the_emulator_refuses_the_excess():
    with Emulator(make_seed(), rate_limit=(5, 1.0)) as emu:
        conn = make_connector(emu, rate_limit="1000/1s")
        with pytest.raises(RateLimited) as info:
            for _ in range(10):
                conn.client.list("accounts")
    assert emu.stats.limited == 1 and info.value.retry_after >= 1
