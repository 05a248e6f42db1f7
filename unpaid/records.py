"""Orders as JSON records: the documented output contract (docs/json.md).

One function builds the order object, so ``orders``, ``show`` and any later command or channel
that emits orders stay identical. Ids are strings, times ISO-8601 UTC, money minor units + currency.
"""

from __future__ import annotations

from typing import Any

from unpaid.clock import to_iso
from unpaid.model import Money, Order


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
