"""Writes to AutoWebOffice: status, comment, contact, and the triggers that start its processes.

AutoWebOffice business processes and funnels are started from outside by what they listen to:
a subscription to a mailing group, a tag on the contact, or the contact placed into an
auto-funnel. Each trigger is idempotent: the link is looked up first (re-checked here, because the
server ignores search keys it does not know) and created only when missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from unpaid.connector import InvalidData
from unpaid.errors import ConfigError
from unpaid.model import Status
from unpaid_autoweboffice.mapping import CANCEL_PREFIX, native_status_for, split_name, text

if TYPE_CHECKING:
    from unpaid_autoweboffice.client import AwoClient
    from unpaid_autoweboffice.connector import AutoWebOfficeConnector

#: action -> (the params keys that may carry the id, what the id is)
TRIGGER_PARAMS = {
    "subscribe": (("group", "id_newsletter", "id"), "the id of a subscriber group (Рассылки → Группы подписчиков)"),
    "tag": (("tag", "id_contact_tag", "id"), "the id of a contact tag"),
    "funnel": (("funnel", "id_funnel", "id"), "the id of an auto-funnel / business process"),
    "resend_invoice": ((), ""),
}


def rows_matching(client: "AwoClient", entity: str, search: Mapping[str, Any]) -> list[dict]:
    """Rows of a search that really match every key (the server may have ignored some)."""
    found = []
    for _page, rows in client.pages(entity, search):
        matching = [r for r in rows if all(text(r, k) == str(v) for k, v in search.items())]
        found += matching
        if not matching:
            break  # an ignored filter pages through the whole table: one page of misses is enough
    return found


def push_status(conn: "AutoWebOfficeConnector", native_id: str, status: Status, reason: str | None) -> None:
    """PUT ``id_account_status``; False is a soft delete; a cancel reason may go into the comment."""
    client = conn.client
    native = native_status_for(status)
    if native is None:
        client.delete("accounts", native_id)
        return
    fields: dict[str, str] = {"id_account_status": native}
    if status is Status.CANCELLED and reason and conn.cancel_comment:
        current = text(client.get("accounts", native_id), "account_comment")
        fields["account_comment"] = _append(current, CANCEL_PREFIX + " ".join(reason.split()))
    row = client.update("accounts", native_id, fields)
    if row and text(row, "id_account_status") not in ("", native):
        raise InvalidData(conn.name, f"invoice {native_id} kept status {text(row, 'id_account_status')} "
                          f"instead of {native}", "check the invoice in AutoWebOffice (it may be closed)")


def add_comment(conn: "AutoWebOfficeConnector", native_id: str, comment: str) -> None:
    """Append a line to the invoice's ``account_comment``."""
    current = text(conn.client.get("accounts", native_id), "account_comment")
    conn.client.update("accounts", native_id, {"account_comment": _append(current, comment)})


def update_contact(conn: "AutoWebOfficeConnector", native_id: str, *, email: str | None, phone: str | None,
                   name: str | None) -> None:
    """Correct the buyer on the contact and on the invoice's own snapshot (which sync reads)."""
    fields = {k: v for k, v in (("email", email), ("phone_number", phone)) if v}
    if name:
        fields.update(split_name(name))
    if not fields:
        return
    invoice = conn.client.get("accounts", native_id)
    contact_id = text(invoice, "id_contact")
    if contact_id not in ("", "0"):
        conn.client.update("contacts", contact_id, fields)
    conn.client.update("accounts", native_id, fields)


def trigger(conn: "AutoWebOfficeConnector", native_id: str, action: str, params: dict[str, Any]) -> None:
    """Start an AutoWebOffice process for the invoice's buyer: subscribe, tag, funnel, resend_invoice."""
    if action not in TRIGGER_PARAMS:
        raise ConfigError(f"{conn.name}: unknown trigger action {action!r}",
                          f"use one of: {', '.join(TRIGGER_PARAMS)}")
    client = conn.client
    invoice = client.get("accounts", native_id)
    email = text(invoice, "email")
    if action == "resend_invoice":
        if not email:
            raise InvalidData(conn.name, f"invoice {native_id} has no e-mail: AutoWebOffice cannot send it again",
                              "add the e-mail in AutoWebOffice, or call the buyer instead")
        client.send_invoice_mail(native_id)
        return
    keys, what = TRIGGER_PARAMS[action]
    target = next((str(params[k]) for k in keys if params.get(k) not in (None, "")), "")
    target = target or str(conn.trigger_defaults.get(action) or "")
    if not target:
        raise ConfigError(f"{conn.name}: trigger {action!r} needs params.{keys[0]}: {what}",
                          f"add {keys[0]} = ID to the playbook step, or a default `{keys[0]}` under "
                          f"[sources.{conn.name}] (create it in AutoWebOffice first)")
    if action == "subscribe":
        if not email:
            raise InvalidData(conn.name, f"invoice {native_id} has no e-mail: cannot subscribe the buyer",
                              "add the e-mail in AutoWebOffice, or use a tag/funnel step for this order")
        client.create("subscription", [{"email": email, "id_newsletter": target, "name": text(invoice, "name"),
                                        "last_name": text(invoice, "last_name"),
                                        "phone_number": text(invoice, "phone_number")}])
        return
    contact_id = _contact_id(conn, invoice, native_id)
    entity, search = ("contacttaglnk", {"id_contact": contact_id, "id_contact_tag": target}) if action == "tag" \
        else ("funnelcontact", {"id_contact": contact_id, conn.funnel_field: target})
    if not rows_matching(client, entity, search):
        client.create(entity, [search])


def _contact_id(conn: "AutoWebOfficeConnector", invoice: Mapping[str, Any], native_id: str) -> str:
    contact_id = text(invoice, "id_contact")
    if contact_id not in ("", "0"):
        return contact_id
    email = text(invoice, "email")
    if not email:
        raise InvalidData(conn.name, f"invoice {native_id} has no contact and no e-mail",
                          "link the invoice to a contact in AutoWebOffice")
    created = conn.client.create("contacts", [{"email": email, "name": text(invoice, "name"),
                                               "phone_number": text(invoice, "phone_number")}])
    return text(created[0], "id_contact")


def _append(current: str, line: str) -> str:
    return f"{current}\n{line}" if current else line
