"""How report tables read in the shop's language (``language`` in unpaid.toml, ``UNPAID_LANG``, the locale):
column headers from the gettext catalogs, money, shares and days by Babel. JSON, JSONL and CSV keep the plain
values."""

from __future__ import annotations

from typing import Any, Callable, Mapping

from unpaid.i18n import pgettext, speaking

def _headers() -> dict[str, str]:
    """Column headers by field, in the active language: the English text is the catalog's key, in the context
    "report column" ("paid" over a column is not "paid" in a sentence)."""
    return {
        "currency": pgettext("report column", "currency"),
        "entered": pgettext("report column", "entered"),
        "touched": pgettext("report column", "touched"),
        "paid": pgettext("report column", "paid"),
        "recovered": pgettext("report column", "recovered"),
        "recovery_rate": pgettext("report column", "rate"),
        "recovered_revenue": pgettext("report column", "revenue"),
        "discount_given": pgettext("report column", "discounts"),
        "net_recovered_revenue": pgettext("report column", "net revenue"),
        "median_days_to_pay": pgettext("report column", "median days"),
        "paid_before_touch": pgettext("report column", "paid untouched"),
        "paid_outside_window": pgettext("report column", "outside window"),
        "created_by_manager": pgettext("report column", "by manager"),
        "by": pgettext("report column", "by"),
        "group": pgettext("report column", "group"),
        "reason": pgettext("report column", "reason"),
        "count": pgettext("report column", "count"),
        "share": pgettext("report column", "share"),
        "share_of_new": pgettext("report column", "of new"),
        "manager": pgettext("report column", "manager"),
        "calls": pgettext("report column", "calls"),
        "reached": pgettext("report column", "reached"),
        "promises": pgettext("report column", "promises"),
        "promises_kept": pgettext("report column", "kept"),
        "payments_after_calls": pgettext("report column", "paid after calls"),
        "playbook": pgettext("report column", "playbook"),
        "step": pgettext("report column", "step"),
        "sent": pgettext("report column", "sent"),
        "opened": pgettext("report column", "opened"),
        "paid_after": pgettext("report column", "paid after"),
        "revenue": pgettext("report column", "revenue"),
        "discount_cost": pgettext("report column", "discounts"),
        "kind": pgettext("report column", "kind"),
        "percent": pgettext("report column", "percent"),
        "stage": pgettext("report column", "stage"),
        "worked": pgettext("report column", "worked"),
        "worked_rate": pgettext("report column", "paid, worked"),
        "held_out": pgettext("report column", "held out"),
        "held_out_rate": pgettext("report column", "paid, held out"),
        "lift": pgettext("report column", "lift"),
        "lift_low": pgettext("report column", "95% from"),
        "lift_high": pgettext("report column", "95% to"),
        "day": pgettext("report column", "day"),
        "messages": pgettext("report column", "messages"),
        "offers": pgettext("report column", "offers"),
        "status_changes": pgettext("report column", "status changes"),
        "expected_payments": pgettext("report column", "expected payments"),
    }


def header(field: str, language: str) -> str:
    """The header of ``field``'s column in ``language``."""
    return _in(language, _headers)[field]


_MADE: dict[tuple[str, Any], dict] = {}


def _in(language: str, table: Callable[[], dict]) -> dict:
    """``table()`` made in ``language``, once per process (the catalogs do not change while it runs)."""
    key = (language, table)
    if key not in _MADE:
        with speaking(language):
            _MADE[key] = table()
    return _MADE[key]


def money(value: Mapping[str, Any] | None, language: str) -> str:
    from unpaid.i18n import format_money

    return format_money(value["minor"], value["currency"], language) if value else ""


def rate(value: float | None, language: str) -> str:
    """A share as a percentage with one decimal: ``20.0%``, ``20,0 %``."""
    from babel.numbers import format_percent

    return "" if value is None else format_percent(value, "#,##0.0%", locale=language).replace("\u00a0", " ")


def number(value: Any, language: str) -> str:
    """A count or a figure with decimals, as the language writes it; empty for null."""
    from babel.numbers import format_decimal

    if value is None:
        return ""
    return format_decimal(value, locale=language).replace("\u00a0", " ").replace("\u202f", " ")


#: The columns a table of each report shows, in order (JSON, JSONL and CSV carry every field).
COLUMNS: dict[str, tuple[str, ...]] = {
    "recovery": ("currency", "entered", "touched", "paid", "recovered", "recovery_rate", "recovered_revenue",
                 "discount_given", "net_recovered_revenue", "median_days_to_pay", "paid_before_touch",
                 "paid_outside_window", "created_by_manager"),
    "reasons": ("by", "group", "reason", "count", "share"),
    "managers": ("manager", "currency", "calls", "reached", "promises", "promises_kept", "payments_after_calls",
                 "recovered_revenue"),
    "steps": ("playbook", "step", "sent", "opened", "paid_after", "revenue", "discount_cost"),
    "offers": ("kind", "percent", "sent", "opened", "paid_after", "revenue", "discount_cost"),
    "funnel": ("stage", "count", "share_of_new"),
    "lift": ("playbook", "worked", "worked_rate", "held_out", "held_out_rate", "lift", "lift_low", "lift_high"),
    "forecast": ("day", "messages", "offers", "calls", "status_changes", "expected_payments"),
}
#: Fields that are shares (0.2 is 20%); the funnel's ``share`` is shown under ``share_of_new``.
RATES = frozenset({"recovery_rate", "share", "share_of_new", "worked_rate", "held_out_rate", "lift", "lift_low",
                   "lift_high"})


def _labels() -> dict[tuple[str, str], str]:
    """The codes a table shows as words, by (field, code), in the active language (JSON keeps the codes)."""
    return {
        ("by", "all"): pgettext("report dimension", "all"),
        ("by", "product"): pgettext("report dimension", "product"),
        ("by", "source"): pgettext("report dimension", "source"),
        ("by", "manager"): pgettext("report dimension", "manager"),
        ("by", "step"): pgettext("report dimension", "step"),
        ("group", "all"): pgettext("report group", "all"),
        ("group", "(none)"): pgettext("report group", "(none)"),
        ("reason", "(none)"): pgettext("refusal reason", "(none)"),
        ("stage", "new"): pgettext("funnel stage", "new"),
        ("stage", "actual"): pgettext("funnel stage", "actual"),
        ("stage", "touched"): pgettext("funnel stage", "touched"),
        ("stage", "promised"): pgettext("funnel stage", "promised"),
        ("stage", "paid"): pgettext("funnel stage", "paid"),
        ("stage", "cancelled"): pgettext("funnel stage", "cancelled"),
        ("stage", "false"): pgettext("funnel stage", "false"),
        ("kind", "discount"): pgettext("offer kind", "discount"),
        ("kind", "bonus"): pgettext("offer kind", "bonus"),
    }


def cell(field: str, value: Any, language: str) -> str:
    """One table cell: money, shares, percents and numbers written the language's way; codes as words."""
    if value is None:
        return ""
    if isinstance(value, str):
        return _in(language, _labels).get((field, value), value)
    if isinstance(value, dict):
        return money(value, language)
    if field in RATES:
        return rate(value, language)
    if field == "percent":
        return f"{number(value, language)}%"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return number(value, language)
    return str(value)


def source_field(report: str, field: str) -> str:
    """The row key a column reads: the funnel's ``share`` is headed "of new"."""
    return "share" if (report, field) == ("funnel", "share_of_new") else field
