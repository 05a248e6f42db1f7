"""The database server's clock as this process knows it: read once, then advanced by the process's own
steady clock, so that a lease does not cost a round trip to the server each time it is stamped.

Leases on PostgreSQL follow the server's clock, which every host shares (a host whose clock runs ahead
would otherwise see another manager's live claim as run out). Asking the server at each claim doubled the
statements of `unpaid next`; instead the moment is read with the schema check every command makes on
opening the store, and advanced by :func:`time.monotonic` from then on.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Callable

#: Seconds a reading is trusted for: a steady clock drifts from the server's by parts per million, milliseconds
#: a minute at the worst.
FRESH_S = 60.0
#: Seconds by which the wall clock and the steady clock may disagree about the time since a reading before
#: it is taken again: they part when the computer slept (the steady clock stops) or its clock was set.
AGREE_S = 1.0


class ServerClock:
    """The server's time now, to the second, from the last reading and the steady time since."""

    def __init__(self, read: Callable[[], datetime]):
        self._read = read  # one statement: the server's clock_timestamp()
        self._reading: tuple[datetime, float, float] | None = None  # server time, monotonic, wall

    def note(self, server_now: datetime, asked_at: float) -> None:
        """Keep ``server_now``, answered to a statement sent at ``asked_at`` (:func:`time.monotonic`). The
        server read its clock somewhere in the round trip: its middle is the best guess."""
        answered = time.monotonic()
        middle = (asked_at + answered) / 2
        self._reading = (server_now, middle, time.time() - (answered - middle))

    def now(self) -> datetime:
        if self._reading is None or self._stale():
            asked_at = time.monotonic()
            self.note(self._read(), asked_at)
        server_now, steady, _wall = self._reading
        return (server_now + timedelta(seconds=time.monotonic() - steady)).replace(microsecond=0)

    def _stale(self) -> bool:
        _server_now, steady, wall = self._reading
        ran, walked = time.monotonic() - steady, time.time() - wall
        return ran > FRESH_S or abs(walked - ran) > AGREE_S
