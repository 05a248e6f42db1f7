"""The CSV connector: read an order export in pages; write statuses and contacts back atomically.

Incremental sync: every run reads the file from the top (a file has no trustworthy "changed
since"), cut into content-defined blocks of rows (see :mod:`unpaid_csv.blocks`). The bookmark is
the set of fingerprints of blocks already stored; only rows of new or changed blocks are parsed and
emitted, so an edited status comes back with the next sync while untouched rows do not. A page's
bookmark holds the earlier fingerprints plus the blocks read so far, so a sync stopped after any
page resumes without losing a row; the last page's bookmark keeps only the blocks still in the
file. A block with a rejected row is not remembered: the row is reported again until it is fixed.

Write-back (:mod:`unpaid_csv.writeback`) rewrites the file once per batch of changes, re-serialising
only the changed records, and replaces it atomically under a lock shared by unpaid's processes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, BinaryIO, Iterator, Mapping, Sequence

from unpaid.clock import get_zone
from unpaid.connector import Connector, ConnectorError, ConnectorSpec, InvalidData, NotFound, Page, Reject, Temporary
from unpaid.model import Order, Status

from unpaid_csv import blocks, writeback
from unpaid_csv.dialect import CsvFile, map_columns
from unpaid_csv.mapping import DateReader, RowError, RowMapper, StatusMap


class CsvConnector(Connector):
    """Orders from one CSV file (``path`` relative to the config file)."""

    def __init__(self, name: str, settings: Mapping[str, Any], spec: ConnectorSpec):
        self.name, self.spec = name, spec
        self.where = str(settings["path"])
        path = Path(self.where).expanduser()
        self.path = path if path.is_absolute() else Path(settings.get("_config_dir") or ".") / path
        self.page_size = max(1, int(settings.get("page_size") or 20000))
        self.columns = {str(k): str(v) for k, v in dict(settings.get("columns") or {}).items()}
        self.statuses = StatusMap(dict(settings.get("statuses") or {}), name)
        self.currency = str(settings.get("currency") or "RUB")
        self.country = str(settings.get("_default_country") or "7")
        self.timezone = str(settings.get("_timezone") or "UTC")
        self.date_format = settings.get("date_format") or None
        self.encoding = settings.get("encoding") or None
        self.delimiter = settings.get("delimiter") or None

    def __repr__(self) -> str:
        return f"CsvConnector({self.name!r}, {self.where!r})"

    # ---- reading ----

    def _open(self) -> BinaryIO:
        try:
            return open(self.path, "rb")
        except FileNotFoundError:
            raise InvalidData(self.name, f"{self.where} does not exist (looked at {self.path})",
                              f"fix `path` under [sources.{self.name}] or export the orders there") from None
        except OSError as exc:
            raise Temporary(self.name, f"cannot read {self.where}: {exc.strerror}",
                            "close the program holding the file or fix its permissions, then sync again") from None

    def _table(self, raw: BinaryIO, keep_raw: bool = False) -> tuple[CsvFile, dict[str, int]]:
        table = CsvFile(raw, self.where, self.name, self.encoding, self.delimiter, keep_raw)
        return table, map_columns(table.header, self.columns, self.where, self.name)

    def _mapper(self, columns: dict[str, int]) -> RowMapper:
        return RowMapper(self.name, columns, self.statuses,
                         DateReader(get_zone(self.timezone), self.date_format), self.currency, self.country)

    def _salt(self, table: CsvFile) -> bytes:
        # Anything that changes how a row maps to an order invalidates every stored block.
        parts = (table.header, sorted(self.columns.items()), sorted(self.statuses.read.items()), self.currency,
                 self.country, self.timezone, self.date_format)
        return repr(parts).encode("utf-8", "surrogatepass")

    def fetch_orders(self, since: str | None) -> Iterator[Page]:
        known = blocks.decode(since)
        with self._open() as raw:
            table, columns = self._table(raw)
            mapper = self._mapper(columns)
            current: list[int] = []
            orders: list[Order] = []
            rejects: list[Reject] = []
            max_rows = min(self.page_size, 1024)
            for fingerprint, rows in blocks.cut(table.records(), self._salt(table), max_rows):
                if fingerprint in known:
                    current.append(fingerprint)
                    continue
                before = len(rejects)
                for line, fields in rows:
                    try:
                        orders.append(mapper.order(fields))
                    except RowError as exc:
                        rejects.append(Reject(f"{self.where}:{line}", str(exc)))
                if len(rejects) == before:
                    current.append(fingerprint)
                if len(orders) >= self.page_size:
                    yield Page(orders, blocks.encode(known.union(current)), rejects)
                    orders, rejects = [], []
        final = blocks.encode(current)
        if orders or rejects or final != since:
            yield Page(orders, final, rejects)

    def _find(self, native_id: str) -> tuple[int, list[str], RowMapper]:
        with self._open() as raw:
            table, columns = self._table(raw)
            i = columns["id"]
            for line, fields in table.records():
                if i < len(fields) and fields[i].strip() == native_id:
                    return line, fields, self._mapper(columns)
        raise NotFound(self.name, f"order {native_id} is not in {self.where}")

    def fetch_order(self, native_id: str) -> Order:
        line, fields, mapper = self._find(str(native_id))
        try:
            return mapper.order(fields)
        except RowError as exc:
            raise InvalidData(self.name, f"{self.where}:{line}: {exc}", "fix that row in the file") from None

    # ---- writing back: see unpaid_csv.writeback ----

    def fetch_many(self, native_ids: Sequence[str]) -> dict[str, Order | ConnectorError]:
        return writeback.fresh(self, [str(n) for n in native_ids])

    def push_status(self, native_id: str, status: Status, reason: str | None = None) -> None:
        writeback.raise_failed(self.push_statuses([(str(native_id), status, reason)]))

    def push_statuses(self, changes: Sequence[tuple[str, Status, str | None]]) -> dict[str, ConnectorError | None]:
        return writeback.rewrite(self, {str(n): writeback.set_status(self.statuses, s, r) for n, s, r in changes})

    def update_contact(self, native_id: str, *, email: str | None = None, phone: str | None = None,
                       name: str | None = None) -> None:
        wanted = {k: v for k, v in (("email", email), ("phone", phone), ("name", name)) if v}
        writeback.raise_failed(writeback.rewrite(self, {str(native_id): writeback.set_contact(self, wanted)}))
