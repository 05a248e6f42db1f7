"""A client-side sliding-window throttle: at most ``limit`` requests in any ``period`` seconds.

Sources such as AutoWebOffice allow a fixed number of requests per window per account and
answer with errors beyond it; waiting on our side is cheaper than being refused. A slot is
stamped when its request *finishes*, so even a slow request cannot make two of them land on
the server within one window more than ``limit`` times.

:class:`StoredWindow` keeps the window in a connector's state (:mod:`unpaid.source_state`) instead,
so that commands run one after another (``sync && run && queue``) or side by side share one budget:
each new process would otherwise start with an empty window and spend a full one at once.
"""

from __future__ import annotations

import os
import re
import threading
import time
from collections import deque
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any, Callable, Iterator

if TYPE_CHECKING:
    from unpaid.source_state import State

_SPEC = re.compile(r"^\s*(\d+)\s*/\s*(\d+(?:\.\d+)?)\s*(s|sec|m|min)?\s*$")


def parse_rate(text: str) -> tuple[int, float]:
    """Parse ``"20/5s"`` or ``"100/1m"`` into (limit, period seconds); ValueError otherwise."""
    match = _SPEC.match(text or "")
    if not match or int(match.group(1)) < 1 or float(match.group(2)) <= 0:
        from unpaid.i18n import _

        raise ValueError(_("not a rate: {text!r}; write requests/period, e.g. 20/5s").format(text=text))
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


class StoredWindow:
    """A sliding window kept in a :class:`~unpaid.source_state.State`: one budget across processes.

    Each request takes a slot (stamped with its start) in one atomic update of the state, and
    re-stamps it with its finish time after; stamps older than ``period`` are dropped. A process
    killed mid-request leaves a stamp that simply ages out. ``state`` may be a callable, so a
    connector can build its client before the core hands it its state. Times are wall-clock
    seconds (shared between processes), injectable for tests.
    """

    def __init__(self, limit: int, period: float, state: "State | Callable[[], State]", key: str = "window", *,
                 clock: Callable[[], float] = time.time, sleep: Callable[[float], None] = time.sleep):
        if limit < 1 or period <= 0:
            raise ValueError("limit must be >= 1 and period > 0")
        self.limit = limit
        self.period = period
        self.key = key
        self.clock = clock
        self.sleep = sleep
        self._state = state
        self._token = 0
        self.waited = 0.0

    @property
    def state(self) -> "State":
        return self._state() if callable(self._state) else self._state

    def _take(self, token: str) -> float:
        """Take a slot now, or say how long to wait for one (nothing is taken then)."""
        now = self.clock()
        wait = [0.0]

        def change(stamps: Any) -> list:
            live = [s for s in (stamps or []) if isinstance(s, list) and len(s) == 2 and s[0] > now - self.period]
            if len(live) >= self.limit:
                wait[0] = max(0.01, min(s[0] for s in live) + self.period - now)
            else:
                live.append([now, token])
            return live

        self.state.update(self.key, change, [])
        return wait[0]

    def _finish(self, token: str) -> None:
        end = self.clock()
        self.state.update(self.key, lambda stamps: [[end, t] if t == token else [s, t]
                                                    for s, t in (stamps or []) if s > end - self.period or t == token],
                          [])

    @contextmanager
    def slot(self) -> Iterator[None]:
        """Hold one request slot of the shared window for the duration of the ``with`` block."""
        self._token += 1
        token = f"{os.getpid()}.{id(self):x}.{self._token}"
        while True:
            delay = self._take(token)
            if delay <= 0:
                break
            self.waited += delay
            self.sleep(delay)
        try:
            yield
        finally:
            self._finish(token)
