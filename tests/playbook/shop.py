"""A shop for playbook tests: memory sources (one reports opens), the example playbooks, an outbox, a desk."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator

import pytest

from unpaid import hookimpl
from unpaid.connector import Capability, Event
from unpaid.model import Customer, LineItem, Money, Order, Status
from unpaid.testing.fakes import BACKENDS, CAPABILITIES, SPEC, InMemoryConnector, backend

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "playbooks"
EVENTS: dict[str, list[Event]] = {}


class EventsConnector(InMemoryConnector):
    """The memory connector plus opens/clicks that tests add with :func:`add_event`."""

    def __init__(self, name, settings):
        super().__init__(name, settings)
        self.spec = EVENTS_SPEC

    def fetch_events(self, since: str | None) -> Iterator[Event]:
        from unpaid.clock import from_iso

        after = from_iso(since) if since else None
        yield from (e for e in EVENTS.get(self.name, []) if after is None or e.at > after)


EVENTS_SPEC = replace(SPEC, name="memory-events", title="In-memory orders that report opens",
                      capabilities=CAPABILITIES | {Capability.EVENTS}, events=("open", "click"),
                      factory=lambda name, settings, secrets: EventsConnector(name, settings))


class ShopPlugin:
    @staticmethod
    @hookimpl
    def register_connectors(register):
        register(SPEC)
        register(EVENTS_SPEC)


def add_event(source: str, native_id: str, kind: str, at: datetime) -> None:
    EVENTS.setdefault(source, []).append(Event(native_id, kind, at))


CONFIG = """
timezone = "Europe/Moscow"
playbook_files = ["{examples}/*.toml"]

[sources.gc]
type = "memory-events"

[sources.awo]
type = "memory"

[sources.pharmacy]
type = "memory"

[channels.email]
type = "outbox"
path = "outbox"

[channels.sms]
type = "outbox"
path = "outbox-sms"
address = "phone"
"""


@pytest.fixture
def shop(tmp_path, cli, register_plugin, monkeypatch):
    """A configured shop: returns a helper with ``add(order)``, ``run(now)``, ``plan(now)``, ``outbox()``."""
    BACKENDS.clear()
    EVENTS.clear()
    register_plugin(ShopPlugin, name="shop")
    (tmp_path / "unpaid.toml").write_text(CONFIG.format(examples=EXAMPLES), encoding="utf-8")
    monkeypatch.setenv("UNPAID_CONFIG", str(tmp_path / "unpaid.toml"))
    yield Shop(tmp_path, cli)
    BACKENDS.clear()
    EVENTS.clear()


class Shop:
    def __init__(self, root: Path, cli):
        self.root, self.cli = root, cli

    def store(self):
        from unpaid.store import Store

        return Store.open(os.environ["UNPAID_DB"])  # the cli fixture's store: a file, or PostgreSQL

    def add(self, *orders: Order) -> None:
        with self.store() as store, store.transaction():
            store.orders.upsert(list(orders), orders[0].created_at)
        for o in orders:
            backend(o.source).put(o)

    def pay(self, order_id: str, at: datetime) -> None:
        """The customer pays at the source (the store learns it only at the next sync or re-check)."""
        source, native = order_id.split(":", 1)
        b = backend(source)
        b.orders[native] = replace(b.orders[native], status=Status.PAID, updated_at=at)

    def run(self, now: datetime, *args: str, code: int = 0):
        result = self.cli(["--now", now.isoformat(), "--format", "json", "run", *args])
        assert result.exit_code == code, result.output
        return result.json()

    def plan(self, now: datetime, *args: str):
        result = self.cli(["--now", now.isoformat(), "--format", "json", "plan", *args])
        assert result.exit_code == 0, result.output
        return result.json()

    def outbox(self, folder: str = "outbox") -> list[dict]:
        path = self.root / folder
        if not path.is_dir():
            return []
        return sorted((json.loads(p.read_text()) for p in path.glob("*.json")), key=lambda m: m["key"])

    def step_until(self, start: datetime, end: datetime, every: timedelta, *args: str, on_step=None) -> list[dict]:
        """Run like cron at every ``every`` from start to end (``on_step(t)`` first: the desk, payments)."""
        rows, t = [], start
        while t <= end:
            if on_step:
                on_step(t)
            for row in self.run(t, *args):
                rows.append(dict(row, ran_at=t))
            t += every
        return rows

    def desk(self, t: datetime, outcomes: dict[str, str], data: dict | None = None,
             pause: dict[str, datetime] | None = None) -> list[int]:
        """Managers close the open call tasks of the given orders with an outcome.

        Only what the playbook reads: the closed task and the ``call`` history entry (and a pause). The
        desk's own follow-ups are tested through the CLI in tests/desk.
        """
        from unpaid.store.enrollments import Enrollments
        from unpaid.store.history import Entry
        from unpaid.store.tasks import Tasks

        closed = []
        with self.store() as store:
            tasks = Tasks(store)
            for task in tasks.open_tasks(None):
                if task.order_id not in outcomes or task.due_at > t:
                    continue
                outcome = outcomes[task.order_id]
                with store.transaction():
                    tasks.close(task.id, outcome, t, "maria")
                    store.history.add(Entry(task.order_id, t, "manager:maria", "call", f"Call: {outcome}",
                                            {"outcome": outcome, "task_id": task.id, **dict(data or {})}))
                    if (pause or {}).get(task.order_id):
                        Enrollments(store).pause(task.order_id, pause[task.order_id], t)
                closed.append(task.id)
        return closed


def order(source: str, native: str, created: datetime, *, email: str | None = "anna@example.com",
          phone: str | None = "+79991234567", product: str = "course-1", status: Status = Status.NEW,
          total: int = 1_000_000, name: str = "Anna Petrova", **extra) -> Order:
    return Order(source=source, native_id=native, number=native, status=status, created_at=created,
                 total=Money(total, "RUB"), customer=Customer(email, phone, name),
                 items=(LineItem(product, product.replace("-", " ").title()),),
                 payment_link=f"https://pay.example.com/{native}", extra=extra)


def at(text: str) -> datetime:
    """A moment given in Moscow local time, as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=timezone(timedelta(hours=3))).astimezone(timezone.utc)
