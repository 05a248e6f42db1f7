"""How orders look on a terminal: listing columns and the order card of ``unpaid show``."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from unpaid.clock import format_duration, from_iso
from unpaid.model import Money
from unpaid.output import Column, render, render_one

if TYPE_CHECKING:
    from unpaid.cli.context import App


def money_text(value: dict[str, Any] | None) -> str:
    return str(Money(value["minor"], value["currency"])) if value else ""


def customer_text(customer: dict[str, Any]) -> str:
    return ", ".join(v for v in (customer["name"], customer["email"], customer["phone"]) if v)


def product_text(items: list[dict[str, Any]]) -> str:
    return ", ".join(i["title"] or i["product_id"] for i in items)


def order_columns(app: "App", now: datetime, extra: tuple[Column, ...] = ()) -> list[Column]:
    """Table columns over order records (see unpaid.records.order_dict)."""
    return [
        Column("id", "id"),
        Column("number", "number"),
        Column("created_at", "created", lambda v: app.local(from_iso(v))),
        Column("status_label", "status"),
        Column("customer", "customer", customer_text),
        Column("items", "product", product_text),
        Column("total", "amount", money_text),
        Column("created_at", "age", lambda v: format_duration(now - from_iso(v))),
        *extra,
    ]


def render_card(app: "App", card: dict[str, Any], now: datetime) -> None:
    """Print the order card: details, the customer's other orders, the claim, held actions and the history."""
    order, out = card["order"], app.stdout
    status = order["status_label"]
    if order["native_status"] and order["native_status"] != order["status"]:
        status += f" (source's own status at the last sync: {order['native_status']})"
    created = from_iso(order["created_at"])
    details = {
        "order": order["id"] + (f"  #{order['number']}" if order["number"] else ""),
        "status": status,
        "created": f"{app.local(created)} ({format_duration(now - created)} ago)",
        "updated": app.local(from_iso(order["updated_at"])),
        "paid at": app.local(from_iso(order["paid_at"])),
        "customer": customer_text(order["customer"]),
        "items": "; ".join(_item_text(i) for i in order["items"]),
        "total": money_text(order["total"]),
        "paid": money_text(order["paid"]),
        "manager": order["manager"],
        "payment link": order["payment_link"],
        "cancel reason": order["cancel_reason"],
        # What the source says of the order beyond the model: its state flags and the buyer's comment.
        "source flags": order["extra"].get("flags"),
        "comment": order["extra"].get("comment"),
    }
    claim = card.get("claim")
    if claim:
        details["claimed by"] = f"{claim['manager']} until {app.local(from_iso(claim['lease_until']))}"
    render_one({k: v for k, v in details.items() if v}, "table", out)
    related = card["related"]
    out.write(f"\nOther orders of this customer: {len(related) or 'none'}\n")
    if related:
        render(related, "table", out, [
            Column("id", "id"),
            Column("created_at", "created", lambda v: app.local(from_iso(v))),
            Column("status_label", "status"),
            Column("items", "product", product_text),
            Column("total", "amount", money_text),
            Column("relation", "flag"),
        ])
    held = card.get("held") or []
    if held:
        out.write(f"\nHeld for review: {len(held)} (settle each with the command shown; see docs/review.md)\n")
        render(held, "table", out, [
            Column("since", "held since", lambda v: app.local(from_iso(v))),
            Column("playbook", "playbook"),
            Column("step", "step"),
            Column("channel", "channel"),
            Column("message_id", "Message-ID"),
            Column("why", "why"),
            Column("resolve", "settle with"),
        ])
    history = card["history"]
    out.write(f"\nHistory: {len(history) or 'none'}\n")
    if history:
        render(history, "table", out, [
            Column("at", "time", lambda v: app.local(from_iso(v))),
            Column("actor", "actor"),
            Column("automatic", "auto", lambda v: "auto" if v else ""),
            Column("kind", "kind"),
            Column("summary", "summary"),
        ])


def _item_text(item: dict[str, Any]) -> str:
    text = item["title"] or item["product_id"]
    if item["title"] and item["title"] != item["product_id"]:
        text += f" [{item['product_id']}]"
    if item["quantity"] != 1:
        text += f" × {item['quantity']}"
    return text + (f" — {money_text(item['price'])}" if item["price"] else "")
