from datetime import timedelta

import pytest

from unpaid.model import Status

NOW = "--now 2026-11-24T09:00:00Z"
ORDER_KEYS = {"id", "source", "native_id", "number", "status", "status_label", "native_status", "created_at",
              "updated_at", "paid_at", "customer", "items", "total", "paid", "manager", "payment_link",
              "cancel_reason", "extra"}


def ids(result):
    assert result.exit_code == 0, result.output
    return [row["id"] for row in result.json()]


def test_default_lists_actual_orders_newest_first_with_the_count_on_stderr(cli, seed, make):
    seed(make("1", age=timedelta(days=3)), make("2", age=timedelta(hours=2)),
         make("3", Status.PAID), make("4", Status.FALSE), make("5", Status.PAYMENT_WAITING, age=timedelta(days=9)))
    result = cli(f"{NOW} orders")
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].split() == ["id", "number", "created", "status", "customer", "product", "amount", "age"]
    assert [line.split()[0] for line in lines[2:]] == ["shop:2", "shop:1", "shop:5"]
    assert "2026-11-24 07:00" in lines[2] and "990.00 RUB" in lines[2] and lines[2].rstrip().endswith("2h")
    assert result.stderr == "3 orders (showing 1–3)\n"
    assert ids(cli(f"{NOW} orders --all --sort oldest --format json")) == [
        "shop:5", "shop:1", "shop:3", "shop:4", "shop:2"]


def test_json_rows_follow_the_documented_contract(cli, seed, make):
    seed(make("1", phone="8 999 123-45-67"))
    [row] = cli(f"{NOW} orders --format json").json()
    assert set(row) == ORDER_KEYS
    assert row["id"] == "shop:1" and isinstance(row["native_id"], str)
    assert row["created_at"] == "2026-11-23T09:00:00Z"
    assert row["customer"] == {"email": "anna@example.com", "phone": "8 999 123-45-67", "name": "Anna",
                               "key": "anna@example.com"}
    assert row["total"] == {"minor": 99000, "currency": "RUB"}
    assert row["items"] == [{"product_id": "course-1", "title": "Course-1", "quantity": 1,
                             "price": {"minor": 99000, "currency": "RUB"}}]
    jsonl = cli(f"{NOW} orders --format jsonl").stdout.splitlines()
    assert len(jsonl) == 1 and '"id":"shop:1"' in jsonl[0]
    csv_lines = cli(f"{NOW} orders --format csv").stdout.splitlines()
    assert "customer_email" in csv_lines[0] and "total_minor" in csv_lines[0]
    assert ",anna@example.com," in csv_lines[1] and ",99000,RUB," in csv_lines[1]


def test_filters(cli, seed, make):
    seed(make("1", age=timedelta(days=10), total=500000), make("2", Status.IN_WORK, age=timedelta(minutes=30)),
         make("3", Status.PAYMENT_WAITING, email="boris@example.com", product="book", age=timedelta(days=2)),
         make("4", Status.CANCELLED))
    assert ids(cli(f"{NOW} orders --older-than 7d --format json")) == ["shop:1"]
    assert ids(cli(f"{NOW} orders --newer-than 1h --format json")) == ["shop:2"]
    assert ids(cli(f"{NOW} orders --status 'Waiting for payment' --status in-work --format json")) == [
        "shop:2", "shop:3"]
    assert ids(cli(f"{NOW} orders --status cancelled --format json")) == ["shop:4"]
    assert ids(cli(f"{NOW} orders --customer boris --format json")) == ["shop:3"]
    assert ids(cli(f"{NOW} orders --product book --format json")) == ["shop:3"]
    assert ids(cli(f"{NOW} orders --source shop --sort amount --format json"))[0] == "shop:1"
    page = cli(f"{NOW} orders --limit 1 --page 2")
    assert [line.split()[0] for line in page.stdout.splitlines()[2:]] == ["shop:3"]
    assert page.stderr == "3 orders (showing 2–2)\n"


def test_bad_filters_are_one_line_and_exit_2(seed, make, usage_error):
    seed(make("1"))
    for args, expected in [
        ("orders --older-than 7x", "Error: --older-than: not a duration: '7x'"),
        ("orders --status bogus", "Error: --status: unknown status 'bogus'"),
        ("orders --source nope", "Error: unknown source 'nope'"),
    ]:
        usage_error(args, expected)


def test_an_empty_store_says_to_sync(cli, shop):
    result = cli(f"{NOW} orders")
    assert (result.exit_code, result.stdout) == (0, "")
    assert "0 orders — run `unpaid sync` first" in result.stderr


def test_show_card_flags_twins_and_duplicates_across_sources(cli, shop, make, tmp_path):
    from unpaid.testing.fakes import backend

    (tmp_path / "unpaid.toml").write_text('[sources.gc]\ntype = "memory"\n[sources.shop]\ntype = "memory"\n')
    shop.put(make("1", age=timedelta(days=2)), make("2", Status.IN_WORK), make("3", product="book"))
    backend("gc").put(make("1", Status.PAID, source="gc", email="ANNA@example.com"))
    assert cli(f"{NOW} sync").exit_code == 0
    card = cli(f"{NOW} show shop:1 --format json").json()
    assert set(card) == {"order", "related", "claim", "held", "history"}
    assert set(card["order"]) == ORDER_KEYS
    relations = {r["id"]: r["relation"] for r in card["related"]}
    assert relations == {"gc:1": "paid twin", "shop:2": "duplicate", "shop:3": None}
    assert card["claim"] is None and card["history"] == []

    table = cli(f"{NOW} show shop:1")
    assert table.exit_code == 0
    assert "shop:1  #N1" in table.stdout and "Other orders of this customer: 3" in table.stdout
    assert "paid twin" in table.stdout and "duplicate" in table.stdout


def test_show_finds_bare_ids_and_lists_ambiguous_ones(cli, shop, make, tmp_path):
    from unpaid.testing.fakes import backend

    (tmp_path / "unpaid.toml").write_text('[sources.gc]\ntype = "memory"\n[sources.shop]\ntype = "memory"\n')
    shop.put(make("1"), make("2"))
    backend("gc").put(make("1", source="gc"))
    cli(f"{NOW} sync")
    assert cli(f"{NOW} show 2 --format json").json()["order"]["id"] == "shop:2"
    assert cli(f"{NOW} show N2 --format json").json()["order"]["id"] == "shop:2"
    ambiguous = cli(f"{NOW} show 1")
    assert ambiguous.exit_code == 2
    assert ambiguous.stderr == "Error: '1' matches several orders: gc:1, shop:1 — name one as SOURCE:ID\n"
    missing = cli(f"{NOW} show shop:404")
    assert missing.exit_code == 2
    assert missing.stderr == "Error: no order shop:404 — run `unpaid orders` or `unpaid sync`\n"


def test_show_marks_automatic_history_and_the_claim_holder(cli, seed, make, shop, cli_db):
    from datetime import datetime, timezone

    from unpaid.store import Store

    seed(make("1"))
    shop.put(make("1", Status.PAYMENT_WAITING, age=timedelta(hours=1)))
    cli(f"{NOW} sync")
    with Store.open(cli_db) as store:
        at = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
        store.claims.try_claim("shop:1", "olga", at, at + timedelta(minutes=30))
    card = cli(f"{NOW} show shop:1 --format json").json()
    assert card["claim"]["manager"] == "olga"
    assert [(h["actor"], h["automatic"]) for h in card["history"]] == [("sync", True)]
    table = cli(f"{NOW} show shop:1").stdout
    assert "claimed by  olga until 2026-11-24 09:30" in table
    assert "auto" in table.split("History")[1]


@pytest.mark.sqlite_only("writes bytes that are not UTF-8 into the SQLite file")
def test_an_export_of_text_that_is_not_utf8_names_the_store_and_keeps_it(cli, seed, make, cli_db):
    import sqlite3

    seed(make("1"), make("2"))
    with sqlite3.connect(cli_db) as conn:  # a store edited by hand: SQLite keeps whatever bytes it is given
        conn.execute("UPDATE orders SET name = CAST(X'FF41' AS TEXT) WHERE native_id = '2'")
    for fmt in ("csv", "json", "jsonl"):
        result = cli(f"{NOW} orders --format {fmt}")
        assert result.exit_code == 2, result.output  # docs/exit-codes.md: an unreadable database
        assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
        assert f"{cli_db}: an order holds text that is not UTF-8" in result.stderr
        assert "restore it from a backup" in result.stderr
    with sqlite3.connect(cli_db) as conn:  # nothing was written or lost
        assert conn.execute("SELECT COUNT(*) FROM orders").fetchone()[0] == 2
