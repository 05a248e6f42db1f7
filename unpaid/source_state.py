"""What a connector remembers between processes: small JSON values under keys, shared by every command.

A sync bookmark belongs to one source's read and is saved with the page it closes; this is for the rest —
an account's request budget, a throttle window, the ids needed to address an object. It lives in the
store, not in a cache directory, so a container restart or cron running as another user loses nothing.

Connectors reach it as ``self.state`` (set by the core when it builds them; a connector built directly,
as in a unit test, gets a private in-memory one). :meth:`State.update` is an atomic read-modify-write
across processes: two commands spending the same budget never both see the last request as free.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping


class State:
    """The interface: ``get``, ``put``, ``update`` and ``scoped`` (a view under another scope)."""

    scope: str

    def get(self, key: str, default: Any = None) -> Any:
        raise NotImplementedError

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        """The values of ``keys`` that are set."""
        return {k: v for k in keys if (v := self.get(k, _MISSING)) is not _MISSING}

    def put(self, key: str, value: Any) -> None:
        self.put_many({key: value})

    def put_many(self, values: Mapping[str, Any]) -> None:
        raise NotImplementedError

    def delete(self, key: str) -> None:
        raise NotImplementedError

    def update(self, key: str, change: Callable[[Any], Any], default: Any = None) -> Any:
        """Apply ``change(old value or default)`` atomically and store the result; returns it."""
        raise NotImplementedError

    def scoped(self, scope: str) -> "State":
        raise NotImplementedError


_MISSING = object()


class MemoryState(State):
    """State kept in this process only: for connectors built outside the core and for unit tests."""

    def __init__(self, scope: str = "", data: dict[tuple[str, str], str] | None = None):
        self.scope = scope
        self._data = data if data is not None else {}
        self._lock = threading.Lock()

    def get(self, key: str, default: Any = None) -> Any:
        raw = self._data.get((self.scope, key))
        return default if raw is None else json.loads(raw)

    def put_many(self, values: Mapping[str, Any]) -> None:
        with self._lock:
            for key, value in values.items():
                self._data[(self.scope, key)] = _dump(value)

    def delete(self, key: str) -> None:
        self._data.pop((self.scope, key), None)

    def update(self, key: str, change: Callable[[Any], Any], default: Any = None) -> Any:
        with self._lock:
            raw = self._data.get((self.scope, key))
            new = change(default if raw is None else json.loads(raw))
            self._data[(self.scope, key)] = _dump(new)
            return new

    def scoped(self, scope: str) -> "MemoryState":
        return MemoryState(scope, self._data)


class StoreState(State):
    """State in the store's ``source_state`` table, through a connection of its own opened at first use.

    Its own connection, so a connector's bookkeeping never joins (or waits for) a transaction of the
    engine that called it; WAL lets the two work side by side.
    """

    def __init__(self, path: Path, scope: str, _shared: "_Connection | None" = None):
        self.scope = scope
        self._conn = _shared or _Connection(path if isinstance(path, str) else Path(path))  # str: a URL too

    def get(self, key: str, default: Any = None) -> Any:
        row = self._conn.get().execute("SELECT value FROM source_state WHERE scope = ? AND key = ?",
                                       (self.scope, key)).fetchone()
        return default if row is None else json.loads(row[0])

    def get_many(self, keys: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        conn = self._conn.get()
        for i in range(0, len(keys), 500):
            chunk = keys[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for key, value in conn.execute(f"SELECT key, value FROM source_state WHERE scope = ? AND key IN ({marks})",
                                           (self.scope, *chunk)):
                found[key] = json.loads(value)
        return found

    def put_many(self, values: Mapping[str, Any]) -> None:
        if not values:
            return
        now = _now()
        with self._conn.transaction() as conn:
            conn.executemany(
                "INSERT INTO source_state (scope, key, value, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                [(self.scope, k, _dump(v), now) for k, v in values.items()])

    def delete(self, key: str) -> None:
        with self._conn.transaction() as conn:
            conn.execute("DELETE FROM source_state WHERE scope = ? AND key = ?", (self.scope, key))

    def update(self, key: str, change: Callable[[Any], Any], default: Any = None) -> Any:
        with self._conn.transaction() as conn:  # BEGIN IMMEDIATE: the read and the write are one step
            row = conn.execute("SELECT value FROM source_state WHERE scope = ? AND key = ?",
                               (self.scope, key)).fetchone()
            new = change(default if row is None else json.loads(row[0]))
            conn.execute(
                "INSERT INTO source_state (scope, key, value, updated_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (scope, key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
                (self.scope, key, _dump(new), _now()))
            return new

    def scoped(self, scope: str) -> "StoreState":
        return StoreState(self._conn.path, scope, self._conn)

    def close(self) -> None:
        self._conn.close()


class _Connection:
    """One lazily opened connection to the store, migrated like any other opening of it."""

    def __init__(self, path: Path):
        self.path = path
        self._conn: sqlite3.Connection | None = None

    def get(self) -> sqlite3.Connection:
        if self._conn is None:
            from unpaid.store import Store

            self._conn = Store.open(self.path).conn
        return self._conn

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        conn = self.get()
        from unpaid.store import store_error

        try:
            conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise store_error(self.path, exc) from None
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _dump(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
