"""Copying a whole store to another backend (SQLite -> PostgreSQL when a team starts, and back).

Every table is copied in primary-key order, in batches read by key range (keyset paging), each batch in
one transaction: into PostgreSQL with ``COPY``, into SQLite with ``INSERT OR IGNORE``. A copy killed
half-way is resumed by running it again (rows already there are passed over). Then the row counts are compared table by table. A target that holds data of another store (no
marker of this source, or another one's) is refused before anything is written.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Callable, Iterator

from unpaid.errors import StoreError
from unpaid.i18n import _

if TYPE_CHECKING:
    from unpaid.store import Store

BATCH = 20_000
MARKER_SCOPE, MARKER_KEY = "unpaid:migrate", "source"
# Tables with a generated id: PostgreSQL's sequence must move past the copied ids.
IDENTITY = ("history", "tasks", "offers", "events")


@dataclass
class TableCount:
    table: str
    source: int
    target_before: int
    target: int

    @property
    def ok(self) -> bool:
        return self.source == self.target

    def as_dict(self) -> dict:
        return {**asdict(self), "ok": self.ok}


def tables(store: "Store") -> list[str]:
    """The store's data tables, by name (the schema-version table left out: each side keeps its own)."""
    if store.postgres:
        sql = "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() AND tablename <> 'unpaid_schema'"
    else:
        sql = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'"
    return sorted(r[0] for r in store.conn.execute(sql))


def _where(table: str) -> str:
    # The copy marker is each side's own: neither copied nor counted.
    return f" WHERE scope <> '{MARKER_SCOPE}'" if table == "source_state" else ""


def count(store: "Store", table: str) -> int:
    if store.schema_version() == 0:
        return 0  # a dry run's target that was never migrated
    return store.conn.execute(f"SELECT COUNT(*) FROM {table}{_where(table)}").fetchone()[0]


def _key(store: "Store", table: str) -> list[str]:
    """The table's primary-key columns, the order rows are copied (and digested) in."""
    if store.postgres:
        rows = store.conn.execute(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid"
            " AND a.attnum = ANY(i.indkey) WHERE i.indrelid = ?::regclass AND i.indisprimary", (table,))
        return [r[0] for r in rows]
    rows = store.conn.execute(f"PRAGMA table_info({table})").fetchall()
    return [r[1] for r in sorted(rows, key=lambda r: r[5]) if r[5]]


def _columns(store: "Store", table: str) -> list[str]:
    cur = store.conn.execute(f"SELECT * FROM {table} LIMIT 0")
    return [d[0] for d in cur.description]


def fingerprint(store: "Store") -> str:
    """What identifies a store's data: its first orders and first history entries (ids and times)."""
    h = hashlib.sha256()
    for row in store.conn.execute("SELECT id, created_at FROM orders ORDER BY id LIMIT 100"):
        h.update(f"{row[0]}|{row[1]}\n".encode())
    for row in store.conn.execute("SELECT order_id, at, kind FROM history ORDER BY id LIMIT 100"):
        h.update(f"{row[0]}|{row[1]}|{row[2]}\n".encode())
    return h.hexdigest()[:32]


def _marker(store: "Store") -> str | None:
    row = store.conn.execute("SELECT value FROM source_state WHERE scope = ? AND key = ?",
                             (MARKER_SCOPE, MARKER_KEY)).fetchone()
    return json.loads(row[0]) if row else None


def check_target(source: "Store", target: "Store", target_label: str) -> str:
    """The source's fingerprint; StoreError (exit 2) when the target holds another store's data."""
    mark = fingerprint(source)
    if target.schema_version() == 0:
        return mark
    if any(count(target, t) for t in tables(target)) or _marker(target) is not None:
        if _marker(target) != mark:
            raise StoreError(_("{target} already holds another shop's data").format(target=target_label),
                             _("migrate into an empty database (createdb a new one), or point --to / --from at the "
                               "store this one was copied from; nothing was written"))
    return mark


def copy(source: "Store", target: "Store", target_label: str, *, dry_run: bool = False,
         progress: Callable[[str, int], None] | None = None) -> list[TableCount]:
    """Copy every table of ``source`` into ``target`` (both migrated to this unpaid's schema) and count.

    Resumable: run it again after a kill. ``dry_run`` writes nothing and reports what the target has.
    """
    mark = check_target(source, target, target_label)
    names = tables(source)
    before = {t: count(target, t) for t in names}
    if not dry_run:
        with target.transaction():  # first, so that a resumed copy is recognised as ours
            target.conn.execute(
                "INSERT OR IGNORE INTO source_state (scope, key, value, updated_at) VALUES (?, ?, ?, ?)",
                (MARKER_SCOPE, MARKER_KEY, json.dumps(mark), "1970-01-01T00:00:00Z"))
        for table in names:
            copied = 0
            for batch in _batches(source, table):
                _insert(target, table, batch, fresh=before[table] == 0)
                copied += len(batch[1])
                if progress:
                    progress(table, copied)
            if target.postgres and table in IDENTITY:
                target.conn.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                                    f" GREATEST((SELECT MAX(id) FROM {table}), 1))")
    return [TableCount(t, count(source, t), before[t], before[t] if dry_run else count(target, t)) for t in names]


def _batches(store: "Store", table: str) -> Iterator[tuple[list[str], list[tuple]]]:
    """The table's rows in primary-key order, ``BATCH`` at a time: each batch starts after the last key
    of the one before (keyset paging), so every batch is one index range and the millionth row costs what
    the first did (``OFFSET`` re-read every row before it: quadratic)."""
    columns, key = _columns(store, table), _key(store, table)
    if not key:  # every table of the schema has a primary key; a foreign one is read whole, in column order
        yield from _offset_batches(store, table, columns)
        return
    select = f"SELECT {', '.join(columns)} FROM {table}"
    order = f" ORDER BY {', '.join(key)} LIMIT {BATCH}"
    where = _where(table)
    after = f"({', '.join(key)}) > ({', '.join('?' * len(key))})"
    positions = [columns.index(k) for k in key]
    last: list | None = None
    while True:
        cur = store.conn.cursor()
        cur.row_factory = None  # plain tuples: the copy reads every row once
        if last is None:
            cur.execute(select + where + order)
        else:
            cur.execute(select + (f"{where} AND " if where else " WHERE ") + after + order, last)
        rows = [tuple(r) for r in cur]
        if not rows:
            return
        yield columns, rows
        if len(rows) < BATCH:
            return
        last = [rows[-1][i] for i in positions]


def _offset_batches(store: "Store", table: str, columns: list[str]) -> Iterator[tuple[list[str], list[tuple]]]:
    offset = 0
    while True:
        rows = [tuple(r) for r in store.conn.execute(
            f"SELECT {', '.join(columns)} FROM {table}{_where(table)} ORDER BY {', '.join(columns)} LIMIT ? OFFSET ?",
            (BATCH, offset))]
        if not rows:
            return
        yield columns, rows
        offset += len(rows)


def _insert(target: "Store", table: str, batch: tuple[list[str], list[tuple]], fresh: bool) -> None:
    """One batch, in one transaction. Into PostgreSQL with ``COPY``: straight into a table that was empty when
    the copy began (the source's keys are unique, so nothing can clash), else through a scratch table and
    ``INSERT … ON CONFLICT DO NOTHING`` (a resumed copy passes over the rows already there). Into SQLite with
    ``INSERT OR IGNORE``."""
    columns, rows = batch
    names = ", ".join(columns)
    with target.transaction():
        if not target.postgres:
            target.conn.executemany(f"INSERT OR IGNORE INTO {table} ({names}) VALUES ({', '.join('?' * len(columns))})",
                                    rows)
            return
        into = table if fresh else f"unpaid_copy_{table}"
        if not fresh:
            target.conn.raw_execute(f"CREATE TEMP TABLE IF NOT EXISTS {into} (LIKE {table}) ON COMMIT DELETE ROWS")
        with target.conn.raw.cursor() as cur:
            with cur.copy(f"COPY {into} ({names}) FROM STDIN") as pipe:
                for row in rows:
                    pipe.write_row(row)
            if not fresh:
                cur.execute(f"INSERT INTO {table} ({names}) SELECT {names} FROM {into} ON CONFLICT DO NOTHING")


def digest(store: "Store", table: str) -> str:
    """A hash of every row of ``table``: equal on both sides after a full copy. The rows' hashes are added up
    (mod 2**256), so the figure does not depend on the order a database's collation sorts text keys in."""
    total = 0
    for _columns_, rows in _batches(store, table):
        for row in rows:
            total += int.from_bytes(hashlib.sha256(json.dumps(list(row), default=str).encode()).digest(), "big")
    return f"{total % 2**256:064x}"


def _same_store(a: str, b: str) -> bool:
    """Whether two --db values name one store: a file by its resolved path ("./unpaid.db" is "unpaid.db"), a
    PostgreSQL database by its checked URL ("postgres://" is "postgresql://", port 5432 said or not)."""
    from pathlib import Path

    from unpaid.store.dialect import is_postgres

    def key(value: str) -> str:
        if is_postgres(value):
            from unpaid.store.postgres import parse

            target = parse(value)
            return f"{target.user}@{target.host}:{target.port}/{target.dbname}"
        return str(Path(value).expanduser().resolve())

    return str(a) == str(b) or key(str(a)) == key(str(b))


def run(source: str, target: str, *, dry_run: bool = False,
        progress: Callable[[str, int], None] | None = None) -> list[TableCount]:
    """Open both stores (a file or a URL each) and copy ``source`` into ``target``; a dry run opens the
    target without creating or migrating it, and writes nothing."""
    from pathlib import Path

    from unpaid.store import Store
    from unpaid.store.dialect import is_postgres

    if _same_store(source, target):
        raise StoreError(_("--to / --from names the store in use"),
                         _("name another database: the copy goes between two"))
    src = Store.open(source, create=False)
    try:
        if dry_run and not is_postgres(target) and not Path(target).expanduser().exists():
            return [TableCount(t, count(src, t), 0, 0) for t in tables(src)]
        dst = Store.open(target, migrate=not dry_run)
        try:
            return copy(src, dst, str(dst.path), dry_run=dry_run, progress=progress)
        finally:
            dst.close()
    finally:
        src.close()
