from dataclasses import replace
from datetime import timedelta

from unpaid.connector import Capability, Temporary
from unpaid.model import Status
from unpaid.store import Store
from unpaid.testing.fakes import SPEC

NOW = "--now 2026-11-24T09:00:00Z"


def stored(db, order_id="shop:1"):
    with Store.open(db) as store:
        return (store.orders.get(order_id), store.history.for_order(order_id), store.ledger.for_order(order_id))


def test_cancel_pushes_to_the_source_then_records_it(cli, seed, make, shop, cli_db):
    seed(make("1"))
    result = cli(f"{NOW} status shop:1 Cancelled --reason 'too expensive'", env={"UNPAID_ACTOR": "anna"})
    assert result.exit_code == 0, result.output
    assert result.stdout == "shop:1: New → Cancelled (Too expensive)\n"
    assert shop.orders["1"].status is Status.CANCELLED and shop.orders["1"].cancel_reason == "Too expensive"
    order, history, ledger = stored(cli_db)
    assert (order.status, order.cancel_reason) == (Status.CANCELLED, "Too expensive")
    assert [(h.actor, h.kind, h.data["to"], h.data["reason"]) for h in history] == [
        ("user:anna", "status", "cancelled", "Too expensive")]
    assert [(e.key, e.state) for e in ledger] == [("shop:1|manual|status:cancelled|0", "done")]
    assert "Cancelled" not in cli(f"{NOW} orders").stdout  # finished: gone from the default list


def test_labels_free_reasons_and_a_no_op(cli, seed, make, shop, cli_db):
    seed(make("1"))
    assert cli(f"{NOW} status 1 'waiting for payment'").exit_code == 0
    assert cli(f"{NOW} status N1 cancelled --reason-text 'found it cheaper'").exit_code == 0
    assert shop.orders["1"].cancel_reason == "found it cheaper"
    again = cli(f"{NOW} status shop:1 canceled --reason-text whatever")
    assert (again.exit_code, again.stdout) == (0, "")
    assert "already Cancelled; nothing to do" in again.stderr
    _, history, ledger = stored(cli_db)
    assert len(history) == 2 and len(ledger) == 2


def test_bad_input_changes_nothing(seed, make, shop, cli_db, usage_error):
    seed(make("1"))
    for args, expected in [
        ("status shop:1 paid-ish", "Error: STATUS: unknown status 'paid-ish'"),
        ("status shop:1 cancelled", "Error: cancelling an order needs a reason — add --reason with one of: "
                                    "Too expensive, Changed mind"),
        ("status shop:1 cancelled --reason bored", "Error: --reason 'bored' is not one of the cancel reasons in "
                                                   "the config — use one of: Too expensive, Changed mind, Bought "
                                                   "elsewhere, No money now, Created by mistake, Not reachable, "
                                                   "Expired — or --reason-text TEXT for another"),
        ("status shop:404 false", "Error: no order shop:404 — run `unpaid orders` or `unpaid sync`"),
        ("status shop:1 cancelled --reason-text '\udcff'", "Error: --reason-text holds bytes that are not UTF-8 "
                                                          "text — type it again in a UTF-8 terminal"),
        ("status shop:1 cancelled --reason 'Too expensive\r'", "Error: --reason holds the control character U+000D"),
        ("optout anna@example.com --reason 'spam\x00'", "Error: --reason holds the control character U+0000"),
    ]:
        usage_error(args, expected)
    order, history, ledger = stored(cli_db)
    assert order.status is Status.NEW and history == [] and ledger == []
    assert not any(call[0] == "push_status" for call in shop.calls)


def test_source_failure_exits_3_and_changes_nothing_locally(cli, seed, make, shop, cli_db):
    seed(make("1"))
    shop.fail_next(Temporary("shop", "connection reset by peer"))
    result = cli(f"{NOW} status shop:1 false")
    assert result.exit_code == 3
    assert result.stderr == "Error: shop: connection reset by peer\n"
    order, history, ledger = stored(cli_db)
    assert order.status is Status.NEW and history == []
    assert [(e.state, e.error) for e in ledger] == [("failed", "shop: connection reset by peer")]


def test_a_source_that_cannot_push_is_a_clear_error(cli, seed, make, shop, cli_db, monkeypatch):
    seed(make("1"))
    # Connectors built from now on declare no push_status.
    monkeypatch.setattr("unpaid.testing.fakes.SPEC",
                        replace(SPEC, capabilities=SPEC.capabilities - {Capability.PUSH_STATUS}))
    result = cli(f"{NOW} status shop:1 false")
    assert result.exit_code == 2
    assert result.stderr.startswith("Error: shop: this source cannot change statuses — ")
    order, history, ledger = stored(cli_db)
    assert order.status is Status.NEW and history == [] and ledger == []
    assert not any(call[0] == "push_status" for call in shop.calls)


def test_an_order_paid_meanwhile_is_not_cancelled(cli, seed, make, shop, cli_db):
    seed(make("1"))
    shop.put(make("1", Status.PAID, age=timedelta(minutes=5)))
    result = cli(f"{NOW} status shop:1 cancelled --reason 'Changed mind'")
    assert result.exit_code == 1
    assert "changed at the source since the last sync (New → Completed); nothing was pushed" in result.stderr
    assert shop.orders["1"].status is Status.PAID
    order, history, ledger = stored(cli_db)
    assert order.status is Status.PAID and [h.actor for h in history] == ["sync"]
    assert [e.state for e in ledger] == ["skipped"]


def test_config_cancel_reasons_are_used(cli, seed, make, shop, tmp_path):
    seed(make("1"))
    config = tmp_path / "unpaid.toml"
    config.write_text('cancel_reasons = ["Дорого", "Передумал"]\n' + config.read_text(), encoding="utf-8")
    bad = cli(f"{NOW} status shop:1 cancelled --reason 'Too expensive'")
    assert bad.exit_code == 2 and "use one of: Дорого, Передумал" in bad.stderr
    assert cli(f"{NOW} status shop:1 cancelled --reason дорого").exit_code == 0
    assert shop.orders["1"].cancel_reason == "Дорого"
