"""Hook implementations only: declares the ``autoweboffice`` connector without importing it."""

from __future__ import annotations

from typing import Any, Mapping

from unpaid import hookimpl
from unpaid.connector import Capability, ConnectorSpec, Setting
from unpaid.model import Status

SETTINGS = (
    Setting("subdomain", "the account name: ACCOUNT in https://ACCOUNT.autoweboffice.ru", required=True),
    Setting("get_key", "API KEY GET (Настройки → API): reads", required=True, secret=True),
    Setting("set_key", "API KEY SET (Настройки → API): status changes, subscriptions, tags, funnels",
            secret=True),
    Setting("base_url", "API address; {subdomain} is filled in (point it at the emulator in tests)",
            default="https://{subdomain}.autoweboffice.ru/"),
    Setting("timezone", "the account's time zone: AutoWebOffice sends times without an offset",
            default="Europe/Moscow"),
    Setting("currency", "currency of the account's sums", default="RUB"),
    Setting("page_size", "invoices per request (1-1000)", default=1000),
    Setting("rate_limit", "requests allowed per window, per account", default="20/5s"),
    Setting("recheck_days", "re-read invoices created in the last N days to catch payments", default=30),
    Setting("recheck_every", "how often that re-read runs (e.g. 1h, 30m)", default="1h"),
    Setting("cancel_comment", "also write the cancel reason into the invoice comment", default=False),
    Setting("group", "default subscriber group id for the `subscribe` trigger"),
    Setting("tag", "default contact tag id for the `tag` trigger"),
    Setting("funnel", "default auto-funnel id for the `funnel` trigger"),
    Setting("funnel_field", "field of `funnelcontact` that names the funnel", default="id_funnel"),
    Setting("status_map", "more invoice status codes and their canonical statuses, e.g. { 6 = \"part_paid\" }"),
    Setting("allow_resend_invoice", "let `resend_invoice` steps call accountssendmail, a route AutoWebOffice "
            "does not document (held for review until set)", default=False),
    Setting("timeout", "seconds to wait for one answer", default=30),
)
TRIGGERS = ("subscribe", "tag", "funnel", "resend_invoice")


def _factory(name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]):
    # Imported here: listing plugins and `unpaid --help` must not load httpx or the connector.
    from unpaid_autoweboffice.connector import AutoWebOfficeConnector

    return AutoWebOfficeConnector(name, settings, secrets)


SPEC = ConnectorSpec(
    name="autoweboffice",
    title="AutoWebOffice (АвтоВебОфис): invoices, lines, contacts; groups, tags and funnels as triggers",
    capabilities=frozenset({Capability.FETCH, Capability.FETCH_ONE, Capability.PUSH_STATUS, Capability.TRIGGER,
                            Capability.COMMENT, Capability.UPDATE_CONTACT}),
    factory=_factory,
    settings=SETTINGS,
    emulator="unpaid_autoweboffice.emulator:start",
    triggers=TRIGGERS,
    # A refund is made in the source itself: push_status refuses it with a fix saying so.
    pushes=frozenset(Status) - {Status.REFUNDED, Status.UNMAPPED},
)


@hookimpl
def register_connectors(register):
    register(SPEC)
