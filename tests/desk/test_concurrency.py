"""Real processes racing for the same queue: every order is claimed by exactly one of them."""

import json
import subprocess
import sys
import textwrap
from datetime import timedelta
from pathlib import Path

from unpaid.clock import to_iso
from unpaid.store import Store
from unpaid.store.tasks import Tasks
from tests.desk.conftest import NOW, make_order

ROOT = Path(__file__).resolve().parents[2]

CLAIMER = textwrap.dedent("""
    import json, sys
    from unpaid.clock import from_iso
    from unpaid.desk.claiming import take_next
    from unpaid.desk.settings import DeskSettings
    from unpaid.errors import NotFoundError
    from unpaid.store import Store
    from datetime import timezone

    db, manager, now, go = sys.argv[1], sys.argv[2], from_iso(sys.argv[3]), sys.argv[4]
    store = Store.open(db)
    open(go + "." + manager, "w").close()  # ready
    while not __import__("os").path.exists(go):  # start together
        pass
    got = []
    while True:
        try:
            got.append(take_next(store, manager, now, DeskSettings(), timezone.utc).order_id)
        except NotFoundError:
            break
    print(json.dumps(got))
""")

TAKER = textwrap.dedent("""
    import os, sys
    from unpaid import plugins
    from unpaid.cli import main
    from unpaid.testing.fakes import MemoryPlugin, backend
    from tests.desk.conftest import make_order

    backend("shop").put(make_order("1"))
    plugins.set_plugins(plugins.load(entry_points=[], environ={}, extra=[("memory", MemoryPlugin)]))
    import unpaid.cli.desk, unpaid.actions  # loaded before the start, so the race is on the claim
    open(sys.argv[2] + "." + sys.argv[1], "w").close()
    while not os.path.exists(sys.argv[2]):
        pass
    main(["take", "shop:1", "--manager", sys.argv[1]])
""")


def seed(db: Path | str, n: int) -> None:
    with Store.open(db) as store:
        orders = [make_order(str(i), age=timedelta(days=8, minutes=i)) for i in range(n)]
        with store.transaction():
            store.orders.upsert(orders, NOW)
        for o in orders:
            Tasks(store).create(f"{o.id}|pb|call|0", order_id=o.id, playbook="pb", step="call",
                                due_at=NOW - timedelta(hours=1), script="", attempts=1, now=NOW)


def ready_all(folder: Path, names: list[str], timeout: float = 60) -> None:
    import time

    end = time.monotonic() + timeout
    while not all((folder / f"go.{n}").exists() for n in names):
        assert time.monotonic() < end, "the processes did not start"
        time.sleep(0.01)


def start(args: list[str], env=None) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", *args], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=env)


def test_eight_processes_claiming_from_one_queue_never_share_an_order(tmp_path, store_target):
    """On SQLite (one write lock) and on PostgreSQL (row locks, FOR UPDATE SKIP LOCKED) alike."""
    db, go = store_target, tmp_path / "go"
    seed(db, 120)
    procs = [start([CLAIMER, db, f"m{i}", to_iso(NOW), str(go)]) for i in range(8)]
    ready_all(tmp_path, [f"m{i}" for i in range(8)])
    go.touch()
    results = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    claimed = [order for got in results for order in got]
    assert len(claimed) == len(set(claimed)) == 120
    assert sum(1 for got in results if got) >= 2  # they really raced
    with Store.open(db) as store:
        holders = {c.order_id: c.manager for c in store.claims.held(NOW).values()}
    for i, got in enumerate(results):
        assert all(holders[o] == f"m{i}" for o in got)


WRITER = textwrap.dedent("""
    import os, random, sys
    from datetime import timedelta
    from unpaid.clock import from_iso
    from unpaid.model import Status
    from unpaid.store import Store
    from unpaid.store.desk import DeskStore
    from unpaid.store.tasks import Tasks

    db, seed, now, go, orders = sys.argv[1], int(sys.argv[2]), from_iso(sys.argv[3]), sys.argv[4], int(sys.argv[5])
    store, r = Store.open(db), random.Random(seed)
    open(go + ".w" + str(seed), "w").close()
    while not os.path.exists(go):
        pass
    for n in range(120):  # a sync paying and reopening orders, managers moving calls, the desk adding some
        order_id = f"shop:{r.randrange(orders)}"
        with store.transaction():
            kind = r.random()
            if kind < 0.4:
                store.orders.set_status(order_id, r.choice([Status.PAID, Status.NEW]), None, None, now)
            elif kind < 0.7:
                for task in DeskStore(store).open_tasks(order_id):
                    Tasks(store).postpone(task.id, now + timedelta(minutes=r.randrange(-120, 120)))
            else:
                Tasks(store).create(f"{order_id}|desk|call|w{seed}.{n}", order_id=order_id, playbook="desk",
                                    step="call", due_at=now - timedelta(minutes=5), script="", attempts=1, now=now)
""")


def test_claims_racing_writers_of_calls_and_statuses_stay_single_and_the_copies_right(tmp_path, store_target):
    """Six managers empty the queue while two writers pay and reopen orders, move calls and add desk calls.
    No order is claimed twice, no command fails (on PostgreSQL: no deadlock between the claims' and the
    calls' triggers and `next`'s locks), and every order's queue row (schema 15) matches the order, its
    calls and its claim at the end."""
    db, go = store_target, tmp_path / "go"
    seed(db, 150)
    claimers = [start([CLAIMER, db, f"m{i}", to_iso(NOW), str(go)]) for i in range(6)]
    writers = [start([WRITER, db, str(i), to_iso(NOW), str(go), "150"]) for i in range(2)]
    ready_all(tmp_path, [f"m{i}" for i in range(6)] + ["w0", "w1"])
    go.touch()
    claimed = []
    for p in claimers + writers:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        if p in claimers:
            claimed += json.loads(out)
    assert len(claimed) == len(set(claimed)) > 0
    with Store.open(db) as store:
        # Every order with an open call has its queue row, and each row copies the order, its call and claim.
        out_of_step = store.conn.execute(
            "SELECT o.id FROM orders o LEFT JOIN desk_queue q ON q.order_id = o.id"
            " LEFT JOIN claims c ON c.order_id = o.id"
            " WHERE (q.call_due IS NOT (SELECT t.due_at FROM tasks t WHERE t.order_id = o.id AND t.state = 'open'"
            "   ORDER BY (t.key LIKE '%|desk|call|%') DESC, t.due_at, t.id LIMIT 1))"
            " OR (q.order_id IS NOT NULL AND (q.held_until IS NOT c.lease_until OR q.status IS NOT o.status"
            "   OR q.created_at IS NOT o.created_at OR q.total_minor IS NOT o.total_minor))".replace(
                " IS NOT ", " IS DISTINCT FROM " if store.postgres else " IS NOT ")).fetchall()
    assert out_of_step == []


def test_two_managers_taking_one_order_at_once_one_wins_the_other_is_told_who(tmp_path, store_target):
    import os

    db, go = store_target, tmp_path / "go"
    (tmp_path / "unpaid.toml").write_text('[sources.shop]\ntype = "memory"\n', encoding="utf-8")
    seed(db, 2)
    env = {**os.environ, "UNPAID_DB": str(db), "UNPAID_CONFIG": str(tmp_path / "unpaid.toml"),
           "UNPAID_NOW": to_iso(NOW), "PYTHONPATH": str(ROOT)}
    procs = {m: start([TAKER, m, str(go)], env) for m in ("anna", "bob", "carol", "dmytro")}
    ready_all(tmp_path, list(procs))
    go.touch()
    done = {m: (p.communicate(timeout=60), p.returncode) for m, p in procs.items()}
    winners = [m for m, (_, code) in done.items() if code == 0]
    assert len(winners) == 1
    for m, ((out, err), code) in done.items():
        if m not in winners:
            assert code == 1 and err.startswith(f"Error: shop:1 is taken by {winners[0]} until"), err
    with Store.open(db) as store:
        claims = [e for e in store.history.for_order("shop:1") if e.kind == "claim"]
        assert [e.actor for e in claims] == [f"manager:{winners[0]}"]


def test_next_does_not_hand_out_an_order_called_between_its_read_and_its_claim(monkeypatch, tmp_path):
    """Two connections to one SQLite store: bob's `next` reads the page; before it claims, anna takes the
    same order, calls and records `no_answer` (the next call 3 h away). Bob must not get the order."""
    from datetime import timezone

    import pytest

    from unpaid.desk.claiming import take, take_next
    from unpaid.desk.rules import OutcomeOptions
    from unpaid.desk.settings import DeskSettings
    from unpaid.desk.work import record_outcome
    from unpaid.errors import NotFoundError
    from unpaid.store.desk import DeskStore

    db = tmp_path / "unpaid.db"
    seed(db, 1)
    s, utc, later = DeskSettings(comments_to_source=False), timezone.utc, NOW + timedelta(seconds=1)
    anna, bob = Store.open(db), Store.open(db)
    read, reads = DeskStore.due_page, []

    def page_then_anna_calls(self, *args, **kwargs):
        rows = read(self, *args, **kwargs)
        if self.store is bob and not reads:
            reads.append([o.id for _, o in rows])
            order = anna.orders.get("shop:0")
            take(anna, order, "anna", NOW, s, utc)
            record_outcome(anna, lambda: None, order, "anna", "no_answer", OutcomeOptions(), later, s, utc, ())
        return rows

    monkeypatch.setattr(DeskStore, "due_page", page_then_anna_calls)
    try:
        with pytest.raises(NotFoundError, match="the queue is empty"):
            take_next(bob, "bob", later, s, utc)
        assert reads == [["shop:0"]]  # bob did read it while it was due and free
        assert bob.claims.get("shop:0", later) is None
        [task] = DeskStore(bob).open_tasks("shop:0")
        assert task.due_at == later + timedelta(hours=3)
        # when the call is due again, bob's `next` takes it
        assert take_next(bob, "bob", task.due_at, s, utc).order_id == "shop:0"
    finally:
        anna.close()
        bob.close()


def test_postgresql_next_judges_what_changed_during_its_read_on_the_latest_rows(monkeypatch, pg_url, pg_server):
    """PostgreSQL's `next` is one statement. Bob's begins while the order is due and free; before it locks
    the order, anna takes the order (committed), or records a call on it (its call 3 h away), or the order is
    paid. Bob's statement read the order as free and due, yet must not claim it: the locked row and calls
    are judged as they are now. (The read is slowed inside the server so that anna's write lands in it.)"""
    import threading
    from datetime import timezone

    from unpaid.desk.claiming import take, take_next
    from unpaid.desk.rules import OutcomeOptions
    from unpaid.desk.settings import DeskSettings
    from unpaid.desk.work import record_outcome
    from unpaid.errors import NotFoundError
    from unpaid.model import Status
    from unpaid.store import desk

    s, utc, later = DeskSettings(comments_to_source=False), timezone.utc, NOW + timedelta(seconds=1)

    def anna_takes(anna):
        take(anna, anna.orders.get("shop:0"), "anna", NOW, s, utc)

    def anna_calls(anna):
        order = anna.orders.get("shop:0")
        take(anna, order, "anna", NOW, s, utc)
        record_outcome(anna, lambda: None, order, "anna", "no_answer", OutcomeOptions(), later, s, utc, ())

    def order_paid(anna):
        with anna.transaction():
            anna.orders.set_status("shop:0", Status.PAID, None, None, NOW)

    # Each order row the read walks sleeps 1 s in the server, after the statement's snapshot was taken.
    monkeypatch.setattr(desk, "FREE", desk.FREE + " AND (SELECT 1 FROM pg_sleep(1)) = 1")
    for change in (anna_takes, anna_calls, order_paid):
        url = pg_server.new_database()
        seed(url, 1)
        anna, bob = Store.open(url), Store.open(url)
        try:
            outcome: list = []
            thread = threading.Thread(target=lambda: outcome.append(_try_next(take_next, bob, later, s, utc)))
            thread.start()
            _wait_for_sleeping_read(anna)
            change(anna)
            thread.join(timeout=30)
            assert outcome and isinstance(outcome[0], NotFoundError), (change.__name__, outcome)
            claim = bob.claims.get("shop:0", later)
            assert claim is None or claim.manager == "anna", change.__name__
        finally:
            anna.close()
            bob.close()


def _try_next(take_next, store, now, settings, zone):
    from unpaid.errors import NotFoundError

    try:
        return take_next(store, "bob", now, settings, zone)
    except NotFoundError as exc:
        return exc


def _wait_for_sleeping_read(store) -> None:
    import time

    for _ in range(500):
        if store.conn.execute("SELECT 1 FROM pg_stat_activity WHERE query LIKE 'WITH pick AS%'"
                              " AND wait_event = 'PgSleep'").fetchone():
            return
        time.sleep(0.01)
    raise AssertionError("bob's read never started")


def test_next_checks_and_claims_under_one_write_lock(tmp_path, monkeypatch):
    """While `next` has found the order still due, no other connection can write (record an outcome,
    take it) until the claim is in: the check and the claim are one step."""
    import sqlite3
    from datetime import timezone

    from unpaid.desk.claiming import take_next
    from unpaid.desk.settings import DeskSettings
    from unpaid.store.desk import DeskStore

    db = tmp_path / "unpaid.db"
    seed(db, 1)
    check, seen = DeskStore.still_free_and_due, []

    def check_then_try_to_write(self, *args):
        due = check(self, *args)
        other = sqlite3.connect(db, timeout=0.05)
        try:
            other.execute("BEGIN IMMEDIATE")
            seen.append("written")
        except sqlite3.OperationalError as exc:
            seen.append(str(exc))
        finally:
            other.close()
        return due

    monkeypatch.setattr(DeskStore, "still_free_and_due", check_then_try_to_write)
    with Store.open(db) as bob:
        assert take_next(bob, "bob", NOW, DeskSettings(), timezone.utc).order_id == "shop:0"
    assert seen == ["database is locked"]


def test_next_hands_out_the_queue_in_its_order_for_every_sort(store_target):
    """`next` gives the free rows of the manager's queue in the queue's own order, whichever the sort, on
    both stores (PostgreSQL picks with one locking read, SQLite from the page): a call another manager
    arranged is not anna's, a desk callback wins over the playbook's call of the same order, a live claim
    hides its order and an expired one does not, paid orders and calls not yet due stay out."""
    from datetime import timezone

    import pytest

    from unpaid.desk.claiming import take_next
    from unpaid.desk.settings import DeskSettings
    from unpaid.errors import NotFoundError
    from unpaid.model import Status
    from unpaid.store.desk import SORTS, DeskStore

    for sort in SORTS:
        with Store.open(store_target) as store:
            store.conn.execute("DELETE FROM claims")
            store.conn.execute("DELETE FROM tasks")
            store.conn.execute("DELETE FROM orders")
            orders = [make_order(str(i), age=timedelta(days=8, minutes=(i * 7) % 11), total=1000 * ((i * 5) % 9),
                                 status=Status.PAID if i == 4 else Status.NEW) for i in range(12)]
            with store.transaction():
                store.orders.upsert(orders, NOW)
            tasks = Tasks(store)
            for i, o in enumerate(orders):
                due = NOW + timedelta(hours=1) if i == 5 else NOW - timedelta(minutes=(i * 3) % 7 + 1)
                tasks.create(f"{o.id}|pb|call|0", order_id=o.id, playbook="pb", step="call", due_at=due, script="",
                             attempts=1, now=NOW)
            # shop:6's callback, arranged by bob at the desk: later than its playbook call, and bob's alone
            callback = tasks.create("shop:6|desk|call|1", order_id="shop:6", playbook="desk", step="call",
                                    due_at=NOW - timedelta(seconds=1), script="", attempts=1, now=NOW)
            DeskStore(store).assign(callback.id, "bob")
            # shop:7's callback is in two hours: the order is not due, though its playbook call is
            tasks.create("shop:7|desk|call|1", order_id="shop:7", playbook="desk", step="call",
                         due_at=NOW + timedelta(hours=2), script="", attempts=1, now=NOW)
            store.claims.try_claim("shop:8", "carol", NOW, NOW + timedelta(hours=1))
            store.claims.try_claim("shop:9", "carol", NOW - timedelta(hours=3), NOW - timedelta(hours=1))
            expected = [o.id for _t, o in DeskStore(store).due_page(NOW, NOW, "anna", sort, 100, free_only=True)]
            assert {"shop:4", "shop:5", "shop:6", "shop:7", "shop:8"}.isdisjoint(expected)
            assert "shop:9" in expected and len(expected) == 7
            got = [take_next(store, "anna", NOW, DeskSettings(), timezone.utc, sort).order_id for _ in expected]
            assert got == expected, sort
            with pytest.raises(NotFoundError):
                take_next(store, "anna", NOW, DeskSettings(), timezone.utc, sort)


def test_a_host_with_a_fast_clock_passes_over_a_live_claim_instead_of_retrying_it(pg_url, monkeypatch):
    """PostgreSQL, no --now: claims live by the server's clock. bob's host runs two hours ahead; by his clock
    anna's claim has run out, by the server's it has not: `next` gives him the next order, and does not
    pick anna's again and again."""
    from datetime import datetime, timezone

    import pytest

    from unpaid.desk.claiming import take_next
    from unpaid.desk.settings import DeskSettings
    from unpaid.errors import NotFoundError
    from unpaid.store.desk import DeskStore

    seed(pg_url, 2)  # shop:0 is the newest
    host = datetime.now(timezone.utc)
    with Store.open(pg_url) as anna, Store.open(pg_url) as bob:
        anna.db_clock = bob.db_clock = True
        assert take_next(anna, "anna", host, DeskSettings(), timezone.utc).order_id == "shop:0"
        picks = []
        real = DeskStore.claim_next

        def counted(self, *args, **kwargs):
            picked, claim, run_out = real(self, *args, **kwargs)
            picks.append(picked)
            assert len(picks) < 20, f"next keeps trying {picks[-3:]}"
            return picked, claim, run_out

        monkeypatch.setattr(DeskStore, "claim_next", counted)
        skewed = host + timedelta(hours=2)
        assert take_next(bob, "bob", skewed, DeskSettings(), timezone.utc).order_id == "shop:1"
        with pytest.raises(NotFoundError):
            take_next(bob, "bob", skewed, DeskSettings(), timezone.utc)
        assert picks == ["shop:1", None]
        assert anna.claims.get("shop:0", host).manager == "anna"


def test_next_by_the_servers_clock_is_one_statement_and_stamps_the_servers_time(pg_url, pg_statements):
    """PostgreSQL, no --now: the lease is the server's, yet `next` sends only its claim. The server's clock
    was read with the schema check on opening; asking it again at each claim doubled the round trips."""
    from datetime import datetime, timezone

    from unpaid.desk.claiming import take_next
    from unpaid.desk.settings import DeskSettings

    seed(pg_url, 2)
    with Store.open(pg_url) as store:
        store.db_clock = True
        sent = pg_statements()
        host_ahead = datetime.now(timezone.utc) + timedelta(hours=3)  # the host's clock, wrong by 3 hours
        claim = take_next(store, "anna", host_ahead, DeskSettings(), timezone.utc)
        assert len(sent) == 1 and sent[0].startswith("WITH pick AS"), sent
        server_now = store.conn.execute("SELECT clock_timestamp()").fetchone()[0]
    assert timedelta(0) <= server_now - claim.claimed_at < timedelta(seconds=5)
    assert claim.lease_until - claim.claimed_at == DeskSettings().lease


def test_a_claim_live_again_under_an_earlier_now_is_passed_over_not_tried_for_ever(pg_url, monkeypatch):
    """PostgreSQL's `next` frees the queue row of a claim whose lease has run out. Under an earlier --now that
    claim is live again: the order is passed over (its row held again), not picked and refused for ever."""
    from datetime import timezone

    import pytest

    from unpaid.desk.claiming import take_next
    from unpaid.desk.settings import DeskSettings
    from unpaid.errors import NotFoundError
    from unpaid.store.desk import DeskStore

    seed(pg_url, 2)  # shop:0 is the newest
    settings = DeskSettings()
    with Store.open(pg_url) as store:
        assert take_next(store, "anna", NOW, settings, timezone.utc).order_id == "shop:0"
        later = NOW + settings.lease + timedelta(minutes=1)  # anna's lease has run out: her row is freed
        assert take_next(store, "bob", later, settings, timezone.utc, sort="oldest").order_id == "shop:1"
        picks = []
        real = DeskStore.claim_next

        def counted(self, *args, **kwargs):
            found = real(self, *args, **kwargs)
            picks.append(found[0])
            assert len(picks) < 20, f"next keeps trying {picks[-3:]}"
            return found

        monkeypatch.setattr(DeskStore, "claim_next", counted)
        with pytest.raises(NotFoundError):  # at NOW + 1 min anna holds shop:0 again, and bob shop:1
            take_next(store, "carol", NOW + timedelta(minutes=1), settings, timezone.utc)
        assert picks == ["shop:0", None]  # the refused pick, then the queue found empty
        assert store.claims.get("shop:0", NOW + timedelta(minutes=1)).manager == "anna"


def test_an_order_whose_lease_ran_out_comes_back_first_in_its_place(store_target):
    """On both stores the order whose claim has run out is free again at once, in its place in the queue: the
    next `next` hands it out before an older one (PostgreSQL returns its queue row first, then picks)."""
    from datetime import timezone

    from unpaid.desk.claiming import take_next
    from unpaid.desk.settings import DeskSettings

    seed(store_target, 3)  # shop:0 is the newest
    settings = DeskSettings()
    with Store.open(store_target) as store:
        assert take_next(store, "anna", NOW, settings, timezone.utc).order_id == "shop:0"
        assert take_next(store, "bob", NOW, settings, timezone.utc).order_id == "shop:1"
        later = NOW + settings.lease + timedelta(minutes=1)
        assert take_next(store, "carol", later, settings, timezone.utc).order_id == "shop:0"
        assert take_next(store, "dana", later, settings, timezone.utc).order_id == "shop:1"
        assert take_next(store, "anna", later, settings, timezone.utc).order_id == "shop:2"


def test_a_call_arranged_for_later_comes_back_in_its_place_once_due(store_target):
    """A call moved to later is out of PostgreSQL's walk (schema 16: due_later) until a `next` finds it due by
    its own clock: then it is handed out first, in its place. Under an earlier --now it is still not due."""
    from datetime import timezone

    from unpaid.desk.claiming import take_next
    from unpaid.desk.settings import DeskSettings

    seed(store_target, 4)  # shop:0 is the newest; every call due an hour ago
    settings, utc = DeskSettings(), timezone.utc
    with Store.open(store_target) as store:
        tasks = Tasks(store)
        for order_id in ("shop:0", "shop:1"):
            [(task,)] = store.conn.execute("SELECT id FROM tasks WHERE order_id = ?", (order_id,)).fetchall()
            tasks.postpone(task, NOW + timedelta(hours=2))
        assert take_next(store, "anna", NOW, settings, utc).order_id == "shop:2"
        assert take_next(store, "bob", NOW + timedelta(hours=3), settings, utc).order_id == "shop:0"
        assert take_next(store, "carol", NOW + timedelta(hours=1), settings, utc).order_id == "shop:3"
        assert take_next(store, "dana", NOW + timedelta(hours=3), settings, utc).order_id == "shop:1"


def test_calls_that_came_due_are_unmarked_by_one_next_at_a_time_in_chunks_waiting_for_none(pg_url, monkeypatch):
    """PostgreSQL: while another `next` clears the marks, this one goes on without (it does not wait, nor do
    the work twice); a queue row another transaction holds is passed over, not waited for; the rest are
    cleared a chunk a transaction."""
    from unpaid.store import desk as desk_module

    seed(pg_url, 5)
    monkeypatch.setattr(desk_module, "_PROMOTE_CHUNK", 2)
    with Store.open(pg_url) as store, Store.open(pg_url) as other:
        tasks = Tasks(store)
        for (task,) in store.conn.execute("SELECT id FROM tasks").fetchall():
            tasks.postpone(task, NOW + timedelta(hours=1))
        store.conn.execute("SET statement_timeout = '10s'")  # a wait fails the test rather than hangs it
        desk, due = desk_module.DeskStore(store), NOW + timedelta(hours=2)

        def marked() -> list[str]:
            return [r[0] for r in store.conn.execute(
                "SELECT order_id FROM desk_queue WHERE due_later = 1 ORDER BY order_id")]

        assert len(marked()) == 5
        with other.transaction(exclusive=False):
            other.conn.execute("SELECT pg_advisory_xact_lock(?)", (desk_module._PROMOTE_LOCK,))
            assert desk.promote_due(due) == 0
        with other.transaction(exclusive=False):
            other.conn.execute("SELECT 1 FROM desk_queue WHERE order_id = 'shop:4' FOR UPDATE")
            assert desk.promote_due(due) == 4
            assert marked() == ["shop:4"]
        assert desk.promote_due(NOW) == 0  # not due by this --now
        assert desk.promote_due(due) == 1
        assert marked() == []


def test_the_queue_shows_a_call_arranged_for_later_in_its_place_once_due(store_target):
    """`queue` puts the calls arranged for later that came due by its clock back in their place before it
    reads (PostgreSQL: their marks cleared, as `next` does), and shows the others only when planning ahead."""
    from datetime import timezone

    from unpaid.desk.claiming import load_queue

    seed(store_target, 4)  # shop:0 is the newest; every call due an hour ago
    utc = timezone.utc
    with Store.open(store_target) as store:
        tasks = Tasks(store)
        for order_id, hours in (("shop:0", 2), ("shop:1", 30)):
            [(task,)] = store.conn.execute("SELECT id FROM tasks WHERE order_id = ?", (order_id,)).fetchall()
            tasks.postpone(task, NOW + timedelta(hours=hours))

        def shown(now, day=None) -> list[str]:
            return [row["order_id"] for row in load_queue(store, now, utc, manager="anna", day=day).rows]

        def marked() -> set[str]:
            return {r[0] for r in store.conn.execute("SELECT order_id FROM desk_queue WHERE due_later = 1")}

        assert shown(NOW) == ["shop:2", "shop:3"] and marked() == {"shop:0", "shop:1"}
        assert shown(NOW, day=NOW + timedelta(days=1)) == ["shop:0", "shop:1", "shop:2", "shop:3"]
        assert marked() == {"shop:0", "shop:1"}  # planning ahead clears nothing
        assert shown(NOW + timedelta(hours=3)) == ["shop:0", "shop:2", "shop:3"]
        assert marked() == ({"shop:1"} if store.postgres else {"shop:0", "shop:1"})
