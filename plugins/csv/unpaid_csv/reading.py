"""Reading an export into pages: two passes over one open file, so that nothing is stored too early.

The first pass reads every record, cuts the file into blocks (see :mod:`unpaid_csv.blocks`), maps
the rows of new or changed blocks, and learns what can only be known at the end of the file:

- which ids stand in more than one row — the later row wins, so an earlier row is never stored
  (on a first sync or an incremental one alike, wherever the changed block lies);
- how many rows were rejected — past the source's limit nothing at all is stored;
- every id in the file — stored orders that are not in it are missing at the source.

The second pass emits the winning rows in pages. It re-uses the orders the first pass mapped when
they were few (an incremental sync), and maps them again otherwise (a first sync of a large file),
so memory stays bounded. Both passes read the same open file; if it changes in between, the sync
is reported incomplete and nothing is concluded from it.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, BinaryIO, Iterator

from unpaid.connector import Page, Reject, RejectLimit, Snapshot
from unpaid.model import Order

from unpaid_csv import blocks
from unpaid_csv.blocks import Bookmark
from unpaid_csv.mapping import RowError

if TYPE_CHECKING:
    from unpaid_csv.connector import CsvConnector

#: Orders the first pass keeps for the second; beyond this they are mapped again (bounded memory).
KEEP = 20_000
#: Rejects below this count never stop a sync, whatever their share (a small file with two typos).
REJECT_FLOOR = 5


class Ids:
    """Membership of native ids by their hash: a million ids in a fraction of the memory of the strings.

    A hash collision can only make a missing order look present, never the other way round.
    """

    def __init__(self, hashes: set[int]):
        self.hashes = hashes

    def __contains__(self, native_id: object) -> bool:
        return hash(native_id) in self.hashes


@dataclass
class Scan:
    """What the first pass learned."""

    table: object
    columns: dict[str, int]
    mapper: object
    salt: bytes
    kept: list[tuple[int, Order]] | None = field(default_factory=list)
    changed: list[tuple[int, int, int, bool]] = field(default_factory=list)  # (fingerprint, first, last line, rejects?)
    unchanged: set[int] = field(default_factory=set)
    rejects: list[Reject] = field(default_factory=list)
    block_rejects: dict[int, list[tuple[int, int, str]]] = field(default_factory=dict)
    last: dict[str, int] = field(default_factory=dict)  # id -> line of its last row, ids in 2+ rows only
    seen: set[int] = field(default_factory=set)
    rejected_ids: list[tuple[str, int]] = field(default_factory=list)
    rows: int = 0

    def winner(self, native_id: str, line: int) -> bool:
        return self.last.get(native_id, line) == line

    @property
    def orders(self) -> int:
        """Distinct ids whose winning row was read (an id whose last row is rejected is not)."""
        lost = {native for native, line in self.rejected_ids if self.winner(native, line)}
        return len(self.seen) - len(lost)


class Reading:
    """One sync of one file: ``pages()`` yields what the core stores."""

    def __init__(self, connector: "CsvConnector", raw: BinaryIO, since: str | None):
        self.c, self.raw = connector, raw
        self.since = Bookmark.decode(since)
        self.since_text = since
        self.start = os.fstat(raw.fileno())

    def pages(self) -> Iterator[Page]:
        c, since = self.c, self.since
        stamp = blocks.stamp(self.start, c.settings_salt())
        if since.stamp == stamp:
            yield self._untouched()
            return
        scan = self._scan()
        self._check_limit(scan)
        same = self._unchanged_since_start()
        yield from self._emit(scan, stamp if same else None)

    # ---- an untouched file: nothing to read ----

    def _untouched(self) -> Page:
        since = self.since
        rejects = [Reject(f"{self.c.where}:{line}", reason, repeated=True)
                   for rows in since.rejects.values() for _, line, reason in rows]
        rejects.sort(key=_line_of)
        counts = dict(since.counts, unchanged=since.counts.get("orders", 0))
        snapshot = Snapshot(None, counts.get("orders", 0), self.c.missing_after)
        return Page([], self.since_text, rejects, counts=counts, snapshot=snapshot,
                    note=None)

    # ---- first pass ----

    def _scan(self) -> Scan:
        c, since = self.c, self.since
        table, columns = c.table(self.raw)
        scan = Scan(table, columns, c.mapper(table, columns), c.salt(table))
        idcol, watch = columns["id"], since.repeated
        seen, last, kept = scan.seen, scan.last, scan.kept
        for fp, rows in blocks.cut(table.records(), scan.salt):
            known = fp in since.blocks
            old = {offset: reason for offset, _, reason in since.rejects.get(fp, ())} if known else {}
            bad: list[tuple[int, int, str]] = []
            for offset, (line, fields, problem) in enumerate(rows):
                scan.rows += 1
                native = _native_id(fields, problem, idcol, table.delimiter)
                repeat = False
                if native:
                    h = hash(native)
                    if h in seen:
                        last[native] = line
                        repeat = True
                    else:
                        seen.add(h)
                reason = old.get(offset) if known else problem
                if known and reason is None and not (native and (repeat or native in watch)):
                    continue
                if reason is None:
                    try:
                        if kept is None:
                            scan.mapper.check(fields)
                        else:
                            kept.append((line, scan.mapper.order(fields)))
                            if len(kept) > KEEP:
                                kept = scan.kept = None
                    except RowError as exc:
                        reason = str(exc)
                    else:
                        continue
                bad.append((offset, line, reason))
                scan.rejects.append(Reject(f"{c.where}:{line}", reason, repeated=known))
                if native:
                    scan.rejected_ids.append((native, line))
            if bad:
                scan.block_rejects[fp] = bad
            if known:
                scan.unchanged.add(fp)
            else:
                scan.changed.append((fp, rows[0][0], rows[-1][0], bool(bad)))
        return scan

    def _check_limit(self, scan: Scan) -> None:
        limit = self.c.max_rejected
        count = len(scan.rejects)
        if count <= REJECT_FLOOR or count <= limit * scan.rows:
            return
        raise RejectLimit(self.c.name, f"{self.c.where}: {count} of {scan.rows} rows "
                          f"({count / scan.rows:.0%}) could not be read, more than the limit of {limit:.0%}; "
                          "nothing was stored from the file",
                          "fix the rows (the first ones are listed) or the source's settings "
                          f"(columns, statuses, date_format, decimal), or raise max_rejected under "
                          f"[sources.{self.c.name}]", scan.rejects)

    def _unchanged_since_start(self) -> bool:
        now = os.fstat(self.raw.fileno())
        return (now.st_size, now.st_mtime_ns) == (self.start.st_size, self.start.st_mtime_ns)

    # ---- second pass ----

    def _candidates(self, scan: Scan) -> Iterator[tuple[int, Order]]:
        """Orders worth storing, in file order: rows of changed blocks, and rows of ids in 2+ rows."""
        if scan.kept is not None:
            yield from scan.kept
            return
        # The same records as in the first pass, so the first pass's line ranges say which block a
        # record is in: no need to cut and hash the file again.
        self.raw.seek(0)
        table, columns = self.c.table(self.raw)
        mapper, idcol = self.c.mapper(table, columns), columns["id"]
        watch, last = self.since.repeated, scan.last
        bad = {int(r.where.rpartition(":")[2]) for r in scan.rejects}
        ranges = iter(scan.changed)
        block = next(ranges, None)
        for line, fields, problem in table.records():
            while block is not None and block[2] < line:
                block = next(ranges, None)
            if problem or line in bad:
                continue
            if block is None or line < block[1]:  # an unchanged block: only an id in 2+ rows is read
                native = fields[idcol].strip()
                if not (native in last or native in watch):
                    continue
            try:
                yield line, mapper.order(fields)
            except RowError:  # rejected by the first pass as well
                continue

    def _emit(self, scan: Scan, stamp: list | None) -> Iterator[Page]:
        c, since = self.c, self.since
        repeated = set(scan.last)
        page_size = c.page_size
        orders: list[Order] = []
        emitted = 0
        changed = iter(scan.changed)
        done: set[int] = set(scan.unchanged) - set(scan.block_rejects)
        pending = next(changed, None)
        for line, order in self._candidates(scan):
            while pending is not None and pending[2] < line:
                if not pending[3]:
                    done.add(pending[0])
                pending = next(changed, None)
            if not scan.winner(order.native_id, line):
                continue
            orders.append(order)
            emitted += 1
            if len(orders) >= page_size:
                partial = Bookmark(done, {}, repeated | since.repeated)
                yield Page(orders, partial.encode())
                orders = []
        distinct = scan.orders
        counts = {"rows": scan.rows, "orders": distinct, "rejected": len(scan.rejects),
                  "folded": scan.rows - len(scan.rejects) - distinct, "unchanged": distinct - emitted}
        every = set(scan.unchanged) | {block[0] for block in scan.changed}
        if stamp is None:  # the file changed while it was read: conclude nothing, read it again next time
            final = Bookmark(every - set(scan.block_rejects), {}, repeated | since.repeated)
            yield Page(orders, final.encode(), scan.rejects, complete=False, counts=counts,
                       note=f"{c.where} changed while it was being read; run `unpaid sync {c.name}` again")
            return
        final = Bookmark(every, scan.block_rejects, repeated, stamp, counts)
        snapshot = Snapshot(Ids(scan.seen), distinct, c.missing_after)
        yield Page(orders, final.encode(), scan.rejects, counts=counts, snapshot=snapshot)


def _native_id(fields: list[str], problem: str | None, idcol: int, delimiter: str) -> str:
    if problem is None:
        return fields[idcol].strip() if idcol < len(fields) else ""
    # A broken record: its first line as the writer meant it, cut at the delimiter (best effort).
    parts = fields[0].split(delimiter) if len(fields) == 1 else fields
    return parts[idcol].strip().strip('"') if idcol < len(parts) else ""


def _line_of(reject: Reject) -> int:
    try:
        return int(reject.where.rpartition(":")[2])
    except ValueError:
        return 0
