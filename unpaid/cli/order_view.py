"""How orders look on a terminal: listing columns and the order card of ``unpaid show``."""

from __future__ import annotations

import re
from datetime import datetime, timezone, tzinfo
from typing import TYPE_CHECKING, Any

from unpaid.clock import format_duration, from_iso
from unpaid.i18n import DEFAULT, N_, _, active, lookup
from unpaid.model import Money
from unpaid.output import Column, render, render_one
from unpaid.text import human

if TYPE_CHECKING:
    from unpaid.cli.context import App


def money_text(value: dict[str, Any] | None) -> str:
    return Money(value["minor"], value["currency"]).human() if value else ""


def customer_text(customer: dict[str, Any]) -> str:
    return ", ".join(v for v in (customer["name"], customer["email"], customer["phone"]) if v)


def product_text(items: list[dict[str, Any]]) -> str:
    return ", ".join(i["title"] or i["product_id"] for i in items)


def order_columns(app: "App", now: datetime, extra: tuple[Column, ...] = ()) -> list[Column]:
    """Table columns over order records (see unpaid.records.order_dict)."""
    return [
        Column("id", N_("id")),
        Column("number", N_("number")),
        Column("created_at", N_("created"), lambda v: app.local(from_iso(v))),
        Column("status_label", N_("status"), lookup),
        Column("customer", N_("customer"), customer_text),
        Column("items", N_("product"), product_text),
        Column("total", N_("amount"), money_text),
        Column("created_at", N_("age"), lambda v: format_duration(now - from_iso(v), human=True)),
        *extra,
    ]


def render_card(app: "App", card: dict[str, Any], now: datetime) -> None:
    """Print the order card: details, the customer's other orders, the claim, held actions and the history."""
    order, out = card["order"], app.stdout
    status = lookup(order["status_label"])
    if order["native_status"] and order["native_status"] != order["status"]:
        status = _("{status} (source's own status at the last sync: {native})").format(
            status=status, native=order["native_status"])
    created = from_iso(order["created_at"])
    # The keys are looked up in the catalog when the card is shown (render_one): marked here for it.
    details = {
        N_("order"): order["id"] + (f"  #{order['number']}" if order["number"] else ""),
        N_("status"): status,
        N_("created"): _("{moment} ({age} ago)").format(moment=app.local(created),
                                                        age=format_duration(now - created, human=True)),
        N_("updated"): app.local(from_iso(order["updated_at"])),
        N_("paid at"): app.local(from_iso(order["paid_at"])),
        N_("customer"): customer_text(order["customer"]),
        N_("items"): "; ".join(_item_text(i) for i in order["items"]),
        N_("total"): money_text(order["total"]),
        N_("paid"): money_text(order["paid"]),
        N_("manager"): order["manager"],
        N_("payment link"): order["payment_link"],
        N_("cancel reason"): order["cancel_reason"],
        # What the source says of the order beyond the model: its state flags and the buyer's comment.
        N_("source flags"): order["extra"].get("flags"),
        N_("comment"): order["extra"].get("comment"),
    }
    claim = card.get("claim")
    if claim:
        details[N_("claimed by")] = _("{manager} until {moment}").format(
            manager=claim["manager"], moment=app.local(from_iso(claim["lease_until"])))
    render_one({k: v for k, v in details.items() if v}, "table", out)
    related = card["related"]
    out.write("\n" + (_("Other orders of this customer: {n}").format(n=len(related)) if related
                      else _("Other orders of this customer: none")) + "\n")
    if related:
        columns = {c.header: c for c in order_columns(app, now)}
        render(related, "table", out, [*(columns[h] for h in ("id", "created", "status", "product", "amount")),
                                       Column("relation", N_("flag"), human)])
    held = card.get("held") or []
    if held:
        out.write("\n" + _("Held for review: {n} (settle each with the command shown; see docs/review.md)").format(
            n=len(held)) + "\n")
        render(held, "table", out, [
            Column("since", N_("held since"), lambda v: app.local(from_iso(v))),
            Column("playbook", N_("playbook")),
            Column("step", N_("step")),
            Column("channel", N_("channel")),
            Column("message_id", "Message-ID"),
            Column("why", N_("why"), human),
            Column("resolve", N_("settle with")),
        ])
    history = card["history"]
    out.write("\n" + (_("History: {n}").format(n=len(history)) if history else _("History: none")) + "\n")
    if history:
        render(history, "table", out, [
            Column("at", N_("time"), lambda v: app.local(from_iso(v))),
            Column("actor", N_("actor")),
            Column("automatic", N_("auto"), lambda v: _("auto") if v else ""),
            Column("kind", N_("kind")),
            Column("summary", N_("summary"), lambda v: history_text(v, app.zone)),
        ])


def _item_text(item: dict[str, Any]) -> str:
    text = item["title"] or item["product_id"]
    if item["title"] and item["title"] != item["product_id"]:
        text += f" [{item['product_id']}]"
    if item["quantity"] != 1:
        text += f" × {item['quantity']}"
    return text + (f" — {money_text(item['price'])}" if item["price"] else "")


#: History notes sync writes with a status change, as stored (English) and as shown (translated).
_HISTORY_STATUS = N_("status changed at the source: {old} → {new}")
_HISTORY_MISSING = N_("status set: {old} → {new} ({reason} since {moment})")
_STORED_STATUS = re.compile(r"status changed at the source: (?P<old>.+) → (?P<new>.+)")
_STORED_MISSING = re.compile(r"status set: (?P<old>.+) → (?P<new>.+) \((?P<reason>.+) since "
                             r"(?P<moment>\d{4}-\d\d-\d\d \d\d:\d\d) UTC\)")


def history_text(summary: str | None, zone: tzinfo | None = None) -> str:
    """A history note for people: a fixed English note (marked where it is written) in the active language,
    a status change written by sync with its labels translated (and its moment in ``zone``); any other note
    as it was stored. English shows every note as stored."""
    if not summary or active() == DEFAULT:
        return summary or ""
    found = _STORED_STATUS.fullmatch(summary)
    if found:
        return _(_HISTORY_STATUS).format(old=lookup(found["old"]), new=lookup(found["new"]))
    found = _STORED_MISSING.fullmatch(summary)
    if found:
        moment = datetime.strptime(found["moment"], "%Y-%m-%d %H:%M").replace(tzinfo=timezone.utc)
        return _(_HISTORY_MISSING).format(old=lookup(found["old"]), new=lookup(found["new"]),
                                          reason=lookup(found["reason"]),
                                          moment=moment.astimezone(zone or timezone.utc).strftime("%Y-%m-%d %H:%M"))
    return lookup(summary)
