"""Numbered schema migrations; ``PRAGMA user_version`` records the last one applied.

Append new migrations at the end; never edit one that has shipped. A migration is ``(number, sql)``, run on
both backends (rewritten for PostgreSQL by :mod:`unpaid.store.dialect`), or ``(number, sql, postgresql_sql)``
with statements for PostgreSQL alone after the common ones (an index SQLite has no use for).
"""

from __future__ import annotations

#: The order's own open call (the desk queue's rule: a call a manager arranged wins over the playbooks', else the
#: earliest, then the lowest id), as due time and manager; completed by the order it is asked for.
ORDER_CALL = ("SELECT t.due_at, t.manager FROM tasks t WHERE t.order_id = {} AND t.state = 'open'"
              " ORDER BY (t.key LIKE '%|desk|call|%') DESC, t.due_at, t.id LIMIT 1")

#: Schema 16: whether the call ``t`` was arranged ahead of its due time (1 or 0), and :data:`ORDER_CALL` with it
#: (``later``).
ARRANGED_AHEAD = "CASE WHEN t.due_at > t.created_at THEN 1 ELSE 0 END"
ORDER_CALL_MARKED = ORDER_CALL.replace("t.manager FROM", f"t.manager, {ARRANGED_AHEAD} AS later FROM", 1)

#: Schema 15: the desk queue's row of the order ``{row}`` follows its own open call (``{call}``: ORDER_CALL).
FOLLOW = """DELETE FROM desk_queue WHERE order_id = {row}.order_id
                AND NOT EXISTS (SELECT 1 FROM tasks WHERE order_id = {row}.order_id AND state = 'open');
            INSERT INTO desk_queue (order_id, status, created_at, total_minor, call_due, call_manager, held_until)
                SELECT o.id, o.status, o.created_at, o.total_minor, c.due_at, c.manager,
                       (SELECT lease_until FROM claims WHERE order_id = o.id)
                FROM orders o, ({call}) AS c WHERE o.id = {row}.order_id
                ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, call_due = excluded.call_due,
                    call_manager = excluded.call_manager
                WHERE (status, call_due, call_manager) IS NOT (excluded.status, excluded.call_due, excluded.call_manager);"""

#: Schema 16: :data:`FOLLOW`, and the row is marked ``due_later`` when its call was arranged ahead of its due time
#: (``{call}``: ORDER_CALL_MARKED), each time the row is written.
FOLLOW_LATER = """DELETE FROM desk_queue WHERE order_id = {row}.order_id
                AND NOT EXISTS (SELECT 1 FROM tasks WHERE order_id = {row}.order_id AND state = 'open');
            INSERT INTO desk_queue (order_id, status, created_at, total_minor, call_due, call_manager, held_until,
                                    due_later)
                SELECT o.id, o.status, o.created_at, o.total_minor, c.due_at, c.manager,
                       (SELECT lease_until FROM claims WHERE order_id = o.id),
                       c.later
                FROM orders o, ({call}) AS c WHERE o.id = {row}.order_id
                ON CONFLICT (order_id) DO UPDATE SET status = excluded.status, call_due = excluded.call_due,
                    call_manager = excluded.call_manager,
                    due_later = excluded.due_later
                WHERE (status, call_due, call_manager) IS NOT (excluded.status, excluded.call_due, excluded.call_manager);"""


def _call_triggers(prefix: str, follow: str, call: str) -> str:
    """The tasks' triggers ``{prefix}_new``, ``_changed`` and ``_gone`` that keep the order's desk_queue row
    (``follow``: FOLLOW or FOLLOW_LATER, ``call``: its ORDER_CALL), as a migration's statements."""
    new, old = (follow.format(row=row, call=call.format(f"{row}.order_id")) for row in ("NEW", "OLD"))
    events = (("new", "INSERT", new), ("changed", "UPDATE OF state, due_at, manager, order_status", new),
              ("gone", "DELETE", old))
    return "\n        ".join(f"CREATE TRIGGER {prefix}_{name} AFTER {event} ON tasks BEGIN\n"
                             f"            {body}\n        END;" for name, event, body in events)


MIGRATIONS: list[tuple] = [
    (
        1,
        """
        CREATE TABLE orders (
            id TEXT PRIMARY KEY,
            source TEXT NOT NULL,
            native_id TEXT NOT NULL,
            number TEXT,
            status TEXT NOT NULL,
            native_status TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT,
            paid_at TEXT,
            customer_key TEXT,
            email TEXT,
            phone TEXT,
            name TEXT,
            customer_native_id TEXT,
            product_key TEXT,
            product_title TEXT,
            total_minor INTEGER NOT NULL,
            currency TEXT NOT NULL,
            paid_minor INTEGER,
            manager TEXT,
            payment_link TEXT,
            cancel_reason TEXT,
            items TEXT,
            extra TEXT,
            synced_at TEXT NOT NULL
        );
        CREATE INDEX orders_status_created ON orders (status, created_at);
        CREATE INDEX orders_created ON orders (created_at, id);
        CREATE INDEX orders_customer_product ON orders (customer_key, product_key);

        CREATE TABLE history (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            order_id TEXT NOT NULL,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            command TEXT,
            kind TEXT NOT NULL,
            summary TEXT NOT NULL,
            data TEXT
        );
        CREATE INDEX history_order ON history (order_id, id);
        CREATE TRIGGER history_no_update BEFORE UPDATE ON history
            BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;
        CREATE TRIGGER history_no_delete BEFORE DELETE ON history
            BEGIN SELECT RAISE(ABORT, 'history is append-only'); END;

        CREATE TABLE bookmarks (
            source TEXT PRIMARY KEY,
            value TEXT,
            updated_at TEXT NOT NULL
        );

        CREATE TABLE ledger (
            key TEXT PRIMARY KEY,
            order_id TEXT NOT NULL,
            playbook TEXT NOT NULL,
            step TEXT NOT NULL,
            repeat INTEGER NOT NULL DEFAULT 0,
            action TEXT NOT NULL,
            state TEXT NOT NULL,
            due_at TEXT,
            run_id TEXT,
            lease_until TEXT,
            attempts INTEGER NOT NULL DEFAULT 0,
            next_try_at TEXT,
            error TEXT,
            result TEXT,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX ledger_order ON ledger (order_id);
        CREATE INDEX ledger_state ON ledger (state, next_try_at);

        CREATE TABLE claims (
            order_id TEXT PRIMARY KEY,
            manager TEXT NOT NULL,
            claimed_at TEXT NOT NULL,
            lease_until TEXT NOT NULL
        );
        CREATE INDEX claims_manager ON claims (manager);
        """,
    ),
    (
        2,
        """
        CREATE TABLE enrollments (
            order_id TEXT NOT NULL,
            playbook TEXT NOT NULL,
            chain_key TEXT,
            state TEXT NOT NULL,
            entered_at TEXT NOT NULL,
            cursor INTEGER NOT NULL DEFAULT 0,
            cursor_since TEXT NOT NULL,
            loops TEXT,
            seq INTEGER NOT NULL DEFAULT 0,
            paused_until TEXT,
            exit_reason TEXT,
            exited_at TEXT,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (order_id, playbook)
        );
        CREATE UNIQUE INDEX enrollments_one_chain ON enrollments (playbook, chain_key)
            WHERE state = 'active' AND chain_key IS NOT NULL;
        CREATE INDEX enrollments_state ON enrollments (playbook, state);

        CREATE TABLE tasks (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            order_id TEXT NOT NULL,
            playbook TEXT NOT NULL,
            step TEXT NOT NULL,
            due_at TEXT NOT NULL,
            script TEXT NOT NULL DEFAULT '',
            state TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 1,
            outcome TEXT,
            manager TEXT,
            created_at TEXT NOT NULL,
            closed_at TEXT
        );
        CREATE INDEX tasks_state_due ON tasks (state, due_at);
        CREATE INDEX tasks_order ON tasks (order_id, playbook);

        CREATE TABLE offers (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            key TEXT NOT NULL UNIQUE,
            order_id TEXT NOT NULL,
            playbook TEXT NOT NULL,
            step TEXT NOT NULL,
            kind TEXT NOT NULL,
            percent INTEGER NOT NULL,
            valid_until TEXT NOT NULL,
            state TEXT NOT NULL,
            created_at TEXT NOT NULL
        );
        CREATE INDEX offers_order ON offers (order_id, state);

        CREATE TABLE optouts (
            address TEXT PRIMARY KEY,
            at TEXT NOT NULL,
            actor TEXT NOT NULL,
            reason TEXT
        );

        CREATE TABLE events (
            id INTEGER PRIMARY KEY AUTOINCREMENT,
            order_id TEXT NOT NULL,
            kind TEXT NOT NULL,
            at TEXT NOT NULL,
            data TEXT,
            UNIQUE (order_id, kind, at)
        );

        CREATE TABLE contacts (
            key TEXT PRIMARY KEY,
            customer_key TEXT NOT NULL,
            order_id TEXT NOT NULL,
            at TEXT NOT NULL
        );
        CREATE INDEX contacts_customer ON contacts (customer_key, at);
        """,
    ),
    (
        3,
        """
        -- The call queue joins every due task to its order for the status alone: read from this small
        -- index, not from the order rows spread over the file, a queue of 100,000 due calls on a million
        -- orders takes 0.25 s instead of 0.45 s.
        CREATE INDEX orders_id_status ON orders (id, status);
        """,
    ),
    (
        4,
        """
        -- Counting today's calls reads every due task's order and manager: from the index alone, not the
        -- task rows (0.31 s -> 0.23 s for 100,000 due calls). It serves every (state, due_at) query too.
        CREATE INDEX tasks_open_cover ON tasks (state, due_at, order_id, manager);
        DROP INDEX tasks_state_due;
        """,
    ),
    (
        5,
        """
        -- Since when a full read of the source no longer finds the order (NULL: it is there). After the
        -- source's grace period such an order is marked cancelled.
        ALTER TABLE orders ADD COLUMN missing_since TEXT;
        CREATE INDEX orders_missing ON orders (source, missing_since) WHERE missing_since IS NOT NULL;
        """,
    ),
    (
        6,
        """
        -- What a connector must remember between processes and that is not a sync bookmark: a request
        -- budget shared by every command, a throttle window, ids it needs to address an object. JSON
        -- values under (scope, key); scope is the source name or an account both sources share.
        CREATE TABLE source_state (
            scope TEXT NOT NULL,
            key TEXT NOT NULL,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            PRIMARY KEY (scope, key)
        ) WITHOUT ROWID;
        """,
    ),
    (
        7,
        """
        -- A step is done once per customer and product (same_product_within), whether or not the first
        -- order's chain has finished: the planner looks up a chain's enrollments in any state.
        CREATE INDEX enrollments_chain ON enrollments (chain_key, playbook) WHERE chain_key IS NOT NULL;
        """,
    ),
    (
        8,
        """
        -- dedupe groups orders by customer and product and needs each one's status and times: with them in
        -- the index it reads the index alone, not a million table rows (the old index is its prefix).
        CREATE INDEX orders_dedupe ON orders (customer_key, product_key, status, created_at, paid_at);
        DROP INDEX orders_customer_product;
        """,
    ),
    (
        9,
        """
        -- The queue counts today's calls of actual orders: with each task carrying its order's status, the
        -- count reads the task index alone instead of looking up 100,000 orders among a million. A new
        -- task takes it here; Orders.upsert and set_status pass a change on (a trigger on orders would
        -- cost every order a sync writes a statement journal: +30 % sync time). Open tasks by order
        -- serve the one-call-per-order rule without reading closed ones.
        ALTER TABLE tasks ADD COLUMN order_status TEXT;
        UPDATE tasks SET order_status = (SELECT status FROM orders WHERE orders.id = tasks.order_id);
        CREATE TRIGGER tasks_order_status AFTER INSERT ON tasks BEGIN
            UPDATE tasks SET order_status = (SELECT status FROM orders WHERE id = NEW.order_id) WHERE id = NEW.id;
        END;
        CREATE INDEX tasks_open_status ON tasks (state, due_at, order_status, order_id, manager);
        DROP INDEX tasks_open_cover;
        CREATE INDEX tasks_state_order ON tasks (state, order_id);
        """,
    ),
    (
        10,
        """
        -- `unpaid report` asks of every order whether, and when last before its payment, it was touched
        -- (a message, an offer, a dial): answered from this index alone, not the history rows (whether
        -- each of 100,000 orders was touched: 0.03 s instead of 0.11 s).
        CREATE INDEX history_touch ON history (order_id, kind, at);
        -- ... and when each order entered work, from the index too.
        CREATE INDEX enrollments_entered ON enrollments (order_id, entered_at, playbook);
        """,
    ),
    (
        11,
        "",
        # PostgreSQL only. The queue's count picks one call per order by task id: PostgreSQL's indexes do not
        # carry the row id as SQLite's do, so the count read all 109,268 due task rows of a million-order store
        # besides the index (index-only: 0.9 s -> 0.23 s on a loaded machine). SQLite's index has it already.
        """
        CREATE INDEX tasks_open_due ON tasks (state, due_at, order_status, order_id, manager) INCLUDE (id);
        DROP INDEX tasks_open_status;
        """,
    ),
    (
        12,
        """
        -- dedupe lists the actual orders it cannot group (no customer or product key): few or none, but
        -- without an index finding that out read every order (0.26 s of CPU at a million, for none).
        CREATE INDEX orders_unkeyed ON orders (id) WHERE customer_key IS NULL OR product_key IS NULL;
        """,
    ),
    (
        13,
        "",
        # PostgreSQL only. Many managers' `next` walk the actual orders newest first, past the ones already
        # claimed, to the first with a due call: from these two indexes alone, not the order and task rows
        # (a pick past 1,200 claims: 30 ms -> 13 ms). SQLite's `next` reads a page under its write lock.
        """
        CREATE INDEX orders_created_status ON orders (created_at, id) INCLUDE (status);
        CREATE INDEX tasks_open_order ON tasks (order_id) INCLUDE (key, due_at, id, manager) WHERE state = 'open';
        -- `next --sort amount` walks them biggest first the same way (it sorted every due call on each read).
        CREATE INDEX orders_total_created ON orders (total_minor, created_at, id) INCLUDE (status);
        """,
    ),
    (
        14,
        """
        -- What many managers' `next` on PostgreSQL walks, on the order's own row, so that it walks only the
        -- orders it may hand out (the indexes below) rather than every actual order past the claimed ones
        -- and the ones whose call is not due yet (a pick cost 8 ms after 1,000 claims of a million orders).
        -- held_until: the lease end of the order's claim, from every write to claims (cleared by
        -- PostgreSQL's `next` once the lease has run out; a run-out claim counts as none either way).
        -- call_due, call_manager: the order's own open call (the queue's rule: one a manager arranged
        -- wins over the playbooks', else the earliest; then the lowest id), from every write to its tasks.
        -- Kept by these triggers alone, never by hand, on both stores, so that a store copied by
        -- `unpaid migrate` carries them either way. (An order stored after its call gets the copy when the
        -- store passes the order's status on to the call: the status is among the columns watched.) A row
        -- whose copy is right already is not written again: a status passed on, or a store copied in whole.
        ALTER TABLE orders ADD COLUMN held_until TEXT;
        ALTER TABLE orders ADD COLUMN call_due TEXT;
        ALTER TABLE orders ADD COLUMN call_manager TEXT;
        UPDATE orders SET held_until = (SELECT lease_until FROM claims WHERE claims.order_id = orders.id)
            WHERE id IN (SELECT order_id FROM claims);
        UPDATE orders SET (call_due, call_manager) = ({of_orders})
            WHERE id IN (SELECT order_id FROM tasks WHERE state = 'open');
        CREATE TRIGGER claims_hold AFTER INSERT ON claims BEGIN
            UPDATE orders SET held_until = NEW.lease_until WHERE id = NEW.order_id AND held_until IS NOT NEW.lease_until;
        END;
        CREATE TRIGGER claims_rehold AFTER UPDATE ON claims BEGIN
            UPDATE orders SET held_until = NEW.lease_until WHERE id = NEW.order_id AND held_until IS NOT NEW.lease_until;
        END;
        CREATE TRIGGER claims_unhold AFTER DELETE ON claims BEGIN
            UPDATE orders SET held_until = NULL WHERE id = OLD.order_id AND held_until IS NOT NULL;
        END;
        CREATE TRIGGER tasks_call_new AFTER INSERT ON tasks BEGIN
            UPDATE orders SET (call_due, call_manager) = ({of_new})
                WHERE id = NEW.order_id AND (call_due, call_manager) IS NOT ({of_new});
        END;
        CREATE TRIGGER tasks_call_changed AFTER UPDATE OF state, due_at, manager, order_status ON tasks BEGIN
            UPDATE orders SET (call_due, call_manager) = ({of_new})
                WHERE id = NEW.order_id AND (call_due, call_manager) IS NOT ({of_new});
        END;
        CREATE TRIGGER tasks_call_gone AFTER DELETE ON tasks BEGIN
            UPDATE orders SET (call_due, call_manager) = ({of_old})
                WHERE id = OLD.order_id AND (call_due, call_manager) IS NOT ({of_old});
        END;
        """.format(of_orders=ORDER_CALL.format("orders.id"), of_new=ORDER_CALL.format("NEW.order_id"),
                   of_old=ORDER_CALL.format("OLD.order_id")),
        # PostgreSQL only: the actual orders with an open call that nobody holds, in each order `next` hands
        # them out (newest or oldest first, biggest first, soonest due), the call's due time and manager in
        # the key so that a call not due yet, or another manager's, is passed over inside the index. And the
        # held ones by lease end, for the sweep of run-out leases. The statuses are unpaid.model.ACTUAL's,
        # written out: a partial index serves only a query that repeats its condition (unpaid.store.desk.FREE).
        # SQLite's `next` reads a page under its write lock.
        """
        CREATE INDEX orders_free_created ON orders (created_at, id, call_due, call_manager)
            WHERE held_until IS NULL AND call_due IS NOT NULL
            AND status IN ('in_work', 'new', 'not_confirmed', 'part_paid', 'payment_waiting');
        CREATE INDEX orders_free_total ON orders (total_minor, created_at, id, call_due, call_manager)
            WHERE held_until IS NULL AND call_due IS NOT NULL
            AND status IN ('in_work', 'new', 'not_confirmed', 'part_paid', 'payment_waiting');
        CREATE INDEX orders_free_due ON orders (call_due, created_at DESC, id DESC, call_manager)
            WHERE held_until IS NULL AND call_due IS NOT NULL
            AND status IN ('in_work', 'new', 'not_confirmed', 'part_paid', 'payment_waiting');
        CREATE INDEX orders_held ON orders (held_until) WHERE held_until IS NOT NULL;
        """,
    ),
    (
        15,
        """
        -- The copies of schema 14 move from the order rows to a narrow table of their own, one row per order
        -- with an open call. A claim wrote the order's wide row, and every index of orders got a new entry
        -- (seven of them: 0.6 ms of the 1 ms a claim took on a million orders, and the bloat of the biggest
        -- table); it now writes a row of seven short columns with one key. The order's status, creation time
        -- and total are copied too, so that `next` and `queue` read this table alone. Kept by triggers,
        -- never by hand, on both stores: from every write to tasks (the row comes and goes with the open
        -- call), to claims, and to an order's status, creation time or total. A row whose copy is right
        -- already is not written again.
        CREATE TABLE desk_queue (
            order_id TEXT PRIMARY KEY,
            status TEXT NOT NULL,
            created_at TEXT NOT NULL,
            total_minor INTEGER NOT NULL,
            call_due TEXT NOT NULL,
            call_manager TEXT,
            held_until TEXT
        );
        INSERT INTO desk_queue (order_id, status, created_at, total_minor, call_due, call_manager, held_until)
            SELECT id, status, created_at, total_minor, call_due, call_manager, held_until FROM orders
            WHERE call_due IS NOT NULL;
        DROP TRIGGER claims_hold;
        DROP TRIGGER claims_rehold;
        DROP TRIGGER claims_unhold;
        DROP TRIGGER tasks_call_new;
        DROP TRIGGER tasks_call_changed;
        DROP TRIGGER tasks_call_gone;
        DROP INDEX IF EXISTS orders_free_created;
        DROP INDEX IF EXISTS orders_free_total;
        DROP INDEX IF EXISTS orders_free_due;
        DROP INDEX IF EXISTS orders_held;
        ALTER TABLE orders DROP COLUMN held_until;
        ALTER TABLE orders DROP COLUMN call_due;
        ALTER TABLE orders DROP COLUMN call_manager;
        CREATE TRIGGER queue_hold AFTER INSERT ON claims BEGIN
            UPDATE desk_queue SET held_until = NEW.lease_until
                WHERE order_id = NEW.order_id AND held_until IS NOT NEW.lease_until;
        END;
        CREATE TRIGGER queue_rehold AFTER UPDATE ON claims BEGIN
            UPDATE desk_queue SET held_until = NEW.lease_until
                WHERE order_id = NEW.order_id AND held_until IS NOT NEW.lease_until;
        END;
        CREATE TRIGGER queue_unhold AFTER DELETE ON claims BEGIN
            UPDATE desk_queue SET held_until = NULL WHERE order_id = OLD.order_id AND held_until IS NOT NULL;
        END;
        {call_triggers}
        CREATE TRIGGER queue_order AFTER UPDATE OF status, created_at, total_minor ON orders
            WHEN NEW.status IS NOT OLD.status OR NEW.created_at IS NOT OLD.created_at
                OR NEW.total_minor IS NOT OLD.total_minor
        BEGIN
            UPDATE desk_queue SET status = NEW.status, created_at = NEW.created_at, total_minor = NEW.total_minor
                WHERE order_id = NEW.id;
        END;
        """.format(call_triggers=_call_triggers("queue_call", FOLLOW, ORDER_CALL)),
        # PostgreSQL only: schema 14's indexes, on the new table (unpaid.store.desk.FREE repeats their
        # condition). Its rows change with every claim and release, and every entry they leave is walked
        # by each `next` until a vacuum clears it: a vacuum of this small table is cheap, so it runs after
        # 1,000 changed rows rather than after a fifth of the table (PostgreSQL's default).
        """
        DROP FUNCTION IF EXISTS unpaid_claims_hold();
        DROP FUNCTION IF EXISTS unpaid_tasks_call();
        ALTER TABLE desk_queue SET (autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 1000,
            autovacuum_analyze_scale_factor = 0.05);
        CREATE INDEX desk_queue_created ON desk_queue (created_at, order_id, call_due, call_manager)
            WHERE held_until IS NULL AND status IN ('in_work', 'new', 'not_confirmed', 'part_paid', 'payment_waiting');
        CREATE INDEX desk_queue_total ON desk_queue (total_minor, created_at, order_id, call_due, call_manager)
            WHERE held_until IS NULL AND status IN ('in_work', 'new', 'not_confirmed', 'part_paid', 'payment_waiting');
        CREATE INDEX desk_queue_due ON desk_queue (call_due, created_at DESC, order_id DESC, call_manager)
            WHERE held_until IS NULL AND status IN ('in_work', 'new', 'not_confirmed', 'part_paid', 'payment_waiting');
        CREATE INDEX desk_queue_held ON desk_queue (held_until) WHERE held_until IS NOT NULL;
        """,
    ),
    (
        16,
        """
        -- A queue row is marked due_later when its call was arranged ahead of its due time (a call back
        -- tomorrow, a reminder in three days; not the first call of a new order, due when made), until a
        -- `next` finds the call due by its own clock (--now) and clears the mark, before it picks.
        -- PostgreSQL's `next` walks the free rows newest (oldest, dearest) first, and every call arranged
        -- for later lay in its way, read again by every `next` (after 5,000 claims: 0.8 ms of a 1 ms
        -- claim); marked, they are out of the indexes it walks. The mark only keeps rows out of the
        -- way, never decides what is due, and no clock sets it. SQLite keeps it too, for `unpaid migrate`.
        ALTER TABLE desk_queue ADD COLUMN due_later INTEGER NOT NULL DEFAULT 0;
        UPDATE desk_queue SET due_later = 1 WHERE ({later}) = 1;
        DROP TRIGGER queue_call_new;
        DROP TRIGGER queue_call_changed;
        DROP TRIGGER queue_call_gone;
        {call_triggers}
        """.format(call_triggers=_call_triggers("desk_call", FOLLOW_LATER, ORDER_CALL_MARKED),
                   later=ORDER_CALL.format("desk_queue.order_id").replace(
                       "t.due_at, t.manager FROM", f"{ARRANGED_AHEAD} FROM", 1)),
        # PostgreSQL only: the indexes `next` walks by creation and by total leave the marked rows out
        # (unpaid.store.desk.WAITING_OUT); the one by due time needs not (they lie at its end), and `queue`
        # counts from it. One more index finds the marked rows that have come due.
        """
        DROP FUNCTION IF EXISTS unpaid_queue_call();
        DROP INDEX desk_queue_created;
        DROP INDEX desk_queue_total;
        CREATE INDEX desk_queue_created ON desk_queue (created_at, order_id, call_due, call_manager)
            WHERE due_later = 0 AND held_until IS NULL
            AND status IN ('in_work', 'new', 'not_confirmed', 'part_paid', 'payment_waiting');
        CREATE INDEX desk_queue_total ON desk_queue (total_minor, created_at, order_id, call_due, call_manager)
            WHERE due_later = 0 AND held_until IS NULL
            AND status IN ('in_work', 'new', 'not_confirmed', 'part_paid', 'payment_waiting');
        CREATE INDEX desk_queue_later ON desk_queue (call_due) WHERE due_later = 1;
        """,
    ),
    (
        17,
        """
        -- The live claims by their lease end. A claim's row stays when its lease runs out, so the table
        -- grows with every order ever taken, and the live ones are few: PostgreSQL's queue count asks
        -- which of the free orders are held after all (unpaid.store.desk.DeskStore.count_by_queue), and the
        -- dedupe facts which orders are held, without reading every claim ever taken.
        CREATE INDEX claims_live ON claims (lease_until);
        """,
    ),
]

LATEST = MIGRATIONS[-1][0]
