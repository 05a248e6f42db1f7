"""A plugin for runs in real processes: orders in a JSON file, and a channel that appends to a log file.

The ``log`` channel writes ``start KEY`` before the effect and ``sent KEY`` as the effect (fsynced), with
pauses (``delay`` before, ``hold`` after) so a test can SIGKILL a run at a known point; it cannot drop a
repeat. ``log-dedupe`` drops a repeated key like an SMTP server honouring Message-ID. ``fail`` makes the
first N sends fail (retryable); ``crash`` makes the sends of matching keys raise a plain KeyError. The ``jsonfile`` source re-reads its file on every call, so a test can
pay an order between runs; ``push_delay`` slows status pushes.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any, Iterator, Mapping

from unpaid import hookimpl
from unpaid.channel import Channel, ChannelError, ChannelSpec, Receipt
from unpaid.connector import Capability, Connector, ConnectorSpec, NotFound, Page, Setting
from unpaid.model import Customer, LineItem, Money, Order, Status


@contextmanager
def locked(path: Path) -> Iterator[None]:
    with open(f"{path}.lock", "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        yield


def append(path: Path, line: str) -> None:
    with locked(path), open(path, "a", encoding="utf-8") as fh:
        fh.write(line + "\n")
        fh.flush()
        os.fsync(fh.fileno())


def lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines() if path.exists() else []


def sent_keys(path: Path) -> list[str]:
    return [line.split(" ", 1)[1] for line in lines(path) if line.startswith("sent ")]


def to_json(o: Order) -> dict[str, Any]:
    return {"native_id": o.native_id, "status": o.status.value, "created_at": o.created_at.isoformat(),
            "total": o.total.minor, "email": o.customer.email, "phone": o.customer.phone, "name": o.customer.name,
            "product": o.product_key, "reason": o.cancel_reason, "extra": dict(o.extra)}


def from_json(source: str, d: Mapping[str, Any]) -> Order:
    created = datetime.fromisoformat(d["created_at"])
    return Order(source=source, native_id=d["native_id"], number=d["native_id"], status=Status(d["status"]),
                 created_at=created, updated_at=created, total=Money(d["total"], "RUB"),
                 customer=Customer(d["email"], d["phone"], d["name"]),
                 items=(LineItem(d["product"], d["product"]),), cancel_reason=d.get("reason"),
                 payment_link=f"https://pay.example.com/{d['native_id']}", extra=dict(d.get("extra") or {}))


def save_orders(path: Path, orders: list[Order]) -> None:
    with locked(path):
        current = json.loads(path.read_text()) if path.exists() else {}
        current.update({o.native_id: to_json(o) for o in orders})
        path.write_text(json.dumps(current))


class FileConnector(Connector):
    def __init__(self, name: str, settings: Mapping[str, Any]):
        self.name, self.spec = name, FILE_SPEC
        self.path = Path(settings["path"])
        self.push_delay = float(settings.get("push_delay") or 0)

    def _all(self) -> dict[str, Any]:
        with locked(self.path):
            return json.loads(self.path.read_text())

    def fetch_orders(self, since: str | None) -> Iterator[Page]:
        yield Page([from_json(self.name, d) for d in self._all().values()], "all")

    def fetch_order(self, native_id: str) -> Order:
        data = self._all()
        if native_id not in data:
            raise NotFound(self.name, f"order {native_id} does not exist")
        return from_json(self.name, data[native_id])

    def push_status(self, native_id: str, status: Status, reason: str | None = None) -> None:
        append(self.path.with_suffix(".pushes"), f"start {native_id} {status.value}")
        time.sleep(self.push_delay)
        order = self.fetch_order(native_id).with_status(status, status.value, reason)
        save_orders(self.path, [order])
        append(self.path.with_suffix(".pushes"), f"pushed {native_id} {status.value}")


class LogChannel(Channel):
    def __init__(self, name: str, settings: Mapping[str, Any], dedupes: bool):
        self.name, self.dedupes = name, dedupes
        self.path = Path(settings["path"])
        self.delay, self.hold = float(settings.get("delay") or 0), float(settings.get("hold") or 0)
        self.fail = int(settings.get("fail") or 0)
        self.crash = str(settings.get("crash") or "")

    def send(self, message) -> Receipt:
        key = message.idempotency_key
        append(self.path, f"start {key}")
        if self.fail:
            failures = self.path.with_suffix(".failures")
            append(failures, key)
            if len(lines(failures)) <= self.fail:
                raise ChannelError(self.name, "gateway timeout", "try later", retryable=True)
        if self.crash and key.startswith(self.crash):
            raise KeyError("template_id")  # a plugin's own bug, not a ChannelError
        time.sleep(self.delay)
        if not (self.dedupes and key in sent_keys(self.path)):
            append(self.path, f"sent {key}")
        time.sleep(self.hold)
        return Receipt(self.name, message_id=key)


SETTINGS = (Setting("path", "log file", required=True), Setting("delay", "seconds before sending"),
            Setting("hold", "seconds after sending"), Setting("fail", "sends that fail first"),
            Setting("crash", "keys starting with this raise a KeyError"),
            Setting("address", "email or phone", default="email"))
LOG_SPEC = ChannelSpec("log", "Append messages to a log file", lambda n, s, _: LogChannel(n, s, False),
                       SETTINGS, dedupes=False, address="any")
DEDUPE_SPEC = ChannelSpec("log-dedupe", "Append messages to a log file, once per key",
                          lambda n, s, _: LogChannel(n, s, True), SETTINGS, dedupes=True, address="any")
FILE_SPEC = ConnectorSpec(
    "jsonfile", "Orders in a JSON file",
    frozenset({Capability.FETCH, Capability.FETCH_ONE, Capability.PUSH_STATUS}),
    lambda name, settings, _: FileConnector(name, settings),
    (Setting("path", "orders file", required=True), Setting("push_delay", "seconds a status push takes")))


@hookimpl
def register_connectors(register):
    register(FILE_SPEC)


@hookimpl
def register_channels(register):
    register(LOG_SPEC)
    register(DEDUPE_SPEC)
