"""Fixtures for CLI tests: a ``shop`` source of type ``memory`` configured in tmp_path."""

from datetime import datetime, timedelta, timezone

import pytest

from unpaid.model import Customer, LineItem, Money, Order, Status
from unpaid.testing.fakes import BACKENDS, MemoryPlugin, backend

NOW = "2026-11-24T09:00:00Z"
T_NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


def make_order(native_id: str, status: Status = Status.NEW, *, age: timedelta = timedelta(days=1),
               email: str | None = "anna@example.com", phone: str | None = None, product: str | None = "course-1",
               source: str = "shop", total: int = 99000, name: str | None = "Anna") -> Order:
    """An order created ``age`` before NOW."""
    items = (LineItem(product, product.title(), 1, Money(total)),) if product else ()
    return Order(source, native_id, status, T_NOW - age, Money(total), Customer(email, phone, name), items,
                 number=f"N{native_id}", native_status=status.value)


@pytest.fixture
def shop(cli, tmp_path, register_plugin):
    """The fake remote behind source ``shop``; the config in tmp_path points at it."""
    BACKENDS.clear()
    register_plugin(MemoryPlugin, name="memory")
    (tmp_path / "unpaid.toml").write_text('[sources.shop]\ntype = "memory"\n', encoding="utf-8")
    yield backend("shop")
    BACKENDS.clear()


@pytest.fixture
def make():
    """The order factory, for tests that seed the shop."""
    return make_order


@pytest.fixture
def seed(cli, shop):
    """Put orders in the shop and sync them into the store: ``seed(make("1"), ...)``."""

    def put_and_sync(*orders: Order) -> None:
        shop.put(*orders)
        result = cli(["--now", NOW, "sync"])
        assert result.exit_code == 0, result.output

    return put_and_sync


@pytest.fixture
def usage_error(cli):
    """Run a command that must fail with exit 2 and one stderr line starting with ``expected``."""

    def check(args: str, expected: str) -> None:
        result = cli(f"--now {NOW} {args}")
        assert result.exit_code == 2, (args, result.output)
        [line] = result.stderr.splitlines()
        assert line.startswith(expected), line

    return check


CSV_ORDERS = """id,created_at,status,email,product_id,product,amount
1,2026-11-24T10:00:00+03:00,new,opens@example.com,c1,Course,1000
2,2026-11-24T10:00:00+03:00,new,ignores@example.com,c1,Course,1000
3,2026-11-20T10:00:00+03:00,paid,opens@example.com,c2,Club,500
"""


@pytest.fixture
def csv_shop(tmp_path, monkeypatch):
    """A real CSV source of three orders and a ``letter`` template; call it with the config's text."""
    pytest.importorskip("unpaid_csv")
    monkeypatch.setenv("UNPAID_LOAD_PLUGINS", "csv")
    (tmp_path / "orders.csv").write_text(CSV_ORDERS, encoding="utf-8")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "letter.txt").write_text("Subject: Order {{ order.number }}\n\nPay: {{ payment_link }}\n")

    def configure(config: str):
        (tmp_path / "unpaid.toml").write_text(config, encoding="utf-8")
        return tmp_path

    return configure
