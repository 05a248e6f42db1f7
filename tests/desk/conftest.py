"""Fixtures for desk tests: a memory source ``shop``, an outbox channel, desk templates, and helpers."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from unpaid.model import Customer, LineItem, Money, Order, Status
from unpaid.testing.fakes import BACKENDS, MemoryPlugin, backend

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)  # a Tuesday
CONFIG = """
timezone = "UTC"
default_country = "380"
{extra}
[sources.shop]
type = "memory"

[channels.email]
type = "outbox"
path = "outbox"
"""
TEMPLATES = {
    "unreachable": "Subject: We could not reach you about order {{ order.number }}\n\nPlease call us back.\n",
    "ask_phone": "Subject: Your phone number for order {{ order.number }}\n\nPlease reply with a phone.\n",
    "ask_proof": "Subject: Proof of payment for order {{ order.number }}\n\nPlease send the receipt.\n",
    "bank_details": "Subject: Bank details for {{ order.number }}\n\nIBAN UA00 0000; amount {{ order.total }}.\n"
                    "{% if offer %}Bonus: {{ offer.percent }}% {{ offer.kind }}.{% endif %}\n",
}


def make_order(native: str, *, age: timedelta = timedelta(days=8), status: Status = Status.NEW,
               phone: str | None = "+380671234567", email: str | None = "olena@example.com", total: int = 150000,
               name: str = "Olena", created: datetime | None = None) -> Order:
    created = created or NOW - age
    return Order("shop", native, status, created, Money(total, "UAH"), Customer(email, phone, name),
                 (LineItem("pills", "Pills"),), number=f"N{native}", native_status=status.value,
                 payment_link=f"https://pay.example.com/{native}")


class Desk:
    """Drives the CLI against a real store file and the memory source."""

    def __init__(self, root: Path, cli):
        self.root, self.cli = root, cli

    def store(self):
        from unpaid.store import Store

        return Store.open(os.environ["UNPAID_DB"])  # the cli fixture's store: a file, or PostgreSQL

    @property
    def source(self):
        return backend("shop")

    def add(self, *orders: Order, task_due: datetime | None = None, script: str = "Say hello") -> None:
        """Put orders in the source and the store; with ``task_due``, a playbook call task for each."""
        from unpaid.store.tasks import Tasks

        with self.store() as store:
            with store.transaction():
                store.orders.upsert(list(orders), NOW)
            for o in orders:
                if task_due is not None:
                    Tasks(store).create(f"{o.id}|pb|call|0", order_id=o.id, playbook="pb", step="call",
                                        due_at=task_due, script=script, attempts=1, now=task_due)
        for o in orders:
            self.source.put(o)

    def __call__(self, args: str, now: datetime = NOW, code: int = 0, fmt: str | None = None):
        import shlex

        argv = ["--now", now.isoformat()] + (["--format", fmt] if fmt else []) + shlex.split(args)
        result = self.cli(argv)
        assert result.exit_code == code, (args, result.output)
        return result

    def queue(self, now: datetime = NOW, args: str = "") -> list[dict]:
        return self(f"queue {args}", now, fmt="json").json()

    def history(self, order_id: str):
        with self.store() as store:
            return store.history.for_order(order_id)

    def order(self, order_id: str) -> Order:
        with self.store() as store:
            return store.orders.get(order_id)

    def outbox(self) -> list[dict]:
        path = self.root / "outbox"
        return sorted((json.loads(p.read_text()) for p in path.glob("*.json")), key=lambda m: m["key"]) \
            if path.is_dir() else []

    def pay(self, native: str, at: datetime) -> None:
        o = self.source.orders[native]
        self.source.orders[native] = replace(o, status=Status.PAID, native_status="paid", updated_at=at, paid_at=at)


@pytest.fixture
def desk(tmp_path, cli, register_plugin, monkeypatch):
    BACKENDS.clear()
    register_plugin(MemoryPlugin, name="memory")
    write_config(tmp_path)
    monkeypatch.setenv("UNPAID_CONFIG", str(tmp_path / "unpaid.toml"))
    yield Desk(tmp_path, cli)
    BACKENDS.clear()


def write_config(root: Path, extra: str = "") -> None:
    (root / "unpaid.toml").write_text(CONFIG.format(extra=extra), encoding="utf-8")
    folder = root / "templates"
    folder.mkdir(exist_ok=True)
    for name, text in TEMPLATES.items():
        (folder / f"{name}.txt").write_text(text, encoding="utf-8")
