"""How report tables read in the shop's language (``language`` in unpaid.toml, ``UNPAID_LANG``, the locale):
column headers, money, shares and days. JSON, JSONL and CSV keep the plain values."""

from __future__ import annotations

from typing import Any, Mapping

#: Column headers by field: English, Russian, Ukrainian.
HEADERS: dict[str, tuple[str, str, str]] = {
    "currency": ("currency", "валюта", "валюта"),
    "entered": ("entered", "вошли в работу", "увійшли в роботу"),
    "touched": ("touched", "с контактом", "з контактом"),
    "paid": ("paid", "оплачены", "оплачені"),
    "recovered": ("recovered", "возвращены", "повернуті"),
    "recovery_rate": ("rate", "доля", "частка"),
    "recovered_revenue": ("revenue", "выручка", "виручка"),
    "discount_given": ("discounts", "скидки", "знижки"),
    "net_recovered_revenue": ("net revenue", "чистая выручка", "чиста виручка"),
    "median_days_to_pay": ("median days", "медиана, дней", "медіана, днів"),
    "paid_before_touch": ("paid untouched", "оплачены до контакта", "оплачені до контакту"),
    "paid_outside_window": ("outside window", "вне окна", "поза вікном"),
    "created_by_manager": ("by manager", "созданы менеджером", "створені менеджером"),
    "by": ("by", "разрез", "розріз"),
    "group": ("group", "группа", "група"),
    "reason": ("reason", "причина", "причина"),
    "count": ("count", "число", "кількість"),
    "share": ("share", "доля", "частка"),
    "share_of_new": ("of new", "от новых", "від нових"),
    "manager": ("manager", "менеджер", "менеджер"),
    "calls": ("calls", "звонки", "дзвінки"),
    "reached": ("reached", "дозвонились", "додзвонилися"),
    "promises": ("promises", "обещания", "обіцянки"),
    "promises_kept": ("kept", "выполнены", "виконані"),
    "payments_after_calls": ("paid after calls", "оплаты после звонков", "оплати після дзвінків"),
    "playbook": ("playbook", "сценарий", "сценарій"),
    "step": ("step", "шаг", "крок"),
    "sent": ("sent", "отправлено", "надіслано"),
    "opened": ("opened", "открыто", "відкрито"),
    "paid_after": ("paid after", "оплат после", "оплат після"),
    "revenue": ("revenue", "выручка", "виручка"),
    "discount_cost": ("discounts", "скидки", "знижки"),
    "kind": ("kind", "вид", "вид"),
    "percent": ("percent", "процент", "відсоток"),
    "stage": ("stage", "этап", "етап"),
    "worked": ("worked", "в работе", "у роботі"),
    "worked_rate": ("paid, worked", "оплачено в работе", "оплачено в роботі"),
    "held_out": ("held out", "контрольная группа", "контрольна група"),
    "held_out_rate": ("paid, held out", "оплачено в контрольной", "оплачено в контрольній"),
    "lift": ("lift", "прирост", "приріст"),
    "lift_low": ("95% from", "95%: от", "95%: від"),
    "lift_high": ("95% to", "95%: до", "95%: до"),
    "day": ("day", "день", "день"),
    "messages": ("messages", "сообщения", "повідомлення"),
    "offers": ("offers", "предложения", "пропозиції"),
    "status_changes": ("status changes", "смены статуса", "зміни статусу"),
    "expected_payments": ("expected payments", "ожидаемые оплаты", "очікувані оплати"),
}
_INDEX = {"en": 0, "ru": 1, "uk": 2}


def header(field: str, language: str) -> str:
    return HEADERS[field][_INDEX.get(language, 0)]


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


def cell(field: str, value: Any, language: str) -> str:
    """One table cell: money, shares, percents and numbers written the language's way."""
    if value is None:
        return ""
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
