"""An in-memory connector (it passes the conformance suite) and a plugin that registers it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timezone
from typing import Any, Iterator, Mapping

from unpaid import hookimpl
from unpaid.clock import from_iso, to_iso
from unpaid.connector import (
    Capability, Connector, ConnectorError, ConnectorSpec, InvalidData, NotFound, Page, Reject, Setting,
)
from unpaid.model import Order, Status

CAPABILITIES = frozenset({Capability.FETCH, Capability.FETCH_ONE, Capability.PUSH_STATUS, Capability.TRIGGER,
                          Capability.COMMENT, Capability.UPDATE_CONTACT, Capability.SET_MANAGER})

#: Orders of every InMemoryConnector, by source name: tests seed them, connectors read them.
BACKENDS: dict[str, "MemoryBackend"] = {}


class MemoryBackend:
    """The fake "remote system": orders plus a log of every call made to it."""

    def __init__(self) -> None:
        self.orders: dict[str, Order] = {}
        self.calls: list[tuple[str, Any]] = []
        self.faults: list[ConnectorError] = []
        #: Ids of records that cannot be read until they are put again (repaired).
        self.unreadable: set[str] = set()

    def put(self, *orders: Order) -> None:
        for o in orders:
            stamp = o.updated_at or o.created_at
            self.orders[o.native_id] = replace(o, updated_at=stamp)
            self.unreadable.discard(o.native_id)

    def fail_next(self, error: ConnectorError) -> None:
        """Make the next call raise ``error`` (fault injection)."""
        self.faults.append(error)

    def check(self) -> None:
        if self.faults:
            raise self.faults.pop(0)


def backend(source: str) -> MemoryBackend:
    """The backend behind source ``source`` (created empty on first use)."""
    return BACKENDS.setdefault(source, MemoryBackend())


#: The bookmark of "nothing read yet" (a page's bookmark is never empty).
START = "start"


def position(order: Order) -> tuple[datetime, str]:
    """Where an order sorts in a fetch: changed time, then id, so that equal times still have an order."""
    return (order.updated_at or order.created_at, order.native_id)


def bookmark_of(where: tuple[datetime, str] | None) -> str:
    return START if where is None else f"{to_iso(where[0])}|{where[1]}"


def bookmark_position(bookmark: str | None) -> tuple[datetime, str] | None:
    if not bookmark or bookmark == START:
        return None
    moment, _, native_id = bookmark.partition("|")
    return (from_iso(moment), native_id)


class InMemoryConnector(Connector):
    """Orders held in a :class:`MemoryBackend`; bookmark = (``updated_at``, id) of the last order read.

    An unreadable record becomes a :class:`Reject` and holds the bookmark before it, so that the
    record is read again once it is repaired.
    """

    def __init__(self, name: str, settings: Mapping[str, Any], page_size: int = 2):
        self.name = name
        self.page_size = int(settings.get("page_size") or page_size)
        self.spec = SPEC

    @property
    def backend(self) -> MemoryBackend:
        return backend(self.name)

    def fetch_orders(self, since: str | None) -> Iterator[Page]:
        self.backend.check()
        after = bookmark_position(since)
        todo = sorted((o for o in self.backend.orders.values() if after is None or position(o) > after),
                      key=position)
        held = False
        for start in range(0, len(todo), self.page_size):
            chunk = todo[start : start + self.page_size]
            self.backend.check()
            good, rejects = [], []
            for o in chunk:
                if o.native_id in self.backend.unreadable:
                    rejects.append(Reject(f"order {o.native_id}", "the record cannot be read"))
                    held = True
                else:
                    good.append(replace(o, source=self.name))
                    if not held:
                        after = position(o)
            yield Page(good, bookmark_of(after), rejects)

    def fetch_order(self, native_id: str) -> Order:
        self.backend.check()
        self.backend.calls.append(("fetch_order", native_id))
        if native_id not in self.backend.orders:
            raise NotFound(self.name, f"order {native_id} does not exist")
        if native_id in self.backend.unreadable:
            raise InvalidData(self.name, f"order {native_id} cannot be read", "fix the record at the source")
        return replace(self.backend.orders[native_id], source=self.name)

    def push_status(self, native_id: str, status: Status, reason: str | None = None) -> None:
        self.backend.check()
        self.backend.calls.append(("push_status", (native_id, status.value, reason)))
        order = self.fetch_order(native_id)
        now = datetime.now(timezone.utc).replace(microsecond=0)
        stamp = max(now, (order.updated_at or order.created_at))
        self.backend.orders[native_id] = replace(order.with_status(status, status.value, reason), updated_at=stamp)

    def trigger(self, native_id: str, action: str, params: Mapping[str, Any] | None = None) -> None:
        self.backend.check()
        self.fetch_order(native_id)
        self.backend.calls.append(("trigger", (native_id, action, dict(params or {}))))

    def add_comment(self, native_id: str, text: str) -> None:
        self.backend.check()
        self.fetch_order(native_id)
        self.backend.calls.append(("add_comment", (native_id, text)))

    def update_contact(self, native_id: str, *, email=None, phone=None, name=None) -> None:
        self.backend.check()
        order = self.fetch_order(native_id)
        customer = replace(order.customer, email=email or order.customer.email,
                           phone=phone or order.customer.phone, name=name or order.customer.name)
        self.backend.orders[native_id] = replace(order, customer=customer)
        self.backend.calls.append(("update_contact", (native_id, email, phone, name)))

    def set_manager(self, native_id: str, manager: str) -> None:
        self.backend.check()
        self.backend.orders[native_id] = replace(self.fetch_order(native_id), manager=manager)
        self.backend.calls.append(("set_manager", (native_id, manager)))


def _factory(name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]) -> InMemoryConnector:
    return InMemoryConnector(name, settings)


SPEC = ConnectorSpec(
    name="memory",
    title="In-memory orders, for tests",
    capabilities=CAPABILITIES,
    factory=_factory,
    settings=(Setting("page_size", "orders per page", default=2),),
    triggers=("group",),
)


class MemoryPlugin:
    """Registers the ``memory`` connector type: ``register_plugin(MemoryPlugin)`` in tests."""

    @staticmethod
    @hookimpl
    def register_connectors(register):
        register(SPEC)
