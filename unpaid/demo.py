"""The sample shop: a deterministic generator of realistic order exports, and the bundled copy.

The same generator makes ``unpaid/data/demo_orders.csv`` (a few hundred orders, for ``unpaid demo``)
and the million-row file of the benchmarks, so both have the same shape: customers with one
order, customers who paid after an abandoned first try (a paid twin), customers who clicked
"buy" two or three times (duplicates), customers without a phone or an e-mail.
"""

from __future__ import annotations

import csv
import random
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Iterator, TextIO

HEADER = ("id", "number", "created_at", "status", "name", "email", "phone", "product_id", "product", "amount",
          "currency", "manager", "payment_link", "cancel_reason")
#: The moment the bundled file was generated for; ``unpaid demo`` shifts it to the present.
BUNDLED_NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
BUNDLED_ROWS = 400
BUNDLED_SEED = 7
#: Orders are spread over this many days before "now".
SPREAD_DAYS = 56
ZONE = timezone(timedelta(hours=3))  # Moscow, no DST: offsets in the file stay stable

PRODUCTS = (
    ("course-copy", "Копирайтинг с нуля", 4990),
    ("course-smm", "SMM-менеджер за 8 недель", 12900),
    ("course-excel", "Excel для аналитиков", 2490),
    ("club-month", "Клуб, 1 месяц", 990),
    ("mentoring", "Личное наставничество, 4 встречи", 29900),
    ("webinar-rec", "Запись вебинара: воронки продаж", 490),
    ("course-design", "Основы графического дизайна", 8900),
    ("intensive", "Интенсив по маркетингу, 3 дня", 1990),
)
FIRST = (("Анна", "anna"), ("Мария", "maria"), ("Елена", "elena"), ("Ольга", "olga"), ("Ирина", "irina"),
         ("Наталья", "natalya"), ("Татьяна", "tatyana"), ("Светлана", "svetlana"), ("Дарья", "darya"),
         ("Алексей", "aleksey"), ("Дмитрий", "dmitry"), ("Сергей", "sergey"), ("Андрей", "andrey"),
         ("Иван", "ivan"), ("Михаил", "mikhail"), ("Павел", "pavel"), ("Никита", "nikita"), ("Юлия", "yulia"))
LAST = (("Иванов", "ivanov"), ("Смирнов", "smirnov"), ("Кузнецов", "kuznetsov"), ("Попов", "popov"),
        ("Соколов", "sokolov"), ("Лебедев", "lebedev"), ("Козлов", "kozlov"), ("Новиков", "novikov"),
        ("Морозов", "morozov"), ("Волков", "volkov"), ("Зайцев", "zaytsev"), ("Павлов", "pavlov"))
FEMALE = frozenset({"anna", "maria", "elena", "olga", "irina", "natalya", "tatyana", "svetlana", "darya", "yulia"})
DOMAINS = ("example.ru", "example.com", "example.org", "example.net")
MANAGERS = ("", "", "Ольга", "Ирина", "Максим")
REASONS = ("Дорого", "Передумал", "Купил в другом месте", "Сейчас нет денег", "Не дозвонились")
#: Status of a customer's only order, in proportions seen in real exports.
SINGLE = (("new", 22), ("in_work", 6), ("payment_waiting", 14), ("not_confirmed", 5), ("part_paid", 3),
          ("paid", 35), ("cancelled", 11), ("false", 4))
#: Unpaid statuses of an abandoned attempt.
UNPAID = (("new", 5), ("payment_waiting", 4), ("in_work", 1), ("not_confirmed", 1))


def _weighted(table):
    values = [v for v, _ in table]
    weights = [w for _, w in table]
    return lambda rng: rng.choices(values, weights)[0]


_single, _unpaid = _weighted(SINGLE), _weighted(UNPAID)


def _customer(rng: random.Random, n: int) -> tuple[str, str, str]:
    (first, f_lat), (last, l_lat) = rng.choice(FIRST), rng.choice(LAST)
    if f_lat in FEMALE:
        last, l_lat = last + "а", l_lat + "a"
    email = f"{f_lat}.{l_lat}{n}@{rng.choice(DOMAINS)}"
    phone = "+79" + "".join(rng.choice("0123456789") for _ in range(9))
    roll = rng.random()
    if roll < 0.08:
        phone = ""
    elif roll < 0.13:  # a phone-only lead: dedupe keys it by the phone
        email = ""
    return f"{first} {last}", email, phone


def _episode(rng: random.Random, newest: float, product: int) -> list[tuple[float, str, int]]:
    """One purchase attempt: (seconds before now, status, product index) for each order it left."""
    earlier = lambda t: t + rng.uniform(600, 3 * 86400)  # noqa: E731 - a small local step
    kind = rng.random()
    if kind < 0.18:  # abandoned, then paid for the same product in a second order
        return [(newest, "paid", product), (earlier(newest), _unpaid(rng), product)]
    if kind < 0.30:  # clicked "buy" two or three times
        times = [newest]
        for _ in range(rng.choice((1, 1, 2))):
            times.append(earlier(times[-1]))
        return [(t, _unpaid(rng), product) for t in times]
    return [(newest, _single(rng), product)]


def _orders_of(rng: random.Random) -> list[tuple[float, str, int]]:
    """One customer's orders: one to three purchase attempts, each of a different product."""
    products = rng.sample(range(len(PRODUCTS)), rng.choice((1, 1, 2, 2, 3)))
    orders = []
    for product in products:
        # The power skews towards recent days: shops get more of the orders still worth chasing lately.
        newest = 60 + (rng.random() ** 1.3) * (SPREAD_DAYS - 3) * 86400
        orders += _episode(rng, newest, product)
    return orders


def generate(rows: int, seed: int, now: datetime) -> Iterator[list[str]]:
    """Yield ``rows`` CSV rows (without the header), oldest first, all created before ``now``.

    Deterministic: the same ``rows``, ``seed`` and ``now`` give the same file.
    """
    rng = random.Random(seed)
    drafts: list[tuple[float, int, str, int]] = []  # seconds before now, customer, status, product
    people: list[tuple[str, str, str]] = []
    while len(drafts) < rows:
        n = len(people)
        people.append(_customer(rng, n + 1))
        drafts += [(t, n, status, p) for t, status, p in _orders_of(rng)]
    del drafts[rows:]
    drafts.sort(key=lambda d: -d[0])
    base = now.astimezone(ZONE).replace(microsecond=0)
    for i, (before, who, status, p) in enumerate(drafts):
        name, email, phone = people[who]
        product_id, title, price = PRODUCTS[p]
        native = str(100001 + i)
        created = (base - timedelta(seconds=int(before))).isoformat()
        manager = MANAGERS[(who + p) % len(MANAGERS)]
        yield [native, f"A-{native}", created, status, name, email, phone, product_id, title, f"{price}.00", "RUB",
               manager, f"https://pay.example.com/o/{native}",
               rng.choice(REASONS) if status == "cancelled" else ""]


def write_csv(out: TextIO, rows: int, seed: int, now: datetime) -> int:
    """Write a generated export with its header to ``out``; return the number of rows."""
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    count = 0
    for row in generate(rows, seed, now):
        writer.writerow(row)
        count += 1
    return count


def bundled_path() -> Path:
    """The sample export shipped with unpaid."""
    return Path(__file__).parent / "data" / "demo_orders.csv"


def copy_shifted(dest: Path, now: datetime, source: Path | None = None) -> int:
    """Copy the bundled export to ``dest``, moved forward by whole days so its newest order is from today.

    Whole days keep each order's time of day; every shifted time stays before ``now``.
    """
    days = (now - BUNDLED_NOW) // timedelta(days=1)
    shift = timedelta(days=days)
    count = 0
    with open(source or bundled_path(), encoding="utf-8", newline="") as src, \
            open(dest, "w", encoding="utf-8", newline="") as out:
        reader = csv.reader(src)
        writer = csv.writer(out, lineterminator="\n")
        header = next(reader)
        writer.writerow(header)
        at = header.index("created_at")
        for row in reader:
            row[at] = (datetime.fromisoformat(row[at]) + shift).isoformat()
            writer.writerow(row)
            count += 1
    return count
