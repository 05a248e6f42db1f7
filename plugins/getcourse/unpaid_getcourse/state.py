"""What the connector remembers between processes, in the store (:mod:`unpaid.source_state`).

- the **budget**: when each export-API request was sent, under the account's scope, so every process
  (cron's ``unpaid sync``, ``unpaid run``, a manager's desk) and every source of one account sees the
  same budget of about 100 requests per 2 hours;
- the **deal index**: deal id -> (user id, number, e-mail, phone), learnt from every export read, which
  lets a write without a developer key name the deal's number and its buyer. A deal missing from it is
  never "gone": the connector says so, flags a rebuild, and the next sync re-reads every deal;
- the **export marker**: which of our processes is building an export now, so another one waits for it
  instead of running into GetCourse's one-export-per-account lock (905).
"""

from __future__ import annotations

import time
from datetime import timedelta
from typing import Any, Callable, Iterable

from unpaid.clock import format_duration
from unpaid.source_state import State

REBUILD = "index:rebuild"


def account_scope(account: str) -> str:
    return f"getcourse:{account}"


class Budget:
    """The account's export-request budget: ``limit`` requests in any ``window`` seconds."""

    def __init__(self, state: Callable[[], State], limit: int = 100, window: float = 7200.0,
                 clock: Callable[[], float] = time.time):
        self._state = state
        self.limit = limit
        self.window = window
        self.clock = clock
        self.used_here = 0  # requests this process sent, for the summary

    def span(self) -> str:
        """The window as messages name it (``2h``): ``budget_window`` is configurable."""
        return format_duration(timedelta(seconds=self.window))

    def _recent(self, data: dict) -> list[float]:
        cutoff = self.clock() - self.window
        return [t for t in data.get("sent", []) if t > cutoff]

    def _data(self) -> dict:
        return self._state().get("budget") or {}

    def remaining(self) -> int:
        data = self._data()
        if data.get("blocked_until", 0) > self.clock():
            return 0
        return max(0, self.limit - len(self._recent(data)))

    def free_at(self) -> float:
        """When the next request slot opens (epoch seconds)."""
        data = self._data()
        sent = sorted(self._recent(data))
        at = sent[len(sent) - self.limit] + self.window if len(sent) >= self.limit else self.clock()
        return max(at, data.get("blocked_until", 0))

    def spend(self) -> None:
        """Record one request sent now."""
        def add(data: dict) -> dict:
            return {**data, "sent": self._recent(data) + [self.clock()]}

        self._state().update("budget", add, {})
        self.used_here += 1

    def exhausted(self) -> float:
        """The server said 903: block until the window clears (our estimate); returns that moment."""
        def block(data: dict) -> dict:
            sent = sorted(self._recent(data))
            until = (sent[0] + self.window) if sent else self.clock() + self.window / 4
            return {**data, "blocked_until": max(until, self.clock() + 60)}

        return self._state().update("budget", block, {})["blocked_until"]


class DealIndex:
    """deal id -> [user id, number, e-mail, phone], merged from every export the connector reads."""

    def __init__(self, state: Callable[[], State]):
        self._state = state
        self._pending: dict[str, list[str]] = {}

    def add(self, deal_id: str, user_id: str, number: str, email: str, phone: str) -> None:
        self._pending[f"deal:{deal_id}"] = [user_id, number, email, phone]

    def flush(self) -> None:
        if self._pending:
            self._state().put_many(self._pending)
            self._pending = {}

    def get_many(self, deal_ids: Iterable[str]) -> dict[str, tuple[str, str, str, str]]:
        keys = [f"deal:{d}" for d in deal_ids]
        found = {k: v for k, v in self._pending.items() if k in set(keys)}
        missing = [k for k in keys if k not in found]
        if missing:
            found.update(self._state().get_many(missing))
        return {k.removeprefix("deal:"): _entry(v) for k, v in found.items()}

    def get(self, deal_id: str) -> tuple[str, str, str, str] | None:
        return self.get_many([deal_id]).get(deal_id)

    def want_rebuild(self) -> None:
        """A deal was asked for that the index lacks: the next sync reads every deal again."""
        self._state().put(REBUILD, True)

    def rebuild_wanted(self) -> bool:
        return bool(self._state().get(REBUILD))

    def rebuilt(self) -> None:
        self._state().delete(REBUILD)


def _entry(value: Any) -> tuple[str, str, str, str]:
    value = list(value) + ["", "", "", ""]
    return tuple(str(v or "") for v in value[:4])  # type: ignore[return-value]


class ExportMarker:
    """Which of our processes is building an export of the account, so others wait instead of hitting 905."""

    def __init__(self, state: Callable[[], State], clock: Callable[[], float] = time.time):
        self._state = state
        self.clock = clock
        self.token = f"{id(self)}-{time.monotonic_ns()}"

    def busy(self, stale_after: float) -> bool:
        """True while another process of ours holds a marker younger than ``stale_after`` seconds."""
        held = self._state().get("exporting")
        return bool(held) and held.get("token") != self.token and held.get("at", 0) > self.clock() - stale_after

    def hold(self) -> None:
        self._state().put("exporting", {"token": self.token, "at": self.clock()})

    def release(self) -> None:
        def drop(held: Any) -> Any:
            return None if not held or held.get("token") == self.token else held

        self._state().update("exporting", drop, None)
