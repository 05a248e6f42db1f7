from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest

from unpaid.actions import LEASE, StatusChange, change_status, change_statuses, resolve_reason
from unpaid.connector import Capability, NotSupported, Temporary
from unpaid.errors import ConflictError, InputError
from unpaid.model import Customer, LineItem, Money, Order, Status
from unpaid.store.ledger import CLAIMED, DONE, FAILED, SKIPPED, UNCERTAIN
from unpaid.testing.fakes import BACKENDS, SPEC, InMemoryConnector, backend

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
REASONS = ("Too expensive", "Changed mind")


@pytest.fixture
def shop(tmp_store):
    """One NEW order, both in the fake source and in the store."""
    BACKENDS.clear()
    order = Order("shop", "1", Status.NEW, NOW - timedelta(days=1), Money(99000), Customer("a@example.com"),
                  (LineItem("course"),), native_status="new")
    backend("shop").put(order)
    with tmp_store.transaction():
        tmp_store.orders.upsert([order], NOW)
    yield tmp_store, InMemoryConnector("shop", {}), order
    BACKENDS.clear()


def test_change_is_pushed_then_recorded_in_store_history_and_ledger(shop):
    store, connector, order = shop
    outcome = change_status(store, connector, order, Status.CANCELLED, actor="user:anna", now=NOW,
                            reason="Too expensive", command="unpaid status shop:1 cancelled")
    assert outcome.changed and outcome.ledger_key == "shop:1|manual|status:cancelled|0"
    assert backend("shop").orders["1"].status is Status.CANCELLED
    assert ("push_status", ("1", "cancelled", "Too expensive")) in backend("shop").calls
    stored = store.orders.get("shop:1")
    assert (stored.status, stored.cancel_reason) == (Status.CANCELLED, "Too expensive")
    [entry] = store.history.for_order("shop:1")
    assert (entry.actor, entry.kind, entry.command) == ("user:anna", "status", "unpaid status shop:1 cancelled")
    assert entry.data == {"from": "new", "to": "cancelled", "reason": "Too expensive"}
    assert store.ledger.get(outcome.ledger_key).state == DONE

    # A later change of the same kind gets the next repeat number, so reports count both.
    again = change_status(store, connector, store.orders.get("shop:1"), Status.NEW, actor="user:anna", now=NOW)
    back = change_status(store, connector, store.orders.get("shop:1"), Status.CANCELLED, actor="user:anna",
                         now=NOW, reason="Changed mind")
    assert again.changed and back.ledger_key == "shop:1|manual|status:cancelled|1"


def test_same_status_is_a_no_op_that_touches_nothing(shop):
    store, connector, order = shop
    outcome = change_status(store, connector, order, Status.NEW, actor="user:anna", now=NOW)
    assert not outcome.changed and "already New" in outcome.note
    assert backend("shop").calls == [] and store.ledger.for_order("shop:1") == []


def test_a_source_that_cannot_push_changes_nothing(shop):
    store, connector, order = shop
    connector.spec = replace(SPEC, capabilities=frozenset({Capability.FETCH}))
    with pytest.raises(NotSupported):
        change_status(store, connector, order, Status.FALSE, actor="user:anna", now=NOW)
    assert store.ledger.for_order("shop:1") == [] and store.history.for_order("shop:1") == []
    assert store.orders.get("shop:1").status is Status.NEW and backend("shop").calls == []


def test_source_failure_leaves_the_store_alone_and_the_ledger_failed(shop):
    store, connector, order = shop
    backend("shop").fail_next(Temporary("shop", "connection reset"))
    with pytest.raises(Temporary):
        change_status(store, connector, order, Status.FALSE, actor="user:anna", now=NOW)
    assert store.orders.get("shop:1").status is Status.NEW
    assert store.history.for_order("shop:1") == []
    [entry] = store.ledger.for_order("shop:1")
    assert entry.state == FAILED and "connection reset" in entry.error


def test_an_order_paid_at_the_source_meanwhile_is_not_pushed(shop):
    store, connector, order = shop
    backend("shop").put(replace(order, status=Status.PAID, native_status="paid", updated_at=NOW))
    with pytest.raises(ConflictError, match="changed at the source"):
        change_status(store, connector, order, Status.FALSE, actor="user:anna", now=NOW)
    assert backend("shop").orders["1"].status is Status.PAID
    assert not any(call[0] == "push_status" for call in backend("shop").calls)
    assert store.orders.get("shop:1").status is Status.PAID
    assert [(e.actor, e.data) for e in store.history.for_order("shop:1")] == [("sync", {"from": "new", "to": "paid"})]
    assert store.ledger.for_order("shop:1")[0].state == SKIPPED


def test_already_in_the_target_status_at_the_source_just_updates_the_store(shop):
    store, connector, order = shop
    backend("shop").put(replace(order, status=Status.FALSE, updated_at=NOW))
    outcome = change_status(store, connector, order, Status.FALSE, actor="user:anna", now=NOW)
    assert not outcome.changed and "already False at the source" in outcome.note
    assert store.orders.get("shop:1").status is Status.FALSE


class CrashAfterPush(InMemoryConnector):
    def push_status(self, native_id, status, reason=None):
        super().push_status(native_id, status, reason)
        raise KeyboardInterrupt  # the process dies between the push and the record


def test_a_crash_between_push_and_record_is_visible_in_the_ledger(shop):
    store, _, order = shop
    with pytest.raises(KeyboardInterrupt):
        change_status(store, CrashAfterPush("shop", {}), order, Status.FALSE, actor="user:anna", now=NOW)
    [entry] = store.ledger.for_order("shop:1")
    assert entry.state == CLAIMED
    assert store.ledger.expire_leases(NOW + LEASE) == [entry.key]
    assert store.ledger.get(entry.key).state == UNCERTAIN


def test_resolve_reason():
    assert resolve_reason(Status.CANCELLED, "too EXPENSIVE", None, REASONS) == "Too expensive"
    assert resolve_reason(Status.CANCELLED, None, " found it cheaper ", REASONS) == "found it cheaper"
    assert resolve_reason(Status.FALSE, None, None, REASONS) is None
    with pytest.raises(InputError, match="needs a reason") as exc:
        resolve_reason(Status.CANCELLED, None, None, REASONS)
    assert "Too expensive, Changed mind" in exc.value.fix
    with pytest.raises(InputError, match="not one of the cancel reasons"):
        resolve_reason(Status.CANCELLED, "bored", None, REASONS)
    with pytest.raises(InputError, match="not both"):
        resolve_reason(Status.CANCELLED, "Changed mind", "x", REASONS)


class BrokenBatch(InMemoryConnector):
    def push_statuses(self, changes):
        raise RuntimeError("plugin bug")


def test_a_batch_settles_each_order_and_a_plugin_bug_in_the_push_leaves_them_uncertain(shop):
    store, connector, first = shop
    orders = [first] + [replace(first, native_id=n, status=s, native_status=s.value) for n, s in
                        (("2", Status.NEW), ("3", Status.NEW), ("4", Status.FALSE))]
    backend("shop").put(*orders[1:])
    backend("shop").put(replace(orders[2], status=Status.PAID, updated_at=NOW))  # paid at the source meanwhile
    with store.transaction():
        store.orders.upsert(orders[1:], NOW)
    changes = [StatusChange(o, "twin", {"twin": "x"}) for o in orders]
    results = change_statuses(store, connector, changes, Status.FALSE, actor="user:anna", now=NOW, kind="dedupe",
                              playbook="dedupe")
    assert [(k, type(v).__name__, getattr(v, "changed", None)) for k, v in results.items()] == [
        ("shop:4", "Outcome", False), ("shop:3", "ConflictError", None), ("shop:1", "Outcome", True),
        ("shop:2", "Outcome", True)]
    assert [call for call in backend("shop").calls if call[0] == "push_status"] == [
        ("push_status", ("1", "false", None)), ("push_status", ("2", "false", None))]
    assert store.history.for_order("shop:2")[-1].data == {"from": "new", "to": "false", "reason": "twin", "twin": "x"}

    back = [StatusChange(store.orders.get(i)) for i in ("shop:1", "shop:2")]
    results = change_statuses(store, BrokenBatch("shop", {}), back, Status.NEW, actor="user:anna", now=NOW)
    assert {str(e) for e in results.values()} == {
        "shop: unexpected RuntimeError in the connector: plugin bug; whether the source took the change is "
        "unknown — check the order at the source, run again with -v for details and report it"}
    assert [e.state for e in store.ledger.for_order("shop:1")] == [DONE, UNCERTAIN]
    assert store.orders.get("shop:1").status is Status.FALSE
