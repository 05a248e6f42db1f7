"""The connector contract: what a source plugin declares and implements.

A connector is a translator between one backend (GetCourse, AutoWebOffice, a CSV file…) and the
canonical model. It holds no business logic and never touches the store: the core writes each
:class:`Page` and its bookmark in one transaction, so an interrupted sync resumes where it stopped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Callable, Container, Iterator, Mapping, Sequence

from unpaid.errors import ExitCode, UnpaidError
from unpaid.i18n import _

if TYPE_CHECKING:
    from unpaid.model import Order, Status
    from unpaid.source_state import State


class Capability(str, Enum):
    """What a connector can do; declared in its spec and proven by the conformance suite."""

    #: ``fetch_orders`` — list orders, incrementally from a bookmark. Required.
    FETCH = "fetch"
    #: ``fetch_order`` — a fresh read of one order, used right before acting on it.
    FETCH_ONE = "fetch_one"
    #: ``push_status`` — write a status change (and cancel reason) back to the source.
    PUSH_STATUS = "push_status"
    #: ``update_contact`` — write a corrected phone / e-mail / name back.
    UPDATE_CONTACT = "update_contact"
    #: ``trigger`` — start the source's own mailing or process (group, tag, funnel).
    TRIGGER = "trigger"
    #: ``add_comment`` — add a comment to the order in the source.
    COMMENT = "comment"
    #: ``set_manager`` — make a manager the order's manager in the source (``unpaid take``).
    SET_MANAGER = "set_manager"
    #: ``fetch_events`` — opens, clicks and payments the source knows of.
    EVENTS = "events"


@dataclass(frozen=True)
class Setting:
    """One configuration key a connector or channel accepts.

    ``secret=True`` settings never live in the config file: they come from keyring or an
    environment variable, and are redacted from every output.
    """

    key: str
    help: str
    required: bool = False
    secret: bool = False
    default: Any = None


@dataclass(frozen=True)
class ConnectorSpec:
    """A connector type, as registered by a plugin's ``register_connectors`` hook.

    ``factory(name, settings, secrets)`` builds the connector; it should import the implementation
    inside its body so that listing plugins never imports HTTP clients or connector code.
    ``emulator`` optionally names a ``"module:callable"`` that starts a local fake of the backend.
    """

    name: str
    title: str
    capabilities: frozenset[Capability]
    factory: Callable[[str, Mapping[str, Any], Mapping[str, str]], "Connector"]
    settings: tuple[Setting, ...] = ()
    emulator: str | None = None
    #: Actions ``trigger`` accepts, e.g. ("group",) or ("subscribe", "tag", "funnel", "resend_invoice").
    triggers: tuple[str, ...] = ()
    #: Event kinds ``fetch_events`` reports, e.g. ("open", "click", "payment").
    events: tuple[str, ...] = ()
    #: Canonical statuses ``push_status`` writes so that the source reports them back (the conformance
    #: suite pushes each one); None means every status but ``unmapped``.
    pushes: "frozenset[Status] | None" = None

    def setting(self, key: str) -> Setting | None:
        return next((s for s in self.settings if s.key == key), None)


@dataclass(frozen=True)
class Reject:
    """A record the connector could not read: kept out of the store, reported to the user.

    ``repeated`` marks a record that was rejected by an earlier sync and has not changed since:
    it is counted and listed on request, but not warned about again.
    """

    where: str  # "orders.csv:17", "deal 12345"
    reason: str  # "column 'Created': not a date: '31.02.2026'"
    repeated: bool = False


@dataclass(frozen=True)
class Snapshot:
    """Every order the source holds, known after a read of all of it (set on the last page).

    ``ids`` answers ``native_id in ids``; None means "the same as at the last sync" (the source
    did not change). Stored orders of the source that are not in it are missing at the source:
    the core reports them, keeps them from being worked, and after ``missing_after`` marks them.
    """

    ids: Container[str] | None
    count: int
    missing_after: timedelta


@dataclass(frozen=True)
class Page:
    """A batch of orders plus the bookmark valid once they are stored.

    ``bookmark`` is opaque to the core (a connector encodes whatever it needs in the string).
    ``complete`` is False when the connector stopped early (budget, lock): the core stores the
    page and tells the user that more remains. ``counts`` (last page) says how the records read add
    up: ``rows`` read = orders + ``rejected`` + ``folded`` (earlier rows of an id a later row
    overrides), with ``unchanged`` of the orders skipped as stored before.
    """

    orders: list["Order"]
    bookmark: str | None
    rejects: list[Reject] = field(default_factory=list)
    complete: bool = True
    note: str | None = None
    counts: Mapping[str, int] | None = None
    snapshot: Snapshot | None = None
    #: Things a person must act on although the orders were stored (shown even by a quiet sync), e.g.
    #: statuses the connector could not map: those orders are kept but not worked.
    warnings: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Event:
    """Something the source observed about an order: an open, a click, a payment."""

    order_native_id: str
    kind: str
    at: Any  # datetime (UTC)
    data: Mapping[str, Any] = field(default_factory=dict)


class Connector:
    """Base class for connectors; a method that is not overridden raises :class:`NotSupported`.

    Subclasses set ``spec`` (their :class:`ConnectorSpec`) and ``name`` (the source name from config).
    """

    spec: ConnectorSpec
    name: str

    @property
    def state(self) -> "State":
        """What the connector remembers between processes (:mod:`unpaid.source_state`), scoped to its
        source; ``state.scoped("account:…")`` shares values between sources of one account. The core
        sets a store-backed one; a connector built directly gets a private in-memory one."""
        found = self.__dict__.get("_state")
        if found is None:
            from unpaid.source_state import MemoryState

            found = self.__dict__["_state"] = MemoryState(getattr(self, "name", ""))
        return found

    @state.setter
    def state(self, value: "State") -> None:
        self.__dict__["_state"] = value

    def probe(self) -> str:
        """One cheap authenticated request that proves the settings work (``unpaid doctor --online``).

        Returns what was checked ("reachable; credentials accepted"); raises the connector's error
        otherwise (:class:`AuthFailed`, :class:`Temporary`, a config error…). The default reads an
        order that does not exist and expects :class:`NotFound`; override it when that is not cheap
        or not a proof (a source that answers every unknown id with "not found", keys or not).
        """
        try:
            self.fetch_order("unpaid-doctor-probe-0")
        except NotFound:
            pass
        return _("reachable; credentials accepted")

    def fetch_orders(self, since: str | None) -> Iterator[Page]:
        """Yield pages of orders changed since the bookmark (all orders when None)."""
        raise NotSupported(self.name, Capability.FETCH)

    def fetch_order(self, native_id: str) -> "Order":
        """Read one order fresh from the source; raise :class:`NotFound` when it is gone."""
        raise NotSupported(self.name, Capability.FETCH_ONE)

    def fetch_many(self, native_ids: Sequence[str]) -> dict[str, "Order | ConnectorError"]:
        """Fresh reads of several orders: native_id -> the order, or the error for that one.

        The default calls :meth:`fetch_order` per id; a source that reads everything in one go (a
        file) overrides it so that a batch costs one read, not one per order.
        """
        found: dict[str, Order | ConnectorError] = {}
        for native_id in native_ids:
            try:
                found[native_id] = self.fetch_order(native_id)
            except ConnectorError as exc:
                found[native_id] = exc
        return found

    def push_status(self, native_id: str, status: "Status", reason: str | None = None) -> None:
        """Set the order's status in the source (``reason`` with cancellations)."""
        raise NotSupported(self.name, Capability.PUSH_STATUS)

    def push_statuses(self, changes: Sequence[tuple[str, "Status", str | None]]
                      ) -> dict[str, "ConnectorError | None"]:
        """Push many ``(native_id, status, reason)`` changes: native_id -> None when done, else its error.

        One failed change does not stop the others. The default calls :meth:`push_status` per change;
        a source where each write costs a whole rewrite (a file) overrides it with one write for all.
        Errors other than :class:`ConnectorError` are bugs and propagate.
        """
        results: dict[str, ConnectorError | None] = {}
        for native_id, status, reason in changes:
            try:
                self.push_status(native_id, status, reason)
                results[native_id] = None
            except ConnectorError as exc:
                results[native_id] = exc
        return results

    def update_contact(self, native_id: str, *, email: str | None = None, phone: str | None = None,
                       name: str | None = None) -> None:
        """Write corrected contact details of the order's customer back to the source."""
        raise NotSupported(self.name, Capability.UPDATE_CONTACT)

    def trigger(self, native_id: str, action: str, params: Mapping[str, Any] | None = None) -> None:
        """Start the source's own mailing or process for this order's customer. Idempotent."""
        raise NotSupported(self.name, Capability.TRIGGER)

    def add_comment(self, native_id: str, text: str) -> None:
        """Add a comment to the order in the source."""
        raise NotSupported(self.name, Capability.COMMENT)

    def set_manager(self, native_id: str, manager: str) -> None:
        """Make ``manager`` (the name managers use with ``--manager``) the order's manager in the source."""
        raise NotSupported(self.name, Capability.SET_MANAGER)

    def fetch_events(self, since: str | None) -> Iterator[Event]:
        """Yield events (opens, clicks, payments) since the bookmark."""
        raise NotSupported(self.name, Capability.EVENTS)

    def close(self) -> None:
        """Release network connections or files; called once by the core."""

    def __enter__(self) -> "Connector":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


# ---- typed errors: the core decides retry vs. stop vs. report from the type ----


class ConnectorError(UnpaidError):
    """A source failed; ``source`` names the configured source."""

    exit_code = ExitCode.SOURCE
    retryable = False

    def __init__(self, source: str, message: str, fix: str | None = None):
        super().__init__(f"{source}: {message}", fix)
        self.source = source


class AuthFailed(ConnectorError):
    """The source rejected the credentials (or the key lacks the needed rights)."""


class NotFound(ConnectorError):
    """The order (or other object) does not exist in the source."""

    exit_code = ExitCode.USAGE


class RateLimited(ConnectorError):
    """The source's request budget is spent; ``retry_after`` seconds until it may be tried."""

    retryable = True

    def __init__(self, source: str, message: str, fix: str | None = None, retry_after: float | None = None):
        super().__init__(source, message, fix)
        self.retry_after = retry_after


class Temporary(ConnectorError):
    """A transient failure (timeout, reset, 5xx, busy): worth retrying later."""

    retryable = True


class InvalidData(ConnectorError):
    """The source answered with something that cannot be read, or refused the data sent."""


class BadSource(InvalidData):
    """The source's data or its settings are wrong in a way a person must fix (a malformed file,
    a missing column, a read-only file): exit 2, retrying cannot help."""

    exit_code = ExitCode.USAGE


class RejectLimit(ConnectorError):
    """Too many records were unreadable to trust the rest: nothing of the read was stored (exit 1)."""

    exit_code = ExitCode.FAILED

    def __init__(self, source: str, message: str, fix: str | None = None, rejects: list[Reject] | None = None):
        super().__init__(source, message, fix)
        self.rejects = rejects or []


class NotSupported(ConnectorError):
    """The connector does not declare the capability that was used."""

    exit_code = ExitCode.USAGE

    def __init__(self, source: str, capability: Capability | str):
        cap = capability.value if isinstance(capability, Capability) else capability
        super().__init__(source, _("this source cannot {capability}").format(capability=cap),
                         _("check `unpaid plugins` for what each connector can do"))
        self.capability = cap
