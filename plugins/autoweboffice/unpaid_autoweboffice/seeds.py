"""Seeds for the emulator: a small demo school and a bulk generator for the benchmark.

A seed is plain JSON: ``subdomain``, ``keys`` (``get``/``set``), ``timezone``, then rows per API
entity (``accounts``, ``accountline``, ``contacts``, ``goods``, ``newsletter``…) and the ids of
``contact_tags`` and ``funnels`` that exist in the account.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

DEMO_KEYS = {"get": "demo-get-key-0000", "set": "demo-set-key-0000"}
DEMO_ZONE = "Europe/Moscow"
GOODS = [
    {"id_goods": 11, "goods": "Курс «Финансовая грамотность»", "price": 4900},
    {"id_goods": 12, "goods": "Марафон «Английский за 30 дней»", "price": 1990},
    {"id_goods": 13, "goods": "Вебинар-практикум по продажам", "price": 990},
]
#: Groups, tags and funnels the docs ask the owner to create for unpaid's playbooks.
NEWSLETTERS = [
    {"id_newsletter": 1, "newsletter": "Напоминание: счёт не оплачен"},
    {"id_newsletter": 2, "newsletter": "Персональное предложение −5% на 2 дня"},
]
TAGS = [31, 32]
FUNNELS = [41, 42]

# (name, last_name, email, phone, goods, status, days ago, deleted)
_DEMO = [
    ("Анна", "Смирнова", "anna.smirnova@example.ru", "+7 916 111-22-33", 11, 1, 3, 0),
    ("Борис", "Петров", "boris@example.ru", "8 (903) 222-33-44", 12, 1, 2.5, 0),
    ("Вера", "Иванова", "vera@example.ru", "", 11, 1, 5, 0),
    ("Глеб", "Соколов", "", "+7 999 333-44-55", 13, 1, 4, 0),
    ("Дарья", "Кузнецова", "daria@example.ru", "+7 926 444-55-66", 12, 5, 6, 0),
    ("Егор", "Попов", "egor@example.ru", "+7 915 555-66-77", 11, 1, 1, 0),
    ("Жанна", "Лебедева", "zhanna@example.ru", "+7 917 666-77-88", 13, 2, 8, 0),
    ("Анна", "Смирнова", "anna.smirnova@example.ru", "+7 916 111-22-33", 11, 1, 0.5, 0),
    ("Зоя", "Морозова", "zoya@example.ru", "+7 905 777-88-99", 12, 3, 3, 0),
    ("Илья", "Волков", "ilya@example.ru", "+7 901 888-99-00", 13, 1, 7, 1),
]


def _stamp(moment: datetime) -> str:
    from zoneinfo import ZoneInfo

    return moment.astimezone(ZoneInfo(DEMO_ZONE)).strftime("%Y-%m-%d %H:%M:%S")


def demo_seed(now: datetime | None = None, subdomain: str = "demo-school") -> dict[str, Any]:
    """A small school: unpaid, paid, refused, in-processing and deleted invoices, dated relative to ``now``."""
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    goods = {g["id_goods"]: g for g in GOODS}
    seed: dict[str, Any] = {"subdomain": subdomain, "keys": dict(DEMO_KEYS), "timezone": DEMO_ZONE,
                            "goods": GOODS, "newsletter": NEWSLETTERS, "contact_tags": TAGS, "funnels": FUNNELS,
                            "accounts": [], "accountline": [], "contacts": []}
    contacts: dict[str, int] = {}
    for n, (name, last, email, phone, goods_id, status, days, deleted) in enumerate(_DEMO, start=1):
        key = email or phone
        if key not in contacts:
            contacts[key] = len(contacts) + 1
            seed["contacts"].append({"id_contact": contacts[key], "name": name, "last_name": last, "email": email,
                                     "phone_number": phone, "creation_date": _stamp(now - timedelta(days=days))})
        created = now - timedelta(days=days)
        item = goods[goods_id]
        invoice = {"id_account": 1000 + n, "account_number": 300 + n, "id_contact": contacts[key],
                   "id_account_status": status, "account_sum": item["price"], "date_of_order": _stamp(created),
                   "name": name, "last_name": last, "email": email, "phone_number": phone, "deleted": deleted}
        if status == 5:
            invoice["date_of_payment"] = invoice["account_status_change_date"] = _stamp(created + timedelta(hours=3))
        seed["accounts"].append(invoice)
        seed["accountline"].append({"id_account_line": 5000 + n, "id_account": 1000 + n, "id_goods": goods_id,
                                    "goods": item["goods"], "price_full": item["price"], "price": item["price"],
                                    "quantity": 1, "sum_price": item["price"]})
    return seed


def bulk_seed(count: int, now: datetime | None = None, lines_per_invoice: int = 2,
              subdomain: str = "bulk") -> dict[str, Any]:
    """``count`` invoices spread over the last year, each with ``lines_per_invoice`` lines."""
    now = now or datetime.now(timezone.utc).replace(microsecond=0)
    start = now - timedelta(days=365)
    step = timedelta(days=365) / max(count, 1)
    accounts, lines = [], []
    line_id = 1
    for n in range(1, count + 1):
        created = _stamp(start + step * n)
        total = 0
        for k in range(lines_per_invoice):
            item = GOODS[(n + k) % len(GOODS)]
            total += item["price"]
            lines.append({"id_account_line": line_id, "id_account": n, "id_goods": item["id_goods"],
                          "goods": item["goods"], "price_full": item["price"], "price": item["price"],
                          "quantity": 1, "sum_price": item["price"]})
            line_id += 1
        status = 5 if n % 3 == 0 else 1
        accounts.append({"id_account": n, "account_number": n, "id_contact": n, "id_account_status": status,
                         "account_sum": total, "date_of_order": created, "email": f"buyer{n}@example.ru",
                         "phone_number": f"+7 900 {n:07d}", "name": f"Buyer {n}",
                         **({"date_of_payment": created} if status == 5 else {})})
    return {"subdomain": subdomain, "keys": dict(DEMO_KEYS), "timezone": DEMO_ZONE, "goods": GOODS,
            "newsletter": NEWSLETTERS, "contact_tags": TAGS, "funnels": FUNNELS,
            "accounts": accounts, "accountline": lines}
