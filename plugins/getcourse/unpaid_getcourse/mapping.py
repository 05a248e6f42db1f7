"""GetCourse native data <-> the canonical model. Pure: no I/O, no clock.

Export rows are read by column *title* (custom fields are spliced into the middle, so indexes move),
every cell is a string, statuses are the Russian (or English, on getcourse.io) UI labels, money is
in Russian format and dates are local to the account's time zone.
"""

from __future__ import annotations

from datetime import datetime, tzinfo
from typing import Any, Mapping

from unpaid.connector import Reject
from unpaid.model import Customer, LineItem, Money, Order, Status, normalize_email, normalize_phone
from unpaid.text import clean, clean_text

from unpaid_getcourse.i18n import _

#: GetCourse's ten order status codes -> (canonical status, RU label, EN label).
#: ``pending`` (Отложен, "postponed") is a manager's hold: still actual, so it maps to in_work.
#: ``waiting_for_return`` (Ожидаем возврата) is a refund in progress: the customer is leaving, no
#: reminder may go out and the order is never a paid twin, so it maps to refunded. Both keep their
#: code in ``native_status``.
STATUSES: dict[str, tuple[Status, str, str]] = {
    "new": (Status.NEW, "Новый", "New"),
    "in_work": (Status.IN_WORK, "В работе", "Processing"),
    "payment_waiting": (Status.PAYMENT_WAITING, "Ожидаем оплаты", "Pending payment"),
    "not_confirmed": (Status.NOT_CONFIRMED, "Не подтвержден", "Not confirmed"),
    "pending": (Status.IN_WORK, "Отложен", "Postponed"),
    "part_payed": (Status.PART_PAID, "Частично оплачен", "Partially paid"),
    "payed": (Status.PAID, "Завершен", "Completed"),
    "waiting_for_return": (Status.REFUNDED, "Ожидаем возврата", "Pending refund"),
    "cancelled": (Status.CANCELLED, "Отменен", "Cancelled"),
    "false": (Status.FALSE, "Ложный", "False"),
}
#: Canonical -> the code written back. Paid states are not pushed: GetCourse records a payment.
TO_NATIVE: dict[Status, str] = {
    Status.NEW: "new",
    Status.IN_WORK: "in_work",
    Status.PAYMENT_WAITING: "payment_waiting",
    Status.NOT_CONFIRMED: "not_confirmed",
    Status.CANCELLED: "cancelled",
    Status.FALSE: "false",
    Status.PART_PAID: "part_payed",
    Status.PAID: "payed",
}
#: Codes the Tech API's update-fields accepts (its enum lacks ``pending``).
TECH_STATUSES = frozenset(STATUSES) - {"pending"}
_BY_LABEL = {label.casefold(): code for code, (_, ru, en) in STATUSES.items() for label in (ru, en, code)}
# "Завершён" with ё and "Отменён" appear in some accounts' exports.
_BY_LABEL.update({"завершён": "payed", "отменён": "cancelled", "не подтверждён": "not_confirmed"})

#: Order-export column titles the connector reads.
COL_ID = "ID заказа"
COL_NUMBER = "Номер"
COL_USER_ID = "ID пользователя"
COL_USER = "Пользователь"
COL_EMAIL = "Email"
COL_PHONE = "Телефон"
COL_CREATED = "Дата создания"
COL_PAID_AT = "Дата оплаты"
COL_TITLE = "Title"
COL_STATUS = "Статус"
COL_COST = "Стоимость"  # the real title carries the currency: "Стоимость, RUB"
COL_PAID = "Оплачено"
COL_CURRENCY = "Валюта"
COL_MANAGER = "Менеджер"
COL_REASON = "Причина отказа"
COL_COMMENT = "Комментарий к заказу"
REQUIRED = (COL_ID, COL_CREATED, COL_STATUS)

DATE_FORMAT = "%Y-%m-%d %H:%M:%S"


def status_code(text: str) -> str:
    """The status code for a code, RU label or EN label; ValueError naming the accepted ones."""
    code = _BY_LABEL.get(str(text).strip().casefold())
    if code is None:
        accepted = ", ".join(ru for _, ru, _ in STATUSES.values())
        raise ValueError(_("unknown status {text!r} (known: {accepted})").format(text=text, accepted=accepted))
    return code


def to_canonical(code: str) -> Status:
    """Canonical status for a GetCourse status code (or label)."""
    return STATUSES[status_code(code)][0]


def to_native(status: Status) -> str:
    """The GetCourse code written for a canonical status; ValueError for one GetCourse cannot be set to."""
    try:
        return TO_NATIVE[status]
    except KeyError:
        raise ValueError(_("GetCourse has no status to write for {status} (a refund is made in GetCourse)").format(
            status=status.value)) from None


def truthy(value: Any) -> bool:
    """GetCourse booleans arrive as true/"true"/1/"1"/"да"; anything else is false."""
    if isinstance(value, str):
        return value.strip().casefold() in ("1", "true", "yes", "да", "y")
    return bool(value)


def parse_local(text: str | None, zone: tzinfo) -> datetime | None:
    """``YYYY-MM-DD HH:MM:SS`` (or a bare date) in the account's zone -> aware UTC; None when empty."""
    from datetime import timezone

    text = (text or "").strip()
    if not text or text.startswith("0000-00-00"):
        return None
    for fmt in (DATE_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d", "%d.%m.%Y %H:%M:%S", "%d.%m.%Y %H:%M", "%d.%m.%Y"):
        try:
            naive = datetime.strptime(text, fmt)
        except ValueError:
            continue
        return naive.replace(tzinfo=zone).astimezone(timezone.utc)
    raise ValueError(_("not a date: {text!r}").format(text=text))


def cost_column(fields: list[str]) -> tuple[str | None, str | None]:
    """The cost column's title and the currency it names (``"Стоимость, USD"`` -> USD)."""
    for title in fields:
        head, _sep, tail = title.partition(",")
        if head.strip() == COL_COST:
            return title, (tail.strip().upper() or None)
    return None, None


class RowReader:
    """Turns export rows into Orders, once per export header (columns found by title)."""

    def __init__(self, source: str, fields: list[str], zone: tzinfo, default_country: str = "7"):
        missing = [c for c in REQUIRED if c not in fields]
        if missing:
            raise ValueError(_("the export has no column {column!r} (columns: {columns}…)").format(
                column=missing[0], columns=", ".join(fields[:12])))
        self.source = source
        self.zone = zone
        self.country = default_country
        self.index = {title: i for i, title in enumerate(fields)}
        self.cost_title, self.currency = cost_column(fields)

    def cell(self, row: list[Any], title: str | None) -> str:
        """The cell as trimmed text, control characters (line breaks, terminal escapes) made spaces."""
        return clean_text(self._raw(row, title))

    def _raw(self, row: list[Any], title: str | None) -> str:
        i = self.index.get(title) if title else None
        return "" if i is None or i >= len(row) or row[i] is None else str(row[i]).strip()

    def read(self, row: list[Any]) -> Order | Reject:
        """One export row -> Order, or a Reject naming the deal, the column and the bad value."""
        native_id = self.cell(row, COL_ID)
        where = _("deal {id}").format(id=native_id or "?")
        if not native_id:
            return Reject(where, _("column {column!r} is empty").format(column=COL_ID))
        if not str(row[self.index[COL_ID]]).strip().isprintable():
            return Reject(where, _("column {column!r}: the order id holds control characters").format(column=COL_ID))
        try:
            code = status_code(self.cell(row, COL_STATUS))
        except ValueError as exc:
            return Reject(where, _("column {column!r}: {problem}").format(column=COL_STATUS, problem=exc))
        # The row's own currency wins: the cost column's title names only the account's main one.
        currency = self.cell(row, COL_CURRENCY) or self.currency or "RUB"
        try:
            created = parse_local(self.cell(row, COL_CREATED), self.zone)
        except ValueError as exc:
            return Reject(where, _("column {column!r}: {problem}").format(column=COL_CREATED, problem=exc))
        try:
            paid_at = parse_local(self.cell(row, COL_PAID_AT), self.zone)
        except ValueError as exc:
            return Reject(where, _("column {column!r}: {problem}").format(column=COL_PAID_AT, problem=exc))
        if created is None:
            return Reject(where, _("column {column!r} is empty").format(column=COL_CREATED))
        try:
            total = Money.parse(self.cell(row, self.cost_title), currency)
            paid = Money.parse(self.cell(row, COL_PAID), currency)
        except ValueError as exc:
            return Reject(where, _("column {column!r} or {other!r}: {problem}").format(
                column=self.cost_title or COL_COST, other=COL_PAID, problem=exc))
        title = self.cell(row, COL_TITLE)
        user_id = self.cell(row, COL_USER_ID)
        status = STATUSES[code][0]
        return Order(
            source=self.source, native_id=native_id, status=status, created_at=created, total=total,
            customer=Customer(normalize_email(self._raw(row, COL_EMAIL)),
                              normalize_phone(self.cell(row, COL_PHONE), self.country),
                              self.cell(row, COL_USER) or None, user_id or None),
            items=(LineItem(title, title, 1, total),) if title else (),
            number=self.cell(row, COL_NUMBER) or None, native_status=code,
            paid=paid if paid.minor else None, paid_at=paid_at,
            manager=self.cell(row, COL_MANAGER) or None,
            cancel_reason=(self.cell(row, COL_REASON) or None) if status is Status.CANCELLED else None,
            extra={k: v for k, v in (("user_id", user_id), ("comment", self.cell(row, COL_COMMENT))) if v},
        )


def deal_to_order(source: str, deal: Mapping[str, Any], user: Mapping[str, Any] | None, zone: tzinfo,
                  default_country: str = "7") -> Order:
    """A Tech API Deal object (+ its User, when read) -> Order. ValueError on unreadable values."""
    code = status_code(str(deal.get("status") or ""))
    currency = str(deal.get("currency") or "RUB")
    total = Money.parse(deal.get("cost"), currency)
    payed = Money.parse(deal.get("payed_value"), currency)
    user = user or {}
    name = clean(" ".join(str(user.get(k) or "") for k in ("first_name", "last_name")))
    title = clean(deal.get("title")) or ""
    status = STATUSES[code][0]
    native_id, user_id = str(deal["id"]), clean(deal.get("user_id") or None)
    if not native_id.isprintable():
        raise ValueError(_("the deal id {id!r} holds control characters").format(id=native_id))
    return Order(
        source=source, native_id=native_id, status=status,
        created_at=parse_local(str(deal.get("created_at") or ""), zone) or _missing("created_at"), total=total,
        customer=Customer(normalize_email(user.get("email")), normalize_phone(user.get("phone"), default_country),
                          name, user_id),
        items=(LineItem(title, title, 1, total),) if title else (),
        number=clean(deal.get("number") or None), native_status=code,
        paid=payed if payed.minor else None, paid_at=parse_local(str(deal.get("payed_at") or ""), zone),
        updated_at=parse_local(str(deal.get("updated_at") or ""), zone),
        payment_link=clean(deal.get("payment_link")),
        cancel_reason=clean(deal.get("cancel_reason_comment")) if status is Status.CANCELLED else None,
        extra={"user_id": user_id} if user_id else {},
    )


def _missing(field: str) -> datetime:
    raise ValueError(_("the deal has no {field}").format(field=field))
