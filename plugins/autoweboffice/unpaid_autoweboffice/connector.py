"""The AutoWebOffice connector: settings, incremental sync of invoices, fresh reads, writes.

Sync walks ``accounts`` by creation date (the only window the API filters on), oldest first, and
marks the bookmark with the last stored invoice's date. Payments do not change the creation date
and the API cannot filter by status or payment date, so every ``recheck_every`` the window also
reaches back ``recheck_days`` and re-reads those invoices: paid ones come back as paid.
"""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Mapping

from unpaid.clock import from_iso, parse_duration, to_iso
from unpaid.connector import Connector, InvalidData, NotFound, Page, Reject
from unpaid.errors import ConfigError
from unpaid.model import Order, Status
from unpaid_autoweboffice import writes
from unpaid_autoweboffice.client import AwoClient
from unpaid_autoweboffice.lines import LineIndex
from unpaid_autoweboffice.mapping import (
    MappingError, format_date, line_from_native, order_from_native, parse_date, text,
)
from unpaid_autoweboffice.plugin import SPEC

SORT = "date_of_order ASC, id_account ASC"
#: Invoices written a little late (a slow payment page) still land inside the next window.
OVERLAP = timedelta(minutes=10)


class AutoWebOfficeConnector(Connector):
    """Invoices (``accounts``) with their lines and buyers, from one AutoWebOffice account."""

    spec = SPEC

    def __init__(self, name: str, settings: Mapping[str, Any], secrets: Mapping[str, str], *,
                 clock: Callable[[], datetime] | None = None, transport: Any = None, retry: Any = None):
        from unpaid.clock import get_zone
        from unpaid.ratelimit import parse_rate

        self.name = name
        self.settings = settings
        where = f"[sources.{name}]"
        self.subdomain = str(settings.get("subdomain") or "").strip()
        if not self.subdomain:
            raise ConfigError(f"{where} needs `subdomain`", 'add subdomain = "ACCOUNT" (from https://ACCOUNT.autoweboffice.ru)')
        try:
            self.zone = get_zone(str(settings.get("timezone") or "Europe/Moscow"))
            rate = parse_rate(str(settings.get("rate_limit") or "20/5s"))
            self.recheck_every = parse_duration(str(settings.get("recheck_every") or "1h"))
            self.recheck_days = int(settings.get("recheck_days", 30))
            self.page_size = int(settings.get("page_size") or 1000)
            timeout = float(settings.get("timeout") or 30)
        except ValueError as exc:
            raise ConfigError(f"{where}: {exc}", "fix the value in the config") from None
        if not 1 <= self.page_size <= 1000:
            raise ConfigError(f"{where} page_size = {self.page_size} is out of range", "use 1 to 1000")
        self.currency = str(settings.get("currency") or "RUB").upper()
        self.country = str(settings.get("_default_country") or "7")
        self.cancel_comment = bool(settings.get("cancel_comment", False))
        self.funnel_field = str(settings.get("funnel_field") or "id_funnel")
        self.clock = clock or (lambda: datetime.now(timezone.utc).replace(microsecond=0))
        base_url = str(settings.get("base_url") or "https://{subdomain}.autoweboffice.ru/")
        self.client = AwoClient(name, base_url, self.subdomain, secrets.get("get_key", ""), secrets.get("set_key"),
                                rate=rate, timeout=timeout, retry=retry, transport=transport)

    def __repr__(self) -> str:
        return f"AutoWebOfficeConnector(name={self.name!r}, subdomain={self.subdomain!r})"

    # ---- reading ----

    def fetch_orders(self, since: str | None) -> Iterator[Page]:
        mark, rechecked = _parse_bookmark(since)
        now = self.clock()
        start = mark - OVERLAP if mark else None
        recheck = mark is not None and (rechecked is None or now - rechecked >= self.recheck_every)
        if recheck:
            start = min(start, now - timedelta(days=self.recheck_days))
        floor = format_date(start, self.zone) if start else ""
        search = {"creation_date_start": floor} if floor else {}
        lines = LineIndex(self.client, self.currency, self.page_size)
        contacts: dict[str, dict] = {}
        pages = self.client.pages("accounts", search, page_size=self.page_size, sort=SORT)
        current = next(pages, None)
        if current is None:  # nothing in the window: still record that the re-read happened
            yield Page([], _bookmark(mark, now if recheck else rechecked))
            return
        hold: datetime | None = None  # the oldest invoice that could not be read: the mark stays below it
        while current is not None:
            following = next(pages, None)
            # The server ignores search keys it does not know: keep only what the window asked for.
            rows = [r for r in current[1] if not floor or text(r, "date_of_order") >= floor]
            orders, rejects, warnings = self._read_page(rows, lines, contacts)
            hold = _oldest_rejected(rows, {o.native_id for o in orders}, self.zone, hold)
            dates = [o.created_at for o in orders] + ([mark] if mark else [])
            mark = max(dates) if dates else None
            safe = min(mark, hold) if mark and hold else mark
            last = following is None
            yield Page(orders, _bookmark(safe, now if (recheck and last) else rechecked),
                       rejects=rejects + _drain(lines.rejects), note=_note(warnings))
            current = following

    def _read_page(self, rows: list[dict], lines: LineIndex,
                   contacts: dict[str, dict]) -> tuple[list[Order], list[Reject], list[str]]:
        by_invoice = lines.take(text(r, "id_account") for r in rows)
        orders, rejects, warnings = [], [], []
        for row in rows:
            native_id = text(row, "id_account")
            try:
                contact = self._contact_for(row, contacts)
                mapped = order_from_native(self.name, row, by_invoice.get(native_id, []), zone=self.zone,
                                           currency=self.currency, default_country=self.country, contact=contact)
            except MappingError as exc:
                rejects.append(Reject(f"invoice {native_id or '?'} (№ {text(row, 'account_number') or '?'})",
                                      str(exc)))
                continue
            warnings += mapped.warnings
            order = mapped.order
            if mapped.warnings:
                order.extra["warning"] = " / ".join(w.split(": ", 1)[-1] for w in mapped.warnings)
            orders.append(order)
        return orders, rejects, warnings

    def _contact_for(self, row: Mapping[str, Any], cache: dict[str, dict]) -> dict | None:
        """The contact record, read only when the invoice's own snapshot has neither e-mail nor phone."""
        contact_id = text(row, "id_contact")
        if text(row, "email") or text(row, "phone_number") or contact_id in ("", "0"):
            return None
        if contact_id not in cache:
            try:
                cache[contact_id] = self.client.get("contacts", contact_id)
            except NotFound:
                cache[contact_id] = {}
        return cache[contact_id] or None

    def fetch_order(self, native_id: str) -> Order:
        row = self.client.get("accounts", native_id)
        lines = [line_from_native(r, self.currency) for r in
                 writes.rows_matching(self.client, "accountline", {"id_account": native_id})]
        try:
            mapped = order_from_native(self.name, row, lines, zone=self.zone, currency=self.currency,
                                       default_country=self.country, contact=self._contact_for(row, {}))
        except MappingError as exc:
            raise InvalidData(self.name, f"invoice {native_id}: {exc}",
                                     "correct the invoice in AutoWebOffice") from None
        return mapped.order

    # ---- writing ----

    def push_status(self, native_id: str, status: Status, reason: str | None = None) -> None:
        writes.push_status(self, native_id, status, reason)

    def add_comment(self, native_id: str, text_: str) -> None:
        writes.add_comment(self, native_id, text_)

    def update_contact(self, native_id: str, *, email: str | None = None, phone: str | None = None,
                       name: str | None = None) -> None:
        writes.update_contact(self, native_id, email=email, phone=phone, name=name)

    def trigger(self, native_id: str, action: str, params: Mapping[str, Any] | None = None) -> None:
        writes.trigger(self, native_id, action, dict(params or {}))

    def close(self) -> None:
        self.client.close()


def _parse_bookmark(since: str | None) -> tuple[datetime | None, datetime | None]:
    if not since:
        return None, None
    try:
        data = json.loads(since)
        return from_iso(data.get("created")), from_iso(data.get("rechecked"))
    except (ValueError, AttributeError, TypeError):
        return None, None  # an unreadable bookmark means a full sync: repeats are harmless, gaps are not


def _bookmark(mark: datetime | None, rechecked: datetime | None) -> str:
    return json.dumps({"created": to_iso(mark), "rechecked": to_iso(rechecked)}, separators=(",", ":"))


def _oldest_rejected(rows: list[dict], stored: set[str], zone: Any, hold: datetime | None) -> datetime | None:
    """The earliest creation time among rows that were not stored (those with a readable date)."""
    for row in rows:
        if text(row, "id_account") in stored:
            continue
        try:
            created = parse_date(row.get("date_of_order"), zone)
        except MappingError:
            continue
        if created is not None and (hold is None or created < hold):
            hold = created - timedelta(seconds=1)
    return hold


def _drain(items: list) -> list:
    taken = list(items)
    items.clear()
    return taken


def _note(warnings: list[str], shown: int = 3) -> str | None:
    if not warnings:
        return None
    more = f" (and {len(warnings) - shown} more: see `unpaid show`)" if len(warnings) > shown else ""
    return "; ".join(warnings[:shown]) + more
