"""The AutoWebOffice connector: settings, incremental sync of invoices, fresh reads, writes.

Sync walks ``accounts`` by creation date (the only window the API filters on), oldest first, and
marks the bookmark with the last stored invoice's date. Payments do not change the creation date
and the API cannot filter by status or payment date, so every ``recheck_every`` the window also
reaches back ``recheck_days`` and re-reads those invoices: paid ones come back as paid.
"""

from __future__ import annotations

import json
import os
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any, Callable, Iterator, Mapping

from unpaid.clock import from_iso, to_iso
from unpaid.connector import Connector, InvalidData, NotFound, Page, Reject
from unpaid.errors import ConfigError
from unpaid.model import Order, Status
from unpaid_autoweboffice import pushed, writes
from unpaid_autoweboffice.client import AwoClient
from unpaid_autoweboffice.i18n import _
from unpaid_autoweboffice.i18n import shown as spoken
from unpaid_autoweboffice.lines import LineIndex
from unpaid_autoweboffice.mapping import (
    STATUS_FROM_NATIVE, MappingError, fingerprint, format_date, line_from_native, order_from_native, parse_date,
    text,
)
from unpaid_autoweboffice.plugin import SPEC

SORT = "date_of_order ASC, id_account ASC"
#: Invoices written a little late (a slow payment page) still land inside the next window.
OVERLAP = timedelta(minutes=10)
#: How long the invoice read right before acting (``fetch_order``) serves the action that follows.
FRESH_FOR = 60.0


class AutoWebOfficeConnector(Connector):
    """Invoices (``accounts``) with their lines and buyers, from one AutoWebOffice account."""

    spec = SPEC

    def __init__(self, name: str, settings: Mapping[str, Any], secrets: Mapping[str, str], *,
                 clock: Callable[[], datetime] | None = None, transport: Any = None, retry: Any = None):
        from unpaid.ratelimit import parse_rate
        from unpaid.setting_values import seconds, whole, zone

        self.name = name
        self.settings = settings
        where = f"[sources.{name}]"
        self.subdomain = str(settings.get("subdomain") or "").strip()
        if not self.subdomain:
            raise ConfigError(_("{where} needs `subdomain`").format(where=where),
                              _('add subdomain = "ACCOUNT" (from https://ACCOUNT.autoweboffice.ru)'))
        self.zone = zone(settings, "timezone", where, "Europe/Moscow")
        try:
            rate = parse_rate(str(settings.get("rate_limit") or "20/5s"))
        except ValueError as exc:
            raise ConfigError(f"{where} rate_limit: {exc}", _('write e.g. rate_limit = "20/5s"')) from None  # i18n: no
        self.recheck_every = timedelta(seconds=seconds(settings, "recheck_every", where, "1h"))
        self.recheck_days = whole(settings, "recheck_days", where, 30, 0, 3650)
        self.page_size = whole(settings, "page_size", where, 1000, 1, 1000)
        timeout = seconds(settings, "timeout", where, "30", lo=0.01)
        self.currency = str(settings.get("currency") or "RUB").upper()
        self.country = str(settings.get("_default_country") or "7")
        self.cancel_comment = bool(settings.get("cancel_comment", False))
        self.funnel_field = str(settings.get("funnel_field") or "id_funnel")
        self.codes = {**STATUS_FROM_NATIVE, **_status_map(settings.get("status_map"), where)}
        self.allow_resend = bool(settings.get("allow_resend_invoice", False))
        self._fresh: dict[str, tuple[float, dict]] = {}  # invoice id -> (monotonic time, the row read)
        #: trigger action -> the id used when the playbook step names none
        self.trigger_defaults = {"subscribe": settings.get("group"), "tag": settings.get("tag"),
                                 "funnel": settings.get("funnel")}
        self.clock = clock or _clock(settings)
        base_url = str(settings.get("base_url") or "https://{subdomain}.autoweboffice.ru/")
        self.client = AwoClient(name, base_url, self.subdomain, secrets.get("get_key", ""), secrets.get("set_key"),
                                rate=rate, timeout=timeout, retry=retry, transport=transport,
                                state=lambda: self.state)

    def __repr__(self) -> str:
        return f"AutoWebOfficeConnector(name={self.name!r}, subdomain={self.subdomain!r})"

    # ---- reading ----

    def fetch_orders(self, since: str | None) -> Iterator[Page]:
        state = _Bookmark.parse(since)
        now = self.clock()
        full = since is None or state.created is None
        recheck = not full and (state.rechecked is None or now - state.rechecked >= self.recheck_every)
        start = None if full else state.created - OVERLAP
        if recheck:
            start = min(start, now - timedelta(days=self.recheck_days))
        floor = format_date(start, self.zone) if start else ""
        # Recent invoices are remembered by fingerprint, so a re-read yields only the changed ones.
        recent = format_date(now - timedelta(days=self.recheck_days), self.zone)
        seen_now: dict[str, tuple[str, str]] = {}  # id -> (date_of_order, fingerprint)
        lines = LineIndex(self.client, self.currency, self.page_size)
        contacts: dict[str, dict] = {}
        mark, hold = state.created, None
        rejected: dict[str, str] = {}  # id -> fingerprint of the invoices not stored in this read
        unmapped: Counter[str] = Counter()
        pages = self.client.pages("accounts", {"creation_date_start": floor} if floor else {},
                                  page_size=self.page_size, sort=SORT)
        following = next(pages, None)
        while True:
            current, following = following, (next(pages, None) if following is not None else None)
            last = following is None
            # The server ignores search keys it does not know: keep only what the window asked for.
            rows = [r for r in (current[1] if current else []) if text(r, "date_of_order") >= floor]
            prints = {text(r, "id_account"): fingerprint(r) for r in rows}
            fresh = [r for r in rows if state.seen.get(text(r, "id_account")) != prints[text(r, "id_account")]]
            orders, rejects, warnings = self._read_page(fresh, lines, contacts, prints, state.rejected)
            orders = pushed.recall(self.state, orders, self.codes)
            unmapped.update(o.native_status or "?" for o in orders if o.status is Status.UNMAPPED)
            stored = {o.native_id for o in orders}
            unread = {text(r, "id_account") for r in fresh} - stored
            rejected.update((i, prints[i]) for i in unread)
            # An unmapped invoice is read again at each sync, like a rejected one, until a status_map names it.
            again = unread | {o.native_id for o in orders if o.status is Status.UNMAPPED}
            hold = _oldest_rejected([r for r in fresh if text(r, "id_account") in again], self.zone, hold)
            mark = max([o.created_at for o in orders] + ([mark] if mark else []), default=None)
            seen_now.update((text(r, "id_account"), (text(r, "date_of_order"), prints[text(r, "id_account")]))
                            for r in rows if text(r, "id_account") not in again)
            start_next = min(mark, hold) if mark and hold else mark
            # Keep what a later window reads again: the recent ones and everything from where the next window
            # starts (a rejected invoice holds it back: the invoices after it are not stored again each time).
            keep_from = min(recent, format_date(start_next - OVERLAP, self.zone)) if start_next else recent
            seen_now = {k: v for k, v in seen_now.items() if v[0] >= keep_from}
            pruning = last and (full or recheck)  # a complete re-read: forget what is no longer recent
            seen = {k: fp for k, (_, fp) in seen_now.items()}
            still = rejected if pruning else {**{k: v for k, v in state.rejected.items() if k not in stored},
                                               **rejected}
            bookmark = _Bookmark(start_next, now if pruning else state.rechecked,
                                 seen if pruning else {**state.seen, **seen}, still)
            yield Page(orders, bookmark.dump(), rejects=rejects + _drain(lines.rejects), note=_note(warnings),
                       warnings=_unmapped_warning(self.name, unmapped) if last else [])
            if last:
                return

    def _read_page(self, rows: list[dict], lines: LineIndex, contacts: dict[str, dict], prints: dict[str, str],
                   known: dict[str, str]) -> tuple[list[Order], list[Reject], list[str]]:
        """Map rows to orders; a row rejected before and unchanged since is a ``repeated`` reject."""
        by_invoice = lines.take(text(r, "id_account") for r in rows)
        orders, rejects, warnings = [], [], []
        for row in rows:
            native_id = text(row, "id_account")
            try:
                contact = self._contact_for(row, contacts)
                mapped = order_from_native(self.name, row, by_invoice.get(native_id, []), zone=self.zone,
                                           currency=self.currency, default_country=self.country, contact=contact,
                                           status_map=self.codes)
            except MappingError as exc:
                unchanged = bool(native_id) and known.get(native_id) == prints.get(native_id)
                rejects.append(Reject(_("invoice {id} (№ {number})").format(
                                          id=native_id or "?", number=text(row, "account_number") or "?"),
                                      str(exc), repeated=unchanged))
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
        self._fresh[native_id] = (time.monotonic(), row)
        lines = [line_from_native(r, self.currency) for r in
                 writes.rows_matching(self.client, "accountline", {"id_account": native_id})]
        try:
            mapped = order_from_native(self.name, row, lines, zone=self.zone, currency=self.currency,
                                       default_country=self.country, contact=self._contact_for(row, {}),
                                       status_map=self.codes)
        except MappingError as exc:
            raise InvalidData(self.name, _("invoice {id}: {problem}").format(id=native_id, problem=exc),
                              _("correct the invoice in AutoWebOffice")) from None
        return pushed.recall(self.state, [mapped.order], self.codes)[0]

    def invoice(self, native_id: str) -> dict:
        """The invoice row: the one ``fetch_order`` just read when it is still fresh (the runner reads an
        order right before acting on it: the action need not read it again), else a new read."""
        taken = self._fresh.pop(native_id, None)
        if taken is not None and time.monotonic() - taken[0] <= FRESH_FOR:
            return taken[1]
        return self.client.get("accounts", native_id)

    def probe(self) -> str:
        """One read with the GET key; with a SET key stored, also a change of invoice 0, which never exists."""
        self.client.list("accounts", page=0, page_size=1)
        said = _("reachable; get_key accepted")
        if self.client.has_set_key:
            try:
                self.client.update("accounts", "0", {})
            except NotFound:
                pass  # what a right SET key gets for an id that does not exist
            said = _("reachable; get_key accepted; set_key accepted")
        return said

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


def _clock(settings: Mapping[str, Any]) -> Callable[[], datetime]:
    """The time the re-read window is measured from: the core's clock when given, so --now simulates."""
    given = settings.get("_now") or os.environ.get("UNPAID_NOW")
    if callable(given):
        return given
    if given:
        from unpaid.clock import get_zone, parse_when

        try:
            fixed = parse_when(str(given), get_zone(settings.get("_timezone")))
        except ValueError as exc:
            raise ConfigError(f"UNPAID_NOW: {exc}", _("give a moment such as 2026-11-24T10:00")) from None
        return lambda: fixed
    return lambda: datetime.now(timezone.utc).replace(microsecond=0)


@dataclass
class _Bookmark:
    """Where sync stands: the newest stored invoice, the last full re-read, recent fingerprints."""

    created: datetime | None = None
    rechecked: datetime | None = None
    seen: dict[str, str] = field(default_factory=dict)
    #: Fingerprints of the invoices rejected so far: an unchanged one is not warned about again.
    rejected: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, since: str | None) -> "_Bookmark":
        if not since:
            return cls()
        try:
            data = json.loads(since)
            return cls(from_iso(data.get("created")), from_iso(data.get("rechecked")), dict(data.get("seen") or {}),
                       dict(data.get("rejected") or {}))
        except (ValueError, AttributeError, TypeError):
            return cls()  # an unreadable bookmark means a full sync: repeats are harmless, gaps are not

    def dump(self) -> str:
        data = {"created": to_iso(self.created), "rechecked": to_iso(self.rechecked), "seen": self.seen}
        if self.rejected:
            data["rejected"] = self.rejected
        return json.dumps(data, separators=(",", ":"))


def _oldest_rejected(rows: list[dict], zone: Any, hold: datetime | None) -> datetime | None:
    """Just before the earliest creation time among rows to read again (readable dates only)."""
    for row in rows:
        try:
            created = parse_date(row.get("date_of_order"), zone)
        except MappingError:
            continue
        if created is not None and (hold is None or created - timedelta(seconds=1) < hold):
            hold = created - timedelta(seconds=1)
    return hold


def _status_map(value: Any, where: str) -> dict[str, Status]:
    """The ``status_map`` setting: more ``id_account_status`` codes and their canonical statuses."""
    if value in (None, ""):
        return {}
    if not isinstance(value, Mapping):
        raise ConfigError(_("{where} status_map must be a table of codes").format(where=where),
                          _('write e.g. status_map = { 6 = "part_paid" }'))
    found = {}
    for code, status in value.items():
        try:
            found[str(code).strip()] = Status.parse(str(status))
        except ValueError as exc:
            raise ConfigError(f"{where} status_map.{code}: {exc}", _("name a canonical status")) from None
    return found


def _unmapped_warning(source: str, codes: Counter) -> list[str]:
    """One line for every invoice read with a status code no mapping knows."""
    if not codes:
        return []
    listed = ", ".join(f"{code} ({n})" for code, n in sorted(codes.items()))
    return [_('{count} invoices have status codes unpaid cannot map ({listed}): stored as unmapped and not worked — '
              'map each under [sources.{source}], e.g. status_map = {{ {code} = "in_work" }}, then run '
              '`unpaid sync`').format(count=sum(codes.values()), listed=listed, source=source,
                                      code=next(iter(sorted(codes))))]


def _drain(items: list) -> list:
    taken = list(items)
    items.clear()
    return taken


def _note(warnings: list[str], shown: int = 3) -> str | None:
    if not warnings:
        return None
    if len(warnings) > shown:
        return _("{warnings} (and {more} more: see `unpaid show`)").format(
            warnings="; ".join(map(spoken, warnings[:shown])), more=len(warnings) - shown)
    return "; ".join(map(spoken, warnings[:shown]))
