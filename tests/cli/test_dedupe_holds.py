"""`unpaid dedupe` on a real store: purchases within same_product_within, the order a playbook holds, holds."""

from datetime import datetime, timedelta, timezone

from unpaid.model import Status
from unpaid.store import Store
from unpaid.testing.fakes import backend

T = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
PLAYBOOK = """
[sources.shop]
type = "memory"

[channels.email]
type = "outbox"
path = "outbox"

[playbooks.reminders]
segment = { min_age = "1h", has_email = true }
channel = "email"
enter_within = "7d"

[[playbooks.reminders.steps]]
name = "first"
action = "send"
template = "first"

[[playbooks.reminders.steps]]
name = "second"
action = "send"
template = "second"
after = "3d"
"""


def at(t: datetime, *args: str) -> list[str]:
    return ["--now", t.isoformat(), *args]


def rows(result) -> list[tuple[str, str, str]]:
    assert result.exit_code == 0, result.output
    return [(r["id"], r["action"], r["reason"]) for r in result.json()]


def configure(tmp_path, text: str) -> None:
    (tmp_path / "unpaid.toml").write_text(text, encoding="utf-8")
    (tmp_path / "templates").mkdir(exist_ok=True)
    for name in ("first", "second"):
        (tmp_path / "templates" / f"{name}.txt").write_text(f"Subject: {name} {{{{ order.number }}}}\n\nPay.\n")


def letters(tmp_path) -> list[tuple[str, str]]:
    import json

    folder = tmp_path / "outbox"
    found = [json.loads(p.read_text()) for p in folder.glob("*.json")] if folder.is_dir() else []
    return sorted((m["order_id"], m["data"]["step"]) for m in found)


def test_after_apply_the_order_in_the_playbook_stays_and_no_first_letter_goes_out_again(cli, shop, make, tmp_path):
    configure(tmp_path, PLAYBOOK)
    shop.put(make("1", age=timedelta(days=3)))
    assert cli(at(T - timedelta(days=3), "sync")).exit_code == 0
    assert cli(at(T - timedelta(days=3) + timedelta(hours=2), "run")).exit_code == 0
    assert letters(tmp_path) == [("shop:1", "first")]
    # The customer orders the same course again; the playbook keeps its chain on the first order.
    shop.put(make("2", age=timedelta(days=1)))
    assert cli(at(T, "sync")).exit_code == 0
    assert rows(cli(at(T, "dedupe", "--format", "json"))) == [
        ("shop:2", "false", "duplicate of shop:1 (kept the one in playbook reminders)"),
        ("shop:1", "keep", "kept: in playbook reminders since 2026-11-21 10:00 of 2 actual orders"),
    ]
    applied = cli(at(T, "dedupe", "--apply", "--format", "json"))
    assert applied.exit_code == 0, applied.output
    assert "marked 1 order False (2 orders looked at: 1 to mark False, 1 kept, 0 skipped)" in applied.stderr
    assert (shop.orders["1"].status, shop.orders["2"].status) == (Status.NEW, Status.FALSE)
    for hours in (1, 2, 26):
        assert cli(at(T + timedelta(hours=hours), "run")).exit_code == 0
    assert letters(tmp_path) == [("shop:1", "first"), ("shop:1", "second")]


def test_a_renewal_after_the_window_is_left_alone_and_a_refund_is_no_twin(cli, shop, make, tmp_path):
    configure(tmp_path, PLAYBOOK)
    shop.put(make("1", Status.PAID, age=timedelta(days=20), product="club"), make("2", product="club"),
             make("3", Status.REFUNDED, age=timedelta(days=2)), make("4"),
             make("5", age=timedelta(days=40), product="book"), make("6", age=timedelta(hours=2), product="book"))
    assert cli(at(T, "sync")).exit_code == 0
    # 30 days by default: last month's club payment covers the new order; the book orders 40 days apart do not
    assert rows(cli(at(T, "dedupe", "--format", "json"))) == [("shop:2", "false", "paid twin shop:1")]
    configure(tmp_path, 'same_product_within = "14d"\n' + PLAYBOOK)
    result = cli(at(T, "dedupe", "--format", "json"))
    assert rows(result) == []
    assert result.stderr == "nothing to mark False (0 orders looked at: 0 to mark False, 0 kept, 0 skipped)\n"
    shown = cli(at(T, "show", "shop:2", "--format", "json")).json()
    assert {r["id"]: r["relation"] for r in shown["related"]}["shop:1"] is None


def test_a_bad_same_product_within_is_exit_2_naming_the_key(cli, shop, tmp_path):
    for value in ('"soon"', '"0d"', "30", '"-3d"'):
        configure(tmp_path, f"same_product_within = {value}\n" + PLAYBOOK)
        result = cli(at(T, "dedupe"))
        assert result.exit_code == 2, (value, result.output)
        [line] = result.stderr.splitlines()
        assert line.startswith("Error: ") and "`same_product_within`" in line and 'same_product_within = "30d"' in line


def _held_and_promised(cli, shop, make, tmp_path):
    """shop:1 and shop:2 duplicates of the newest shop:3; anna holds shop:1, the customer promised to pay shop:2."""
    configure(tmp_path, PLAYBOOK)
    shop.put(make("1", age=timedelta(days=3)), make("2", age=timedelta(days=2)), make("3"))
    assert cli(at(T, "sync")).exit_code == 0
    for args in (["take", "shop:2", "--manager", "anna"],
                 ["outcome", "shop:2", "promised", "--on", "2026-11-26", "--manager", "anna"],
                 ["take", "shop:1", "--manager", "anna"]):
        result = cli(at(T, *args))
        assert result.exit_code == 0, result.output
    assert (shop.orders["1"].status, shop.orders["2"].status) == (Status.IN_WORK, Status.PAYMENT_WAITING)


def test_orders_a_manager_holds_or_with_a_promise_are_skipped_without_force(cli, shop, make, tmp_path):
    _held_and_promised(cli, shop, make, tmp_path)
    result = cli(at(T, "dedupe", "--apply", "--format", "json"))
    assert rows(result) == [
        ("shop:3", "keep", "kept the newest of 3 actual orders"),
        ("shop:2", "skip", "promised to pay on 2026-11-26: left alone — duplicate of shop:3 (kept the newest); "
                           "--force marks it False"),
        ("shop:1", "skip", "a manager (anna) holds it until 2026-11-24 11:00: left alone — duplicate of shop:3 "
                           "(kept the newest); --force marks it False"),
    ]
    assert result.stderr == "marked 0 orders False (3 orders looked at: 0 to mark False, 1 kept, 2 skipped)\n"
    assert (shop.orders["1"].status, shop.orders["2"].status) == (Status.IN_WORK, Status.PAYMENT_WAITING)
    # The promised day passed unpaid: the order still waits for payment since the promise, so it stays.
    later = rows(cli(at(T + timedelta(days=3), "dedupe", "--format", "json")))
    assert later[1] == ("shop:2", "skip", "waiting for payment since a promise to pay on 2026-11-26: left alone — "
                                          "duplicate of shop:3 (kept the newest); --force marks it False")
    assert later[2][1] == "false"  # anna's lease ran out


def test_force_marks_them_false_with_a_warning_line_each(cli, shop, make, tmp_path, cli_db):
    _held_and_promised(cli, shop, make, tmp_path)
    dry = cli(at(T, "dedupe", "--force", "--format", "json"))
    assert [(r["id"], r["action"]) for r in dry.json()] == [("shop:3", "keep"), ("shop:2", "false"), ("shop:1", "false")]
    assert dry.stderr.count("Warning: ") == 2 and shop.orders["1"].status is Status.IN_WORK
    result = cli(at(T, "dedupe", "--apply", "--force", "--format", "json"))
    assert result.exit_code == 0, result.output
    assert [(r["id"], r["action"], r["warning"], r["result"]) for r in result.json()] == [
        ("shop:3", "keep", None, None),
        ("shop:2", "false", "False although promised to pay on 2026-11-26 (--force)", "done"),
        ("shop:1", "false", "False although a manager (anna) holds it until 2026-11-24 11:00 (--force)",
         "done"),
    ]
    assert result.stderr.splitlines() == [
        "Warning: shop:2: False although promised to pay on 2026-11-26 (--force)",
        "Warning: shop:1: False although a manager (anna) holds it until 2026-11-24 11:00 (--force)",
        "marked 2 orders False (3 orders looked at: 2 to mark False, 1 kept, 0 skipped)",
    ]
    assert (shop.orders["1"].status, shop.orders["2"].status) == (Status.FALSE, Status.FALSE)
    with Store.open(cli_db) as store:
        [entry] = [e for e in store.history.for_order("shop:1") if e.kind == "dedupe"]
        assert entry.data["forced"] == "False although a manager (anna) holds it until 2026-11-24 11:00 (--force)"
    assert backend("shop").orders["3"].status is Status.NEW


def test_the_desk_card_warns_when_the_customer_already_paid_for_the_product(cli, shop, make, tmp_path):
    configure(tmp_path, 'same_product_within = "14d"\n' + PLAYBOOK)
    shop.put(make("1", Status.PAID, age=timedelta(days=3)), make("2"),
             make("3", Status.PAID, age=timedelta(days=20), product="club"), make("4", product="club"))
    assert cli(at(T, "sync")).exit_code == 0
    card = cli(at(T, "take", "shop:2", "--manager", "anna"))
    assert card.exit_code == 0, card.output
    assert "warning       the customer already paid for this product: shop:1" in card.stdout
    renewal = cli(at(T, "take", "shop:4", "--manager", "anna", "--format", "json")).json()
    assert renewal["paid_twin"] is None and renewal["warnings"] == []  # paid 20 days ago: a new purchase


def test_a_playbook_takes_in_a_renewal_but_not_an_order_paid_within_the_window(cli, shop, make, tmp_path):
    configure(tmp_path, PLAYBOOK)
    club, course, book = ({"email": f"{who}@example.com", "product": product} for who, product in (
        ("anna", "club"), ("boris", "course"), ("vera", "book")))  # one customer each: one letter a day
    shop.put(make("1", Status.PAID, age=timedelta(days=40), **club), make("2", age=timedelta(hours=2), **club),
             make("3", Status.PAID, age=timedelta(days=10), **course), make("4", age=timedelta(hours=2), **course),
             make("5", Status.REFUNDED, age=timedelta(days=5), **book), make("6", age=timedelta(hours=2), **book))
    assert cli(at(T, "sync")).exit_code == 0
    assert cli(at(T, "run")).exit_code == 0
    assert letters(tmp_path) == [("shop:2", "first"), ("shop:6", "first")]  # shop:4's course was paid 10 days ago
