"""desk_queue (schema 15): one row per order with an open call, holding copies of the order's own call, its
claim, status, creation time and total, kept by triggers from every write to tasks, claims and orders, on
both stores. PostgreSQL's `next` and `queue` read it alone, so a copy out of step would hide a due call or
hand out a held or paid order."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from unpaid.clock import to_iso
from unpaid.model import Customer, Money, Order, Status
from unpaid.store import Store, schema
from unpaid.store.desk import DeskStore
from unpaid.store.tasks import Tasks

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
ORDERS = 3
STEP = st.one_of(
    st.tuples(st.just("create"), st.integers(0, ORDERS - 1), st.booleans(), st.integers(-48, 48)),
    st.tuples(st.just("reschedule"), st.integers(0, 9), st.integers(-48, 48), st.sampled_from([None, "anna", "bob"])),
    st.tuples(st.just("postpone"), st.integers(0, 9), st.integers(-48, 48)),
    st.tuples(st.just("close"), st.integers(0, 9)),
    st.tuples(st.just("assign"), st.integers(0, 9), st.sampled_from([None, "anna", "bob"])),
    st.tuples(st.just("cancel"), st.integers(0, ORDERS - 1)),
    st.tuples(st.just("claim"), st.integers(0, ORDERS - 1), st.sampled_from(["anna", "bob"]), st.integers(-3, 3)),
    st.tuples(st.just("release"), st.integers(0, ORDERS - 1)),
    st.tuples(st.just("delete"), st.integers(0, 9)),
    st.tuples(st.just("status"), st.integers(0, ORDERS - 1), st.sampled_from(list(Status))),
    st.tuples(st.just("resync"), st.integers(0, ORDERS - 1), st.integers(0, 5000), st.integers(-3, 3)),
)


def _orders(store: Store) -> None:
    with store.transaction():
        store.orders.upsert([Order("shop", str(i), Status.NEW, T0 - timedelta(days=1, minutes=i), Money(1000),
                                   Customer(f"c{i}@example.com")) for i in range(ORDERS)], T0)


def _apply(store: Store, step: tuple, made: list[int]) -> None:
    tasks, desk, kind = Tasks(store), DeskStore(store), step[0]
    task = made[step[1] % len(made)] if made and kind in ("reschedule", "postpone", "close", "assign", "delete") \
        else None
    if kind == "create":
        _, i, by_desk, hours = step
        key = f"shop:{i}|{'desk' if by_desk else 'pb'}|call|{len(made)}"
        with store.transaction():
            made.append(tasks.create(key, order_id=f"shop:{i}", playbook="desk" if by_desk else "pb", step="call",
                                     due_at=T0 + timedelta(hours=hours), script="", attempts=1, now=T0).id)
    elif kind == "reschedule" and task:
        tasks.reschedule(task, T0 + timedelta(hours=step[2]), "no_answer", step[3])
    elif kind == "postpone" and task:
        tasks.postpone(task, T0 + timedelta(hours=step[2]))
    elif kind == "close" and task:
        tasks.close(task, "done", T0)
    elif kind == "assign" and task:
        with store.transaction():
            desk.assign(task, step[2])
    elif kind == "cancel":
        with store.transaction():
            tasks.cancel_open(f"shop:{step[1]}", None, T0)
    elif kind == "claim":
        _, i, manager, hours = step
        store.claims.try_claim(f"shop:{i}", manager, T0, T0 + timedelta(hours=hours))
    elif kind == "release":
        store.claims.release(f"shop:{step[1]}")
    elif kind == "delete" and task:
        with store.transaction():
            store.conn.execute("DELETE FROM tasks WHERE id = ?", (task,))
    elif kind == "status":
        with store.transaction():
            store.orders.set_status(f"shop:{step[1]}", step[2], None, None, T0)
    elif kind == "resync":  # the source sends the order again with another total and creation time
        _, i, total, days = step
        with store.transaction():
            store.orders.upsert([Order("shop", str(i), store.orders.get(f"shop:{i}").status,
                                       T0 - timedelta(days=days, minutes=i), Money(total),
                                       Customer(f"c{i}@example.com"))], T0)


def _free_run_out(store: Store, lease_now: datetime) -> int:
    """What `next` does on PostgreSQL: free the rows of the claims whose lease ran out by ``lease_now``.
    SQLite's `next` never does (it reads the claims), so the same rows are freed by hand there."""
    with store.transaction(exclusive=False):
        if store.postgres:
            return DeskStore(store).free_run_out(lease_now)
        return store.conn.execute("UPDATE desk_queue SET held_until = NULL WHERE held_until <= ?",
                                  (to_iso(lease_now),)).rowcount


def _columns_agree(store: Store) -> None:
    desk = DeskStore(store)
    for i in range(ORDERS):
        order_id = f"shop:{i}"
        row = store.conn.execute("SELECT status, created_at, total_minor, call_due, call_manager, held_until,"
                                 " due_later FROM desk_queue WHERE order_id = ?", (order_id,)).fetchone()
        call = desk.open_task(order_id)  # the queue's own rule: a desk call first, else the earliest
        if call is None:
            assert row is None, order_id
            continue
        order = store.conn.execute("SELECT status, created_at, total_minor FROM orders WHERE id = ?",
                                   (order_id,)).fetchone()
        claim = store.conn.execute("SELECT lease_until FROM claims WHERE order_id = ?", (order_id,)).fetchone()
        assert tuple(row) == (*order, call.due_at.strftime("%Y-%m-%dT%H:%M:%SZ"), call.manager,
                              claim[0] if claim else None, int(call.due_at > call.created_at)), order_id


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=25))
def test_the_queue_rows_follow_every_write_to_calls_claims_and_orders(new_store_target, steps):
    with Store.open(new_store_target()) as store:
        _orders(store)
        made: list[int] = []
        for step in steps:
            _apply(store, step, made)
            _columns_agree(store)


def test_a_store_of_schema_13_gets_the_queue_rows_of_its_calls_and_claims(new_store_target, monkeypatch, request):
    """The migrations fill the copies from the tasks and claims already there (schema 14, on the orders),
    then move them to desk_queue (schema 15)."""
    postgres = request.node.callspec.params["new_store_target"] == "postgres"
    url = new_store_target(empty=True) if postgres else new_store_target()  # the server's template is migrated
    monkeypatch.setattr(schema, "MIGRATIONS", [m for m in schema.MIGRATIONS if m[0] <= 13])
    monkeypatch.setattr(schema, "LATEST", 13)
    with Store.open(url) as old:
        assert old.schema_version() == 13
        _orders(old)
        with old.transaction():
            tasks = Tasks(old)
            tasks.create("shop:0|pb|call|0", order_id="shop:0", playbook="pb", step="call", due_at=T0, script="",
                         attempts=1, now=T0)
            tasks.create("shop:0|desk|call|1", order_id="shop:0", playbook="desk", step="call",
                         due_at=T0 + timedelta(hours=5), script="", attempts=1, now=T0)
            old.conn.execute("UPDATE tasks SET manager = 'bob' WHERE key = 'shop:0|desk|call|1'")
            tasks.create("shop:1|pb|call|0", order_id="shop:1", playbook="pb", step="call", due_at=T0, script="",
                         attempts=1, now=T0)
            old.conn.execute("INSERT INTO claims VALUES ('shop:1', 'anna', '2026-11-24T09:00:00Z',"
                             " '2026-11-24T11:00:00Z')")
    monkeypatch.undo()
    with Store.open(url) as store:
        assert store.schema_version() == schema.LATEST
        rows = {r[0]: tuple(r[1:]) for r in store.conn.execute(
            "SELECT order_id, status, call_due, call_manager, held_until FROM desk_queue ORDER BY order_id")}
        assert rows == {"shop:0": ("new", "2026-11-24T14:00:00Z", "bob", None),  # the desk's call wins
                        "shop:1": ("new", "2026-11-24T09:00:00Z", None, "2026-11-24T11:00:00Z")}
        columns = [d[0] for d in store.conn.execute("SELECT * FROM orders LIMIT 0").description]
        assert not {"held_until", "call_due", "call_manager"} & set(columns)  # schema 14's copies are gone
        _columns_agree(store)


def test_the_free_orders_condition_repeats_the_indexes_one():
    """PostgreSQL uses the partial indexes only for a query that repeats their condition word for word: the
    walks by creation and by total leave out the calls marked due_later (schema 16), the walk by due time and
    the counts do not (schema 15)."""
    from unpaid.store.desk import FREE, WAITING_OUT

    def indexes(number: int) -> dict[str, str]:
        [(_, _common, postgresql)] = [m for m in schema.MIGRATIONS if m[0] == number]
        found = [" ".join(part.split()) for part in postgresql.split(";") if "CREATE INDEX desk_queue_" in part]
        return {index.split()[2]: index for index in found}

    latest = {**indexes(15), **indexes(16)}
    assert latest["desk_queue_due"].endswith("WHERE " + FREE.replace("q.", ""))
    for name in ("desk_queue_created", "desk_queue_total"):
        assert latest[name].endswith("WHERE " + (WAITING_OUT + FREE).replace("q.", ""))


def test_a_call_arranged_ahead_of_its_due_time_is_marked_and_a_store_of_schema_15_gets_the_marks(
        new_store_target, monkeypatch, request):
    """due_later (schema 16): 1 when the order's own call was made before it is due (a call back tomorrow), 0
    for a call due when made; the migration marks the calls already there by the same rule."""
    postgres = request.node.callspec.params["new_store_target"] == "postgres"
    url = new_store_target(empty=True) if postgres else new_store_target()
    monkeypatch.setattr(schema, "MIGRATIONS", [m for m in schema.MIGRATIONS if m[0] <= 15])
    monkeypatch.setattr(schema, "LATEST", 15)
    with Store.open(url) as old:
        _orders(old)
        tasks = Tasks(old)
        with old.transaction():
            tasks.create("shop:0|pb|call|0", order_id="shop:0", playbook="pb", step="call",
                         due_at=T0 + timedelta(days=1), script="", attempts=1, now=T0)
            tasks.create("shop:1|pb|call|0", order_id="shop:1", playbook="pb", step="call", due_at=T0, script="",
                         attempts=1, now=T0)
    monkeypatch.undo()

    def marks(store: Store) -> dict[str, int]:
        return dict(store.conn.execute("SELECT order_id, due_later FROM desk_queue ORDER BY order_id").fetchall())

    with Store.open(url) as store:
        assert store.schema_version() == schema.LATEST
        assert marks(store) == {"shop:0": 1, "shop:1": 0}
        tasks = Tasks(store)
        with store.transaction():
            tasks.create("shop:2|pb|call|0", order_id="shop:2", playbook="pb", step="call",
                         due_at=T0 + timedelta(minutes=1), script="", attempts=1, now=T0)
        [call] = [t for t in store.conn.execute("SELECT id FROM tasks WHERE order_id = 'shop:1'")]
        tasks.postpone(call[0], T0 + timedelta(hours=3))  # the desk moves it: arranged ahead now
        assert marks(store) == {"shop:0": 1, "shop:1": 1, "shop:2": 1}
        _columns_agree(store)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=25), paid=st.sets(st.integers(0, ORDERS - 1)),
       hours=st.integers(-6, 60), earlier=st.integers(0, 24), freed=st.none() | st.integers(-3, 3))
def test_the_queue_counted_from_the_queue_rows_is_the_count_of_the_calls(new_store_target, steps, paid, hours,
                                                                            earlier, freed):
    """PostgreSQL's queue counts from desk_queue; SQLite's from the calls. Both give the same
    figures, for every manager's queue and the whole team's, also when a `next` freed the rows of leases
    run out by a later clock (``freed``) than the count's, under which those claims are live again."""
    with Store.open(new_store_target()) as store:
        _orders(store)
        made: list[int] = []
        for step in steps:
            _apply(store, step, made)
        with store.transaction():
            for i in paid:
                store.orders.set_status(f"shop:{i}", Status.PAID, None, None, T0)
        if freed is not None:
            _free_run_out(store, T0 + timedelta(hours=freed))
        desk = DeskStore(store)
        until, now = T0 + timedelta(hours=hours), T0 + timedelta(hours=hours % 3)
        sooner = until - timedelta(hours=earlier)
        for manager in (None, "anna", "bob"):
            assert desk.count_by_queue(until, sooner, now, manager) == \
                desk.count_by_tasks(until, sooner, now, manager), manager


_PAGE_KEYS = {
    "newest": lambda task, order: (order.created_at, order.id),
    "oldest": lambda task, order: (order.created_at, order.id),
    "due": lambda task, order: (task.due_at, order.created_at),
    "amount": lambda task, order: (order.total.minor, order.created_at),
}


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(steps=st.lists(STEP, min_size=1, max_size=25), hours=st.integers(-6, 60), ahead=st.integers(0, 48),
       freed=st.none() | st.integers(-3, 3), sort=st.sampled_from(sorted(_PAGE_KEYS)), offset=st.integers(0, 2))
def test_the_queue_page_read_from_the_queue_rows_is_the_page_of_the_calls(new_store_target, steps, hours, ahead,
                                                                          freed, sort, offset):
    """PostgreSQL's queue page and `next`'s check that the queue is empty read desk_queue; SQLite's read the
    calls. Both give the same orders with the same calls in the same order (ties aside), for every manager,
    whole or only the free ones, now or planned ahead, also after rows were freed by a later clock."""
    with Store.open(new_store_target()) as store:
        _orders(store)
        made: list[int] = []
        for step in steps:
            _apply(store, step, made)
        if freed is not None:
            _free_run_out(store, T0 + timedelta(hours=freed))
        desk, now = DeskStore(store), T0 + timedelta(hours=hours % 3)
        until = now + timedelta(hours=ahead)
        key = _PAGE_KEYS[sort]
        for manager in (None, "anna", "bob"):
            for free_only in (False, True):
                ask = (until, now, manager, sort)
                whole, by_tasks = (desk.page_by_queue(*ask, 10, 0, free_only),
                                   desk.page_by_tasks(*ask, 10, 0, free_only))  # every order: there are 3
                assert sorted((t.id, o.id) for t, o in whole) == sorted((t.id, o.id) for t, o in by_tasks), \
                    (manager, free_only)
                assert [key(t, o) for t, o in whole] == [key(t, o) for t, o in by_tasks]
                assert [key(t, o) for t, o in desk.page_by_queue(*ask, 2, offset, free_only)] == \
                    [key(t, o) for t, o in desk.page_by_tasks(*ask, 2, offset, free_only)]


def test_the_queue_page_leaves_out_orders_others_hold_and_takes_in_calls_arranged_for_later_once_due(
        new_store_target):
    """shop:0 bob holds; shop:1 anna holds; shop:2 bob held until a `next` under a later clock freed its row
    (under the page's clock bob's claim is live again); shop:3's call was arranged for two hours later;
    shop:4 is free and due. The page from desk_queue and the page from the calls agree, in every sort."""
    with Store.open(new_store_target()) as store:
        with store.transaction():
            store.orders.upsert([Order("shop", str(i), Status.NEW, T0 - timedelta(days=1, minutes=i), Money(1000 + i),
                                       Customer(f"c{i}@example.com")) for i in range(5)], T0)
            for i in range(5):
                Tasks(store).create(f"shop:{i}|pb|call|0", order_id=f"shop:{i}", playbook="pb", step="call",
                                    due_at=T0 + timedelta(hours=2 if i == 3 else -1), script="", attempts=1,
                                    now=T0 - timedelta(hours=2 if i == 3 else 0))
        store.claims.try_claim("shop:0", "bob", T0, T0 + timedelta(hours=8))
        store.claims.try_claim("shop:1", "anna", T0, T0 + timedelta(hours=8))
        store.claims.try_claim("shop:2", "bob", T0, T0 + timedelta(hours=1))
        assert _free_run_out(store, T0 + timedelta(hours=2)) == 1
        desk = DeskStore(store)
        for sort in _PAGE_KEYS:
            later = T0 + timedelta(hours=3)
            for until, manager, free_only, expected in (
                    (T0, "anna", False, {"shop:1", "shop:4"}), (T0, "anna", True, {"shop:4"}),
                    (T0, None, False, {"shop:4"}), (later, "anna", False, {"shop:1", "shop:3", "shop:4"}),
                    (later, "bob", True, {"shop:3", "shop:4"})):
                ask = (until, T0, manager, sort, 10, 0, free_only)
                got = [o.id for _t, o in desk.page_by_queue(*ask)]
                assert set(got) == expected, (sort, until, manager, free_only)
                assert got == [o.id for _t, o in desk.page_by_tasks(*ask)], (sort, until, manager, free_only)


def test_a_claim_live_again_under_an_earlier_clock_keeps_its_order_out_of_the_others_counts(new_store_target):
    """A `next` under a later --now freed the row of bob's claim (its lease had run out by then); under the
    count's clock the claim is live: the order is in bob's count only, as SQLite's count from the calls says."""
    with Store.open(new_store_target()) as store:
        _orders(store)
        with store.transaction():
            for i in range(ORDERS):
                Tasks(store).create(f"shop:{i}|pb|call|0", order_id=f"shop:{i}", playbook="pb", step="call",
                                    due_at=T0 - timedelta(hours=1), script="", attempts=1, now=T0)
        store.claims.try_claim("shop:0", "bob", T0, T0 + timedelta(hours=2))
        assert _free_run_out(store, T0 + timedelta(hours=3)) == 1
        desk, until = DeskStore(store), T0 + timedelta(hours=12)
        for manager, due in ((None, ORDERS - 1), ("anna", ORDERS - 1), ("bob", ORDERS)):
            assert desk.count_by_queue(until, T0, T0, manager) == (due, due) == \
                desk.count_by_tasks(until, T0, T0, manager), manager


def test_a_queue_row_whose_copy_is_right_already_is_not_written_again(new_store_target, request):
    """A second call that does not change the order's own call, its status passed on to the calls, or the order
    stored again as it was, leave the queue row as it was (PostgreSQL: no new row version; a store copied in
    whole is not rewritten)."""
    postgres = request.node.callspec.params["new_store_target"] == "postgres"
    with Store.open(new_store_target()) as store:
        _orders(store)
        tasks = Tasks(store)

        if not postgres:  # SQLite keeps no row versions: a trigger of this connection counts the writes
            store.conn.execute("CREATE TEMP TABLE written (n INTEGER)")
            store.conn.execute("CREATE TEMP TRIGGER count_writes AFTER UPDATE ON desk_queue BEGIN"
                               " INSERT INTO written VALUES (1); END")

        def version() -> object:
            if postgres:
                return store.conn.execute("SELECT xmin::text FROM desk_queue WHERE order_id = 'shop:0'").fetchone()[0]
            return store.conn.execute("SELECT COUNT(*) FROM written").fetchone()[0]

        with store.transaction():
            tasks.create("shop:0|pb|call|0", order_id="shop:0", playbook="pb", step="call", due_at=T0, script="",
                         attempts=1, now=T0)
        before = version()
        with store.transaction():  # a later call: the earliest stays the order's own
            tasks.create("shop:0|pb|call|1", order_id="shop:0", playbook="pb", step="call",
                         due_at=T0 + timedelta(hours=3), script="", attempts=1, now=T0)
        with store.transaction():  # the same order again, and its status passed on to its calls
            store.orders.upsert([store.orders.get("shop:0")], T0 + timedelta(hours=1))
            store.orders._tasks_follow([("new", "shop:0")])
        changed = version()
        assert changed == before
        store.claims.try_claim("shop:0", "anna", T0, T0 + timedelta(hours=2))
        assert version() != changed  # a claim does write the copy
        _columns_agree(store)
