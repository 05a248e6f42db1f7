"""Small files the connector keeps per GetCourse account, in the user cache directory.

- the **budget** file: when each export-API request was sent, so every process (cron's
  ``unpaid sync``, ``unpaid run`` doing fresh reads, a manager's desk) sees the same account-wide
  budget of about 100 requests per 2 hours. It is not in the bookmark because the budget belongs to
  the account, not to one source's sync, and the bookmark is only saved with a stored page.
- the **deal index**: deal id -> (user id, number, e-mail) learnt from exports, which lets a
  connector without a developer key address a deal through the import API (by number and e-mail)
  and re-read it with the narrowest export (by user id).

Both are caches: deleting them loses nothing but budget accuracy and the index (the next sync
rebuilds it). Writes go through a temporary file and ``os.replace``, under a lock file.
"""

from __future__ import annotations

import json
import os
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator


def cache_dir() -> Path:
    # Imported here: platformdirs is needed only when a GetCourse connector is built.
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("unpaid"))


@contextmanager
def _locked(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(path.suffix + ".lock"), "a+") as lock:
        try:
            import fcntl

            fcntl.flock(lock, fcntl.LOCK_EX)
        except ImportError:  # Windows: one process at a time is the user's job there
            pass
        yield


def _read(path: Path, default: Any) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return default


def _write(path: Path, data: Any) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    try:
        tmp.write_text(json.dumps(data, ensure_ascii=False, separators=(",", ":")), encoding="utf-8")
        os.replace(tmp, path)
    except BaseException:  # a stop signal mid-write included: no half-written file is left behind
        tmp.unlink(missing_ok=True)
        raise


class Budget:
    """The account's export-request budget: ``limit`` requests in any ``window`` seconds."""

    def __init__(self, path: Path, limit: int = 100, window: float = 7200.0, clock: Callable[[], float] = time.time):
        self.path = path
        self.limit = limit
        self.window = window
        self.clock = clock
        self.used_here = 0  # requests this process sent, for the summary

    def _recent(self, data: dict) -> list[float]:
        cutoff = self.clock() - self.window
        return [t for t in data.get("sent", []) if t > cutoff]

    def remaining(self) -> int:
        data = _read(self.path, {})
        if data.get("blocked_until", 0) > self.clock():
            return 0
        return max(0, self.limit - len(self._recent(data)))

    def free_at(self) -> float:
        """When the next request slot opens (epoch seconds)."""
        data = _read(self.path, {})
        sent = sorted(self._recent(data))
        at = sent[len(sent) - self.limit] + self.window if len(sent) >= self.limit else self.clock()
        return max(at, data.get("blocked_until", 0))

    def spend(self) -> None:
        """Record one request sent now."""
        with _locked(self.path):
            data = _read(self.path, {})
            data["sent"] = self._recent(data) + [self.clock()]
            _write(self.path, data)
        self.used_here += 1

    def exhausted(self, retry_after: float | None = None) -> float:
        """The server said 903: block until the window clears (our estimate); returns that moment."""
        with _locked(self.path):
            data = _read(self.path, {})
            sent = sorted(self._recent(data))
            until = (sent[0] + self.window) if sent else self.clock() + (retry_after or self.window / 4)
            data["blocked_until"] = max(until, self.clock() + 60)
            _write(self.path, data)
            return data["blocked_until"]


class DealIndex:
    """deal id -> [user id, number, e-mail], merged from every export the connector reads."""

    def __init__(self, path: Path):
        self.path = path
        self._pending: dict[str, list[str]] = {}
        self._cache: dict[str, list[str]] | None = None

    def add(self, deal_id: str, user_id: str, number: str, email: str) -> None:
        self._pending[deal_id] = [user_id, number, email]

    def flush(self) -> None:
        if not self._pending:
            return
        with _locked(self.path):
            data = _read(self.path, {})
            data.update(self._pending)
            _write(self.path, data)
        self._pending = {}
        self._cache = None

    def get(self, deal_id: str) -> tuple[str, str, str] | None:
        if deal_id in self._pending:
            return tuple(self._pending[deal_id])  # type: ignore[return-value]
        if self._cache is None:
            self._cache = _read(self.path, {})
        found = self._cache.get(deal_id)
        return tuple(found) if found else None  # type: ignore[return-value]
