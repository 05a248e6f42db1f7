"""Pure row <-> canonical Order mapping: statuses both ways, dates, money, contacts.

Rows are many (a million in a big export), so each parser keeps a fast path: ISO dates through
``datetime.fromisoformat``, the last format that worked tried first, plain ``4990.00`` amounts
through ``Decimal`` directly, already-E.164 phones as they are. Slow general parsers run only
when the fast path fails.
"""

from __future__ import annotations

from datetime import datetime, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from operator import itemgetter
from typing import Callable, Mapping

from unpaid.errors import ConfigError
from unpaid.model import Customer, LineItem, Money, Order, Status, normalize_email, normalize_phone

from unpaid_csv.dialect import normalize

#: Native labels per language; writing back uses the family most of the file's status values belong to.
FAMILIES: dict[str, dict[Status, str]] = {
    "code": {s: s.value for s in Status},
    "en": {Status.NEW: "New", Status.IN_WORK: "In work", Status.PAYMENT_WAITING: "Waiting for payment",
           Status.NOT_CONFIRMED: "Not confirmed", Status.PART_PAID: "Partly paid", Status.PAID: "Completed",
           Status.CANCELLED: "Cancelled", Status.FALSE: "False"},
    "ru": {Status.NEW: "Новый", Status.IN_WORK: "В работе", Status.PAYMENT_WAITING: "Ожидаем оплаты",
           Status.NOT_CONFIRMED: "Не подтвержден", Status.PART_PAID: "Частично оплачен", Status.PAID: "Завершен",
           Status.CANCELLED: "Отменен", Status.FALSE: "Ложный"},
}
_LABELS = {family: {normalize(label) for label in labels.values()} for family, labels in FAMILIES.items()}
#: Other labels read without configuration (normalized).
EXTRA_LABELS = {
    "completed": Status.PAID, "complete": Status.PAID, "payed": Status.PAID, "paid": Status.PAID,
    "processing": Status.IN_WORK, "in progress": Status.IN_WORK, "on hold": Status.IN_WORK,
    "pending": Status.PAYMENT_WAITING, "pending payment": Status.PAYMENT_WAITING,
    "payment waiting": Status.PAYMENT_WAITING, "awaiting payment": Status.PAYMENT_WAITING,
    "partially paid": Status.PART_PAID, "part payed": Status.PART_PAID, "canceled": Status.CANCELLED,
    "spam": Status.FALSE, "fake": Status.FALSE,
    "оплачен": Status.PAID, "выполнен": Status.PAID, "ожидает оплаты": Status.PAYMENT_WAITING,
    "отложен": Status.IN_WORK, "отменён": Status.CANCELLED, "отказ": Status.CANCELLED,
}
DATE_FORMATS = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M",
                "%d/%m/%Y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d")


class RowError(ValueError):
    """A row that cannot become an order; the message is the reject reason."""


class StatusMap:
    """Native status text <-> canonical Status, defaults plus ``[sources.X.statuses]``."""

    def __init__(self, configured: Mapping[str, str], source: str):
        self.source = source
        self.read: dict[str, Status] = {normalize(k.replace("_", " ")): s for s, k in FAMILIES["code"].items()}
        for family in FAMILIES.values():
            self.read.update((normalize(label), status) for status, label in family.items())
        self.read.update(EXTRA_LABELS)
        self.write: dict[Status, str] = {}
        self.seen: dict[str, Status] = {}
        for native, code in configured.items():
            try:
                status = Status.parse(str(code))
            except ValueError as exc:
                raise ConfigError(f"[sources.{source}.statuses] {native!r}: {exc}",
                                  f'map it to a canonical code, e.g. "{native}" = "in_work"') from None
            self.read[normalize(native)] = status
            self.write.setdefault(status, native)

    def parse(self, text: str) -> Status:
        status = self.seen.get(text)  # a file holds a handful of distinct values: normalize each once
        if status is not None:
            return status
        status = self.read.get(normalize(text))
        if status is None:
            raise RowError(f"unknown status {text.strip()!r} — add it to [sources.{self.source}.statuses], "
                           f'e.g. "{text.strip()}" = "in_work"')
        self.seen[text] = status
        return status

    def native(self, status: Status, family: str | None) -> str:
        """The text to write for ``status``: configured label, else ``family``'s label, else the code."""
        if status in self.write:
            return self.write[status]
        return FAMILIES[family][status] if family else status.value


def vocabulary(counts: Mapping[str, int]) -> str | None:
    """The family (``code``, ``en``, ``ru``) most rows are written in, from status text -> rows; None if none."""
    votes = dict.fromkeys(FAMILIES, 0)
    for text, rows in counts.items():
        family = _family(text.strip())
        if family:
            votes[family] += rows
    best = max(votes, key=votes.__getitem__)  # a tie goes to the first: code, then en, then ru
    return best if votes[best] else None


def _family(text: str) -> str | None:
    # Codes are told apart by their exact spelling: "false" is a code, "False" the English label.
    if text in FAMILIES["code"].values():
        return "code"
    key = normalize(text)
    return next((f for f in ("en", "ru") if key in _LABELS[f]), None)


class DateReader:
    """Parse dates, trying the last format that worked first; naive values are read in ``zone``."""

    def __init__(self, zone: tzinfo, date_format: str | None = None):
        self.zone = zone
        parsers: list[Callable[[str], datetime]] = [lambda t: datetime.strptime(t, date_format)] if date_format else []
        if not date_format:
            parsers.append(datetime.fromisoformat)  # reads "Z" and offsets since Python 3.11
            parsers += [lambda t, f=f: datetime.strptime(t, f) for f in DATE_FORMATS]
        self.parsers = parsers
        self.general = date_format is None
        self.last = parsers[0]

    def __call__(self, text: str) -> datetime:
        text = text.strip()
        value = self._parse(text)
        if value.tzinfo is None:
            value = value.replace(tzinfo=self.zone)
        return value if value.tzinfo is timezone.utc else value.astimezone(timezone.utc)

    def _parse(self, text: str) -> datetime:
        try:
            return self.last(text)
        except ValueError:
            pass
        for parser in self.parsers:
            try:
                value = parser(text)
            except ValueError:
                continue
            self.last = parser
            return value
        if self.general and text:
            from dateutil import parser as dateutil_parser  # imported here: ~35 ms, needed only for odd formats

            try:
                return dateutil_parser.parse(text, dayfirst=True)
            except (ValueError, OverflowError):
                pass
        raise RowError(f"not a date: {text!r}")


def parse_money(text: str, currency: str) -> Money:
    """``4990.00`` fast, anything :meth:`Money.parse` reads otherwise; RowError when it is not an amount."""
    if text.replace(".", "", 1).isdigit():
        return Money(int(Decimal(text) * 100), currency)
    try:
        return Money.parse(text, currency)
    except (ValueError, InvalidOperation):
        raise RowError(f"not an amount: {text!r}") from None


def fast_phone(text: str, country: str) -> str | None:
    if text.startswith("+") and text[1:].isdigit() and 7 <= len(text) - 1 <= 15:
        return text
    return normalize_phone(text, country)


class RowMapper:
    """Turn one record's fields into an :class:`Order` (or raise RowError with the reject reason)."""

    #: The order in which :meth:`order` unpacks a row's values.
    FIELDS = ("id", "status", "created", "currency", "amount", "paid", "email", "phone", "name", "product_id",
              "product", "number", "manager", "payment_link", "cancel_reason")

    def __init__(self, source: str, columns: Mapping[str, int], statuses: StatusMap, dates: DateReader,
                 currency: str, country: str):
        self.source, self.statuses, self.dates = source, statuses, dates
        self.currency, self.country = currency.upper(), country
        self.width = max(columns.values()) + 1
        # One C-level itemgetter instead of a lookup per field; absent columns read the padding cell.
        self.values = itemgetter(*(columns.get(f, self.width) for f in self.FIELDS))

    @staticmethod
    def _paid(text: str, currency: str) -> Money | None:
        # Optional column; some exports write "yes"/"да" there, which must not reject the order.
        try:
            return parse_money(text, currency) if text else None
        except RowError:
            return None

    def order(self, fields: list[str]) -> Order:
        if len(fields) != self.width:
            fields = (fields + [""] * self.width)[: self.width]
        fields.append("")
        (native_id, raw_status, created, currency, amount, paid, email, phone, name, product_id, title, number,
         manager, link, reason) = [v.strip() for v in self.values(fields)]
        if not native_id:
            raise RowError("empty order id")
        status = self.statuses.parse(raw_status)
        if not created:
            raise RowError("empty creation date")
        created_at = self.dates(created)
        currency = currency.upper() if currency else self.currency
        total = parse_money(amount or "0", currency)
        email = normalize_email(email)
        phone = fast_phone(phone, self.country) if phone else None
        if not email and not phone:
            raise RowError("no e-mail or phone, so the customer cannot be told apart")
        return Order(
            source=self.source, native_id=native_id, status=status, created_at=created_at, total=total,
            customer=Customer(email=email, phone=phone, name=name or None),
            items=(LineItem(product_id or title, title),) if product_id or title else (),
            number=number or None, native_status=raw_status, paid=self._paid(paid, currency),
            manager=manager or None, payment_link=link or None, cancel_reason=reason or None,
        )
