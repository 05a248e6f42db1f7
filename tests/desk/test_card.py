"""The card `take` and `next` print: a warning for a product the customer already paid for, and who the
order's manager is now — at the source too when its connector can set it, said on the card either way."""

from dataclasses import replace
from datetime import timedelta

from unpaid.model import Status
from tests.desk.conftest import NOW, make_order

DUE = NOW - timedelta(hours=1)
NOTE = "anna is the order's manager here and at the source"


def test_the_card_warns_of_a_paid_twin_in_json_and_in_the_table(desk):
    paid = make_order("9", status=Status.PAID, age=timedelta(days=20))
    paid = replace(paid, paid_at=NOW - timedelta(days=19))
    desk.add(paid)
    desk.add(make_order("1"), task_due=DUE)
    card = desk("next -m anna", fmt="json").json()
    assert card["order_id"] == "shop:1"
    assert card["warnings"] == ["the customer already paid for this product: shop:9 (paid 2026-11-05 09:00) — ask "
                                "before you offer; if this order repeats that one, record `duplicate`"]
    assert card["notes"] == [NOTE] and card["manager"] == "anna"
    desk("release shop:1 -m anna")
    lines = desk("take shop:1 -m anna").stdout.splitlines()
    assert lines[0].startswith("warning       the customer already paid for this product: shop:9 (paid 2026-11-05")
    assert lines[-1] == f"note          {NOTE}"


def test_no_warning_without_a_paid_twin_and_the_manager_is_on_the_stored_order(desk):
    other_product = make_order("8", status=Status.PAID)
    other_product = replace(other_product, items=())
    desk.add(other_product, make_order("7", status=Status.CANCELLED))
    desk.add(make_order("1"), task_due=DUE)
    card = desk("take shop:1 -m anna", fmt="json").json()
    assert card["warnings"] == []
    assert "warning" not in desk("take shop:1 -m anna").stdout
    assert desk.order("shop:1").manager == "anna" and desk.source.orders["1"].manager == "anna"
    with desk.store() as store:
        [claim] = [e for e in store.history.for_order("shop:1") if e.kind == "claim"]
    assert claim.data["manager_at_source"] is True


def test_a_source_that_refuses_the_manager_does_not_stop_the_take_and_the_card_says_so(desk):
    from unpaid.connector import InvalidData

    desk.add(make_order("1", status=Status.IN_WORK), task_due=DUE)
    desk.source.fail_next(InvalidData("shop", "orders.csv has no manager column to write to"))
    result = desk("take shop:1 -m anna", fmt="json")
    card = result.json()
    assert card["order_id"] == "shop:1" and card["manager"] == "anna"
    assert card["notes"] == ["anna is the order's manager in unpaid only: the manager field at the source was not "
                             "changed (the source refused: shop: orders.csv has no manager column to write to)"]
    assert "the manager was not set at the source" in result.stderr
    assert desk.source.orders["1"].manager is None
