"""The data behind the emulator: one AutoWebOffice account's tables and how the API treats them.

Kept apart from the HTTP layer (``emulator.py``) so the semantics — string values, soft delete,
contact upsert by e-mail, idempotent subscription, Russian validation messages, search keys the
server silently ignores — read as plain Python.
"""

from __future__ import annotations

import re
import threading
import zlib
from dataclasses import dataclass
from datetime import datetime, timezone, tzinfo
from typing import Any, Callable, Mapping

from unpaid_autoweboffice.mapping import DATE_FORMAT, ZERO_DATE, stringify


@dataclass(frozen=True)
class Entity:
    """A table: primary key, default row, the search keys the server honours, soft delete."""

    name: str
    model: str
    pk: str
    defaults: Mapping[str, str]
    filters: frozenset[str]
    soft_delete: bool = False


def _entity(name: str, model: str, pk: str, fields: str, filters: str = "", soft: bool = False,
            **defaults: str) -> Entity:
    row = {pk: ""}
    row.update({f: "" for f in fields.split()}, **defaults)
    return Entity(name, model, pk, row, frozenset(filters.split()), soft)


_Z = ZERO_DATE
ENTITIES = {e.name: e for e in (
    _entity("accounts", "Accounts", "id_account",
            "account_number id_contact account_sum id_account_status date_of_order date_of_payment "
            "account_status_change_date last_name name middle_name email phone_number account_comment deleted "
            "deleted_date close_account close_date goods_return goods_return_date sent_emails",
            "id_account id_contact email account_number creation_date_start creation_date_end", soft=True,
            id_organization="1", id_partner="0", id_currency="1", currency_exchange_rate="1.0000",
            id_account_status="1", date_of_payment=_Z, close_account="0", close_date=_Z, goods_return="0",
            goods_return_date=_Z, deleted="0", deleted_date=_Z, sent_emails="0", service_data_array="N;"),
    _entity("accountline", "AccountLine", "id_account_line",
            "id_account id_goods goods vendor_code price_full price quantity sum_price",
            "id_account_line id_account", quantity="1"),
    _entity("contacts", "Contacts", "id_contact",
            "email phone_number last_name name middle_name skype telegram_user_id creation_date deleted deleted_date",
            "id_contact email", soft=True, id_partner="0", deleted="0", deleted_date=_Z),
    _entity("goods", "Goods", "id_goods", "goods price marking deleted", "id_goods goods", deleted="0"),
    _entity("newsletter", "Newsletter", "id_newsletter", "newsletter deleted", "", deleted="0"),
    # Links go to the recycle bin (deleted=1) and are still listed, like invoices and contacts.
    _entity("contactnewsletterlinks", "ContactNewsletterLinks", "id_contact_newsletter_links",
            "id_contact id_newsletter confirmed confirmed_date creation_date deleted deleted_date",
            "id_contact id_newsletter", soft=True, id_partner="0", confirmed="1", deleted="0", deleted_date=_Z),
    _entity("contacttaglnk", "ContactTagLnk", "id_contact_tag_lnk",
            "id_contact id_contact_tag creation_date deleted deleted_date", "id_contact id_contact_tag", soft=True,
            deleted="0", deleted_date=_Z),
    # Only id_contact is honoured: a search by funnel is silently ignored, as on the real server.
    _entity("funnelcontact", "FunnelContact", "id_funnel_contact",
            "id_contact id_funnel creation_date deleted deleted_date", "id_contact", soft=True, deleted="0",
            deleted_date=_Z),
)}
#: Fields the server checks as numbers: a create or update with ``account_sum=abc`` is refused.
NUMBERS = {"accounts": {"account_sum": "Сумма счета должна быть числом.",
                        "id_account_status": "Статус счета должен быть целым числом.",
                        "id_contact": "Контакт должен быть целым числом."},
           "accountline": {"price": "Цена должна быть числом.", "quantity": "Количество должно быть целым числом.",
                           "sum_price": "Сумма должна быть числом."}}
#: The state flags of an invoice and the date the server stamps when one is set.
FLAG_DATES = {"goods_return": "goods_return_date", "close_account": "close_date", "deleted": "deleted_date"}
WRITE_ONLY = {"subscription", "accountssendmail"}
#: Yii's EmailValidator pattern (the framework behind the API): no Cyrillic, no double dots.
EMAIL = re.compile(r"^[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[a-zA-Z0-9!#$%&'*+/=?^_`{|}~-]+)*"
                   r"@(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?\.)+[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?$")
MSG_EMAIL = "Email не является правильным E-Mail адресом."


class ApiError(Exception):
    """An answer other than data: HTTP status and the body the real server would send."""

    def __init__(self, status: int, body: str):
        super().__init__(body)
        self.status = status
        self.body = body


class Missing(ApiError):
    """An id the table does not hold; the emulator picks the HTTP status and the markup of the text."""

    def __init__(self, model: str, row_id: str):
        super().__init__(200, f"Error: Didn't find any model {model} with ID {row_id}.")
        self.model = model
        self.row_id = row_id


class Invalid(Exception):
    """A validation failure: the list of Russian messages the server returns as a JSON array."""

    def __init__(self, *messages: str):
        super().__init__("; ".join(messages))
        self.messages = list(messages)


class FakeAccount:
    """All tables of one account, guarded by one lock; every public method is one API call."""

    def __init__(self, seed: Mapping[str, Any], now: Callable[[], datetime] | None = None):
        from zoneinfo import ZoneInfo

        self.subdomain = str(seed.get("subdomain", "acme"))
        keys = seed.get("keys", {})
        self.get_key = str(keys.get("get", "get-key"))
        self.set_key = str(keys.get("set", "set-key"))
        self.zone: tzinfo = ZoneInfo(str(seed.get("timezone", "Europe/Moscow")))
        self._now = now or (lambda: datetime.now(timezone.utc))
        self.lock = threading.RLock()
        self.tables: dict[str, dict[str, dict[str, str]]] = {name: {} for name in ENTITIES}
        self.next_id: dict[str, int] = {name: 1 for name in ENTITIES}
        self.tags = {str(t) for t in seed.get("contact_tags", [])}
        self.funnels = {str(f) for f in seed.get("funnels", [])}
        self.sent_mails: list[str] = []
        self.version = 0
        self._sorted: dict[tuple, tuple[int, list[dict[str, str]]]] = {}
        for name in ENTITIES:
            for row in seed.get(name, []):
                self._insert(name, dict(row))

    # ---- helpers ----

    def stamp(self) -> str:
        return self._now().astimezone(self.zone).strftime(DATE_FORMAT)

    def _insert(self, name: str, row: dict[str, Any]) -> dict[str, str]:
        entity = ENTITIES[name]
        full = dict(entity.defaults)
        full.update(stringify(row))
        if not full[entity.pk]:
            full[entity.pk] = str(self.next_id[name])
        self.next_id[name] = max(self.next_id[name], int(full[entity.pk]) + 1)
        if name == "accounts":
            full["account_number"] = full["account_number"] or full["id_account"]
            full["date_of_order"] = full["date_of_order"] or self.stamp()
            full["account_status_change_date"] = full["account_status_change_date"] or full["date_of_order"]
            full.setdefault("vc", str(zlib.crc32(f"{self.subdomain}:{full['id_account']}".encode())))
        self.tables[name][full[entity.pk]] = full
        self.version += 1
        return full

    def view(self, name: str, row: Mapping[str, str]) -> dict[str, str]:
        """A row as the API shows it: computed fields added, internal ones dropped."""
        out = {k: v for k, v in row.items() if k != "vc"}
        if name == "accounts":
            out["link_for_pay"] = (f"https://{self.subdomain}.autoweboffice.ru/?r=ordering/cart/s2"
                                   f"&id={row['id_account']}&vc={row.get('vc', '0')}&lg=ru")
        return out

    def _find(self, name: str, row_id: str) -> dict[str, str]:
        row = self.tables[name].get(str(row_id))
        if row is None:
            raise Missing(name, str(row_id))
        return row

    def put_invoice(self, row: Mapping[str, Any], lines: list[Mapping[str, Any]]) -> None:
        """Seed one invoice with its lines, replacing any invoice with the same id (tests)."""
        with self.lock:
            invoice_id = str(row["id_account"])
            self.tables["accounts"].pop(invoice_id, None)
            table = self.tables["accountline"]
            for line_id in [k for k, v in table.items() if v["id_account"] == invoice_id]:
                del table[line_id]
            self._insert("accounts", dict(row))
            for line in lines:
                self._insert("accountline", dict(line))

    # ---- the API calls ----

    def list(self, name: str, search: Mapping[str, Any], page: int, size: int, sort: str | None,
             past_end: str = "empty") -> tuple[list[dict], int]:
        """Filter by the honoured search keys, sort, and cut one zero-based page; with the total.

        ``past_end="repeat"``: a page past the end repeats the last one, as a framework that clamps
        the page number does (what the real server does is unknown).
        """
        entity = ENTITIES[name]
        order = self._order(entity, sort)
        rows = self._sorted_rows(entity, order)
        for key, value in search.items():
            if key not in entity.filters:
                continue  # unknown search keys are ignored, not refused
            rows = [r for r in rows if _matches(key, value, r)]
        start = page * size
        if past_end == "repeat" and rows and start >= len(rows):
            start = (len(rows) - 1) // size * size
        return [self.view(name, r) for r in rows[start : start + size]], len(rows)

    def _order(self, entity: Entity, sort: str | None) -> tuple[tuple[str, bool], ...]:
        if not sort:
            return ((entity.pk, False),)
        order = []
        for part in sort.split(","):
            bits = part.split()
            if not bits or bits[0] not in entity.defaults or len(bits) > 2 or \
                    (len(bits) == 2 and bits[1].upper() not in ("ASC", "DESC")):
                raise ApiError(500, "<h1>PHP Error [500]</h1><p>CDbCommand failed to execute the SQL statement: "
                                    f"Unknown column '{part.strip()}' in 'order clause'</p>")
            order.append((bits[0], len(bits) == 2 and bits[1].upper() == "DESC"))
        return tuple(order)

    def _sorted_rows(self, entity: Entity, order: tuple[tuple[str, bool], ...]) -> list[dict[str, str]]:
        # Sorting 100,000 rows on every page request would make the emulator, not the client, the bottleneck.
        cached = self._sorted.get((entity.name, order))
        if cached and cached[0] == self.version:
            return cached[1]
        rows = list(self.tables[entity.name].values())
        for column, desc in reversed(order):
            rows.sort(key=lambda r: _sort_key(r.get(column, "")), reverse=desc)
        self._sorted[(entity.name, order)] = (self.version, rows)
        return rows

    def get(self, name: str, row_id: str) -> dict[str, str]:
        return self.view(name, self._find(name, row_id))

    def create(self, name: str, item: Mapping[str, Any]) -> dict[str, str]:
        """Create one item (or upsert / return the existing one, where the API does)."""
        item = {k: ("" if v is None else str(v).strip()) for k, v in item.items() if not isinstance(v, (list, dict))}
        _check_numbers(name, item)
        if name == "subscription":
            return self._subscribe(item)
        if name == "contacts":
            return self.view(name, self._upsert_contact(item))
        if name == "accounts":
            if item.get("email") and not EMAIL.match(item["email"]):
                raise Invalid(MSG_EMAIL)
            if not item.get("email") and not item.get("id_contact"):
                raise Invalid("Необходимо заполнить поле «Email».")
            item.pop("id_account", None)
            return self.view(name, self._insert(name, item))
        if name == "accountline":
            self._find("accounts", item.get("id_account", ""))
        if name == "contacttaglnk" and item.get("id_contact_tag") not in self.tags:
            raise Invalid("Метка контакта не найдена.")
        if name == "funnelcontact" and item.get("id_funnel") not in self.funnels:
            raise Invalid("Автоворонка не найдена.")
        if name in ("contacttaglnk", "funnelcontact", "contactnewsletterlinks"):
            self._find("contacts", item.get("id_contact", ""))
            item.setdefault("creation_date", self.stamp())
        item.pop(ENTITIES[name].pk, None)
        return self.view(name, self._insert(name, item))

    def _upsert_contact(self, item: dict[str, str]) -> dict[str, str]:
        email = item.get("email", "")
        if not EMAIL.match(email):
            raise Invalid(MSG_EMAIL if email else "Необходимо заполнить поле «Email».")
        for row in self.tables["contacts"].values():
            if row["email"].lower() == email.lower():
                row.update({k: v for k, v in item.items() if k in row and k != "id_contact" and v})
                self.version += 1
                return row
        item.pop("id_contact", None)
        item.setdefault("creation_date", self.stamp())
        return self._insert("contacts", item)

    def _subscribe(self, item: dict[str, str]) -> dict[str, str]:
        group = item.pop("id_newsletter", "")
        if group not in self.tables["newsletter"]:
            raise Invalid("Группа подписчиков не найдена." if group else "Необходимо заполнить поле «Группа».")
        contact = self._upsert_contact({k: v for k, v in item.items() if k in ENTITIES["contacts"].defaults})
        for row in self.tables["contactnewsletterlinks"].values():
            if row["id_contact"] == contact["id_contact"] and row["id_newsletter"] == group and row["deleted"] == "0":
                return self.view("contactnewsletterlinks", row)
        now = self.stamp()
        return self._insert("contactnewsletterlinks", {"id_contact": contact["id_contact"], "id_newsletter": group,
                                                       "creation_date": now, "confirmed_date": now})

    def update(self, name: str, row_id: str, fields: Mapping[str, str]) -> dict[str, str]:
        """PUT: change the known fields; the server fills the payment and status-change dates."""
        row = self._find(name, row_id)
        changes = {k: v for k, v in fields.items() if k in row and k != ENTITIES[name].pk}
        if "email" in changes and changes["email"] and not EMAIL.match(changes["email"]):
            raise Invalid(MSG_EMAIL)
        _check_numbers(name, changes)
        for flag, stamp in FLAG_DATES.items():
            if name == "accounts" and changes.get(flag) == "1" and row.get(flag) != "1":
                changes[stamp] = self.stamp()
        if name == "accounts" and "id_account_status" in changes:
            if changes["id_account_status"] != row["id_account_status"]:
                changes["account_status_change_date"] = self.stamp()
                if changes["id_account_status"] == "5":
                    changes["date_of_payment"] = changes["account_status_change_date"]
        row.update(changes)
        self.version += 1
        return self.view(name, row)

    def delete(self, name: str, row_id: str) -> str:
        """Soft delete where the API has a recycle bin, hard delete elsewhere; the id either way."""
        entity = ENTITIES[name]
        row = self._find(name, row_id)
        if entity.soft_delete:
            if row["deleted"] != "1":
                row.update(deleted="1", deleted_date=self.stamp())
        else:
            del self.tables[name][str(row_id)]
        self.version += 1
        return str(row_id)

    def send_mail(self, row_id: str) -> dict[str, str]:
        """``accountssendmail``: (re)send the invoice e-mail; recorded in ``sent_mails``."""
        row = self._find("accounts", row_id)
        row["sent_emails"] = str(int(row.get("sent_emails") or 0) + 1)
        self.sent_mails.append(row["id_account"])
        self.version += 1
        return {"id_account": row["id_account"], "result": "1"}


def _check_numbers(name: str, fields: Mapping[str, str]) -> None:
    """Refuse what is not a number where the server wants one, with its (Yii-style) message."""
    messages = [msg for key, msg in NUMBERS.get(name, {}).items()
                if fields.get(key) and not re.fullmatch(r"-?\d+(\.\d+)?" if "целым" not in msg else r"\d+",
                                                        fields[key])]
    if messages:
        raise Invalid(*messages)


def _matches(key: str, wanted: Any, row: Mapping[str, str]) -> bool:
    if key == "creation_date_start":
        return row["date_of_order"] >= str(wanted)
    if key == "creation_date_end":
        return row["date_of_order"] <= str(wanted)
    if isinstance(wanted, list):
        return row.get(key, "") in {str(w) for w in wanted}
    if key == "email":
        return row.get("email", "").lower() == str(wanted).lower()
    return row.get(key, "") == str(wanted)


def _sort_key(value: str) -> tuple:
    # MySQL compares the numeric columns as numbers: "10" after "9".
    return (0, int(value), "") if value.isdigit() else (1, 0, value)
