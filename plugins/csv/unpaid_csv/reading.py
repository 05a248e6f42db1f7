"""Reading an export into pages: two passes over one open file, so that nothing is stored too early.

The first pass reads every record, cuts the file into blocks (see :mod:`unpaid_csv.blocks`), checks
the rows of new or changed blocks, and learns what can only be known at the end of the file:

- how many rows were rejected — past the source's limit nothing at all is stored;
- every id in the file (as a sorted array of hashes: 8 bytes an id) — stored orders that are not in
  it are missing at the source, and a hash that occurs twice marks an id that may stand in more
  than one row.

The second pass emits the rows worth storing in pages. Rows of ids that may repeat are held back
to the end and settled by their exact text: the later row wins, so an earlier row is never stored,
not even for a moment, on a first sync or an incremental one alike. The second pass re-uses the
orders the first pass built when they were few (an incremental sync) and reads the file again
otherwise (a first sync of a large file), so memory stays bounded. Both passes read the same open
file; if it changes in between, the sync is reported incomplete and nothing is concluded from it.
"""

from __future__ import annotations

import os
from array import array
from bisect import bisect_left
from itertools import islice
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, BinaryIO, Iterator

from unpaid.connector import Page, Reject, RejectLimit, Snapshot
from unpaid.model import Order

from unpaid_csv import blocks
from unpaid_csv.blocks import Bookmark
from unpaid_csv.i18n import _, ngettext, shown
from unpaid_csv.i18n import reason as reason_of
from unpaid_csv.mapping import RowError

if TYPE_CHECKING:
    from unpaid_csv.connector import CsvConnector

#: Orders the first pass keeps for the second; beyond this the file is read again (bounded memory).
KEEP = 10_000
#: Rejects below this count never stop a sync, whatever their share (a small file with two typos).
REJECT_FLOOR = 5


class Ids:
    """Membership of native ids by their hash, over a sorted array: a million ids in 8 MB.

    A hash collision can only make a missing order look present, never the other way round.
    """

    def __init__(self, hashes: array):
        self.hashes = hashes

    def __contains__(self, native_id: object) -> bool:
        h = hash(native_id)
        i = bisect_left(self.hashes, h)
        return i < len(self.hashes) and self.hashes[i] == h


@dataclass
class Scan:
    """What the first pass learned."""

    mapper: object
    salt: bytes
    kept: list[tuple[int, Order]] | None = field(default_factory=list)
    changed: "Blocks" = field(default_factory=lambda: Blocks())
    unchanged: set[int] = field(default_factory=set)
    rejects: list[Reject] = field(default_factory=list)
    block_rejects: dict[int, list[tuple[int, int, str]]] = field(default_factory=dict)
    rejected_ids: dict[str, int] = field(default_factory=dict)  # id -> line of its last rejected row
    hashes: array = field(default_factory=lambda: array("q"))
    repeats: dict[int, int] = field(default_factory=dict)  # hash seen more than once -> rows with it
    rows: int = 0

    def settle(self) -> None:
        """Sort the id hashes; note the ones that occur more than once.

        Sorted bucket by bucket (by the top byte), so that only a 256th of them is ever a list of
        Python ints: a million ids sort in 8 MB, not 40.
        """
        buckets = [array("q") for _ in range(256)]
        for h in self.hashes:
            buckets[(h >> 56) + 128].append(h)
        self.hashes = array("q")
        for i, bucket in enumerate(buckets):
            ordered = sorted(bucket)
            buckets[i] = array("q")
            self.hashes.extend(ordered)
            for a, b in zip(ordered, islice(ordered, 1, None)):
                if a == b:
                    self.repeats[a] = self.repeats.get(a, 1) + 1

    @property
    def distinct_hashes(self) -> int:
        return len(self.hashes) - sum(n - 1 for n in self.repeats.values())


class Blocks:
    """New or changed blocks in file order, in flat arrays: 21 bytes a block, not a tuple of four ints."""

    def __init__(self) -> None:
        self.fingerprints = array("Q")
        self.first = array("q")
        self.last = array("q")
        self.rejected = bytearray()

    def add(self, fingerprint: int, first: int, last: int, rejected: bool) -> None:
        self.fingerprints.append(fingerprint)
        self.first.append(first)
        self.last.append(last)
        self.rejected.append(rejected)

    def __iter__(self) -> Iterator[tuple[int, int, int, bool]]:
        return zip(self.fingerprints, self.first, self.last, map(bool, self.rejected))


@dataclass
class Group:
    """Every row of one id whose hash repeats: the later row wins, and a rejected winner holds the id."""

    line: int = 0
    order: Order | None = None
    rows: int = 0


class Reading:
    """One sync of one file: ``pages()`` yields what the core stores."""

    def __init__(self, connector: "CsvConnector", raw: BinaryIO, since: str | None):
        self.c, self.raw = connector, raw
        self.since = Bookmark.decode(since)
        self.since_text = since
        self.start = os.fstat(raw.fileno())

    def pages(self) -> Iterator[Page]:
        salt = self.c.settings_salt()
        stamp = blocks.stamp(self.start, salt)
        if self.since.stamp == stamp:
            yield self._untouched(self.since_text)
            return
        content = blocks.content_digest(self.raw, salt)
        if self.since.content == content and self.since.stamp is not None:
            renewed = replace(self.since, stamp=stamp)  # the same bytes, written again: remember the new stamp
            yield self._untouched(renewed.encode())
            return
        scan = self._scan()
        self._check_limit(scan)
        scan.settle()
        same = self._unchanged_since_start()
        yield from self._emit(scan, stamp if same else None, content)

    # ---- an untouched file: nothing to read ----

    def _untouched(self, bookmark: str | None) -> Page:
        since = self.since
        found = sorted((line, reason) for rows in since.rejects.values() for _, line, reason in rows)
        rejects = [Reject(f"{self.c.where}:{line}", shown(reason), repeated=True) for line, reason in found]
        counts = dict(since.counts, unchanged=since.counts.get("orders", 0))
        snapshot = Snapshot(None, counts.get("orders", 0), self.c.missing_after)
        return Page([], bookmark, rejects, counts=counts, snapshot=snapshot)

    # ---- first pass ----

    def _scan(self) -> Scan:
        c, since = self.c, self.since
        table, columns = c.table(self.raw)
        scan = Scan(c.mapper(table, columns), c.salt(table))
        idcol, watch, add = columns["id"], since.repeated, scan.hashes.append
        kept = scan.kept
        for fp, rows in blocks.cut(table.records(), scan.salt):
            known = fp in since.blocks
            old = {offset: reason for offset, _, reason in since.rejects.get(fp, ())} if known else {}
            bad: list[tuple[int, int, str]] = []
            for offset, (line, fields, problem) in enumerate(rows):
                native = native_id_of(fields, problem, idcol, table.delimiter)
                if native:
                    add(hash(native))
                reason = old.get(offset) if known else problem
                if known and reason is None and native not in watch:
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
                        reason = reason_of(exc)
                    else:
                        continue
                bad.append((offset, line, reason))
                scan.rejects.append(Reject(f"{c.where}:{line}", shown(reason), repeated=known))
                if native:
                    scan.rejected_ids[native] = line
            scan.rows += len(rows)
            if bad:
                scan.block_rejects[fp] = bad
            if known:
                scan.unchanged.add(fp)
            else:
                scan.changed.add(fp, rows[0][0], rows[-1][0], bool(bad))
        return scan

    def _check_limit(self, scan: Scan) -> None:
        limit = self.c.max_rejected
        count = len(scan.rejects)
        if count <= REJECT_FLOOR or count <= limit * scan.rows:
            return
        message = ngettext("{where}: {count} of {rows} row ({share:.0%}) could not be read, more than the limit "
                           "of {limit:.0%}; nothing was stored from the file",
                           "{where}: {count} of {rows} rows ({share:.0%}) could not be read, more than the limit "
                           "of {limit:.0%}; nothing was stored from the file", scan.rows)
        raise RejectLimit(self.c.name, message.format(where=self.c.where, count=count, rows=scan.rows,
                                                      share=count / scan.rows, limit=limit),
                          _("fix the rows (the first ones are listed) or the source's settings (columns, statuses, "
                            "date_format, decimal), or raise max_rejected under [sources.{name}]").format(
                              name=self.c.name), scan.rejects)

    def _unchanged_since_start(self) -> bool:
        now = os.fstat(self.raw.fileno())
        return (now.st_size, now.st_mtime_ns) == (self.start.st_size, self.start.st_mtime_ns)

    # ---- second pass ----

    def _complete_in_memory(self, scan: Scan) -> bool:
        """Whether the kept orders and rejects hold every row of every repeated hash."""
        if scan.kept is None:
            return False
        have: dict[int, int] = {}
        for _line, order in scan.kept:
            h = hash(order.native_id)
            if h in scan.repeats:
                have[h] = have.get(h, 0) + 1
        for native in scan.rejected_ids:
            h = hash(native)
            if h in scan.repeats:
                have[h] = have.get(h, 0) + 1
        # A rejected id may have several rejected rows; counting each id once errs towards reading again.
        return all(have.get(h, 0) >= n for h, n in scan.repeats.items())

    def _candidates(self, scan: Scan) -> Iterator[tuple[int, str, Order | None]]:
        """``(line, id, order)`` in file order for rows worth storing, and ``(line, id, None)`` for the
        rejected rows of repeated hashes (they can win, and then hold their id)."""
        repeats, watch = scan.repeats, self.since.repeated
        if self._complete_in_memory(scan):
            kept: list[tuple[int, str, Order | None]] = [(line, o.native_id, o) for line, o in scan.kept]
            kept += [(line, native, None) for native, line in scan.rejected_ids.items() if hash(native) in repeats]
            kept.sort(key=lambda item: item[0])
            yield from kept
            return
        # The same records as in the first pass, so the first pass's line ranges say which block a
        # record is in: no need to cut and hash the file again.
        self.raw.seek(0)
        table, columns = self.c.table(self.raw)
        mapper, idcol = self.c.mapper(table, columns), columns["id"]
        bad = {line for rows in scan.block_rejects.values() for _, line, _ in rows}
        ranges = iter(scan.changed)
        block = next(ranges, None)
        for line, fields, problem in table.records():
            while block is not None and block[2] < line:
                block = next(ranges, None)
            native = native_id_of(fields, problem, idcol, table.delimiter)
            if problem or line in bad:
                if native and hash(native) in repeats:
                    yield line, native, None
                continue
            if (block is None or line < block[1]) and native not in watch and hash(native) not in repeats:
                continue  # an unchanged row of an id in one row: stored before
            try:
                yield line, native, mapper.order(fields)
            except RowError:  # a row the first pass did not check (an unchanged one): it holds its id
                yield line, native, None

    def _emit(self, scan: Scan, stamp: list | None, content: str) -> Iterator[Page]:
        c, since = self.c, self.since
        repeats, page_size = scan.repeats, c.page_size
        groups: dict[str, Group] = {}
        orders: list[Order] = []
        emitted = 0
        changed = iter(scan.changed)
        done: set[int] = set(scan.unchanged) - set(scan.block_rejects)
        pending = next(changed, None)
        for line, native, order in self._candidates(scan):
            while pending is not None and pending[2] < line:
                if not pending[3]:
                    done.add(pending[0])
                pending = next(changed, None)
            if hash(native) in repeats:  # settled at the end, by the id's exact text
                group = groups.setdefault(native, Group())
                group.line, group.order, group.rows = line, order, group.rows + 1
                continue
            if order is None:
                continue
            orders.append(order)
            emitted += 1
            if len(orders) >= page_size:
                partial = Bookmark(done, {}, set(groups) | since.repeated)
                yield Page(orders, partial.encode())
                orders = []
        winners = [g.order for g in groups.values() if g.order is not None]
        orders += winners
        emitted += len(winners)
        repeated = {native for native, g in groups.items() if g.rows > 1}
        distinct = self._distinct(scan, groups)
        counts = {"rows": scan.rows, "orders": distinct, "rejected": len(scan.rejects),
                  "folded": scan.rows - len(scan.rejects) - distinct, "unchanged": distinct - emitted}
        every = set(scan.unchanged) | {block[0] for block in scan.changed}
        if stamp is None:  # the file changed while it was read: conclude nothing, read it again next time
            final = Bookmark(every - set(scan.block_rejects), {}, repeated | since.repeated)
            yield Page(orders, final.encode(), scan.rejects, complete=False, counts=counts,
                       note=_("{where} changed while it was being read; run `unpaid sync {name}` again").format(
                           where=c.where, name=c.name))
            return
        final = Bookmark(every, scan.block_rejects, repeated, stamp, counts, content)
        snapshot = Snapshot(Ids(scan.hashes), distinct, c.missing_after)
        yield Page(orders, final.encode(), scan.rejects, counts=counts, snapshot=snapshot)

    @staticmethod
    def _distinct(scan: Scan, groups: dict[str, Group]) -> int:
        """Ids whose winning row was read: distinct hashes, corrected by the exact texts of repeated
        ones, less ids whose last row is rejected."""
        texts: dict[int, int] = {}
        for native in groups:
            texts[hash(native)] = texts.get(hash(native), 0) + 1
        collisions = sum(n - 1 for n in texts.values())
        held = sum(1 for g in groups.values() if g.order is None)
        lone = sum(1 for native in scan.rejected_ids if hash(native) not in scan.repeats)
        return scan.distinct_hashes + collisions - held - lone


def native_id_of(fields: list[str], problem: str | None, idcol: int, delimiter: str) -> str:
    """The id of a record, also of a broken one (read from its first line), so that a broken later row
    still counts as that id's row."""
    if problem is None:
        return fields[idcol].strip() if idcol < len(fields) else ""
    # A broken record: its first line as the writer meant it, cut at the delimiter (best effort).
    parts = fields[0].split(delimiter) if len(fields) == 1 else fields
    return parts[idcol].strip().strip('"') if idcol < len(parts) else ""

