"""Hook implementations only: declares the ``autoweboffice`` connector without importing it."""

from __future__ import annotations

from typing import Any, Mapping

from unpaid import hookimpl
from unpaid.connector import Capability, ConnectorSpec, Setting
from unpaid.model import Status

from unpaid_autoweboffice.i18n import N_

SETTINGS = (
    Setting("subdomain", N_("the account name: ACCOUNT in https://ACCOUNT.autoweboffice.ru"), required=True),
    Setting("get_key", N_("API KEY GET (Настройки → API): reads"), required=True, secret=True),
    Setting("set_key", N_("API KEY SET (Настройки → API): status changes, subscriptions, tags, funnels"),
            secret=True),
    Setting("base_url", N_("API address; {subdomain} is filled in (point it at the emulator in tests)"),
            default="https://{subdomain}.autoweboffice.ru/"),
    Setting("timezone", N_("the account's time zone: AutoWebOffice sends times without an offset"),
            default="Europe/Moscow"),
    Setting("currency", N_("currency of the account's sums"), default="RUB"),
    Setting("page_size", N_("invoices per request (1-1000)"), default=1000),
    Setting("rate_limit", N_("requests allowed per window, per account"), default="20/5s"),
    Setting("recheck_days", N_("re-read invoices created in the last N days to catch payments"), default=30),
    Setting("recheck_every", N_("how often that re-read runs (e.g. 1h, 30m)"), default="1h"),
    Setting("cancel_comment", N_("also write the cancel reason into the invoice comment"), default=False),
    Setting("group", N_("default subscriber group id for the `subscribe` trigger")),
    Setting("tag", N_("default contact tag id for the `tag` trigger")),
    Setting("funnel", N_("default auto-funnel id for the `funnel` trigger")),
    Setting("funnel_field", N_("field of `funnelcontact` that names the funnel"), default="id_funnel"),
    Setting("status_map", N_("more invoice status codes and their canonical statuses, e.g. { 6 = \"part_paid\" }")),
    Setting("allow_resend_invoice", N_("let `resend_invoice` steps call accountssendmail, a route AutoWebOffice "
            "does not document (held for review until set)"), default=False),
    Setting("timeout", N_("seconds to wait for one answer"), default=30),
)
TRIGGERS = ("subscribe", "tag", "funnel", "resend_invoice")


def _factory(name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]):
    # Imported here: listing plugins and `unpaid --help` must not load httpx or the connector.
    from unpaid_autoweboffice.connector import AutoWebOfficeConnector

    return AutoWebOfficeConnector(name, settings, secrets)


SPEC = ConnectorSpec(
    name="autoweboffice",
    title=N_("AutoWebOffice (АвтоВебОфис): invoices, lines, contacts; groups, tags and funnels as triggers"),
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
