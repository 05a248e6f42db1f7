"""Pure translation between AutoWebOffice records and the canonical model; no I/O.

AutoWebOffice answers with string-typed JSON (``"id_account": "370225"``), naive local times
(``YYYY-MM-DD HH:MM:SS`` in the account's zone) and ``0000-00-00 00:00:00`` for "no date".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone, tzinfo
from decimal import Decimal, InvalidOperation
from typing import Any, Mapping, Sequence

from unpaid.clock import to_iso
from unpaid.model import FINISHED, Customer, LineItem, Money, Order, Status, normalize_email, normalize_phone
from unpaid.text import clean, clean_text

from unpaid_autoweboffice.i18n import N_, Said, _

ZERO_DATE = "0000-00-00 00:00:00"
DATE_FORMAT = "%Y-%m-%d %H:%M:%S"

#: ``id_account_status`` -> canonical status. 1 "Создан" is an issued, not yet paid invoice.
STATUS_FROM_NATIVE = {
    "1": Status.PAYMENT_WAITING,  # Создан (created, awaiting payment)
    "2": Status.CANCELLED,  # Отказ (refused)
    "3": Status.IN_WORK,  # В обработке (in processing)
    "4": Status.NOT_CONFIRMED,  # Ошибка (the payment failed, nothing confirmed)
    "5": Status.PAID,  # Оплачен (paid)
}
#: How a cancel reason is written into ``account_comment`` (and read back from it).
CANCEL_PREFIX = "Отказ: "
#: The cancel reason of an invoice closed (``close_account = 1``) before it was paid.
CLOSED_REASON = "closed in AutoWebOffice"
#: The invoice's state flags: the word ``order.extra["flags"]`` uses, the field with its date and the
#: ``order.extra`` key that date goes to.
FLAGS = {"goods_return": ("refunded", "goods_return_date", "refunded_at"),
         "close_account": ("closed", "close_date", "closed_at"),
         "deleted": ("in the recycle bin", "deleted_date", "deleted_at")}
STATUS_LABELS_RU = {"1": "Создан", "2": "Отказ", "3": "В обработке", "4": "Ошибка", "5": "Оплачен"}

#: Canonical status -> ``id_account_status`` to PUT. ``False`` is not a status in AutoWebOffice:
#: it is written as a soft delete (the invoice goes to the recycle bin), which reads back as False.
STATUS_TO_NATIVE = {
    Status.NEW: "1",
    Status.PAYMENT_WAITING: "1",
    Status.NOT_CONFIRMED: "4",
    Status.IN_WORK: "3",
    Status.PART_PAID: "3",  # no partial payments in AutoWebOffice: the invoice stays "in processing"
    Status.CANCELLED: "2",
    Status.PAID: "5",
}


class MappingError(ValueError):
    """A record that cannot be read; the message names the field and the value."""


def text(record: Mapping[str, Any], key: str) -> str:
    """A field as trimmed text; missing and null become ``""``."""
    value = record.get(key)
    return "" if value is None else str(value).strip()


def parse_date(value: Any, zone: tzinfo, field_name: str = "date") -> datetime | None:
    """Parse an AutoWebOffice local time into aware UTC; None for empty and zero dates."""
    raw = "" if value is None else str(value).strip()
    if not raw or raw.startswith("0000-00-00"):
        return None
    try:
        local = datetime.strptime(raw[:19], DATE_FORMAT) if len(raw) >= 19 else datetime.strptime(raw, "%Y-%m-%d")
    except ValueError:
        raise MappingError(_("{field}: not a date: {value!r}").format(field=field_name, value=raw)) from None
    return local.replace(tzinfo=zone).astimezone(timezone.utc)


def format_date(moment: datetime, zone: tzinfo) -> str:
    """Render an aware moment as an AutoWebOffice local time string (for search windows)."""
    return moment.astimezone(zone).strftime(DATE_FORMAT)


def parse_amount(value: Any, currency: str, field_name: str) -> Money:
    """Parse ``"1340"``, ``"1340.50"`` into Money; raise MappingError naming the field."""
    raw = "" if value is None else str(value).strip()
    if not raw:
        return Money(0, currency)
    try:
        amount = Decimal(raw.replace(",", ".").replace(" ", ""))
    except InvalidOperation:
        raise MappingError(_("{field}: not an amount: {value!r}").format(field=field_name, value=raw)) from None
    if not amount.is_finite():
        raise MappingError(_("{field}: not an amount: {value!r}").format(field=field_name, value=raw))
    return Money(int((amount * 100).to_integral_value()), currency)


def status_of(record: Mapping[str, Any], status_map: Mapping[str, Status] | None = None) -> Status:
    """Canonical status of an invoice, every state flag considered.

    In the recycle bin (``deleted``) it is False; returned (``goods_return``) it is refunded,
    whatever its code; closed (``close_account``) it is finished: paid stays paid, anything else is
    cancelled. Otherwise the code decides (``status_map`` adds codes); an unknown code is unmapped.
    """
    if text(record, "deleted") == "1":
        return Status.FALSE
    if text(record, "goods_return") == "1":
        return Status.REFUNDED
    status = (status_map or STATUS_FROM_NATIVE).get(text(record, "id_account_status"), Status.UNMAPPED)
    if text(record, "close_account") == "1" and status not in FINISHED:
        return Status.CANCELLED
    return status


def native_status_for(status: Status) -> str | None:
    """The ``id_account_status`` for a canonical status; None for False (written as a soft delete)."""
    return STATUS_TO_NATIVE.get(status)


def cancel_reason(comment: str) -> str | None:
    """The last cancel reason written into an invoice comment, if any."""
    found = [line[len(CANCEL_PREFIX):].strip() for line in comment.splitlines() if line.startswith(CANCEL_PREFIX)]
    return found[-1] if found else None


def split_name(name: str) -> dict[str, str]:
    """A full name -> ``name``, ``middle_name``, ``last_name`` (the inverse of :func:`full_name`).

    Two words are a first and a last name (the patronymic is cleared: the whole name was given).
    """
    words = name.split()
    first = words[0] if words else ""
    middle = words[1] if len(words) > 2 else ""
    last = " ".join(words[2:] if len(words) > 2 else words[1:])
    return {"name": first, "middle_name": middle, "last_name": last}


def full_name(record: Mapping[str, Any]) -> str | None:
    """``name middle_name last_name`` as the buyer typed them (the patronymic kept); None when all are empty."""
    parts = [text(record, "name"), text(record, "middle_name"), text(record, "last_name")]
    return clean(" ".join(p for p in parts if p))


@dataclass(frozen=True)
class Line:
    """One ``accountline`` row, reduced to what an order keeps."""

    id_account: str
    id_line: str
    item: LineItem
    sum_minor: int


def line_from_native(record: Mapping[str, Any], currency: str) -> Line:
    """Read an ``accountline`` row; raise MappingError naming the field."""
    id_account = text(record, "id_account")
    if not id_account:
        raise MappingError(_("id_account: missing"))
    try:
        quantity = int(Decimal(text(record, "quantity") or "1"))
    except InvalidOperation:
        raise MappingError(_("quantity: not a number: {value!r}").format(value=text(record, "quantity"))) from None
    price = parse_amount(record.get("price"), currency, "price")
    line_sum = record.get("sum_price")
    total = parse_amount(line_sum, currency, "sum_price") if text(record, "sum_price") else \
        Money(price.minor * quantity, currency)
    item = LineItem(clean_text(text(record, "id_goods")) or "0", clean_text(text(record, "goods")), quantity, price)
    return Line(id_account, text(record, "id_account_line"), item, total.minor)


@dataclass(frozen=True)
class Mapped:
    """An invoice read into an Order, with any warnings worth telling the user."""

    order: Order
    warnings: list[str] = field(default_factory=list)


def order_from_native(source: str, record: Mapping[str, Any], lines: Sequence[Line], *, zone: tzinfo,
                      currency: str = "RUB", default_country: str = "7",
                      contact: Mapping[str, Any] | None = None,
                      status_map: Mapping[str, Status] | None = None) -> Mapped:
    """Build the canonical Order from an ``accounts`` row, its lines and (optionally) its contact.

    The invoice's own buyer snapshot wins; the contact only fills what the snapshot lacks.
    Raises MappingError for a row that cannot be read (no id, bad date or amount).
    """
    native_id = text(record, "id_account")
    if not native_id:
        raise MappingError(_("id_account: missing"))
    if not native_id.isprintable():
        raise MappingError(_("id_account: holds control characters: {value!r}").format(value=native_id))
    created = parse_date(record.get("date_of_order"), zone, "date_of_order")
    if created is None:
        raise MappingError(_("date_of_order: missing ({value})").format(
            value=text(record, "date_of_order") or _("empty")))
    total = parse_amount(record.get("account_sum"), currency, "account_sum")
    paid_at = parse_date(record.get("date_of_payment"), zone, "date_of_payment")
    changed = parse_date(record.get("account_status_change_date"), zone, "account_status_change_date")
    status = status_of(record, status_map)
    warnings: list[str] = []

    snap = dict(contact or {})
    snap.update({k: v for k, v in record.items() if v not in (None, "")})
    email = normalize_email(text(snap, "email"))
    phone = normalize_phone(text(snap, "phone_number"), default_country)
    if not email:
        raw = text(snap, "email")
        # Said: stored with the order in English (extra["warning"]), shown in the shop's language.
        if raw and phone:
            warnings.append(Said(N_("invoice {id}: e-mail {email!r} is not an address — e-mail steps will skip it; "
                                    "add the e-mail in AutoWebOffice"), id=native_id, email=raw))
        elif raw:
            warnings.append(Said(N_("invoice {id}: e-mail {email!r} is not an address and no phone — nobody can be "
                                    "contacted; add them in AutoWebOffice"), id=native_id, email=raw))
        elif phone:
            warnings.append(Said(N_("invoice {id}: no e-mail — e-mail steps will skip it; add the e-mail in "
                                    "AutoWebOffice"), id=native_id))
        else:
            warnings.append(Said(N_("invoice {id}: no e-mail and no phone — nobody can be contacted; add them in "
                                    "AutoWebOffice"), id=native_id))
    customer = Customer(email=email, phone=phone, name=full_name(snap),
                        native_id=clean(text(record, "id_contact")) if text(record, "id_contact") != "0" else None)

    if lines:
        lines_sum = sum(line.sum_minor for line in lines)
        if lines_sum != total.minor:
            warnings.append(Said(N_("invoice {id}: account_sum {total} does not match its lines ({lines}) — stored "
                                    "with the invoice sum; correct the invoice in AutoWebOffice"),
                                 id=native_id, total=total.decimal, lines=Money(lines_sum, currency).decimal))
    extra = {"native_status_label": STATUS_LABELS_RU.get(text(record, "id_account_status"), ""),
             **_flags(record, zone)}
    if text(record, "account_comment"):
        extra["comment"] = clean_text(text(record, "account_comment"))
    stamps = [d for d in (created, paid_at, changed) if d is not None]
    # The reason is read from the comment's own lines before they are joined into one.
    reason = clean(cancel_reason(text(record, "account_comment"))) if status is Status.CANCELLED else None
    if status is Status.CANCELLED and not reason and text(record, "close_account") == "1":
        reason = CLOSED_REASON
    order = Order(
        source=source,
        native_id=native_id,
        number=clean(text(record, "account_number")),
        status=status,
        native_status=text(record, "id_account_status") or None,
        created_at=created,
        updated_at=max(stamps),
        paid_at=paid_at if status is Status.PAID else None,
        total=total,
        paid=total if status is Status.PAID else None,
        customer=customer,
        items=tuple(line.item for line in sorted(lines, key=lambda ln: _int(ln.id_line))),
        payment_link=clean(text(record, "link_for_pay")),
        cancel_reason=reason,
        extra={k: v for k, v in extra.items() if v},
    )
    return Mapped(order, warnings)


def _flags(record: Mapping[str, Any], zone: tzinfo) -> dict[str, str]:
    """The set state flags: ``flags`` in words (``"refunded, closed"``), each raw flag as ``"1"`` and its
    moment (``refunded_at``, ``closed_at``, ``deleted_at``; ISO UTC) when the date reads."""
    out: dict[str, str] = {}
    words = []
    for key, (word, date_field, at) in FLAGS.items():
        if text(record, key) != "1":
            continue
        out[key] = "1"
        words.append(word)
        try:
            moment = parse_date(record.get(date_field), zone, date_field)
        except MappingError:
            moment = None  # a flag's date is a detail: an unreadable one does not reject the invoice
        if moment is not None:
            out[at] = to_iso(moment)
    if words:
        out["flags"] = ", ".join(words)
    return out


def _int(value: str) -> int:
    return int(value) if value.isdigit() else 0


def invoice_from_order(order: Order, zone: tzinfo) -> tuple[dict[str, str], list[dict[str, str]]]:
    """The ``accounts`` row and ``accountline`` rows for a canonical order (seeding the emulator).

    The inverse of :func:`order_from_native` for everything AutoWebOffice can hold.
    """
    native = native_status_for(order.status) or (order.native_status if order.status is Status.UNMAPPED else "") \
        or ("5" if order.status is Status.REFUNDED else "1")
    paid_at = order.paid_at or (order.updated_at if order.status is Status.PAID else None)
    row = {"id_account": order.native_id, "account_number": order.number or order.native_id,
           "id_contact": order.customer.native_id or "", "id_account_status": native,
           "account_sum": str(order.total.decimal), "date_of_order": format_date(order.created_at, zone),
           "date_of_payment": format_date(paid_at, zone) if paid_at else ZERO_DATE,
           "account_status_change_date": format_date(order.updated_at or order.created_at, zone),
           "email": order.customer.email or "", "phone_number": order.customer.phone or "",
           **split_name(order.customer.name or ""), "deleted": "1" if order.status is Status.FALSE else "0",
           "account_comment": CANCEL_PREFIX + order.cancel_reason if order.cancel_reason else "",
           "goods_return": "1" if order.status is Status.REFUNDED else "0",
           "link_for_pay": order.payment_link or ""}
    lines = []
    for n, item in enumerate(order.items, start=1):
        price = item.price.decimal if item.price else order.total.decimal / max(1, len(order.items))
        lines.append({"id_account_line": f"{order.native_id}{n:02d}", "id_account": order.native_id,
                      "id_goods": item.product_id, "goods": item.title, "price_full": str(price), "price": str(price),
                      "quantity": str(item.quantity), "sum_price": str(price * item.quantity)})
    return row, lines


#: Fields whose change makes an already-seen invoice worth reading again.
FINGERPRINT_FIELDS = ("id_account_status", "deleted", "account_sum", "date_of_payment", "email", "phone_number",
                      "name", "last_name", "goods_return", "close_account", "account_comment", "middle_name")


def fingerprint(record: Mapping[str, Any]) -> str:
    """A short digest of what matters in an invoice, to tell a changed one from an unchanged one."""
    import zlib

    joined = "\x1f".join(text(record, f) for f in FINGERPRINT_FIELDS)
    return format(zlib.crc32(joined.encode("utf-8")), "08x")


def stringify(record: Mapping[str, Any]) -> dict[str, str]:
    """Render a record the way AutoWebOffice does: every scalar a string, None as ``""``."""
    return {k: ("" if v is None else str(v)) for k, v in record.items()}
