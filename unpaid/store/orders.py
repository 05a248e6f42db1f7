"""Orders table: upsert pages from sync, query listings, read one order."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field, replace
from itertools import islice
from datetime import datetime
from typing import TYPE_CHECKING, Any, Callable, Container, Iterable, Iterator, Sequence

from unpaid.clock import from_iso, to_iso
from unpaid.model import ACTUAL, Customer, LineItem, Money, Order, Status

if TYPE_CHECKING:
    from unpaid.store import Store

COLUMNS = (
    "id", "source", "native_id", "number", "status", "native_status", "created_at", "updated_at", "paid_at",
    "customer_key", "email", "phone", "name", "customer_native_id", "product_key", "product_title",
    "total_minor", "currency", "paid_minor", "manager", "payment_link", "cancel_reason", "items", "extra",
    "synced_at",
)
#: Columns a read without them leaves as stored: a payment link that one kind of read carries (GetCourse's
#: Tech API) and another does not (its export) is not wiped by the next sync.
_KEPT = frozenset({"payment_link"})
_UPSERT = (
    f"INSERT INTO orders ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))}) "
    "ON CONFLICT (id) DO UPDATE SET "
    + ", ".join(f"{c} = COALESCE(excluded.{c}, orders.{c})" if c in _KEPT else f"{c} = excluded.{c}"
                for c in COLUMNS if c != "id")
)
_CHUNK = 500
#: Rows an export reads and writes at a time: one write each, memory bounded.
_EXPORT_CHUNK = 2000
#: Status by stored value: a dict look-up, where ``Status(value)`` costs an enum call per row read.
_STATUS = {s.value: s for s in Status}


class _CsvLine:
    """A row's CSV line as ``csv.writer`` (line feed ending) writes its cells, without the line end."""

    def __init__(self):
        import csv
        import io

        self.buf = io.StringIO()
        self.writer = csv.writer(self.buf, lineterminator="\n")

    def __call__(self, row: Sequence) -> str:
        self.buf.seek(0)
        self.buf.truncate()
        self.writer.writerow(row)
        return self.buf.getvalue()[:-1]


@dataclass(frozen=True)
class StatusChange:
    """A status that changed at the source between two syncs."""

    order_id: str
    old: str
    new: str


@dataclass
class OrderQuery:
    """Filters for listings; every field narrows the result (AND)."""

    statuses: frozenset[Status] | None = ACTUAL
    sources: Sequence[str] = ()
    products: Sequence[str] = ()
    customer: str | None = None
    manager: str | None = None
    created_before: datetime | None = None
    created_after: datetime | None = None
    min_total: int | None = None
    max_total: int | None = None
    has_email: bool | None = None
    has_phone: bool | None = None
    ids: Sequence[str] | None = None
    sort: str = "newest"
    extra_where: list[tuple[str, tuple]] = field(default_factory=list)

    def where(self) -> tuple[str, list]:
        clauses: list[str] = []
        args: list = []
        if self.statuses is not None:
            clauses.append(f"status IN ({', '.join('?' * len(self.statuses))})")
            args += sorted(s.value for s in self.statuses)
        for column, values in (("source", self.sources), ("product_key", self.products)):
            if values:
                clauses.append(f"{column} IN ({', '.join('?' * len(values))})")
                args += list(values)
        if self.customer:
            clauses.append("(customer_key = ? OR email LIKE ? OR phone LIKE ? OR name LIKE ?)")
            needle = f"%{self.customer.strip()}%"
            args += [self.customer.strip().lower(), needle, needle, needle]
        if self.manager:
            clauses.append("(manager = ? OR id IN (SELECT order_id FROM claims WHERE manager = ?))")
            args += [self.manager, self.manager]
        if self.created_before:
            clauses.append("created_at < ?")
            args.append(to_iso(self.created_before))
        if self.created_after:
            clauses.append("created_at >= ?")
            args.append(to_iso(self.created_after))
        if self.min_total is not None:
            clauses.append("total_minor >= ?")
            args.append(self.min_total)
        if self.max_total is not None:
            clauses.append("total_minor <= ?")
            args.append(self.max_total)
        for column, flag in (("email", self.has_email), ("phone", self.has_phone)):
            if flag is not None:
                clauses.append(f"({column} IS NOT NULL AND {column} != '')" if flag
                               else f"({column} IS NULL OR {column} = '')")
        if self.ids is not None:
            clauses.append(f"id IN ({', '.join('?' * len(self.ids))})")
            args += list(self.ids)
        for sql, extra_args in self.extra_where:
            clauses.append(sql)
            args += list(extra_args)
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", args


SORTS = {
    "newest": "created_at DESC, id DESC",
    "oldest": "created_at ASC, id ASC",
    "amount": "total_minor DESC, created_at DESC",
    "status": "status ASC, created_at DESC",
}


def to_row(order: Order, synced_at: str) -> tuple:
    """Flatten an Order into the orders table's column order."""
    c = order.customer
    items = None
    if order.items and not _derivable(order):
        items = json.dumps(
            [[i.product_id, i.title, i.quantity, i.price.minor if i.price else None] for i in order.items],
            ensure_ascii=False, separators=(",", ":"),
        )
    return (
        order.id, order.source, order.native_id, order.number, order.status.value, order.native_status,
        to_iso(order.created_at), to_iso(order.updated_at), to_iso(order.paid_at),
        c.key, c.email, c.phone, c.name, c.native_id,
        order.product_key, order.product_title or None,
        order.total.minor, order.total.currency, order.paid.minor if order.paid else None,
        order.manager, order.payment_link, order.cancel_reason, items,
        json.dumps(order.extra, ensure_ascii=False, separators=(",", ":")) if order.extra else None,
        synced_at,
    )


def _derivable(order: Order) -> bool:
    # One item at the order's total is the common case; its columns say it all, and skipping the
    # JSON saves a third of the write cost of a large sync.
    if len(order.items) != 1:
        return False
    item = order.items[0]
    return (item.quantity == 1 and item.price == order.total
            and item.title == order.product_title and item.product_id == order.product_key)


def from_row(row) -> Order:
    """Rebuild an Order from an orders row (a dict, or a row readable by column name)."""
    names = tuple(row.keys())
    return _builder(names)(tuple(row[name] for name in names))


@functools.lru_cache(maxsize=32)
def _builder(names: tuple[str, ...]) -> Callable[[tuple], Order]:
    return tuple_builder(names)


def tuple_builder(names: Sequence[str]) -> Callable[[tuple], Order]:
    """A function that builds the Order of a plain row whose columns are ``names`` (an orders row, any
    order): :func:`from_row` with the columns found once, and the order, its customer and their cached
    ``id`` filled in as their frozen classes' ``__init__`` would (every field, in its order), without
    the checked assignment of each field."""
    at = {name: i for i, name in enumerate(names)}
    (source, native_id, number, status, native_status, created_at, updated_at, paid_at, email, phone, name,
     customer_native_id, items_at, product_key, product_title, total_minor, currency, paid_minor, manager,
     payment_link, cancel_reason, extra) = (
        at[c] for c in ("source", "native_id", "number", "status", "native_status", "created_at", "updated_at",
                        "paid_at", "email", "phone", "name", "customer_native_id", "items", "product_key",
                        "product_title", "total_minor", "currency", "paid_minor", "manager", "payment_link",
                        "cancel_reason", "extra"))
    statuses, new, parse, loads = _STATUS, object.__new__, datetime.fromisoformat, json.loads

    def build(row: tuple) -> Order:
        cur = row[currency]
        total = _new_money(row[total_minor], cur)
        text = row[items_at]
        if text is None and row[product_key] is not None:
            item = new(LineItem)  # Money is frozen: the item shares the total
            item.__dict__.update(product_id=row[product_key], title=row[product_title] or "", quantity=1,
                                 price=total)
            items: tuple[LineItem, ...] = (item,)
        elif text:
            items = tuple(LineItem(pid, title or "", qty or 1, Money(price, cur) if price is not None else None)
                          for pid, title, qty, price in loads(text))
        else:
            items = ()
        customer = new(Customer)
        customer.__dict__.update(email=row[email], phone=row[phone], name=row[name],
                                 native_id=row[customer_native_id])
        order = new(Order)
        code, when, updated, paid_time, paid, more = \
            row[status], row[created_at], row[updated_at], row[paid_at], row[paid_minor], row[extra]
        order.__dict__.update(
            source=row[source], native_id=row[native_id], status=statuses.get(code) or Status(code),
            created_at=parse(when) if when else None, total=total, customer=customer, items=items,
            number=row[number], native_status=row[native_status],
            paid=Money(paid, cur) if paid is not None else None,
            updated_at=parse(updated) if updated else None, paid_at=parse(paid_time) if paid_time else None,
            manager=row[manager], payment_link=row[payment_link], cancel_reason=row[cancel_reason],
            extra=loads(more) if more else {}, id=f"{row[source]}:{row[native_id]}")
        return order

    return build


def _new_money(minor: int, currency: str) -> Money:
    money = object.__new__(Money)
    money.__dict__.update(minor=minor, currency=currency)
    return money


def _select(columns: str, q: OrderQuery, limit: int | None, offset: int) -> tuple[str, list]:
    """The SQL and arguments that read ``columns`` of the orders ``q`` selects, in its order and page."""
    where, args = q.where()
    sql = f"SELECT {columns} FROM orders{where} ORDER BY {SORTS.get(q.sort, SORTS['newest'])}"
    if limit is not None:
        sql += " LIMIT ? OFFSET ?"
        args += [limit, offset]
    return sql, args


class Orders:
    """Read and write orders; writes must run inside ``store.transaction()``."""

    def __init__(self, store: "Store"):
        self.store = store

    @property
    def conn(self):
        return self.store.conn

    def upsert(self, orders: Sequence[Order], synced_at: datetime, *, known_new: bool = False) -> list[StatusChange]:
        """Insert or update ``orders``; return the status changes among already stored ones.

        ``known_new`` skips the look-up of previous statuses (first sync of an empty source).
        """
        if not orders:
            return []
        changes: list[StatusChange] = []
        moved: list[Order] = []  # new here or with another status: their call tasks carry the status
        if not known_new:
            before = self.statuses([o.id for o in orders])
            for o in orders:
                old = before.get(o.id)
                if old != o.status.value:
                    moved.append(o)
                    if old is not None:
                        changes.append(StatusChange(o.id, old, o.status.value))
        stamp = to_iso(synced_at)
        self.conn.executemany(_UPSERT, (to_row(o, stamp) for o in orders))
        self._tasks_follow((o.status.value, o.id) for o in moved)
        return changes

    def _tasks_follow(self, statuses: Iterable[tuple[str, str]]) -> None:
        """Pass (status, order id) on to the orders' call tasks, which the queue counts by (schema 9).

        A source's first sync (``known_new``) skips this: no task can name an order not stored yet."""
        self.conn.executemany("UPDATE tasks SET order_status = ? WHERE order_id = ?", statuses)

    def statuses(self, ids: Sequence[str]) -> dict[str, str]:
        """Current status of each stored id among ``ids``."""
        found: dict[str, str] = {}
        for start in range(0, len(ids), _CHUNK):
            chunk = ids[start : start + _CHUNK]
            sql = f"SELECT id, status FROM orders WHERE id IN ({', '.join('?' * len(chunk))})"
            found.update(self.conn.execute(sql, chunk).fetchall())
        return found

    def get(self, order_id: str) -> Order | None:
        row = self.conn.execute("SELECT * FROM orders WHERE id = ?", (order_id,)).fetchone()
        return from_row(row) if row else None

    def find(self, text: str) -> list[Order]:
        """Orders matching an id, a native id or an order number (for friendly look-ups)."""
        rows = self.conn.execute(
            "SELECT * FROM orders WHERE id = ? OR native_id = ? OR number = ? ORDER BY id LIMIT 10",
            (text, text, text),
        ).fetchall()
        return [from_row(r) for r in rows]

    def query(self, q: OrderQuery, limit: int | None = None, offset: int = 0) -> Iterator[Order]:
        cur = self.conn.cursor()
        cur.row_factory = None  # plain tuples: planning builds tens of thousands of orders
        cur.execute(*_select("*", q, limit, offset))
        build = tuple_builder([d[0] for d in cur.description])
        for row in cur:
            yield build(row)

    def records(self, q: OrderQuery, limit: int | None = None, offset: int = 0, *, as_json: bool = False,
                as_csv: bool = False) -> Iterator[Any]:
        """:meth:`query`'s orders as JSON records (:func:`unpaid.records.order_dict`), with ``as_json`` their
        compact JSON texts, with ``as_csv`` their CSV cells (:func:`unpaid.records.row_csv`), read as plain
        tuples and never built as orders, a row at a time, in Python (:meth:`export` has SQLite build them)."""
        from unpaid.records import RECORD_COLUMNS, row_csv, row_record

        sql, args = _select(", ".join(RECORD_COLUMNS), q, limit, offset)
        cur = self.conn.cursor()
        cur.row_factory = None
        if as_json:
            import json

            encode = json.JSONEncoder(ensure_ascii=False, separators=(",", ":")).encode
            return (encode(row_record(row)) for row in cur.execute(sql, args))
        return map(row_csv if as_csv else row_record, cur.execute(sql, args))

    def export(self, q: OrderQuery, fmt: str, limit: int | None = None, offset: int = 0) -> Iterator[tuple[Any, int]]:
        """:meth:`records` as final texts for ``fmt`` (compact JSON for json and jsonl, CSV lines of
        :data:`unpaid.records.CSV_HEADER`'s cells for csv), in blocks of a few thousand rows in
        :meth:`query`'s order: (the block's text, as ``str`` or UTF-8 ``bytes``; its rows). A block's rows
        are joined by ``,\\n  `` for json (as :func:`unpaid.output.write_texts` writes them), each ended by
        a line feed for jsonl and csv.

        On SQLite the common row's text is built by SQLite (:func:`unpaid.records.json_select`,
        :func:`unpaid.records.csv_block_select`) and only the others are finished in Python, in their
        place: a row never becomes Python values on the way, and Python takes a step per block, not per row."""
        from unpaid import records

        as_csv = fmt == "csv"
        line = _CsvLine()
        if self.store.postgres:  # the texts are built in Python (the SQL below is SQLite's)
            rows = self.records(q, limit, offset, as_json=not as_csv, as_csv=as_csv)
            while chunk := list(islice(rows, _EXPORT_CHUNK)):
                texts = map(line, chunk) if as_csv else chunk
                yield (",\n  ".join(texts) if fmt == "json" else "".join(t + "\n" for t in texts)), len(chunk)
            return
        if not as_csv:
            yield from self._json_blocks(q, fmt, limit, offset)
            return
        sql, args = _select(f"{records.csv_block_select()}, rowid", q, limit, offset)
        cur = self.conn.cursor()
        cur.row_factory = None
        cur.execute(sql, args)
        while rows := cur.fetchmany(_EXPORT_CHUNK):
            lines = [text for text, _ in rows]
            block = None if None in lines else records.csv_block(lines)
            if block is None:  # a row at a time: the lines that pass alone; the others read again by rowid
                done = [None if text is None else records.csv_block([text]) for text in lines]
                odd = [rowid for text, (_, rowid) in zip(done, rows) if text is None]
                again = self._by_rowid(odd, records.csv_select())  # cells quoted and guarded in SQL
                rest = self._by_rowid([rowid for rowid in odd if again[rowid][0] is None],
                                      ", ".join(records.RECORD_COLUMNS))
                for rowid, row in rest.items():  # any other row: in Python
                    again[rowid] = (line(records.row_csv(row)),)
                block = b"".join(text if text is not None else (again[rowid][0] + "\n").encode()
                                 for text, (_, rowid) in zip(done, rows))
            yield block, len(rows)

    def split_keys(self, q: OrderQuery, rows: int) -> list[tuple[str, str]]:
        """The (created_at, id) keys that cut ``q``'s orders ("newest" or "oldest" first) into ranges of about
        ``rows`` each, for :meth:`in_range`: every ``rows``-th key of the creation index within ``q``'s
        creation bounds (its other filters are left to the ranges: the walk reads the index alone)."""
        bounds = OrderQuery(statuses=None, created_before=q.created_before, created_after=q.created_after,
                            sort=q.sort)
        keys: list[tuple[str, str]] = []
        while True:  # the key ``rows`` orders past the last one (or past the first order)
            where, args = self.in_range(bounds, keys[-1] if keys else None, None).where()
            row = self.conn.execute(f"SELECT created_at, id FROM orders{where} ORDER BY {SORTS[q.sort]}"
                                    " LIMIT 1 OFFSET ?", [*args, rows]).fetchone()
            if row is None:
                return keys
            keys.append((row[0], row[1]))

    @staticmethod
    def in_range(q: OrderQuery, start: tuple[str, str] | None, end: tuple[str, str] | None) -> OrderQuery:
        """``q`` narrowed to its orders from key ``start`` (included) to ``end`` (excluded), in its order
        (:meth:`split_keys`; None: from the first, to the last)."""
        newest = q.sort == "newest"
        first, beyond = ("<=", ">") if newest else (">=", "<")
        where = list(q.extra_where)
        bounds = {"created_before": q.created_before, "created_after": q.created_after}
        # A key lies within q's creation bounds already: the bound it replaces would be a second range on the
        # index, which SQLite does not combine (it would walk from the bound and filter up to the key).
        if start is not None:
            where.append((f"(created_at, id) {first} (?, ?)", tuple(start)))
            bounds["created_before" if newest else "created_after"] = None
        if end is not None:
            where.append((f"(created_at, id) {beyond} (?, ?)", tuple(end)))
            bounds["created_after" if newest else "created_before"] = None
        return replace(q, extra_where=where, **bounds)

    def _by_rowid(self, rowids: list[int], columns: str) -> dict[int, tuple]:
        # Rows read again by rowid while the export's read is open (the same snapshot).
        found = {}
        for start in range(0, len(rowids), _CHUNK):
            part = rowids[start : start + _CHUNK]
            found.update((r[0], r[1:]) for r in self.conn.execute(
                f"SELECT rowid, {columns} FROM orders WHERE rowid IN ({', '.join('?' * len(part))})", part))
        return found

    def _json_blocks(self, q: OrderQuery, fmt: str, limit: int | None, offset: int) -> Iterator[tuple[bytes, int]]:
        # SQLite's json_object texts as UTF-8 (never decoded here), joined as the format joins them. A JSON
        # text holds no line feed: a row left to Python (a JSON array, see json_select) is one that starts
        # with "[" after the separator. A text with a backslash or a DEL is finished by sql_json too (an
        # e-mail with a control character is not its key).
        from unpaid.records import json_select, sql_json

        sep, end = (b",\n  ", []) if fmt == "json" else (b"\n", [b""])  # jsonl: a line feed after the last too
        odd = sep + b"["
        sql, args = _select(f"CAST({json_select()} AS BLOB)", q, limit, offset)
        cur = self.conn.cursor()
        cur.row_factory = None
        cur.execute(sql, args)
        while rows := cur.fetchmany(_EXPORT_CHUNK):
            block = sep.join([text for (text,) in rows] + end)
            if block[0] == 0x5B or odd in block or b"\\" in block or b"\x7f" in block:
                block = sep.join([text if text[0] == 0x7B and b"\\" not in text and b"\x7f" not in text
                                  else sql_json(text.decode()).encode() for (text,) in rows] + end)
            yield block, len(rows)

    def count(self, q: OrderQuery) -> int:
        where, args = q.where()
        return self.conn.execute(f"SELECT COUNT(*) FROM orders{where}", args).fetchone()[0]

    def analyze(self) -> None:
        """Refresh the query planner's statistics of the orders table (about 0.35 s per million orders).

        Without them SQLite lists "newest actual orders" through the status index and sorts
        everything; with them it walks the creation index and stops after one page. The full scan
        matters: a sampled ANALYZE (analysis_limit) guesses ~1,000 orders per status on a million-row
        table, and the planner goes back to sorting.
        """
        self.conn.execute("PRAGMA analysis_limit = 0")
        self.conn.execute("ANALYZE orders")

    def count_source(self, source: str) -> int:
        return self.conn.execute("SELECT COUNT(*) FROM orders WHERE source = ?", (source,)).fetchone()[0]

    def by_customer(self, customer_keys: Iterable[str]) -> list[Order]:
        """All orders (any status, any source) of the given customer keys."""
        keys = [k for k in customer_keys if k]
        out: list[Order] = []
        for start in range(0, len(keys), _CHUNK):
            chunk = keys[start : start + _CHUNK]
            sql = f"SELECT * FROM orders WHERE customer_key IN ({', '.join('?' * len(chunk))}) ORDER BY created_at"
            out += [from_row(r) for r in self.conn.execute(sql, chunk)]
        return out

    def with_twins(self) -> Iterator[Order]:
        """Orders of every customer who has an actual order and more than one order, grouped by customer."""
        sql = (
            "SELECT * FROM orders WHERE customer_key IN ("
            " SELECT customer_key FROM orders WHERE customer_key IS NOT NULL"
            " GROUP BY customer_key HAVING COUNT(*) > 1"
            f" AND SUM(status IN ({', '.join('?' * len(ACTUAL))})) > 0"
            ") ORDER BY customer_key, created_at"
        )
        for row in self.conn.execute(sql, sorted(s.value for s in ACTUAL)):
            yield from_row(row)

    def absent(self, source: str, present: Container[str]) -> tuple[list[str], list[str]]:
        """Compare the source's stored orders with the ids a full read found.

        Returns (ids not found that were not missing yet, ids found again that were missing).
        """
        missing, back = [], []
        rows = self.conn.execute("SELECT id, native_id, missing_since FROM orders WHERE source = ?", (source,))
        for order_id, native_id, since in rows:
            if native_id in present:
                if since is not None:
                    back.append(order_id)
            elif since is None:
                missing.append(order_id)
        return missing, back

    def set_missing(self, order_ids: Iterable[str], since: datetime | None) -> None:
        """Record when the orders went missing at their source (None: they are there again)."""
        stamp = to_iso(since)
        self.conn.executemany("UPDATE orders SET missing_since = ? WHERE id = ?", ((stamp, i) for i in order_ids))

    def mark_missing(self, order_id: str, at: datetime) -> bool:
        """The source said the order does not exist (a fresh read): missing since ``at``, unless already."""
        return self.conn.execute("UPDATE orders SET missing_since = ? WHERE id = ? AND missing_since IS NULL",
                                 (to_iso(at), order_id)).rowcount == 1

    def missing(self, source: str, before: datetime | None = None) -> list[tuple[str, str, datetime]]:
        """``(id, status, missing since)`` of the source's orders missing since before ``before`` (or at all)."""
        sql = "SELECT id, status, missing_since FROM orders WHERE source = ? AND missing_since IS NOT NULL"
        args: list = [source]
        if before is not None:
            sql += " AND missing_since <= ?"
            args.append(to_iso(before))
        return [(i, s, from_iso(m)) for i, s, m in self.conn.execute(sql + " ORDER BY id", args)]

    def set_status(self, order_id: str, status: Status, native_status: str | None, reason: str | None,
                   at: datetime) -> None:
        """Record a status unpaid set (after the source accepted it)."""
        self.conn.execute(
            "UPDATE orders SET status = ?, native_status = COALESCE(?, native_status),"
            " cancel_reason = CASE WHEN ? = 'cancelled' THEN ? ELSE cancel_reason END, updated_at = ?"
            " WHERE id = ?",
            (status.value, native_status, status.value, reason, to_iso(at), order_id),
        )
        self._tasks_follow([(status.value, order_id)])

    def set_manager(self, order_id: str, manager: str) -> None:
        """Record the manager who took the order (in unpaid: no source takes it yet; a sync brings back theirs)."""
        self.conn.execute("UPDATE orders SET manager = ? WHERE id = ?", (manager, order_id))

    def set_contact(self, order_id: str, *, email: str | None, phone: str | None, name: str | None,
                    customer_key: str | None) -> None:
        """Record corrected contact details."""
        self.conn.execute(
            "UPDATE orders SET email = COALESCE(?, email), phone = COALESCE(?, phone), name = COALESCE(?, name),"
            " customer_key = COALESCE(?, customer_key) WHERE id = ?",
            (email, phone, name, customer_key, order_id),
        )
