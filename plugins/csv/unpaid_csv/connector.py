"""The CSV connector: read an order export in pages; write statuses and contacts back atomically.

Incremental sync: every run reads the file from the top (a file has no trustworthy "changed
since"), cut into content-defined blocks of rows (see :mod:`unpaid_csv.blocks`). The bookmark is
the set of fingerprints of blocks already stored; only rows of new or changed blocks are parsed and
emitted, so an edited status comes back with the next sync while untouched rows do not. A page's
bookmark holds the earlier fingerprints plus the blocks read so far, so a sync stopped after any
page resumes without losing a row; the last page's bookmark keeps only the blocks still in the
file. A block with a rejected row is not remembered: the row is reported again until it is fixed.

Write-back copies the file byte for byte into a temporary file in the same folder, re-serialising
only the changed record (same delimiter, quoting, line ending and encoding; BOM and all other
columns untouched), then fsyncs and ``os.replace``-s it over the original: a crash leaves either
the old file or the new one, never a torn one.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable, Iterator, Mapping

from unpaid.clock import get_zone
from unpaid.connector import Connector, ConnectorSpec, InvalidData, NotFound, Page, Reject, Temporary
from unpaid.model import Order, Status

from unpaid_csv import blocks
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

    # ---- writing back ----

    def push_status(self, native_id: str, status: Status, reason: str | None = None) -> None:
        def change(fields: list[str], columns: dict[str, int]) -> None:
            i = columns["status"]
            fields[i] = self.statuses.native(status, fields[i])
            if status is Status.CANCELLED and reason and "cancel_reason" in columns:
                fields[columns["cancel_reason"]] = reason

        self._rewrite(str(native_id), change)

    def update_contact(self, native_id: str, *, email: str | None = None, phone: str | None = None,
                       name: str | None = None) -> None:
        wanted = {k: v for k, v in (("email", email), ("phone", phone), ("name", name)) if v}

        def change(fields: list[str], columns: dict[str, int]) -> None:
            for field, value in wanted.items():
                if field not in columns:
                    raise InvalidData(self.name, f"{self.where} has no {field} column to write to",
                                      f"add one, or name it under [sources.{self.name}.columns]")
                fields[columns[field]] = value

        self._rewrite(str(native_id), change)

    def _rewrite(self, native_id: str, change: Callable[[list[str], dict[str, int]], None]) -> None:
        """Apply ``change`` to the record of ``native_id`` and replace the file atomically."""
        before = os.stat(self.path) if self.path.exists() else None
        with self._open() as raw:
            table, columns = self._table(raw, keep_raw=True)
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
            try:
                with os.fdopen(fd, "wb") as out:
                    found = self._copy(table, columns, native_id, change, out)
                    out.flush()
                    os.fsync(out.fileno())
                if not found:
                    raise NotFound(self.name, f"order {native_id} is not in {self.where}")
                after = os.stat(self.path)
                if before is None or (after.st_mtime_ns, after.st_size) != (before.st_mtime_ns, before.st_size):
                    raise Temporary(self.name, f"{self.where} changed while it was being written",
                                    "try again once the other program has saved it")
                os.chmod(tmp, before.st_mode & 0o7777)
                os.replace(tmp, self.path)
            except BaseException:
                try:
                    os.unlink(tmp)
                except OSError:
                    pass
                raise
        _fsync_dir(self.path.parent)

    def _copy(self, table: CsvFile, columns: dict[str, int], native_id: str,
              change: Callable[[list[str], dict[str, int]], None], out: BinaryIO) -> bool:
        found = False
        i = columns["id"]
        out.write(table.lines.take())  # the header (and any blank lines before it), untouched
        for _, fields in table.records(blank=True):
            original = table.lines.take()
            if not found and i < len(fields) and fields[i].strip() == native_id:
                found = True
                fields = fields + [""] * (max(columns.values()) + 1 - len(fields))
                change(fields, columns)
                if table.lines.encoding is None and not all(f.isascii() for f in fields):
                    table.lines.encoding = _first_encoding(self.path)
                original = table.encode_record(fields, original)
            out.write(original)
        out.write(table.lines.take())
        return found


def _first_encoding(path: Path) -> str:
    """The encoding the rest of an ASCII-so-far file is in (UTF-8 when it is all ASCII)."""
    with open(path, "rb") as raw:
        for line in raw:
            if not line.isascii():
                try:
                    line.decode("utf-8")
                    return "utf-8"
                except UnicodeDecodeError:
                    return "cp1251"
    return "utf-8"


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable; not possible on every platform, and harmless to skip there.
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)
