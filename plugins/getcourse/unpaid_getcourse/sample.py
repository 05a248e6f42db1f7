"""Seed data for the emulator: a small demo school, N generated deals, or canonical Orders."""

from __future__ import annotations

import random
from datetime import datetime, timedelta, tzinfo
from typing import Any, Iterable

from unpaid.model import Order
from unpaid_getcourse.mapping import DATE_FORMAT, STATUSES, TO_NATIVE

FIRST = ["Анна", "Иван", "Мария", "Олег", "Светлана", "Дмитрий", "Ольга", "Павел", "Елена", "Сергей"]
LAST = ["Иванова", "Петров", "Смирнова", "Кузнецов", "Попова", "Соколов", "Лебедева", "Козлов"]
OFFERS = [("Курс «Английский с нуля»", 1_200_000), ("Марафон «Продажи»", 499_000),
          ("Интенсив «Таргет»", 990_000), ("Клуб: месяц", 150_000)]
# Weighted like a real school: most orders stay unpaid or get paid; a few are held or refunded.
WEIGHTS = {"new": 30, "in_work": 6, "payment_waiting": 8, "not_confirmed": 3, "pending": 2, "part_payed": 4,
           "payed": 35, "waiting_for_return": 1, "cancelled": 8, "false": 3}


def base_seed(**extra: Any) -> dict[str, Any]:
    """Account settings shared by every seed: keys, groups, cancel reasons, a custom field."""
    return {
        "account": "school", "secret_key": "gc-secret-0001", "read_only_keys": ["gc-readonly-0001"],
        "developer_key": "gc-dev-0001", "timezone": "Europe/Moscow", "build_delay": 0.0,
        "budget": 100, "budget_window": 7200, "custom_fields": ["Источник заявки"],
        "groups": [{"id": 1, "name": "Неоплаченные заказы"}, {"id": 2, "name": "Дожим: 3 письма"},
                   {"id": 3, "name": "Ученики"}],
        "cancel_reasons": [{"id": 1, "name": "Дорого"}, {"id": 2, "name": "Не нужно"}, {"id": 3, "name": "Дубль"}],
        "users": [], "deals": [], **extra,
    }


def generate(count: int, *, seed: int = 7, start: datetime = datetime(2026, 1, 1), days: int = 320) -> dict[str, Any]:
    """A seed with ``count`` deals over ``days`` days from ``start`` (deterministic for a given seed)."""
    rnd = random.Random(seed)
    data = base_seed()
    users = max(1, count * 2 // 3)
    data["users"] = [{"id": 1000 + i, "email": f"buyer{i}@example.com", "phone": f"+7999{i:07d}",
                      "first_name": rnd.choice(FIRST), "last_name": rnd.choice(LAST)} for i in range(users)]
    codes, weights = list(WEIGHTS), list(WEIGHTS.values())
    for n in range(count):
        title, cost = OFFERS[n % len(OFFERS)]
        created = start + timedelta(minutes=rnd.randrange(days * 24 * 60))
        status = rnd.choices(codes, weights)[0]
        deal = {"id": 5_000_000 + n, "number": str(10_000 + n), "user_id": 1000 + rnd.randrange(users),
                "title": title, "cost": cost, "status": status, "created_at": created.strftime(DATE_FORMAT),
                "custom": {"Источник заявки": rnd.choice(["instagram", "вебинар", "email"])}}
        if status in ("payed", "part_payed", "waiting_for_return"):
            paid_at = created + timedelta(hours=rnd.randrange(1, 72))
            deal["payed_at"] = paid_at.strftime(DATE_FORMAT)
            deal["paid"] = cost if status != "part_payed" else cost // 2
        if status == "cancelled":
            deal["cancel_reason"] = rnd.choice(["Дорого", "Не нужно"])
        deal["status_changed_at"] = deal.get("payed_at", deal["created_at"])
        data["deals"].append(deal)
    return data


def demo_seed(now: datetime | None = None) -> dict[str, Any]:
    """The demo school: 40 deals from the 30 days before ``now`` (default: the present)."""
    if now is not None and now.tzinfo is not None:  # deal dates are wall-clock times of the account's zone
        from zoneinfo import ZoneInfo

        now = now.astimezone(ZoneInfo(base_seed()["timezone"])).replace(tzinfo=None)
    now = (now or datetime.now()).replace(microsecond=0)
    return generate(40, seed=2026, start=now - timedelta(days=30), days=30)


def deal_from_order(order: Order, zone: tzinfo) -> dict[str, Any]:
    """A seed deal for a canonical Order (its native status kept when it is a GetCourse code)."""
    code = order.native_status if order.native_status in STATUSES else TO_NATIVE[order.status]
    local = order.created_at.astimezone(zone).strftime(DATE_FORMAT)
    changed = (order.updated_at or order.created_at).astimezone(zone).strftime(DATE_FORMAT)
    deal: dict[str, Any] = {
        "id": int(order.native_id), "number": order.number or order.native_id, "status": code,
        "email": order.customer.email, "phone": order.customer.phone,
        "name": order.customer.name, "title": order.product_title or "Курс", "cost": order.total.minor,
        "currency": order.total.currency, "created_at": local, "status_changed_at": changed, "updated_at": changed,
        "paid": order.paid.minor if order.paid else 0, "cancel_reason": order.cancel_reason,
    }
    if order.paid_at:
        deal["payed_at"] = order.paid_at.astimezone(zone).strftime(DATE_FORMAT)
    return deal


def seed_orders(account: Any, orders: Iterable[Order]) -> None:
    """Put canonical Orders into a running emulator's account."""
    with account.lock:
        for order in orders:
            account.put_deal(deal_from_order(order, account.zone))


