"""A realistic Russian shop export, deterministic and fast, for benchmarks and tests.

Built on :func:`unpaid.demo.generate` (the same customers and status mix), written the way Russian
Excel saves it: Windows-1251, ``;``, CRLF, Russian headers and status labels, ``24.11.2026 10:00``,
``4 990,00``, ``8 (999) 123-45-67``, "Фамилия Имя Отчество", quoted fields holding the delimiter.
About 3 % of the rows are broken the ways real exports are (see :data:`BROKEN_KINDS`) and about 1 %
repeat an earlier order's id later in the file with another status.

    from benchmarks.realistic_export import write_export
    stats = write_export(Path("orders.csv"), 100_000)          # Windows-1251, ";"
    write_export(path, 1000, encoding="utf-8", delimiter=",")   # the other variant
"""

from __future__ import annotations

import csv
import heapq
import os
import random
import tempfile
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zlib import crc32

from unpaid.demo import generate

HEADER = ("Номер заказа", "Дата создания", "Статус", "ФИО", "Email", "Телефон", "Код товара", "Товар", "Сумма",
          "Валюта", "Менеджер", "Способ оплаты")
ID, CREATED, STATUS, NAME, EMAIL, PHONE, CODE, TITLE, AMOUNT = range(9)
#: The demo's status codes as this shop labels them (it has no labels of its own for two of them).
LABEL = {"new": "Новый", "in_work": "В работе", "payment_waiting": "Ожидаем оплаты", "not_confirmed": "Новый",
         "part_paid": "Ожидаем оплаты", "paid": "Завершен", "cancelled": "Отменен", "false": "Ложный"}
LABELS = ("Новый", "В работе", "Ожидаем оплаты", "Завершен", "Отменен", "Ложный")
#: Product titles; some hold a "," or a ";" (so they are quoted in either variant), one a quote.
TITLES = {
    "course-copy": "Копирайтинг с нуля", "course-smm": "SMM-менеджер за 8 недель; тариф «Стандарт»",
    "course-excel": "Excel для аналитиков, продвинутый уровень", "club-month": "Клуб: подписка на 1 месяц",
    "mentoring": "Наставничество, 4 сессии; личный куратор", "webinar-rec": "Запись вебинара «Воронки продаж»",
    "course-design": 'Основы графического дизайна, тариф "Про"', "intensive": "Интенсив по маркетингу; 3 дня",
}
PATRONYMICS = (("Сергеевич", "Сергеевна"), ("Александрович", "Александровна"), ("Иванович", "Ивановна"),
               ("Дмитриевич", "Дмитриевна"), ("Андреевич", "Андреевна"), ("Олегович", "Олеговна"))
PAYMENTS = ("Банковская карта", "Банковская карта", "СБП", "Рассрочка", "Счет для юрлиц")
COMPANIES = ('ООО "Ромашка"', 'ИП Петров; "Студия"', 'АО "Вектор, Групп"')
BROKEN_KINDS = ("empty id", "bad date", "unknown status", "stray quote", "extra delimiter", "no contact",
                "bad amount")
BROKEN_SHARE, DUPLICATE_SHARE, COMPANY_SHARE = 0.03, 0.0101, 0.01


@dataclass
class ExportStats:
    """What was written: data rows, broken rows by kind, repeated ids; what an ideal reader would store."""

    rows: int = 0
    broken: Counter = field(default_factory=Counter)
    duplicates: int = 0
    next_id: int = 0

    @property
    def ideal_rejected(self) -> int:
        return sum(self.broken.values())

    @property
    def ideal_stored(self) -> int:
        """Distinct ids among the good rows (a repeated id is one order)."""
        return self.rows - self.ideal_rejected - self.duplicates


def _fields(demo: list[str], order_id: int, rng: random.Random) -> list[str]:
    """One good row in this shop's format, from a row of :func:`unpaid.demo.generate`."""
    _, _, created, status, name, email, phone, code, _, amount, currency, manager = demo[:12]
    first, last = name.split(" ", 1)
    patronymic = PATRONYMICS[crc32(email.encode() or phone.encode()) % len(PATRONYMICS)][last.endswith("а")]
    full = rng.choice(COMPANIES) if rng.random() < COMPANY_SHARE else f"{last} {first} {patronymic}"
    date = f"{created[8:10]}.{created[5:7]}.{created[:4]} {created[11:16]}"
    if phone:
        phone = f"8 ({phone[2:5]}) {phone[5:8]}-{phone[8:10]}-{phone[10:12]}"
    rubles = f"{int(amount[:-3]):,}".replace(",", " ")
    return [str(order_id), date, LABEL[status], full, email, phone, code, TITLES[code], f"{rubles},00", currency,
            manager, rng.choice(PAYMENTS)]


def _break(fields: list[str], kind: str, delimiter: str, rng: random.Random) -> list[str] | str:
    """The row made broken in one way: a field list, or a raw line where CSV quoting would hide the fault."""
    if kind == "empty id":
        fields[ID] = ""
    elif kind == "bad date":
        fields[CREATED] = rng.choice(("31.02.2026 10:00", "вчера", "24.11.26г."))
    elif kind == "unknown status":
        fields[STATUS] = rng.choice(("Ждём звонка", "Архив"))
    elif kind == "no contact":
        fields[EMAIL] = fields[PHONE] = ""
    elif kind == "bad amount":
        fields[AMOUNT] = "abc"
    else:
        plain = [f.replace(delimiter, " ").replace('"', "") for f in fields]
        last, rest = plain[NAME].split(" ", 1) if " " in plain[NAME] else (plain[NAME], "")
        plain[NAME] = f'"{plain[NAME]}' if kind == "stray quote" else f"{last}{delimiter}{rest}"
        return delimiter.join(plain)
    return fields


def export_rows(count: int, seed: int, now: datetime, delimiter: str, stats: ExportStats, first_id: int = 100001):
    """Yield ``count`` rows (field lists, or raw lines for two kinds of broken row), oldest first."""
    rng = random.Random(seed)
    pending: list[tuple[int, int, list[str]]] = []  # (row number due, row number, fields) of repeats to come
    order_id = first_id
    demo = generate(count, seed, now)
    for n in range(count):
        if pending and pending[0][0] <= n:
            stats.duplicates += 1
            yield heapq.heappop(pending)[2]
            continue
        fields = _fields(next(demo), order_id, rng)
        order_id += 1
        roll = rng.random()
        if roll < BROKEN_SHARE:
            kind = rng.choice(BROKEN_KINDS)
            stats.broken[kind] += 1
            yield _break(fields, kind, delimiter, rng)
            continue
        if roll < BROKEN_SHARE + DUPLICATE_SHARE:
            later = fields.copy()
            later[STATUS] = "Завершен" if fields[STATUS] != "Завершен" else "Отменен"
            heapq.heappush(pending, (n + rng.randint(1, 5000), n, later))
        yield fields
    stats.next_id = order_id


def write_export(path: Path, rows: int, seed: int = 1, now: datetime | None = None, encoding: str = "cp1251",
                 delimiter: str = ";", *, append: bool = False, first_id: int = 100001) -> ExportStats:
    """Write (or with ``append``, add without a header) ``rows`` data rows to ``path``; return what was written."""
    from unpaid.demo import BUNDLED_NOW

    stats = ExportStats(rows=rows)
    with open(path, "a" if append else "w", encoding=encoding, newline="") as out:
        writer = csv.writer(out, delimiter=delimiter, lineterminator="\r\n")
        if not append:
            writer.writerow(HEADER)
        for row in export_rows(rows, seed, now or BUNDLED_NOW, delimiter, stats, first_id):
            if isinstance(row, str):
                out.write(row + "\r\n")
            else:
                writer.writerow(row)
    return stats


def change_statuses(path: Path, share: float, seed: int = 2, encoding: str = "cp1251", delimiter: str = ";") -> int:
    """Give ``share`` of the data rows, picked uniformly at random, another status label; return how many changed.

    The file is rewritten through a temporary file moved over it (a new inode, as an editor saves).
    """
    lines = path.read_bytes().split(b"\n")
    data = range(1, len(lines) - (lines[-1] == b""))
    changed = 0
    for i in sorted(random.Random(seed).sample(data, round(share * len(data)))):
        parts = lines[i].decode(encoding).split(delimiter, STATUS + 1)
        if len(parts) > STATUS + 1 and parts[STATUS] in LABELS:
            parts[STATUS] = LABELS[(LABELS.index(parts[STATUS]) + 1) % len(LABELS)]
            lines[i] = delimiter.join(parts).encode(encoding)
            changed += 1
    replace_bytes(path, b"\n".join(lines))
    return changed


def replace_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to a new file in ``path``'s folder and move it over ``path``."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)
