"""The provider-neutral order model: plain frozen dataclasses, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from enum import Enum
from typing import Any, Callable


class cached_property:  # noqa: N801 - used like functools.cached_property
    """``functools.cached_property`` without its lock (Python 3.11 takes one on every first read, a tenth
    of a million times when a million-order store is planned): the value lands in the instance's
    ``__dict__``, which later reads find first. Two threads reading it first at once both compute the
    same value: harmless for the pure properties of frozen objects it is used for."""

    def __init__(self, func: Callable[[Any], Any]):
        self.func, self.name, self.__doc__ = func, func.__name__, func.__doc__

    def __set_name__(self, owner: type, name: str) -> None:
        self.name = name

    def __get__(self, obj: Any, owner: type | None = None) -> Any:
        if obj is None:
            return self
        value = obj.__dict__[self.name] = self.func(obj)
        return value

from unpaid.i18n import N_, _


class Status(str, Enum):
    """Canonical order status; every connector maps its native statuses onto these."""

    NEW = "new"
    IN_WORK = "in_work"
    PAYMENT_WAITING = "payment_waiting"
    NOT_CONFIRMED = "not_confirmed"
    PART_PAID = "part_paid"
    PAID = "paid"
    CANCELLED = "cancelled"
    FALSE = "false"
    #: The money was paid and given back: finished, never dunned, and never a paid twin.
    REFUNDED = "refunded"
    #: The source's own status is one its connector cannot map (a code added after the connector was
    #: written); ``native_status`` keeps it. Counted with the finished statuses, so that no engine works
    #: it (not even after a fresh read right before acting) and sync never cancels it, until the status is
    #: mapped (a connector setting) and the order synced again.
    UNMAPPED = "unmapped"

    @property
    def label(self) -> str:
        """The status as people read it, in the active language ("Waiting for payment", "Ожидаем оплаты")."""
        return _(STATUS_LABELS[self])

    @property
    def is_actual(self) -> bool:
        """True while the order still needs work (not paid, cancelled, false, refunded or unmapped)."""
        return self not in FINISHED

    @classmethod
    def parse(cls, text: str) -> "Status":
        """Parse a status from its code, its English label or its label in the active language, case-insensitively."""
        key = text.strip().lower().replace("-", "_").replace(" ", "_")
        key = _STATUS_ALIASES.get(key, key)
        try:
            return cls(key)
        except ValueError:
            # A label as people read it in the active language ("Ожидаем оплаты") names its status too.
            spoken = " ".join(text.split()).lower()
            for status, label in STATUS_LABELS.items():
                if _(label).lower() == spoken:
                    return status
            choices = ", ".join(s.value for s in cls)
            raise ValueError(_("unknown status {text!r}; use one of: {choices}").format(text=text, choices=choices)) from None


STATUS_LABELS = {
    Status.NEW: N_("New"),
    Status.IN_WORK: N_("In work"),
    Status.PAYMENT_WAITING: N_("Waiting for payment"),
    Status.NOT_CONFIRMED: N_("Not confirmed"),
    Status.PART_PAID: N_("Partly paid"),
    Status.PAID: N_("Completed"),
    Status.CANCELLED: N_("Cancelled"),
    Status.FALSE: N_("False"),
    Status.REFUNDED: N_("Refunded"),
    Status.UNMAPPED: N_("Unmapped source status"),
}
_STATUS_ALIASES = {
    "completed": "paid",
    "payed": "paid",
    "processing": "in_work",
    "waiting_for_payment": "payment_waiting",
    "pending_payment": "payment_waiting",
    "partly_paid": "part_paid",
    "partially_paid": "part_paid",
    "part_payed": "part_paid",
    "canceled": "cancelled",
    "returned": "refunded",
}

#: Statuses that end work on an order: hidden from the default listings. Unmapped stops work until mapped.
FINISHED = frozenset({Status.PAID, Status.CANCELLED, Status.FALSE, Status.REFUNDED, Status.UNMAPPED})
#: Statuses that still need work ("actual" orders in GetCourse's words).
ACTUAL = frozenset(s for s in Status if s not in FINISHED)


@dataclass(frozen=True, order=True)
class Money:
    """An amount in integer minor units (kopecks, cents) and an ISO currency code."""

    minor: int
    currency: str = "RUB"

    @classmethod
    def parse(cls, text: str | int | float | Decimal | None, currency: str = "RUB") -> "Money":
        """Parse ``"12 000,00"``, ``"990.00"``, ``"1,234.50"`` or a number into Money.

        Raises ValueError naming the text when it is not an amount.
        """
        if text is None or (isinstance(text, str) and not text.strip()):
            return cls(0, currency)
        if isinstance(text, (int, Decimal)) or isinstance(text, float):
            value = Decimal(str(text))
        else:
            value = _parse_decimal(text)
        return cls(int((value * 100).to_integral_value()), currency.upper() or "RUB")

    @property
    def decimal(self) -> Decimal:
        return Decimal(self.minor) / 100

    def __str__(self) -> str:
        return f"{self.decimal:,.2f} {self.currency}".replace(",", " ")

    def human(self) -> str:
        """The amount for people in the active language: ``12 900,00 ₽``; English keeps ``12 900.00 RUB``."""
        from unpaid.i18n import DEFAULT, active, format_money

        language = active()
        return str(self) if language == DEFAULT else format_money(self.minor, self.currency, language)


_SPACES = re.compile(r"[\s\u00a0\u202f']")


def _parse_decimal(text: str) -> Decimal:
    raw = _SPACES.sub("", text.strip())
    for sign in ("₽", "руб.", "руб", "RUB", "USD", "EUR", "UAH", "грн", "$", "€"):
        raw = raw.replace(sign, "")
    if "," in raw and "." in raw:
        # The last separator is the decimal one: "1,234.50" or "1.234,50".
        if raw.rfind(",") > raw.rfind("."):
            raw = raw.replace(".", "").replace(",", ".")
        else:
            raw = raw.replace(",", "")
    elif "," in raw:
        head, _sep, tail = raw.rpartition(",")
        raw = f"{head.replace(',', '')}.{tail}" if len(tail) != 3 or "," in head else head + tail
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise ValueError(_("not an amount: {text!r}").format(text=text)) from None
    if not value.is_finite():
        raise ValueError(_("not an amount: {text!r}").format(text=text))
    return value


def normalize_email(email: str | None) -> str | None:
    """Lower-case and trim an e-mail; None when it is empty, has no ``@`` or holds a control character
    (a line break would split the mail header it goes into)."""
    if not email:
        return None
    email = email.strip().lower()
    return email if "@" in email and not email.startswith("@") and email.isprintable() else None


def normalize_phone(phone: str | None, default_country: str = "7") -> str | None:
    """Normalize a phone to E.164 (``+79991234567``); None when it has too few digits.

    National forms are read with ``default_country``: for 7, ``8 999 123-45-67`` and ``999 123 45 67``;
    elsewhere a leading trunk ``0`` is dropped (``067 123 45 67`` with 380 -> ``+380671234567``).
    Connectors store phones already normalized, so customer keys match across sources.
    """
    if not phone:
        return None
    digits = re.sub(r"\D", "", phone)
    if len(digits) < 7 or len(digits) > 15:
        return None
    stripped = phone.strip()
    if stripped.startswith("+"):
        return "+" + digits
    if digits.startswith("00"):
        return "+" + digits[2:]
    if default_country == "7":
        if len(digits) == 11 and digits[0] in "78":
            return "+7" + digits[1:]
        if len(digits) == 10:
            return "+7" + digits
        return "+" + digits
    if digits.startswith(default_country) and len(digits) > 10:
        return "+" + digits
    if digits.startswith("0"):
        return f"+{default_country}{digits[1:]}"
    return f"+{default_country}{digits}"


@dataclass(frozen=True)
class Customer:
    """The buyer as the source knows them."""

    email: str | None = None
    phone: str | None = None
    name: str | None = None
    native_id: str | None = None

    @cached_property  # frozen: computed once (planning asks for it a dozen times per order)
    def key(self) -> str | None:
        """Identity used to find twins and duplicates: e-mail, else phone."""
        email = normalize_email(self.email)
        if email:
            return email
        return normalize_phone(self.phone)


@dataclass(frozen=True)
class LineItem:
    """One product or offer in an order."""

    product_id: str
    title: str = ""
    quantity: int = 1
    price: Money | None = None


@dataclass(frozen=True)
class Order:
    """One order as unpaid sees it, whatever the source.

    ``native_status`` keeps the source's own value, so statuses with no exact canonical twin
    (GetCourse's ``pending``) survive a round trip. Times are timezone-aware UTC.
    """

    source: str
    native_id: str
    status: Status
    created_at: datetime
    total: Money
    customer: Customer = field(default_factory=Customer)
    items: tuple[LineItem, ...] = ()
    number: str | None = None
    native_status: str | None = None
    paid: Money | None = None
    updated_at: datetime | None = None
    paid_at: datetime | None = None
    manager: str | None = None
    payment_link: str | None = None
    cancel_reason: str | None = None
    extra: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @cached_property  # frozen: computed once
    def id(self) -> str:
        """The id unpaid uses everywhere: ``SOURCE:NATIVE_ID``."""
        return f"{self.source}:{self.native_id}"

    @property
    def product_key(self) -> str | None:
        """Product identity for twin/duplicate detection: the first item's product id."""
        return self.items[0].product_id if self.items else None

    @property
    def product_title(self) -> str:
        return ", ".join(i.title or i.product_id for i in self.items)

    @property
    def is_actual(self) -> bool:
        return self.status.is_actual

    def with_status(self, status: Status, native_status: str | None = None, reason: str | None = None) -> "Order":
        """Return a copy with a new status (and cancel reason when cancelling)."""
        return replace(
            self,
            status=status,
            native_status=native_status if native_status is not None else self.native_status,
            cancel_reason=reason if status is Status.CANCELLED else self.cancel_reason,
        )


def split_order_id(order_id: str) -> tuple[str, str]:
    """Split ``SOURCE:NATIVE_ID``; raises ValueError when there is no source part."""
    source, sep, native = order_id.partition(":")
    if not sep or not source or not native:
        raise ValueError(_("order id {order_id!r} is not SOURCE:NATIVE_ID (e.g. shop:1042)").format(order_id=order_id))
    return source, native


def utc(dt: datetime) -> datetime:
    """Make ``dt`` timezone-aware UTC (naive values are taken as UTC)."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=timezone.utc)
    return dt.astimezone(timezone.utc)
