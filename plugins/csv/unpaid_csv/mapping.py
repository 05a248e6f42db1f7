"""Pure row <-> canonical Order mapping: statuses both ways, dates, money, contacts.

Every cell is checked before it is trusted: an amount that is negative, empty, ambiguous
(``1.990``) or absurdly large, a date before 2000 or in the future, an unknown status, a row with
no usable contact — each rejects the row with the column named, never the whole file.

Rows are many (a million in a big export), so each parser keeps a fast path: ISO dates through
``datetime.fromisoformat``, the last format that worked tried first, plain ``4990.00`` amounts by
integer arithmetic, already-E.164 phones as they are. Slow general parsers run only when the fast
path fails.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone, tzinfo
from operator import itemgetter
from typing import Callable, Mapping, Sequence

from unpaid.errors import ConfigError
from unpaid.model import Customer, LineItem, Money, Order, Status, normalize_email, normalize_phone
from unpaid.text import clean_text

from unpaid_csv.dialect import normalize
from unpaid_csv.i18n import N_, Said, _
from unpaid_csv.i18n import reason as reason_of

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
    "оплачен": Status.PAID, "оплачено": Status.PAID, "оплачена": Status.PAID, "выполнен": Status.PAID,
    "выполнено": Status.PAID, "завершено": Status.PAID, "ожидает оплаты": Status.PAYMENT_WAITING,
    "отложен": Status.IN_WORK, "отменено": Status.CANCELLED, "отменена": Status.CANCELLED,
    "отказ": Status.CANCELLED, "новая": Status.NEW, "новое": Status.NEW,
}
#: Word stems that tell what an unknown label probably means, for the reject's hint. Negations first:
#: "Не оплачен" and "Ожидает оплаты" hold the stem of "paid" but mean the opposite.
LOOKS_LIKE: tuple[tuple[tuple[str, ...], Status], ...] = (
    (("не ", "not ", "unpaid", "ожида", "await", "wait", "pend"), Status.PAYMENT_WAITING),
    (("отмен", "отказ", "cancel", "возврат", "refund", "declin", "reject", "аннул"), Status.CANCELLED),
    (("оплач", "оплат", "paid", "payed", "complet", "success", "выполн", "заверш", "получен"), Status.PAID),
)
DATE_FORMATS = ("%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y", "%d/%m/%Y %H:%M:%S", "%d/%m/%Y %H:%M",
                "%d/%m/%Y", "%Y/%m/%d %H:%M:%S", "%Y/%m/%d")
#: Dates outside these bounds are typing errors (0001-01-01, 9999-12-31), not orders.
EARLIEST = datetime(2000, 1, 1, tzinfo=timezone.utc)
FUTURE_SLACK = timedelta(days=1)
#: A trillion in major units: beyond any order, and inside SQLite's 64-bit integers.
MAX_MINOR = 10**14

_CURRENCY_MARKS = re.compile(r"(?i)(?:руб\.?|р\.|грн\.?|rub|usd|eur|uah|[₽$€₴])")
_SPACES = re.compile(r"[\s\u00a0\u202f']+")
_NUMBER = re.compile(r"[0-9]+(?:[.,][0-9]+)*", re.ASCII)


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
                raise ConfigError(f"[sources.{source}.statuses] {native!r}: {exc}",  # i18n: no - where, then the reason
                                  _('map it to a canonical code, e.g. "{native}" = "paid"').format(
                                      native=native)) from None
            self.read[normalize(native)] = status
            self.write.setdefault(status, native)

    def parse(self, text: str) -> Status:
        status = self.seen.get(text)  # a file holds a handful of distinct values: normalize each once
        if status is not None:
            return status
        status = self.read.get(normalize(text))
        if status is None:
            raise RowError(self.unknown(text.strip()))
        self.seen[text] = status
        return status

    def unknown(self, label: str) -> str:
        """The reject reason for an unknown label; the hint never maps it to an unpaid status blindly."""
        if not label:
            return Said(N_("empty status"))
        codes = ", ".join(s.value for s in Status)
        key = normalize(label)
        guess = next((status for stems, status in LOOKS_LIKE if any(stem in key for stem in stems)), None)
        where = f"[sources.{self.source}.statuses]"
        if guess is not None:
            return Said(N_("unknown status {label!r}; it looks like {guess} — if so, add \"{label}\" = \"{guess}\" "
                           "to {where} (statuses: {codes})"), label=label, guess=guess.value, where=where, codes=codes)
        return Said(N_("unknown status {label!r} — add it to {where} with the status it means, one of: {codes}"),
                    label=label, where=where, codes=codes)

    def native(self, status: Status, family: str | None) -> str:
        """The text to write for ``status``: configured label, else ``family``'s label, else the code."""
        if status in self.write:
            return self.write[status]
        # A family without a label for the status (refunded) gets the canonical code, which every family reads.
        return FAMILIES[family].get(status, status.value) if family else status.value


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


def check_date_format(date_format: str, source: str) -> None:
    """ConfigError when ``date_format`` cannot read back a date it wrote itself (``%Q``, ``%Y`` alone)."""
    sample = datetime(2026, 11, 24, 13, 45, 30)
    try:
        back = datetime.strptime(sample.strftime(date_format), date_format)
    except ValueError as exc:
        raise ConfigError(_("[sources.{source}] date_format {format!r} cannot read dates ({error})").format(
                              source=source, format=date_format, error=exc),
                          _("use strptime codes, e.g. date_format = \"%d.%m.%Y %H:%M\"")) from None
    if back.date() != sample.date():
        raise ConfigError(_("[sources.{source}] date_format {format!r} has no day, month and year").format(
                              source=source, format=date_format),
                          _("include %d, %m and %Y, e.g. date_format = \"%m/%d/%Y\""))


def dotted(text: str) -> datetime:
    """``24.11.2026``, ``24.11.2026 10:00`` or ``24.11.2026 10:00:30`` by slicing: Russian Excel's
    dates, five times faster than ``strptime``; ValueError for any other shape."""
    size = len(text)
    if size not in (10, 16, 19) or text[2] != "." or text[5] != "." or (size > 10 and text[10] != " "):
        raise ValueError(text)
    if not text.replace(".", "").replace(" ", "").replace(":", "").isdigit() or not text.isascii():
        raise ValueError(text)
    if size == 10:
        return datetime(int(text[6:10]), int(text[3:5]), int(text[:2]))
    if text[13] != ":" or (size == 19 and text[16] != ":"):
        raise ValueError(text)
    return datetime(int(text[6:10]), int(text[3:5]), int(text[:2]), int(text[11:13]), int(text[14:16]),
                    int(text[17:19]) if size == 19 else 0)


class DateReader:
    """Parse dates, trying the last format that worked first; naive values are read in ``zone``.

    Dates before 2000 or more than a day after ``now`` are refused: they are typing errors.
    """

    def __init__(self, zone: tzinfo, date_format: str | None = None, now: datetime | None = None):
        self.zone = zone
        parsers: list[Callable[[str], datetime]] = [lambda t: datetime.strptime(t, date_format)] if date_format else []
        if not date_format:
            parsers.append(datetime.fromisoformat)  # reads "Z" and offsets since Python 3.11
            parsers.append(dotted)
            parsers += [lambda t, f=f: datetime.strptime(t, f) for f in DATE_FORMATS]
        self.parsers = parsers
        self.general = date_format is None
        self.last = parsers[0]
        self.latest = (now or datetime.now(timezone.utc)) + FUTURE_SLACK

    def __call__(self, text: str) -> datetime:
        text = text.strip()
        value = self._parse(text)
        try:
            if value.tzinfo is None:
                value = value.replace(tzinfo=self.zone)
            value = value if value.tzinfo is timezone.utc else value.astimezone(timezone.utc)
        except (OverflowError, ValueError):
            raise RowError(Said(N_("date out of range: {text!r}"), text=text)) from None
        if value < EARLIEST:
            raise RowError(Said(N_("date before 2000: {text!r}"), text=text))
        if value > self.latest:
            raise RowError(Said(N_("date in the future: {text!r}"), text=text))
        return value

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
        raise RowError(Said(N_("not a date: {text!r}"), text=text))


def parse_minor(text: str, decimal: str | None = None) -> int:
    """An amount of money in minor units (kopecks); RowError saying why when it is not one.

    ``4990.00``, ``4 990,00``, ``1,234.50``, ``12 000 ₽`` are read. With one separator followed by
    exactly three digits (``1.990``, ``1,990``) the amount is ambiguous — 1990 or 1.99 — unless
    ``decimal`` names the file's decimal separator.
    """
    whole, dot, cents = text.partition(".")  # the common "4990.00", without a regex
    if (whole.isdigit() and whole.isascii() and len(whole) <= 12
            and (not dot or (cents.isdigit() and cents.isascii() and len(cents) <= 2))):
        return int(whole) * 100 + (int(cents.ljust(2, "0")) if cents else 0)
    raw = _SPACES.sub("", _CURRENCY_MARKS.sub("", text))
    if raw.startswith("-") and _NUMBER.fullmatch(raw[1:]):
        raise RowError(Said(N_("negative amount: {text!r}"), text=text))
    raw = raw.removeprefix("+")
    if not _NUMBER.fullmatch(raw):
        raise RowError(Said(N_("not an amount: {text!r}"), text=text))
    whole, cents = _split_amount(raw, text, decimal)
    if len(cents) > 2 and not cents[2:].strip("0"):
        cents = cents[:2]  # "1.990" with "." as the decimal separator: 1.99
    if len(cents) > 2:
        raise RowError(Said(N_("more than two decimal places: {text!r}"), text=text))
    minor = int(whole) * 100 + (int(cents.ljust(2, "0")) if cents else 0)
    if minor >= MAX_MINOR:
        raise RowError(Said(N_("amount too large: {text!r}"), text=text))
    return minor


def _split_amount(raw: str, text: str, decimal: str | None) -> tuple[str, str]:
    seps = [c for c in raw if c in ".,"]
    if not seps:
        return raw, ""
    last = seps[-1]
    head, _sep, tail = raw.rpartition(last)
    if len(set(seps)) == 2:  # "1,234.50" or "1.234,50": the last one is the decimal separator
        return _grouped(head, text), tail
    if len(seps) > 1:  # "1.234.567": thousands only
        return _grouped(raw, text), ""
    if len(tail) == 3 and decimal != last:
        if decimal is None:
            raise RowError(Said(N_("ambiguous amount {text!r}: {whole} or {fraction}? set `decimal` to \",\" or \".\" "
                                   "for this source"), text=text, whole=head + tail, fraction=f"{head}.{tail}"))
        return head + tail, ""
    return head, tail


def _grouped(number: str, text: str) -> str:
    groups = re.split(r"[.,]", number)
    if any(len(g) != 3 for g in groups[1:]) or not 1 <= len(groups[0]) <= 3:
        raise RowError(Said(N_("not an amount: {text!r}"), text=text))
    return "".join(groups)


def fast_phone(text: str, country: str) -> str | None:
    if text.startswith("+") and text[1:].isdigit() and text.isascii() and 7 <= len(text) - 1 <= 15:
        return text
    return normalize_phone(text, country)


class RowMapper:
    """Turn one record's fields into an :class:`Order` (or raise RowError with the reject reason)."""

    #: The order in which :meth:`order` unpacks a row's values.
    FIELDS = ("id", "status", "created", "currency", "amount", "paid", "email", "phone", "name", "product_id",
              "product", "number", "manager", "payment_link", "cancel_reason")

    def __init__(self, source: str, columns: Mapping[str, int], statuses: StatusMap, dates: DateReader,
                 currency: str, country: str, header: Sequence[str] = (), extras: Mapping[str, int] | None = None,
                 decimal: str | None = None):
        self.source, self.statuses, self.dates = source, statuses, dates
        self.currency, self.country, self.decimal = currency.upper(), country, decimal
        self.extras = tuple((extras or {}).items())
        self.amounts: dict[str, int] = {}
        self.width = max([*columns.values(), *(i for _, i in self.extras)]) + 1
        self.header = {f: (header[i].strip() if i < len(header) else f) for f, i in columns.items()}
        # One C-level itemgetter instead of a lookup per field; absent columns read the padding cell.
        self.values = itemgetter(*(columns.get(f, self.width) for f in self.FIELDS))

    def _money(self, text: str, field: str) -> int:
        minor = self.amounts.get(text)  # a shop has a few dozen prices: parse each once
        if minor is not None:
            return minor
        try:
            minor = parse_minor(text, self.decimal)
        except RowError as exc:
            raise RowError(Said(N_("column {column!r}: {problem}"), column=self.header[field],
                                problem=reason_of(exc))) from None
        if len(self.amounts) < 10_000:
            self.amounts[text] = minor
        return minor

    def _paid(self, text: str, currency: str) -> Money | None:
        # Optional column; some exports write "yes"/"да" there, which must not reject the order.
        try:
            return Money(parse_minor(text, self.decimal), currency) if text else None
        except RowError:
            return None

    def order(self, fields: list[str]) -> Order:
        return self.build(self.check(fields), fields)

    def check(self, fields: list[str]) -> tuple:
        """Read and check every cell of a row (RowError with the column named); nothing is built.

        A first read of a large file checks each row once to count its rejects, and builds the
        orders on the second pass: checking is about half the cost of building.
        """
        if len(fields) < self.width:
            fields += [""] * (self.width - len(fields))
        (native_id, raw_status, created, currency, amount, paid, email, phone, name, product_id, title, number,
         manager, link, reason) = map(str.strip, self.values(fields + [""]))
        if not native_id:
            raise RowError(Said(N_("column {column!r}: empty order id"), column=self.header["id"]))
        if not native_id.isprintable():
            raise RowError(Said(N_("column {column!r}: the order id holds control characters"),
                                column=self.header["id"]))
        try:
            status = self.statuses.parse(raw_status)
        except RowError as exc:
            raise RowError(Said(N_("column {column!r}: {problem}"), column=self.header["status"],
                                problem=reason_of(exc))) from None
        if not created:
            raise RowError(Said(N_("column {column!r}: empty creation date"), column=self.header["created"]))
        try:
            created_at = self.dates(created)
        except RowError as exc:
            raise RowError(Said(N_("column {column!r}: {problem}"), column=self.header["created"],
                                problem=reason_of(exc))) from None
        if not amount:
            raise RowError(Said(N_("column {column!r}: empty amount"), column=self.header["amount"]))
        minor = self._money(amount, "amount")
        mail = normalize_email(email) if email else None  # None when it holds a line break
        tel = fast_phone(phone, self.country) if phone else None
        if not mail and not tel:
            if email and phone:
                raise RowError(Said(N_("no usable e-mail or phone, so the customer cannot be told apart ({email!r} "
                                       "and {phone!r} cannot be read as such)"), email=email, phone=phone))
            if email or phone:
                raise RowError(Said(N_("no usable e-mail or phone, so the customer cannot be told apart ({value!r} "
                                       "cannot be read as such)"), value=email or phone))
            raise RowError(Said(N_("no usable e-mail or phone, so the customer cannot be told apart")))
        return (native_id, status, raw_status, created_at, currency, minor, paid, mail, tel, name, product_id,
                title, number, manager, link, reason)

    def build(self, checked: tuple, fields: list[str]) -> Order:
        """The Order of a row :meth:`check` read."""
        (native_id, status, raw_status, created_at, currency, minor, paid, mail, tel, name, product_id, title,
         number, manager, link, reason) = checked
        currency = currency.upper() if currency else self.currency
        total = Money(minor, currency)
        if not (name + title + manager + reason + number + link + product_id).isprintable():  # one check a row
            name, title, manager, reason, number, link, product_id = map(
                clean_text, (name, title, manager, reason, number, link, product_id))
        extra = {key: clean_text(fields[i].strip()) for key, i in self.extras if fields[i].strip()}
        product_key = product_id or title
        return Order(
            source=self.source, native_id=native_id, status=status, created_at=created_at, total=total,
            customer=Customer(email=mail, phone=tel, name=name or None),
            items=(LineItem(product_key, title, 1, total),) if product_key else (),
            number=number or None, native_status=raw_status, paid=self._paid(paid, currency),
            manager=manager or None, payment_link=link or None, cancel_reason=reason or None,
            extra=extra,
        )
