"""The sliding-window throttle, on a fake clock."""

import pytest

from unpaid.ratelimit import SlidingWindow, parse_rate


class FakeTime:
    def __init__(self):
        self.now = 100.0
        self.slept = []

    def clock(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


def test_never_more_than_limit_in_any_window():
    t = FakeTime()
    window = SlidingWindow(3, 5.0, clock=t.clock, sleep=t.sleep)
    finished = []
    for _ in range(10):
        with window.slot():
            t.now += 0.1  # the request takes 100 ms
        finished.append(t.now)
    for i in range(len(finished) - 3):
        assert finished[i + 3] - finished[i] > 5.0  # any 4 consecutive requests span more than a window
    assert t.slept and window.waited == pytest.approx(sum(t.slept))


def test_no_wait_under_the_limit():
    t = FakeTime()
    window = SlidingWindow(5, 5.0, clock=t.clock, sleep=t.sleep)
    for _ in range(5):
        with window.slot():
            pass
    assert t.slept == []


@pytest.mark.parametrize("text,expected", [("20/5s", (20, 5.0)), ("100/1m", (100, 60.0)), (" 3 / 2 ", (3, 2.0))])
def test_parse_rate(text, expected):
    assert parse_rate(text) == expected


@pytest.mark.parametrize("text", ["", "20", "0/5s", "20/0s", "x/5s"])
def test_parse_rate_refuses_nonsense(text):
    with pytest.raises(ValueError, match="20/5s"):
        parse_rate(text)


def test_a_stored_window_is_one_budget_for_every_process_that_shares_the_state():
    from unpaid.ratelimit import StoredWindow
    from unpaid.source_state import MemoryState

    t = FakeTime()
    state = MemoryState("awo")
    starts = []
    for _ in range(3):  # three commands one after another, each a fresh window object on the same state
        window = StoredWindow(2, 5.0, lambda: state.scoped("account:x"), clock=t.clock, sleep=t.sleep)
        for _ in range(2):
            with window.slot():
                starts.append(t.now)
                t.now += 0.1
    assert len(starts) == 6
    for i in range(len(starts) - 2):
        assert starts[i + 2] - starts[i] >= 5.0  # never three requests inside one window
    assert state.scoped("account:x").get("window") and t.slept


def test_a_stored_window_forgets_a_slot_left_by_a_killed_process():
    from unpaid.ratelimit import StoredWindow
    from unpaid.source_state import MemoryState

    t = FakeTime()
    state = MemoryState("awo")
    state.put("window", [[t.now, "dead.1"]])  # taken, never finished
    window = StoredWindow(1, 5.0, state, clock=t.clock, sleep=t.sleep)
    with window.slot():
        pass
    assert t.slept == [5.0]
