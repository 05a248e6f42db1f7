"""A client-side sliding-window throttle: at most ``limit`` requests in any ``period`` seconds.

Sources such as AutoWebOffice allow a fixed number of requests per window per account and
answer with errors beyond it; waiting on our side is cheaper than being refused. A slot is
stamped when its request *finishes*, so even a slow request cannot make two of them land on
the server within one window more than ``limit`` times.
"""

from __future__ import annotations

import re
import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import Callable, Iterator

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min)?\s*$")


def parse_rate(text: str) -> tuple[int, float]:
    """Parse ``"20/5s"`` or ``"100/1m"`` into (limit, period seconds); ValueError otherwise."""
    match = _SPEC.match(text or "")
    if not match or int(match.group(1)) < 1 or float(match.group(2)) <= 0:
        raise ValueError(f"not a rate: {text!r}; write requests/period, e.g. 20/5s")
    period = float(match.group(2)) * (60 if (match.group(3) or "s").startswith("m") else 1)
    return int(match.group(1)), period


class SlidingWindow:
    """Blocks callers so that no ``period``-long window holds more than ``limit`` requests.

    Thread-safe; ``clock`` and ``sleep`` are injectable so tests need not wait.
    """

    def __init__(self, limit: int, period: float, *, clock: Callable[[], float] = time.monotonic,
                 sleep: Callable[[float], None] = time.sleep):
        if limit < 1 or period <= 0:
            raise ValueError("limit must be >= 1 and period > 0")
        self.limit = limit
        self.period = period
        self.clock = clock
        self.sleep = sleep
        self._done: deque[float] = deque()  # finish times of recent requests
        self._running = 0
        self._lock = threading.Condition()
        self.waited = 0.0  # total seconds spent waiting, for reports

    def _wait_time(self, now: float) -> float:
        while self._done and self._done[0] <= now - self.period:
            self._done.popleft()
        if len(self._done) + self._running < self.limit:
            return 0.0
        if not self._done:  # every slot is held by a running request: wait for one to finish
            return self.period / self.limit
        return self._done[0] + self.period - now

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one request slot for the duration of the ``with`` block."""
        with self._lock:
            while True:
                delay = self._wait_time(self.clock())
                if delay <= 0:
                    break
                self.waited += delay
                if self.sleep is time.sleep:
                    self._lock.wait(delay)
                else:
                    self.sleep(delay)
            self._running += 1
        try:
            yield
        finally:
            with self._lock:
                self._running -= 1
                self._done.append(self.clock())
                self._lock.notify_all()


_shared: dict[str, SlidingWindow] = {}
_shared_lock = threading.Lock()


def shared(key: str, limit: int, period: float) -> SlidingWindow:
    """The process-wide window for ``key`` (e.g. one per account), so two clients share a budget."""
    with _shared_lock:
        window = _shared.get(key)
        if window is None or (window.limit, window.period) != (limit, period):
            window = _shared[key] = SlidingWindow(limit, period)
        return window
