"""Writes to AutoWebOffice: status, comment, contact, and the triggers that start its processes.

AutoWebOffice business processes and funnels are started from outside by what they listen to:
a subscription to a mailing group, a tag on the contact, or the contact placed into an
auto-funnel. Each trigger is idempotent: the link is looked up first (re-checked here, because the
server ignores search keys it does not know) and created only when missing — a link in the
recycle bin (``deleted = 1``, still listed) is missing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Mapping

from unpaid.connector import InvalidData, NotFound
from unpaid.errors import ConfigError
from unpaid.model import Status
from unpaid_autoweboffice import pushed
from unpaid_autoweboffice.client import Refused
from unpaid_autoweboffice.i18n import N_, _
from unpaid_autoweboffice.mapping import CANCEL_PREFIX, native_status_for, split_name, text

if TYPE_CHECKING:
    from unpaid_autoweboffice.client import AwoClient
    from unpaid_autoweboffice.connector import AutoWebOfficeConnector

#: action -> (the params keys that may carry the id, what the id is)
TRIGGER_PARAMS = {
    "subscribe": (("group", "id_newsletter", "id"), N_("the id of a subscriber group (Рассылки → Группы подписчиков)")),
    "tag": (("tag", "id_contact_tag", "id"), N_("the id of a contact tag")),
    "funnel": (("funnel", "id_funnel", "id"), N_("the id of an auto-funnel / business process")),
    "resend_invoice": ((), ""),
}
#: action -> the link table it creates and the field naming the group or tag (funnel: ``funnel_field``)
LINKS = {"subscribe": ("contactnewsletterlinks", "id_newsletter"), "tag": ("contacttaglnk", "id_contact_tag"),
         "funnel": ("funnelcontact", "id_funnel")}
#: The buyer's name as a contact created from an invoice gets it (the patronymic too).
NAME_FIELDS = ("name", "middle_name", "last_name", "phone_number")


def rows_matching(client: "AwoClient", entity: str, search: Mapping[str, Any], *,
                  live: bool = False) -> list[dict]:
    """Rows of a search that really match every key (the server may have ignored some).

    ``live``: rows in the recycle bin (``deleted = 1``, still listed by the API) are left out.
    """
    found = []
    for _page, rows in client.pages(entity, search):
        matching = [r for r in rows if all(text(r, k) == str(v) for k, v in search.items())]
        found += [r for r in matching if not (live and text(r, "deleted") == "1")]
        if not matching:
            break  # an ignored filter pages through the whole table: one page of misses is enough
    return found


def push_status(conn: "AutoWebOfficeConnector", native_id: str, status: Status, reason: str | None) -> None:
    """PUT ``id_account_status``; False is a soft delete; a cancel reason may go into the comment."""
    client = conn.client
    if status is Status.FALSE:
        client.delete("accounts", native_id)
        return
    native = native_status_for(status)
    if native is None:
        raise Refused(conn.name, _("AutoWebOffice has no status for {status}: invoice {id} was not changed").format(
                          status=status.value, id=native_id),
                      _("mark a refund in AutoWebOffice itself (it sets goods_return); the next sync brings it in")
                      if status is Status.REFUNDED else _("choose a canonical status AutoWebOffice has"))
    fields: dict[str, str] = {"id_account_status": native}
    if status is Status.CANCELLED and reason and conn.cancel_comment:
        current = text(conn.invoice(native_id), "account_comment")
        fields["account_comment"] = _append(current, CANCEL_PREFIX + " ".join(reason.split()))
    row = client.update("accounts", native_id, fields)
    if row and text(row, "id_account_status") not in ("", native):
        raise InvalidData(conn.name, _("invoice {id} kept status {kept} instead of {wanted}").format(
                              id=native_id, kept=text(row, "id_account_status"), wanted=native),
                          _("check the invoice in AutoWebOffice (it may be closed)"))
    pushed.remember(conn.state, native_id, status, native)


def add_comment(conn: "AutoWebOfficeConnector", native_id: str, comment: str) -> None:
    """Append a line to the invoice's ``account_comment``."""
    current = text(conn.invoice(native_id), "account_comment")
    conn.client.update("accounts", native_id, {"account_comment": _append(current, comment)})


def update_contact(conn: "AutoWebOfficeConnector", native_id: str, *, email: str | None, phone: str | None,
                   name: str | None) -> None:
    """Correct the buyer on the contact and on the invoice's own snapshot (which sync reads).

    The contact first: when it is gone (or refuses the value) nothing is written at all.
    """
    fields = {k: v for k, v in (("email", email), ("phone_number", phone)) if v}
    if name:
        fields.update(split_name(name))
    if not fields:
        return
    invoice = conn.invoice(native_id)
    contact_id = text(invoice, "id_contact")
    if contact_id not in ("", "0"):
        try:
            conn.client.update("contacts", contact_id, fields)
        except NotFound:
            raise _contact_gone(conn, contact_id, native_id, _("nothing was changed")) from None
    conn.client.update("accounts", native_id, fields)


def trigger(conn: "AutoWebOfficeConnector", native_id: str, action: str, params: dict[str, Any]) -> None:
    """Start an AutoWebOffice process for the invoice's buyer: subscribe, tag, funnel, resend_invoice.

    Every one goes to the contact the invoice is linked to (created from the invoice's e-mail when it
    has none), so a subscription, a tag and a funnel entry always meet on the same person.
    """
    if action not in TRIGGER_PARAMS:
        raise ConfigError(_("{source}: unknown trigger action {action!r}").format(source=conn.name, action=action),
                          _("use one of: {actions}").format(actions=", ".join(TRIGGER_PARAMS)))
    client = conn.client
    if action == "resend_invoice":
        _resend(conn, native_id)
        return
    keys, what = TRIGGER_PARAMS[action]
    target = next((str(params[k]) for k in keys if params.get(k) not in (None, "")), "")
    target = target or str(conn.trigger_defaults.get(action) or "")
    if not target:
        raise ConfigError(_("{source}: trigger {action!r} needs params.{key}: {what}").format(
                              source=conn.name, action=action, key=keys[0], what=_(what)),
                          _("add {key} = ID to the playbook step, or a default `{key}` under [sources.{source}] "
                            "(create it in AutoWebOffice first)").format(key=keys[0], source=conn.name))
    invoice = conn.invoice(native_id)
    if action == "subscribe" and not text(invoice, "email"):  # a mailing group's letters need an address
        raise InvalidData(conn.name, _("invoice {id} has no e-mail: cannot subscribe the buyer").format(id=native_id),
                          _("add the e-mail in AutoWebOffice, or use a tag/funnel step for this order"))
    if action == "subscribe" and text(invoice, "id_contact") in ("", "0"):
        # No contact yet: the API's subscription creates it from the e-mail (and is idempotent by itself).
        client.create("subscription", [{"email": text(invoice, "email"), "id_newsletter": target,
                                        **{k: text(invoice, k) for k in NAME_FIELDS}}])
        return
    contact_id = _contact_id(conn, invoice, native_id)
    entity, field = LINKS[action]
    search = {"id_contact": contact_id, (conn.funnel_field if action == "funnel" else field): target}
    found = rows_matching(client, entity, search, live=True)
    if action == "funnel":
        # An entry made before this invoice belongs to an earlier purchase: the buyer enters again.
        ordered = text(invoice, "date_of_order")
        found = [r for r in found if not text(r, "creation_date") or text(r, "creation_date") >= ordered]
    if not found:
        try:
            client.create(entity, [search])
        except NotFound:
            raise _contact_gone(conn, contact_id, native_id, _("the {action} step was not done").format(
                action=action)) from None


def _resend(conn: "AutoWebOfficeConnector", native_id: str) -> None:
    if not conn.allow_resend:
        raise InvalidData(conn.name, _("resend_invoice is experimental: AutoWebOffice's own documentation does not "
                                       "describe the route it uses (accountssendmail, seen only in third-party "
                                       "code), so the step is held"),
                          _("try it on one invoice, then set allow_resend_invoice = true under [sources.{source}] and "
                            "put held steps back with `unpaid review resolve KEY --as unsent`; or send the payment "
                            "link with a `send` step instead").format(source=conn.name))
    if not text(conn.invoice(native_id), "email"):
        raise InvalidData(conn.name, _("invoice {id} has no e-mail: AutoWebOffice cannot send it again").format(
                              id=native_id),
                          _("add the e-mail in AutoWebOffice, or call the buyer instead"))
    conn.client.send_invoice_mail(native_id)


def _contact_id(conn: "AutoWebOfficeConnector", invoice: Mapping[str, Any], native_id: str) -> str:
    contact_id = text(invoice, "id_contact")
    if contact_id not in ("", "0"):
        return contact_id
    email = text(invoice, "email")
    if not email:
        raise InvalidData(conn.name, _("invoice {id} has no contact and no e-mail").format(id=native_id),
                          _("link the invoice to a contact in AutoWebOffice"))
    created = conn.client.create("contacts", [{"email": email, **{k: text(invoice, k) for k in NAME_FIELDS}}])
    return text(created[0], "id_contact")


def _contact_gone(conn: "AutoWebOfficeConnector", contact_id: str, native_id: str, outcome: str) -> NotFound:
    return NotFound(conn.name, _("contact {contact} of invoice {id} no longer exists in AutoWebOffice: {outcome}").format(
                        contact=contact_id, id=native_id, outcome=outcome),
                    _("link the invoice to a contact in AutoWebOffice, then run it again"))


def _append(current: str, line: str) -> str:
    return f"{current}\n{line}" if current else line
