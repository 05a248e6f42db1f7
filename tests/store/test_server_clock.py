"""The server's clock as a process keeps it between readings (unpaid.store.server_clock)."""

from datetime import datetime, timedelta, timezone

import pytest

from unpaid.store import server_clock
from unpaid.store.server_clock import AGREE_S, FRESH_S, ServerClock

SERVER = datetime(2026, 12, 3, 9, 0, 0, 250_000, tzinfo=timezone.utc)


class Host:
    """The host's two clocks, moved by the test; the server's answers, counted."""

    def __init__(self):
        self.steady, self.wall, self.reads = 100.0, 1_000_000.0, 0
        self.server_offset = 0.0  # seconds the server's clock has moved since SERVER

    def monotonic(self):
        return self.steady

    def time(self):
        return self.wall

    def read(self):
        self.reads += 1
        return SERVER + timedelta(seconds=self.server_offset)

    def wait(self, seconds, asleep=False):
        """``seconds`` pass; asleep: the computer slept through them (the steady clock stood still)."""
        self.wall += seconds
        self.server_offset += seconds
        if not asleep:
            self.steady += seconds


@pytest.fixture
def host(monkeypatch):
    h = Host()
    monkeypatch.setattr(server_clock, "time", h)
    return h


def test_the_server_is_read_once_and_its_time_then_follows_the_steady_clock(host):
    clock = ServerClock(host.read)
    assert clock.now() == SERVER.replace(microsecond=0)
    host.wait(42.9)
    assert clock.now() == datetime(2026, 12, 3, 9, 0, 43, tzinfo=timezone.utc)  # 0.25 + 42.9 s, to the second
    assert host.reads == 1


def test_a_reading_noted_with_the_schema_check_costs_no_statement(host):
    clock = ServerClock(host.read)
    clock.note(SERVER, host.monotonic())
    host.wait(5)
    assert clock.now() == SERVER.replace(microsecond=0) + timedelta(seconds=5)
    assert host.reads == 0


def test_a_reading_older_than_its_freshness_is_taken_again(host):
    clock = ServerClock(host.read)
    clock.now()
    host.wait(FRESH_S - 1)
    clock.now()
    assert host.reads == 1
    host.wait(2)
    clock.now()
    assert host.reads == 2


def test_a_computer_that_slept_reads_the_server_again_instead_of_running_behind_it(host):
    """The steady clock stops while the computer sleeps: kept by it alone, leases would be stamped an
    hour early, and another manager could take a claim an hour before it runs out."""
    clock = ServerClock(host.read)
    clock.now()
    host.wait(3600, asleep=True)
    assert clock.now() == (SERVER + timedelta(seconds=3600)).replace(microsecond=0)
    assert host.reads == 2


def test_a_wall_clock_set_by_less_than_the_tolerance_is_not_a_reason_to_read_again(host):
    clock = ServerClock(host.read)
    clock.now()
    host.wall += AGREE_S / 2
    clock.now()
    assert host.reads == 1


def test_the_server_time_is_taken_as_of_the_middle_of_the_round_trip(host):
    clock = ServerClock(host.read)
    asked_at = host.monotonic()
    host.steady += 0.8  # the answer came 0.8 s after the question
    clock.note(SERVER, asked_at)
    # The server read its clock 0.4 s before the answer arrived (as best known): 0.25 + 0.4 s now.
    assert clock.now() == SERVER.replace(microsecond=0)
    host.steady += 0.4
    assert clock.now() == SERVER.replace(microsecond=0) + timedelta(seconds=1)  # 1.05 s


def test_a_wall_clock_set_back_reads_the_server_again(host):
    """An NTP step or an admin setting the clock: the steady clock says one thing, the wall another, and
    which one the server agrees with is not known here, so the server is asked."""
    clock = ServerClock(host.read)
    clock.now()
    host.wall -= 3600
    host.wait(1)
    assert clock.now() == (SERVER + timedelta(seconds=1)).replace(microsecond=0)
    assert host.reads == 2
