"""Fixtures for the CSV connector: real files in tmp_path, written the way shops export them."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any, Iterable

import pytest

from unpaid.model import Order, Status
from unpaid.sources import check_settings

pytest_plugins = ["unpaid.testing.fixtures"]

DEMO_HEADER = ("id,number,created_at,status,name,email,phone,product_id,product,amount,currency,manager,"
               "payment_link,cancel_reason").split(",")
RU_HEADER = ["Номер заказа", "Номер", "Дата создания", "Статус", "ФИО", "Почта", "Телефон", "ID товара", "Товар",
             "Стоимость", "Валюта", "Менеджер", "Ссылка на оплату", "Причина отказа"]
RU_LABELS = {Status.NEW: "Новый", Status.IN_WORK: "В работе", Status.PAYMENT_WAITING: "Ожидаем оплаты",
             Status.NOT_CONFIRMED: "Не подтвержден", Status.PART_PAID: "Частично оплачен", Status.PAID: "Завершен",
             Status.CANCELLED: "Отменен", Status.FALSE: "Ложный"}


def demo_row(o: Order) -> list[str]:
    """The bundled demo's format: canonical codes, ISO dates with offset, ``4990.00``."""
    item = o.items[0] if o.items else None
    return [o.native_id, o.number or "", o.created_at.isoformat(), o.status.value, o.customer.name or "",
            o.customer.email or "", o.customer.phone or "", item.product_id if item else "",
            item.title if item else "", f"{o.total.minor // 100}.{o.total.minor % 100:02d}", o.total.currency,
            o.manager or "", o.payment_link or "", o.cancel_reason or ""]


def ru_row(o: Order) -> list[str]:
    """Russian Excel: labels, ``dd.mm.yyyy HH:MM`` in Moscow time, ``4 990,00``."""
    from zoneinfo import ZoneInfo

    row = demo_row(o)
    row[2] = o.created_at.astimezone(ZoneInfo("Europe/Moscow")).strftime("%d.%m.%Y %H:%M")
    row[3] = RU_LABELS[o.status]
    row[9] = f"{o.total.minor // 100:,}".replace(",", " ") + f",{o.total.minor % 100:02d}"
    return row


FLAVORS = {
    "demo": dict(header=DEMO_HEADER, row=demo_row, encoding="utf-8", delimiter=",", newline="\n"),
    "ru": dict(header=RU_HEADER, row=ru_row, encoding="cp1251", delimiter=";", newline="\r\n"),
}


def write_csv(path: Path, header: list[str], rows: Iterable[list[str]], encoding: str = "utf-8",
              delimiter: str = ",", newline: str = "\n") -> Path:
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=delimiter, lineterminator=newline)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


def build(path: Path, name: str = "shop", **settings: Any):
    """A CSV connector for ``path`` with settings filled in like ``open_connector`` does."""
    from unpaid_csv.plugin import SPEC

    private = {k: settings.pop(k) for k in list(settings) if k.startswith("_")}
    values = check_settings("test", name, {"path": path.name, **settings}, SPEC.settings, "sources")
    values.update({"_timezone": "UTC", "_default_country": "7", **private})
    values["_config_dir"] = str(path.parent)
    return SPEC.factory(name, values, {})


@pytest.fixture
def make_csv(tmp_path):
    """Write a CSV file in tmp_path: ``make_csv(header, rows, encoding=..., delimiter=...)``."""

    def make(header, rows, name="orders.csv", **kwargs) -> Path:
        return write_csv(tmp_path / name, header, rows, **kwargs)

    return make


@pytest.fixture
def open_csv():
    return build


@pytest.fixture
def replaces(monkeypatch):
    """The destination of every ``os.replace`` from now on (they still happen): one per rewrite of a file."""
    import os

    done: list[str] = []
    real = os.replace

    def replace(src, dst, **kwargs):
        done.append(str(dst))
        real(src, dst, **kwargs)

    monkeypatch.setattr(os, "replace", replace)
    return done
