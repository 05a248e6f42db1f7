"""orders, show, status, sync and dedupe in Russian and Ukrainian; JSON, JSONL and CSV stay English."""

from datetime import datetime, timedelta, timezone

import pytest

from tests.cli.conftest import shop  # noqa: F401 (the fixture: source ``shop`` of type ``memory``)
from unpaid.model import Customer, LineItem, Money, Order, Status

NOW = "--now 2026-11-24T09:00:00Z"
T_NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
RU, UK, EN = {"UNPAID_LANG": "ru"}, {"UNPAID_LANG": "uk"}, {"UNPAID_LANG": "en"}


def order(native_id: str, status: Status = Status.PAYMENT_WAITING, *, age: timedelta = timedelta(days=1),
          email: str | None = "anna@example.com", product: str = "course-1", total: int = 1_290_000,
          source: str = "shop", currency: str = "RUB") -> Order:
    items = (LineItem(product, product.title(), 1, Money(total, currency)),)
    return Order(source, native_id, status, T_NOW - age, Money(total, currency), Customer(email, None, "Anna"),
                 items, number=f"N{native_id}", native_status=status.value)


def synced(cli, shop, *orders: Order, env=None):
    shop.put(*orders)
    result = cli(f"{NOW} sync", env=env)
    assert result.exit_code == 0, result.output
    return result


@pytest.mark.parametrize("n, ru, uk", [
    (1, "shop: 1 заказ", "shop: 1 замовлення"),
    (2, "shop: 2 заказа", "shop: 2 замовлення"),
    (5, "shop: 5 заказов", "shop: 5 замовлень"),
    (21, "shop: 21 заказ", "shop: 21 замовлення"),
])
def test_sync_counts_orders_in_the_language_s_plural_forms(cli, shop, tmp_path, n, ru, uk):
    shop.put(*(order(str(i), email=f"c{i}@example.com") for i in range(n)))
    assert cli(f"{NOW} sync", env=RU).stderr.splitlines()[0] == ru
    (tmp_path / "unpaid.toml").write_text('language = "uk"\n\n[sources.shop]\ntype = "memory"\n', encoding="utf-8")
    assert cli(f"{NOW} sync --full").stderr.splitlines()[0] == uk
    (tmp_path / "unpaid.toml").write_text('[sources.shop]\ntype = "memory"\n', encoding="utf-8")
    assert cli(f"{NOW} sync --full", env=EN).stderr.splitlines()[0] == f"shop: {n} order" + ("" if n == 1 else "s")


def test_sync_status_changes_are_counted_and_paid_ones_named(cli, shop):
    synced(cli, shop, order("1"), order("2"))
    shop.put(order("1", Status.PAID), order("2", Status.CANCELLED))
    assert cli(f"{NOW} sync --full", env=RU).stderr == "shop: 2 заказа, 2 смены статуса, впервые оплачено: 1\n"
    shop.put(order("1", Status.REFUNDED))
    assert cli(f"{NOW} sync --full", env=UK).stderr == "shop: 2 замовлення, 1 зміна статусу\n"


def test_orders_lists_status_labels_money_and_ages_in_the_language(cli, shop):
    synced(cli, shop, order("1", age=timedelta(days=2, hours=3)))
    ru = cli(f"{NOW} orders", env=RU)
    assert ru.exit_code == 0, ru.output
    assert ru.stdout.splitlines()[0].split()[:4] == ["id", "номер", "создан", "статус"]
    assert "Ожидаем оплаты" in ru.stdout and "12 900,00 ₽" in ru.stdout and "2 д 3 ч" in ru.stdout
    assert ru.stderr == "1 заказ (показаны 1–1)\n"
    uk = cli(f"{NOW} orders", env=UK)
    assert "Очікуємо оплату" in uk.stdout and "2 д 3 год" in uk.stdout
    assert uk.stderr == "1 замовлення (показано 1–1)\n"


def test_orders_in_hryvnias_and_an_empty_store(cli, shop, tmp_path):
    assert cli(f"{NOW} orders", env=RU).stderr == "0 заказов — сначала запустите `unpaid sync`\n"
    synced(cli, shop, *(order(str(i), currency="UAH", email=f"c{i}@example.com") for i in range(5)))
    uk = cli(f"{NOW} orders", env=UK)
    assert "12 900,00 грн" in uk.stdout and uk.stderr == "5 замовлень (показано 1–5)\n"
    assert cli(f"{NOW} orders --limit 2", env=RU).stderr == "5 заказов (показаны 1–2)\n"


def test_show_card_in_russian_and_ukrainian(cli, shop):
    synced(cli, shop, order("1", age=timedelta(hours=5)), order("2", Status.PAID, age=timedelta(hours=2)))
    ru = cli(f"{NOW} show shop:1", env=RU)
    assert ru.exit_code == 0, ru.output
    lines = ru.stdout.splitlines()
    assert lines[0].split() == ["заказ", "shop:1", "#N1"]
    assert any(line.startswith("статус") and "Ожидаем оплаты" in line for line in lines)
    assert any("(5 ч назад)" in line for line in lines)
    assert any(line.startswith("сумма") and line.endswith("12 900,00 ₽") for line in lines)
    assert "Другие заказы клиента: 1" in ru.stdout and "оплаченный дубль" in ru.stdout and "Завершен" in ru.stdout
    assert "История: пусто" in ru.stdout
    uk = cli(f"{NOW} show shop:1", env=UK)
    assert uk.stdout.splitlines()[0].split() == ["замовлення", "shop:1", "#N1"]
    assert "Очікуємо оплату" in uk.stdout and "(5 год тому)" in uk.stdout
    assert "Інші замовлення клієнта: 1" in uk.stdout and "оплачений дубль" in uk.stdout
    assert "Історія: порожньо" in uk.stdout


def test_status_change_and_its_history_in_the_language(cli, shop):
    synced(cli, shop, order("1"))
    ru = cli(f"{NOW} status shop:1 in_work", env=RU)
    assert ru.exit_code == 0, ru.output
    assert ru.stdout == "shop:1: Ожидаем оплаты → В работе\n"
    assert cli(f"{NOW} status shop:1 in_work", env=UK).stderr == "shop:1 уже в статусі «В роботі»; робити нічого\n"
    shop.put(order("1", Status.PAID))
    assert cli(f"{NOW} sync --full").exit_code == 0
    card = cli(f"{NOW} show shop:1", env=UK).stdout
    assert "статус змінено в джерелі: В роботі → Завершено" in card
    bad = cli(f"{NOW} status shop:1 nonsense", env=RU)
    assert bad.exit_code == 2 and "неизвестный статус 'nonsense'" in bad.stderr
    assert "подойдут и названия, например «Ожидаем оплаты» или Отменен" in bad.stderr


def test_status_takes_the_label_people_read(cli, shop):
    synced(cli, shop, order("1"), order("2", email="b@example.com"))
    ru = cli([*NOW.split(), "status", "shop:1", "в работе"], env=RU)
    assert (ru.exit_code, ru.stdout) == (0, "shop:1: Ожидаем оплаты → В работе\n")
    uk = cli([*NOW.split(), "status", "shop:2", "Не підтверджено"], env=UK)
    assert (uk.exit_code, uk.stdout) == (0, "shop:2: Очікуємо оплату → Не підтверджено\n")


def _dupes(n: int) -> list[Order]:
    """``n`` unpaid orders of one customer and product within a day: one kept, the others False."""
    return [order(str(i), age=timedelta(minutes=10 * (i + 1))) for i in range(n)]


@pytest.mark.parametrize("n, ru, uk", [
    (2, "просмотрено 2 заказа: пометить ложными — 1, оставить — 1, пропустить — 0",
     "переглянуто 2 замовлення: позначити хибними — 1, залишити — 1, пропустити — 0"),
    (5, "просмотрено 5 заказов: пометить ложными — 4, оставить — 1, пропустить — 0",
     "переглянуто 5 замовлень: позначити хибними — 4, залишити — 1, пропустити — 0"),
    (21, "просмотрен 21 заказ: пометить ложными — 20, оставить — 1, пропустить — 0",
     "переглянуто 21 замовлення: позначити хибними — 20, залишити — 1, пропустити — 0"),
])
def test_dedupe_decisions_and_counts_in_the_language(cli, shop, n, ru, uk):
    synced(cli, shop, *_dupes(n))
    dry = cli(f"{NOW} dedupe", env=RU)
    assert dry.exit_code == 0, dry.output
    assert dry.stderr == f"{ru} — чтобы применить, запустите `unpaid dedupe --apply`\n"
    assert dry.stdout.splitlines()[0].split()[:2] == ["заказ", "статус"]
    assert f"оставлен самый новый из {n} актуальных заказов" in dry.stdout
    assert "дубль shop:0 (оставлен самый новый)" in dry.stdout and "ложный" in dry.stdout
    applied = cli(f"{NOW} dedupe --apply", env=UK)
    assert applied.exit_code == 0, applied.output
    marked = {2: "хибним позначено 1 замовлення", 5: "хибними позначено 4 замовлення",
              21: "хибними позначено 20 замовлень"}[n]
    assert applied.stderr == f"{marked} ({uk})\n"
    assert "готово" in applied.stdout


def test_dedupe_one_order_looked_at(cli, shop):
    synced(cli, shop, order("1", email=None))
    result = cli(f"{NOW} dedupe", env=RU)
    assert result.stderr == ("помечать ложными нечего (просмотрен 1 заказ: пометить ложными — 0, оставить — 0, "
                             "пропустить — 1)\n")
    assert "нет e-mail или телефона клиента: искать дубли нельзя" in result.stdout


@pytest.mark.parametrize("args", [
    "orders --format json", "orders --format jsonl", "orders --format csv", "orders --all --format csv",
    "show shop:1 --format json", "dedupe --format json", "dedupe --format jsonl", "dedupe --format csv",
    "sync --format json", "--format json orders",
])
def test_machine_formats_stay_english_and_identical(cli, shop, args):
    synced(cli, shop, *_dupes(3), order("9", Status.PAID, product="book", email="b@example.com"))
    english = cli(f"{NOW} {args}", env=EN)
    assert english.exit_code == 0, english.output
    for env in (RU, UK):
        other = cli(f"{NOW} {args}", env=env)
        assert (other.exit_code, other.stdout) == (0, english.stdout)
    assert "Waiting for payment" in english.stdout or "sync" in args


def test_history_notes_sync_stored_in_english_read_in_the_language():
    from zoneinfo import ZoneInfo

    from unpaid.cli.order_view import history_text
    from unpaid.i18n import speaking

    stored = "status set: Waiting for payment → Cancelled (removed from the source since 2026-11-20 09:00 UTC)"
    with speaking("ru"):
        assert history_text(stored, ZoneInfo("Europe/Moscow")) == (
            "статус изменён: Ожидаем оплаты → Отменен (удалён из источника с 2026-11-20 12:00)")
        assert history_text("no longer found at the source") == "больше не найден в источнике"
    with speaking("uk"):
        assert history_text("found at the source again") == "знову знайдено в джерелі"
        assert history_text("a note a manager wrote") == "a note a manager wrote"
    with speaking("en"):
        assert history_text(stored) == stored
