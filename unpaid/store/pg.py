"""A PostgreSQL connection that looks like the sqlite3 one the store uses (``execute``, ``executemany``,
``cursor``, ``in_transaction``, ``total_changes``, rows readable by index and by name), so every store
module runs unchanged on either backend. psycopg is imported here alone, and only for a PostgreSQL URL.

Write transactions (``BEGIN IMMEDIATE`` in the store) take one transaction-scoped advisory lock, so
writers are serialised as on SQLite and every read-then-write of the store stays correct; readers are
never blocked. The call desk's and the ledger's claims are single statements that PostgreSQL's row
locks make safe on their own.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator, Sequence

from unpaid.store import dialect

# pg_advisory_xact_lock key of the store's writer lock ("unpaid" in ASCII).
WRITER_LOCK = 0x756E70616964


class Row(tuple):
    """A result row: by index like a tuple, by column name like :class:`sqlite3.Row`."""

    names: dict[str, int]

    def __getitem__(self, key):  # type: ignore[override]
        if isinstance(key, str):
            return tuple.__getitem__(self, self.names[key])
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self.names)


_ROW_CLASSES: dict[tuple[bytes, ...], type[Row]] = {}


def _row_class(result) -> type[Row] | None:
    """The row class of a result's columns (None: the statement returned no rows), one per set of names.

    The names are read from libpq's result, not ``cursor.description``: that builds a column object per
    column at every call, which with a new class per result cost 60 us of a 230 us claim's client side."""
    if result is None or not result.nfields:
        return None
    key = tuple(result.fname(i) for i in range(result.nfields))
    row = _ROW_CLASSES.get(key)
    if row is None:
        names = {name.decode(): i for i, name in enumerate(key)}
        row = _ROW_CLASSES[key] = type("Row", (Row,), {"names": names, "__slots__": ()})
    return row


class Cursor:
    """A cursor with sqlite3's surface: ``execute`` returns itself, iteration yields rows."""

    def __init__(self, conn: "Connection"):
        self._conn = conn
        self._cur = conn.raw.cursor()
        self.row_factory: object = "row"  # None: plain tuples, as for sqlite3
        self._row: type[Row] | None = None

    def execute(self, sql: str, args: Sequence[Any] | dict = ()) -> "Cursor":
        text = dialect.translate(sql)
        if text is None:
            self._row = None
            return self
        if text == "BEGIN":
            self._conn.begin()
            return self
        self._conn.run(self._cur, text, args)
        self._row = _row_class(self._cur.pgresult)
        return self

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> "Cursor":
        text = dialect.translate(sql)
        if text is not None:
            self._conn.run_many(self._cur, text, rows)
        return self

    @property
    def rowcount(self) -> int:
        return self._cur.rowcount

    @property
    def description(self):
        return [(d.name,) + (None,) * 6 for d in self._cur.description or ()]

    def _wrap(self, row):
        if row is None or self.row_factory is None or self._row is None:
            return row
        return self._row(row)

    def fetchone(self):
        if self._row is None:
            return None
        return self._wrap(self._cur.fetchone())

    def fetchall(self) -> list:
        return list(self)

    def fetchmany(self, size: int = 1) -> list:
        return [self._wrap(r) for r in self._cur.fetchmany(size)] if self._row is not None else []

    def __iter__(self) -> Iterator:
        if self._row is None:
            return iter(())
        return (self._wrap(r) for r in self._cur)

    def close(self) -> None:
        self._cur.close()


class Connection:
    """One psycopg connection in autocommit mode; the store sends BEGIN / COMMIT / ROLLBACK itself."""

    def __init__(self, raw, label: str):
        self.raw = raw
        self.label = label  # the URL without its password, for messages
        self.total_changes = 0

    @property
    def in_transaction(self) -> bool:
        import psycopg

        return self.raw.info.transaction_status != psycopg.pq.TransactionStatus.IDLE

    def begin(self, writer_lock: bool = True) -> None:
        with self.raw.cursor() as cur:
            cur.execute("BEGIN")
            if writer_lock:
                cur.execute("SELECT pg_advisory_xact_lock(%s)", (WRITER_LOCK,))

    def run(self, cur, text: str, args) -> None:
        cur.execute(text, args if args is not None else ())
        if cur.rowcount > 0 and not (cur.pgresult and cur.pgresult.nfields):  # a write, not a read's rows
            self.total_changes += cur.rowcount

    def run_many(self, cur, text: str, rows: Iterable[Sequence[Any]]) -> None:
        rows = list(rows)
        if not rows:
            return
        cur.executemany(text, rows)
        if cur.rowcount > 0:
            self.total_changes += cur.rowcount

    def cursor(self) -> Cursor:
        return Cursor(self)

    def execute(self, sql: str, args: Sequence[Any] | dict = ()) -> Cursor:
        return Cursor(self).execute(sql, args)

    def executemany(self, sql: str, rows: Iterable[Sequence[Any]]) -> Cursor:
        return Cursor(self).executemany(sql, rows)

    def raw_execute(self, sql: str) -> None:
        """Run ``sql`` as written (schema and functions: no placeholders, no rewriting)."""
        with self.raw.cursor() as cur:
            cur.execute(sql.encode())

    def close(self) -> None:
        self.raw.close()
