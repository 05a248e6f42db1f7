"""The GetCourse connector's spec: what it can do and the settings it takes. Imports nothing heavy."""

from __future__ import annotations

from typing import Any, Mapping

from unpaid.connector import Capability, ConnectorSpec, Setting
from unpaid.model import Status

from unpaid_getcourse.i18n import N_


def _factory(name: str, settings: Mapping[str, Any], secrets: Mapping[str, str]):
    # Imported here: the connector pulls in httpx, and listing plugins must not pay for it.
    from unpaid_getcourse.connector import GetCourseConnector

    return GetCourseConnector(name, settings, secrets)


SPEC = ConnectorSpec(
    name="getcourse",
    title=N_("GetCourse (export API for sync; import and Tech API for changes)"),
    capabilities=frozenset({Capability.FETCH, Capability.FETCH_ONE, Capability.PUSH_STATUS, Capability.TRIGGER,
                            Capability.COMMENT}),
    factory=_factory,
    settings=(
        Setting("account", N_("the account name: NAME in NAME.getcourse.ru"), required=True),
        Setting("secret_key", N_("the API secret key from /saas/account/api («Чтение и запись» to push changes)"),
                required=True, secret=True),
        Setting("developer_key", N_("optional Tech API developer key: fresh reads, cancel reasons, comments"),
                secret=True),
        Setting("base_url", N_("API address; set it to the school's own domain when GetCourse redirects there"),
                default="https://{account}.getcourse.ru"),
        Setting("timezone", N_("the account's time zone (export dates are local to it) [default: the config's, "
                "Europe/Moscow when that is UTC]")),
        Setting("first_sync_from", N_("first day the first sync exports (YYYY-MM-DD)"), default="2014-01-01"),
        Setting("incremental", N_("export filters of every later sync (one export each)"),
                default=["status_changed_at"]),
        Setting("created_check", N_("how often a later sync also exports the orders created since the last check"),
                default="1h"),
        Setting("full_every", N_("how often a sync reads every deal again (a buyer's new phone, fixed rows); 0: never"),
                default="1d"),
        Setting("fresh_within", N_("a stored copy younger than this is acted on without a fresh read"), default="2m"),
        Setting("row_cap", N_("rows at which an export counts as cut short and its window is split"), default=50000),
        Setting("busy_wait", N_("how long to wait while another export of the account is being built (905)"),
                default="2m"),
        Setting("author_user_id", N_("the GetCourse user id comments are written as (Tech API)")),
        Setting("first_wait", N_("wait before the first poll of an export"), default="10s"),
        Setting("poll_interval", N_("first interval between polls; it grows 1.5x per poll"), default="15s"),
        Setting("poll_max", N_("longest interval between polls"), default="2m"),
        Setting("export_timeout", N_("give up waiting for an export after this long (it is collected next run)"),
                default="15m"),
        Setting("budget", N_("export requests the account allows per window"), default=100),
        Setting("budget_window", N_("the budget's window"), default="2h"),
        Setting("timeout", N_("timeout of one HTTP call"), default="30s"),
        Setting("retries", N_("attempts for a call that fails transiently"), default=3),
        Setting("retry_wait", N_("first wait between attempts (it doubles)"), default="2s"),
        Setting("reason_field", N_("order custom field that receives the cancel reason without a developer key")),
        Setting("default_group", N_("group the `group` trigger adds the customer to when the playbook names none")),
        Setting("page_size", N_("orders per stored page during a sync"), default=1000),
        Setting("state_dir", N_("no longer used: the budget and the deal index live in the database (remove it)")),
    ),
    emulator="unpaid_getcourse.emulator:start",
    triggers=("group",),
    # A refund is made in the source itself: push_status refuses it with a fix saying so.
    pushes=frozenset(Status) - {Status.REFUNDED, Status.UNMAPPED},
)
