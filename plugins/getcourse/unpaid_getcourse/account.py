"""The emulated GetCourse account: data and the rules the real API applies to it.

No HTTP here (see :mod:`unpaid_getcourse.emulator`): methods take decoded request values and return
``(http_status, body)``; an export body is a generator of text chunks so 100,000 deals stream out.
Times are real (``time.time``); dates on the wire are local to the account's zone.
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Iterator, Mapping
from zoneinfo import ZoneInfo

from unpaid_getcourse import wire
from unpaid_getcourse.mapping import DATE_FORMAT, STATUSES

EXPORT_HEAD = ["ID заказа", "Номер", "ID пользователя", "Пользователь", "Email", "Телефон", "Дата создания",
               "Дата оплаты", "Title", "Статус", "Стоимость, RUB", "Оплачено", "Комиссия платежной системы",
               "Получено", "Валюта", "Менеджер", "Город", "Платежная система", "ID партнера",
               "Использован промокод", "Промоакция", "Комментарий к заказу", "Причина отказа"]
EXPORT_TAIL = ["ID партнера заказа", "Email партнера заказа", "utm_source", "utm_medium", "utm_campaign",
               "utm_content", "utm_term", "Теги"]
FILTERS = ("created_at", "payed_at", "finished_at", "status_changed_at")


def rub(minor: int) -> str:
    """Russian money format with a no-break space: 1200000 -> '12 000,00'."""
    whole, cents = divmod(abs(minor), 100)
    text = f"{whole:,}".replace(",", "\u00a0") + f",{cents:02d}"
    return "-" + text if minor < 0 else text


@dataclass
class Export:
    id: int
    deal_ids: list[int]
    ready_at: float
    started_at: float = 0.0
    collected: bool = False
    query: dict = field(default_factory=dict)


@dataclass
class Account:
    """One school's data; thread-safe through ``lock``. Build with :meth:`from_seed`."""

    name: str = "school"
    secret_key: str = "secret-key"
    read_only_keys: set[str] = field(default_factory=set)
    developer_key: str | None = None
    zone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Europe/Moscow"))
    api_enabled: bool = True
    build_delay: float = 0.0
    budget: int = 100
    budget_window: float = 7200.0
    #: [UNK] the row cap of one export (None: none) and what GetCourse does past it: "truncate" (the
    #: first ``row_cap`` rows, no sign) or "refuse" («Файл не создан, попробуйте другой фильтр»).
    row_cap: int | None = None
    row_cap_mode: str = "truncate"
    #: [UNK] whether a new deal carries a status-change time (found by a ``status_changed_at`` export).
    status_changed_on_create: bool = True
    #: [LIVE] an export nobody collected keeps blocking new starts (905); for how long is [UNK] (seconds).
    uncollected_blocks: float = 600.0
    deals: dict[int, dict[str, Any]] = field(default_factory=dict)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    groups: dict[int, str] = field(default_factory=dict)
    cancel_reasons: dict[int, str] = field(default_factory=dict)
    custom_fields: list[str] = field(default_factory=list)
    comments: list[dict[str, Any]] = field(default_factory=list)
    exports: dict[int, Export] = field(default_factory=dict)
    budget_used: deque = field(default_factory=deque)
    log: list[tuple[str, str]] = field(default_factory=list)
    lock: threading.RLock = field(default_factory=threading.RLock)
    _ids: Iterator[int] = field(default_factory=lambda: itertools.count(1_000_001))

    @classmethod
    def from_seed(cls, seed: Mapping[str, Any]) -> "Account":
        """Build from the seed JSON (see docs/connectors/getcourse.md, "The emulator")."""
        acc = cls(name=seed.get("account", "school"), secret_key=seed.get("secret_key", "secret-key"),
                  read_only_keys=set(seed.get("read_only_keys", [])), developer_key=seed.get("developer_key"),
                  zone=ZoneInfo(seed.get("timezone", "Europe/Moscow")), api_enabled=seed.get("api_enabled", True),
                  build_delay=float(seed.get("build_delay", 0.0)), budget=int(seed.get("budget", 100)),
                  budget_window=float(seed.get("budget_window", 7200)),
                  row_cap=seed.get("row_cap"), row_cap_mode=seed.get("row_cap_mode", "truncate"),
                  status_changed_on_create=bool(seed.get("status_changed_on_create", True)),
                  uncollected_blocks=float(seed.get("uncollected_blocks", 600)),
                  custom_fields=list(seed.get("custom_fields", [])))
        acc.groups = {int(g["id"]): g["name"] for g in seed.get("groups", [])}
        acc.cancel_reasons = {int(r["id"]): r["name"] for r in seed.get("cancel_reasons", [])}
        for user in seed.get("users", []):
            acc.users[int(user["id"])] = {"groups": {}, **user, "id": int(user["id"])}
        for deal in seed.get("deals", []):
            acc.put_deal(deal)
        return acc

    # ---- data ----

    def now_local(self) -> str:
        return datetime.now(self.zone).strftime(DATE_FORMAT)

    def user_by_email(self, email: str | None, create: bool = True, **profile: Any) -> dict[str, Any] | None:
        """The user with this e-mail (or, without one, this phone), created when ``create``."""
        email = (email or "").strip().lower() or None
        phone = profile.get("phone") or None
        for user in self.users.values():
            if (email and (user.get("email") or "").lower() == email) or (
                    not email and phone and user.get("phone") == phone):
                return user
        if not create:
            return None
        uid = max(self.users, default=500) + 1
        self.users[uid] = {"id": uid, "email": email, "groups": {}, **profile}
        return self.users[uid]

    def put_deal(self, deal: Mapping[str, Any]) -> dict[str, Any]:
        """Add or replace a deal (seed format: status code, cost in minor units, local date strings)."""
        deal = dict(deal)
        if "user_id" not in deal:
            deal["user_id"] = self.user_by_email(deal.pop("email"), phone=deal.pop("phone", None),
                                                 first_name=deal.pop("name", None))["id"]
        deal["id"] = int(deal.get("id") or next(self._ids))
        deal.setdefault("number", str(deal["id"] - 1_000_000 if deal["id"] > 1_000_000 else deal["id"]))
        deal.setdefault("status", "new")
        deal.setdefault("currency", "RUB")
        deal.setdefault("paid", 0)
        deal.setdefault("created_at", self.now_local())
        if self.status_changed_on_create or "status_changed_at" in deal:
            deal.setdefault("status_changed_at", deal["created_at"])
        deal.setdefault("updated_at", deal.get("status_changed_at") or deal["created_at"])
        self.deals[deal["id"]] = deal
        return deal

    def set_status(self, deal: dict[str, Any], code: str, payment: bool = True) -> None:
        """Change the status; ``payed`` records a payment when ``payment`` (an import does, [LIVE])."""
        if deal["status"] != code:
            deal["status"] = code
            deal["status_changed_at"] = self.now_local()
            if code == "payed" and payment:
                deal["paid"] = deal.get("cost", 0)
                deal["payed_at"] = deal["status_changed_at"]
        deal["updated_at"] = self.now_local()

    # ---- keys and budget ----

    def key_error(self, key: str | None, write: bool = False) -> dict[str, Any] | None:
        if not key:
            return wire.error(wire.NO_KEY)
        if key != self.secret_key and key not in self.read_only_keys:
            return wire.error(wire.NOT_AUTHORIZED)
        if write and key in self.read_only_keys:
            return {"success": False, "error": wire.FORBIDDEN}
        return None

    def spend(self) -> dict[str, Any] | None:
        """Count one export-API request; the 903 envelope when the window is full."""
        now = time.time()
        while self.budget_used and self.budget_used[0] <= now - self.budget_window:
            self.budget_used.popleft()
        if len(self.budget_used) >= self.budget:
            return wire.error(wire.TOO_MANY)
        self.budget_used.append(now)
        return None

    # ---- export API ----

    def start_export(self, key: str | None, query: Mapping[str, str]) -> tuple[int, Any]:
        with self.lock:
            refused = self.key_error(key) or (None if self.api_enabled else wire.error(wire.API_OFF)) or self.spend()
            if refused:
                return 200, refused
            if any(self._blocking(e) for e in self.exports.values()):
                return 200, wire.error(wire.EXPORT_RUNNING)
            status = query.get("status")
            if status and any(s not in STATUSES for s in status.split(",")):
                return 200, wire.error(wire.BAD_DEAL_STATUS, "Неверно указано поле статус, попробуйте один из - "
                                       + ",".join(STATUSES))
            # A date that is not YYYY-MM-DD is ignored, and an ignored parameter is no filter (908).
            windows = {f: (_day(query.get(f"{f}[from]")), _day(query.get(f"{f}[to]"))) for f in FILTERS}
            windows = {f: w for f, w in windows.items() if any(w)}
            users = {int(u) for u in query.get("user_id", "").split(",") if u.strip().isdigit()}
            if not windows and not status and not users:
                return 200, wire.error(wire.NO_FILTER)
            ids = [d["id"] for d in self.deals.values() if _matches(d, windows, status, users)]
            export = Export(next(self._ids), ids, time.time() + self.build_delay, time.time(), query=dict(query))
            self.exports[export.id] = export
            return 200, {"success": True, "info": {"export_id": export.id}}

    def read_export(self, key: str | None, export_id: str) -> tuple[int, Any]:
        with self.lock:
            refused = self.key_error(key) or self.spend()
            if refused:
                return 200, refused
            export = self.exports.get(int(export_id)) if export_id.isdigit() else None
            if export is None:
                return 200, {"success": False, "error": True, "error_message": wire.NOT_FOUND}
            if export.ready_at > time.time():
                return 200, wire.error(wire.NOT_READY)
            if self.row_cap is not None and len(export.deal_ids) > self.row_cap and self.row_cap_mode == "refuse":
                export.collected = True
                return 200, {"success": False, "error": True, "error_message": wire.NOT_BUILT}
            export.collected = True
            return 200, self._export_body(export)

    def _blocking(self, export: Export) -> bool:
        """Still building, or built and never collected (for ``uncollected_blocks`` seconds)."""
        now = time.time()
        return export.ready_at > now or (not export.collected and now - export.started_at < self.uncollected_blocks)

    def fields(self) -> list[str]:
        return EXPORT_HEAD + self.custom_fields + EXPORT_TAIL

    def _export_body(self, export: Export) -> Iterator[str]:
        fields = self.fields()
        yield '{"success":true,"info":{"fields":' + json.dumps(fields, ensure_ascii=False) + ',"items":['
        batch: list[str] = []
        ids = export.deal_ids if self.row_cap is None else export.deal_ids[:self.row_cap]
        for n, deal_id in enumerate(ids):
            deal = self.deals.get(deal_id)
            if deal is None:
                continue
            batch.append(("," if n else "") + json.dumps(self._row(deal, fields), ensure_ascii=False))
            if len(batch) >= 500:
                yield "".join(batch)
                batch = []
        yield "".join(batch) + "]}}"

    def _row(self, deal: Mapping[str, Any], fields: list[str]) -> list[str]:
        user = self.users.get(deal["user_id"], {})
        name = " ".join(str(user.get(k) or "") for k in ("first_name", "last_name")).strip()
        label = STATUSES[deal["status"]][1] if deal["status"] in STATUSES else str(deal["status"])
        cells = {
            "ID заказа": str(deal["id"]), "Номер": str(deal["number"]), "ID пользователя": str(deal["user_id"]),
            "Пользователь": name, "Email": user.get("email") or "", "Телефон": user.get("phone") or "",
            "Дата создания": deal["created_at"], "Дата оплаты": deal.get("payed_at") or "",
            "Title": deal.get("title") or "", "Статус": label,
            "Стоимость, RUB": deal["cost_text"] if "cost_text" in deal else rub(int(deal.get("cost", 0))),
            "Оплачено": f"{int(deal.get('paid', 0)) / 100:.2f}", "Валюта": deal.get("currency", "RUB"),
            "Менеджер": deal.get("manager") or "", "Комментарий к заказу": deal.get("comment") or "",
            "Причина отказа": deal.get("cancel_reason") or "",
        }
        custom = deal.get("custom") or {}
        return [cells.get(f, custom.get(f, "")) for f in fields]

    def groups_list(self, key: str | None) -> tuple[int, Any]:
        with self.lock:
            refused = self.key_error(key) or (None if self.api_enabled else wire.error(wire.API_OFF)) or self.spend()
            if refused:
                return 200, refused
            return 200, {"success": True, "info": [{"id": str(i), "name": n, "last_added_at": ""}
                                                   for i, n in sorted(self.groups.items())]}


def _day(value: str | None) -> str | None:
    try:
        return datetime.strptime(value, "%Y-%m-%d").strftime("%Y-%m-%d") if value else None
    except ValueError:
        return None


def _matches(deal: Mapping[str, Any], windows: Mapping[str, tuple[str | None, str | None]], status: str | None,
             users: set[int]) -> bool:
    if status and deal["status"] not in status.split(","):
        return False
    if users and deal["user_id"] not in users:
        return False
    for name, (start, end) in windows.items():
        value = (deal.get("finished_at" if name == "finished_at" else name) or "")[:10]
        if not value or (start and value < start) or (end and value > end):
            return False
    return True
