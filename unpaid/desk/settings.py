"""``[desk]`` in unpaid.toml: the numbers behind the call desk, each with a default that fits the seeds."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Mapping

from unpaid.clock import parse_duration
from unpaid.errors import ConfigError
from unpaid.i18n import _
from unpaid.playbook.windows import Window, parse_window

if TYPE_CHECKING:
    from unpaid.workdays import Calendar

#: Template names the desk sends on its own, by purpose; override under ``[desk.templates]``.
TEMPLATE_PURPOSES = {
    "unreachable": "after the last unanswered call: ask the customer to get in touch",
    "ask_phone": "wrong or missing phone: ask for a phone on the other channels",
    "ask_proof": "the customer says they paid: ask for proof of payment",
    "installments": "the customer wants special terms: what happens next (sent only when the template is there)",
}
#: Purposes whose message is sent only when its template exists: a shop without one just records the call.
OPTIONAL_PURPOSES = frozenset({"installments"})
DURATIONS = {
    "lease": ("2h", "how long a taken order stays with its manager"),
    "retry_gap": ("3h", "after no answer, call again this much later the same day"),
    "thinking": ("2d", "the customer is thinking: call again after"),
    "installments": ("1d", "the customer wants installments or a discount: call again after"),
    "says_paid": ("2d", "the customer says they paid: check again after"),
    "check_phone": ("2d", "after asking for a phone: check the order again after"),
    "promise_followup": ("1d", "an unpaid promise: call this long after the promised day"),
    "promise_cap": ("3d", "a promise may not be followed up later than this after the promised day"),
    "postpone": ("7d", "default of `unpaid postpone` without --days/--until"),
    "offer_valid": ("7d", "how long an offer made with `unpaid send --offer` holds"),
}
INTS = {
    "attempts": (6, "unanswered calls in a row before the order is given up (message + Not confirmed)"),
    "calls_per_day": (2, "unanswered calls per order per day before moving to the next day"),
    "page_size": (20, "rows of `unpaid queue` per page"),
}
STRINGS = {
    "hours": ("09:00-20:00", "calling hours, in the config's time zone"),
    "channel": ("", "channel of desk messages [default: the only configured channel]"),
    "offer_kind": ("discount", "kind of offers made with --offer: discount or bonus"),
}
BOOLS = {
    "comments_to_source": (True, "write each call outcome into the order's comments at the source, where it takes them"),
}
KNOWN = set(DURATIONS) | set(INTS) | set(STRINGS) | set(BOOLS) | {"templates"}


@dataclass(frozen=True)
class DeskSettings:
    lease: timedelta = timedelta(hours=2)
    retry_gap: timedelta = timedelta(hours=3)
    thinking: timedelta = timedelta(days=2)
    installments: timedelta = timedelta(days=1)
    says_paid: timedelta = timedelta(days=2)
    check_phone: timedelta = timedelta(days=2)
    promise_followup: timedelta = timedelta(days=1)
    promise_cap: timedelta = timedelta(days=3)
    postpone: timedelta = timedelta(days=7)
    offer_valid: timedelta = timedelta(days=7)
    attempts: int = 6
    calls_per_day: int = 2
    page_size: int = 20
    hours: Window = field(default_factory=lambda: parse_window({"hours": "09:00-20:00"}, "desk.hours"))
    channel: str = ""
    offer_kind: str = "discount"
    comments_to_source: bool = True
    templates: Mapping[str, str] = field(default_factory=lambda: {k: k for k in TEMPLATE_PURPOSES})


#: The most a count setting (attempts, calls per day, rows per page) may be: the queue shows 1000 rows at most.
MAX_COUNT = 1000


def parse_desk(raw: Any, where: str = "unpaid.toml", timezone: str | None = None,
               calendar: "Calendar | None" = None) -> DeskSettings:
    """Validate the ``[desk]`` table; ConfigError naming ``desk.KEY`` and the fix.

    ``calendar`` (the config's ``[calendar]``) keeps days off and holidays out of the calling hours.
    """
    if raw is None:
        raw = {}
    if not isinstance(raw, Mapping):
        raise ConfigError(_("{where}: `desk` must be a table").format(where=where),
                          _("write [desk] and keys such as lease = \"2h\""))
    for key in raw:
        if key not in KNOWN:
            raise ConfigError(_("{where}: `desk.{key}` is not a desk setting").format(where=where, key=key),
                              _("use one of: {keys} (see docs/desk.md)").format(keys=", ".join(sorted(KNOWN))))
    values: dict[str, Any] = {}
    for key, (default, _help) in DURATIONS.items():
        text = str(raw.get(key, default))
        try:
            values[key] = parse_duration(text)
        except ValueError as exc:
            raise ConfigError(f"{where}: `desk.{key}`: {exc}",  # i18n: no - where, then the reason
                              _('write e.g. {key} = "{default}"').format(key=key, default=default)) from None
    for key, (default, _help) in INTS.items():
        value = raw.get(key, default)
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_COUNT:
            raise ConfigError(_("{where}: `desk.{key}` is {value!r}, not a whole number from 1 to {most}").format(
                where=where, key=key, value=value, most=MAX_COUNT),
                _("write e.g. {key} = {default}").format(key=key, default=default))
        values[key] = value
    for key, (default, _help) in BOOLS.items():
        value = raw.get(key, default)
        if not isinstance(value, bool):
            raise ConfigError(_("{where}: `desk.{key}` is {value!r}, not true or false").format(
                where=where, key=key, value=value), _("write {key} = {value}").format(key=key, value=str(default).lower()))
        values[key] = value
    window = {"hours": raw.get("hours", STRINGS["hours"][0])}
    if timezone:
        window["timezone"] = timezone
    try:
        values["hours"] = parse_window(window, "desk")
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}", _('write e.g. hours = "09:00-20:00"')) from None
    if calendar:
        values["hours"] = replace(values["hours"], calendar=calendar)
    kind = raw.get("offer_kind", "discount")
    if kind not in ("discount", "bonus"):
        raise ConfigError(_("{where}: `desk.offer_kind` is {kind!r}").format(where=where, kind=kind),
                          _('use "discount" or "bonus"'))
    values["offer_kind"] = kind
    channel = raw.get("channel", "")
    if not isinstance(channel, str):
        raise ConfigError(_("{where}: `desk.channel` must be a channel name").format(where=where),
                          _('write e.g. channel = "email"'))
    values["channel"] = channel
    templates = {k: k for k in TEMPLATE_PURPOSES}
    given = raw.get("templates", {})
    if not isinstance(given, Mapping):
        raise ConfigError(_("{where}: `desk.templates` must be a table").format(where=where),
                          _('write [desk.templates] unreachable = "..."'))
    for key, name in given.items():
        if key not in TEMPLATE_PURPOSES:
            raise ConfigError(_("{where}: `desk.templates.{key}` is not a desk message").format(where=where, key=key),
                              _("use one of: {choices}").format(choices=", ".join(TEMPLATE_PURPOSES)))
        if not isinstance(name, str) or not name:
            raise ConfigError(_("{where}: `desk.templates.{key}` must be a template name").format(where=where, key=key),
                              _('write {key} = "{value}"').format(key=key, value=key))
        templates[key] = name
    values["templates"] = templates
    return DeskSettings(**values)
