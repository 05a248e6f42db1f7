"""Orders as JSON records: the documented output contract (docs/json.md).

One function builds the order object, so ``orders``, ``show`` and any later command or channel
that emits orders stay identical. Ids are strings, times ISO-8601 UTC, money minor units + currency.
"""

from __future__ import annotations

import json
from typing import Any

from unpaid.clock import from_iso, to_iso
from unpaid.model import STATUS_LABELS, Money, Order, Status, normalize_email, normalize_phone
from unpaid.output import _FORMULA_START
from unpaid.output import json_row as _json_text  # the encoder render writes JSON rows with


def money_dict(money: Money | None) -> dict[str, Any] | None:
    return {"minor": money.minor, "currency": money.currency} if money is not None else None


def order_dict(order: Order) -> dict[str, Any]:
    """The order object of the JSON contract."""
    c = order.customer
    return {
        "id": order.id,
        "source": order.source,
        "native_id": order.native_id,
        "number": order.number,
        "status": order.status.value,
        "status_label": order.status.label,
        "native_status": order.native_status,
        "created_at": to_iso(order.created_at),
        "updated_at": to_iso(order.updated_at),
        "paid_at": to_iso(order.paid_at),
        "customer": {"email": c.email, "phone": c.phone, "name": c.name, "key": c.key},
        "items": [
            {"product_id": i.product_id, "title": i.title, "quantity": i.quantity, "price": money_dict(i.price)}
            for i in order.items
        ],
        "total": money_dict(order.total),
        "paid": money_dict(order.paid),
        "manager": order.manager,
        "payment_link": order.payment_link,
        "cancel_reason": order.cancel_reason,
        "extra": dict(order.extra),
    }


def flat_order(record: dict[str, Any]) -> dict[str, Any]:
    """An order object flattened for CSV: one column per field, the same columns for every row."""
    out = {k: v for k, v in record.items() if k not in ("customer", "items", "total", "paid")}
    for key in ("email", "phone", "name", "key"):
        out[f"customer_{key}"] = record["customer"][key]
    out["products"] = ", ".join(i["product_id"] for i in record["items"])
    out["items"] = record["items"]
    for key in ("total", "paid"):
        money = record[key] or {}
        out[f"{key}_minor"] = money.get("minor")
        out[f"{key}_currency"] = money.get("currency")
    return out


#: The orders columns :func:`row_record` reads, in its order.
RECORD_COLUMNS = ("source", "native_id", "number", "status", "native_status", "created_at", "updated_at", "paid_at",
                  "email", "phone", "name", "product_key", "product_title", "total_minor", "currency", "paid_minor",
                  "manager", "payment_link", "cancel_reason", "items", "extra")


def row_record(row: tuple) -> dict[str, Any]:
    """``order_dict(from_row(row))`` straight from a tuple of :data:`RECORD_COLUMNS`, for exports of many
    rows: no Order is built on the way (a third of an export's time)."""
    (source, native_id, number, status, native_status, created_at, updated_at, paid_at, email, phone, name,
     product_key, product_title, total_minor, currency, paid_minor, manager, payment_link, cancel_reason,
     items, extra) = row
    state = _STATUS.get(status) or Status(status)
    total = {"minor": total_minor, "currency": currency}
    if items is None and product_key is not None:
        lines = [{"product_id": product_key, "title": product_title or "", "quantity": 1, "price": dict(total)}]
    elif items:
        lines = [{"product_id": pid, "title": title or "", "quantity": qty or 1,
                  "price": {"minor": price, "currency": currency} if price is not None else None}
                 for pid, title, qty, price in json.loads(items)]
    else:
        lines = []
    return {
        "id": f"{source}:{native_id}",
        "source": source,
        "native_id": native_id,
        "number": number,
        "status": state.value,
        "status_label": STATUS_LABELS[state],
        "native_status": native_status,
        "created_at": _iso(created_at),
        "updated_at": _iso(updated_at),
        "paid_at": _iso(paid_at),
        "customer": {"email": email, "phone": phone, "name": name,
                     "key": normalize_email(email) or normalize_phone(phone)},
        "items": lines,
        "total": total,
        "paid": {"minor": paid_minor, "currency": currency} if paid_minor is not None else None,
        "manager": manager,
        "payment_link": payment_link,
        "cancel_reason": cancel_reason,
        "extra": json.loads(extra) if extra else {},
    }


def row_json(row: tuple) -> str:
    """The JSON text of :func:`row_record` (as :func:`unpaid.output.render` writes it) built as a string:
    half the cost of building the record and encoding it, for exports of a million rows."""
    (source, native_id, number, status, native_status, created_at, updated_at, paid_at, email, phone, name,
     product_key, product_title, total_minor, currency, paid_minor, manager, payment_link, cancel_reason,
     items, extra) = row
    state = _STATUS.get(status) or Status(status)
    cur = _j(currency)
    total = f'{{"minor": {_j(total_minor)}, "currency": {cur}}}'
    lines = _lines_json(product_key, product_title, items, cur, total)
    paid = f'{{"minor": {_j(paid_minor)}, "currency": {cur}}}' if paid_minor is not None else "null"
    return (f'{{"id": {_j(f"{source}:{native_id}")}, "source": {_j(source)}, "native_id": {_j(native_id)}, '
            f'"number": {_j(number)}, "status": {_j(state.value)}, "status_label": {_j(STATUS_LABELS[state])}, '
            f'"native_status": {_j(native_status)}, "created_at": {_j(_iso(created_at))}, '
            f'"updated_at": {_j(_iso(updated_at))}, "paid_at": {_j(_iso(paid_at))}, '
            f'"customer": {{"email": {_j(email)}, "phone": {_j(phone)}, "name": {_j(name)}, '
            f'"key": {_j(normalize_email(email) or normalize_phone(phone))}}}, "items": {lines}, "total": {total}, '
            f'"paid": {paid}, "manager": {_j(manager)}, "payment_link": {_j(payment_link)}, '
            f'"cancel_reason": {_j(cancel_reason)}, "extra": {_json_text(json.loads(extra)) if extra else "{}"}}}')


def _lines_json(product_key: str | None, product_title: str | None, items: str | None, cur: str, total: str) -> str:
    # The JSON text of the record's "items": the stored lines, or the one product of a single-product order.
    if items is None and product_key is not None:
        return (f'[{{"product_id": {_j(product_key)}, "title": {_j(product_title or "")}, "quantity": 1, '
                f'"price": {total}}}]')
    if items:
        return "[" + ", ".join(
            f'{{"product_id": {_j(pid)}, "title": {_j(title or "")}, "quantity": {_j(qty or 1)}, "price": '
            + (f'{{"minor": {_j(price)}, "currency": {cur}}}' if price is not None else "null") + "}"
            for pid, title, qty, price in json.loads(items)) + "]"
    return "[]"


#: The header of :func:`row_csv`'s cells: :func:`flat_order`'s columns.
CSV_HEADER = ("id", "source", "native_id", "number", "status", "status_label", "native_status", "created_at",
              "updated_at", "paid_at", "manager", "payment_link", "cancel_reason", "extra", "customer_email",
              "customer_phone", "customer_name", "customer_key", "products", "items", "total_minor",
              "total_currency", "paid_minor", "paid_currency")


def row_csv(row: tuple) -> list:
    """The CSV cells of ``flat_order(row_record(row))`` (formula guard included) straight from a tuple: no
    record, no flattening, each line's JSON built as :func:`row_json` builds it; a fifth of the old cost."""
    (source, native_id, number, status, native_status, created_at, updated_at, paid_at, email, phone, name,
     product_key, product_title, total_minor, currency, paid_minor, manager, payment_link, cancel_reason,
     items, extra) = row
    state = _STATUS.get(status) or Status(status)
    if items is None and product_key is not None:
        products = product_key
    elif items:
        products = ", ".join(line[0] for line in json.loads(items))
    else:
        products = ""
    lines = _lines_json(product_key, product_title, items, _j(currency), f'{{"minor": {_j(total_minor)}, '
                        f'"currency": {_j(currency)}}}')
    cells = [f"{source}:{native_id}", source, native_id, number, state.value, STATUS_LABELS[state], native_status,
             _iso(created_at), _iso(updated_at), _iso(paid_at), manager, payment_link, cancel_reason,
             _json_text(json.loads(extra)) if extra else "{}", email, phone, name,
             normalize_email(email) or normalize_phone(phone), products, lines, total_minor, currency,
             paid_minor, currency if paid_minor is not None else None]
    for i, cell in enumerate(cells):
        # Only a string whose first character a spreadsheet reads as a formula gets the apostrophe.
        if type(cell) is str and cell[:1] in _FORMULA_FIRST:
            cells[i] = "'" + cell
    return cells


def _j(value: Any) -> str:
    # What the encoder writes for a value: strings and integers directly, anything else through it.
    if value is None:
        return "null"
    if type(value) is str:
        return _string(value)
    if type(value) is int:
        return int.__repr__(value)
    return _json_text(value)


def _iso(text: str | None) -> str | None:
    # The store writes to_iso's form (20 characters, Z); anything else is read and written again.
    if not text:
        return None
    if len(text) == 20 and text[-1] == "Z":
        return text
    return to_iso(from_iso(text))


_STATUS = {s.value: s for s in Status}
_string = json.encoder.encode_basestring  # the encoder's strings with ensure_ascii=False
_FORMULA_FIRST = frozenset(_FORMULA_START)  # each is one character: a set look-up of a cell's first one
