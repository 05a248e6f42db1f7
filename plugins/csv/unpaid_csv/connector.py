"""The CSV connector: read an order export in pages; write statuses and contacts back atomically.

Reading (see :mod:`unpaid_csv.reading`): each sync reads the file in two passes, cut into small
content-defined blocks (:mod:`unpaid_csv.blocks`); only rows of new or changed blocks are mapped
and stored, the later of two rows with one id wins, rejected rows are remembered with their block,
and an untouched file (same size, times and inode) is not read at all.

Write-back (:mod:`unpaid_csv.writeback`) rewrites the file once per batch of changes, re-serialising
only the changed records, and replaces it atomically under a lock shared by unpaid's processes.
"""

from __future__ import annotations

import codecs
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any, BinaryIO, Iterator, Mapping, Sequence

from unpaid.clock import from_iso, get_zone, parse_duration
from unpaid.connector import BadSource, Connector, ConnectorError, ConnectorSpec, InvalidData, NotFound, Page, Temporary
from unpaid.errors import ConfigError
from unpaid.model import Order, Status
from unpaid.setting_values import whole

from unpaid_csv import writeback
from unpaid_csv.dialect import DELIMITERS, CsvFile, extra_columns, map_columns
from unpaid_csv.i18n import _, shown
from unpaid_csv.i18n import reason as reason_of
from unpaid_csv.mapping import DateReader, RowError, RowMapper, StatusMap, check_date_format


class CsvConnector(Connector):
    """Orders from one CSV file (``path`` relative to the config file)."""

    def __init__(self, name: str, settings: Mapping[str, Any], spec: ConnectorSpec):
        self.name, self.spec = name, spec
        self.where = str(settings["path"])
        path = Path(self.where).expanduser()
        self.path = path if path.is_absolute() else Path(settings.get("_config_dir") or ".") / path
        self.page_size = whole(settings, "page_size", f"[sources.{name}]", 10000, 1, 1_000_000)
        self.columns = {str(k): str(v) for k, v in _table_setting(settings, "columns", name).items()}
        self.extra = {str(k): str(v) for k, v in _table_setting(settings, "extra", name).items()}
        self.statuses = StatusMap(_table_setting(settings, "statuses", name), name)
        self.currency = _text(settings.get("currency") or "RUB", "currency", name)
        self.country = str(settings.get("_default_country") or "7")
        self.timezone = str(settings.get("_timezone") or "UTC")
        self.date_format = _text(settings.get("date_format"), "date_format", name) or None
        if self.date_format:
            check_date_format(self.date_format, name)
        self.encoding = _encoding(settings.get("encoding"), name)
        self.delimiter = _delimiter(settings.get("delimiter"), name)
        self.decimal = _choice(settings.get("decimal"), (".", ","), "decimal", name)
        self.max_rejected = _share(settings.get("max_rejected", "20%"), name)
        self.missing_after = _duration(settings.get("missing_after", "3d"), "missing_after", name)
        self.now = from_iso(settings.get("_now")) if settings.get("_now") else datetime.now(timezone.utc)

    def __repr__(self) -> str:
        return f"CsvConnector({self.name!r}, {self.where!r})"

    # ---- reading ----

    def _open(self) -> BinaryIO:
        try:
            return open(self.path, "rb")
        except FileNotFoundError:
            # Retryable: an export that is being written, or a share that is not mounted yet.
            raise Temporary(self.name, _("{where} does not exist (looked at {path})").format(
                                where=self.where, path=self.path),
                            _("export the orders there, or fix `path` under [sources.{name}]").format(
                                name=self.name)) from None
        except PermissionError:
            raise BadSource(self.name, _("{where} cannot be read: permission denied").format(where=self.where),
                            _("let the user running unpaid read the file (chmod/chown), then sync again")) from None
        except IsADirectoryError:
            raise BadSource(self.name, _("{where} is a folder, not a CSV file").format(where=self.where),
                            _("point `path` under [sources.{name}] at the export file").format(
                                name=self.name)) from None
        except OSError as exc:
            raise Temporary(self.name, _("cannot read {where}: {reason}").format(where=self.where,
                                                                                   reason=exc.strerror),
                            _("close the program holding the file or fix its permissions, then sync again")) from None

    def table(self, raw: BinaryIO, keep_raw: bool = False) -> tuple[CsvFile, dict[str, int]]:
        table = CsvFile(raw, self.where, self.name, self.encoding, self.delimiter, keep_raw)
        return table, map_columns(table.header, self.columns, self.where, self.name)

    def mapper(self, table: CsvFile, columns: dict[str, int]) -> RowMapper:
        extras = extra_columns(table.header, columns, self.extra, self.where, self.name)
        return RowMapper(self.name, columns, self.statuses,
                         DateReader(get_zone(self.timezone), self.date_format, self.now), self.currency,
                         self.country, table.header, extras, self.decimal)

    def settings_salt(self) -> bytes:
        """Everything in the settings that changes how a row maps to an order."""
        parts = (sorted(self.columns.items()), sorted(self.extra.items()), sorted(self.statuses.read.items()),
                 self.currency, self.country, self.timezone, self.date_format, self.decimal, self.encoding,
                 self.delimiter)
        return repr(parts).encode("utf-8", "surrogatepass")

    def salt(self, table: CsvFile) -> bytes:
        # The header too: a renamed or moved column changes every row's meaning.
        return repr((table.header, self.settings_salt())).encode("utf-8", "surrogatepass")

    def fetch_orders(self, since: str | None) -> Iterator[Page]:
        from unpaid_csv.reading import Reading

        with self._open() as raw:
            yield from Reading(self, raw, since).pages()

    def fetch_many(self, native_ids: Sequence[str]) -> dict[str, Order | ConnectorError]:
        """The orders as the file has them now, in one pass; the later of two rows wins, as in a sync
        (and, as there, an unreadable later row is the answer for its id)."""
        from unpaid_csv.reading import native_id_of

        wanted = {str(n) for n in native_ids}
        found: dict[str, Order | ConnectorError] = {}
        try:
            with self._open() as raw:
                table, columns = self.table(raw)
                mapper, i = self.mapper(table, columns), columns["id"]
                for line, fields, problem in table.records():
                    key = native_id_of(fields, problem, i, table.delimiter)
                    if key not in wanted:
                        continue
                    try:
                        if problem:
                            raise RowError(problem)
                        found[key] = mapper.order(fields)
                    except RowError as exc:
                        found[key] = InvalidData(self.name, f"{self.where}:{line}: {shown(reason_of(exc))}",
                                                 _("fix that row in the file"))
        except ConnectorError as exc:
            return dict.fromkeys(map(str, native_ids), exc)
        return {str(n): found.get(str(n)) or NotFound(self.name, _("order {id} is not in {where}").format(id=n, where=self.where))
                for n in native_ids}

    def fetch_order(self, native_id: str) -> Order:
        found = self.fetch_many([native_id])[str(native_id)]
        if isinstance(found, ConnectorError):
            raise found
        return found

    # ---- writing back: see unpaid_csv.writeback ----

    def push_status(self, native_id: str, status: Status, reason: str | None = None) -> None:
        writeback.raise_failed(self.push_statuses([(str(native_id), status, reason)]))

    def push_statuses(self, changes: Sequence[tuple[str, Status, str | None]]) -> dict[str, ConnectorError | None]:
        return writeback.rewrite(self, {str(n): writeback.set_status(self.statuses, s, r) for n, s, r in changes})

    def update_contact(self, native_id: str, *, email: str | None = None, phone: str | None = None,
                       name: str | None = None) -> None:
        wanted = {k: v for k, v in (("email", email), ("phone", phone), ("name", name)) if v}
        writeback.raise_failed(writeback.rewrite(self, {str(native_id): writeback.set_contact(self, wanted)}))

    def set_manager(self, native_id: str, manager: str) -> None:
        # The manager column, like a contact field: a file without one says so (InvalidData), naming the fix.
        writeback.raise_failed(writeback.rewrite(self, {str(native_id): writeback.set_contact(self, {"manager": manager})}))


# ---- settings: each value checked once, with the key named ----


def _bad(name: str, key: str, value: Any, expected: str) -> ConfigError:
    return ConfigError(_("[sources.{name}] {key} = {value!r} is not {expected}").format(
        name=name, key=key, value=value, expected=expected),
        _("fix {key} under [sources.{name}]").format(key=key, name=name))


def _text(value: Any, key: str, name: str) -> str | None:
    if value is not None and not isinstance(value, str):
        raise _bad(name, key, value, _("text"))
    return value


def _table_setting(settings: Mapping[str, Any], key: str, name: str) -> dict[str, Any]:
    value = settings.get(key) or {}
    if not isinstance(value, Mapping) or not all(isinstance(v, str) for v in value.values()):
        raise _bad(name, key, value, _("a table of names, e.g. [sources.{name}.{key}]").format(name=name, key=key))
    return dict(value)


def _encoding(value: Any, name: str) -> str | None:
    if not value:
        return None
    try:
        return codecs.lookup(_text(value, "encoding", name)).name
    except LookupError:
        raise _bad(name, "encoding", value, _("a known encoding (utf-8, cp1251, …)")) from None


def _delimiter(value: Any, name: str) -> str | None:
    if not value:
        return None
    value = {"tab": "\t", "\\t": "\t"}.get(value, value) if isinstance(value, str) else value
    if value not in DELIMITERS:
        raise _bad(name, "delimiter", value, _("one of , ; | or \"\\t\" (a tab)"))
    return value


def _choice(value: Any, choices: tuple[str, ...], key: str, name: str) -> str | None:
    if value is None or value == "":
        return None
    if value not in choices:
        raise _bad(name, key, value, _("one of {choices}").format(choices=" ".join(repr(c) for c in choices)))
    return value


def _share(value: Any, name: str) -> float:
    text = str(value).strip()
    try:
        share = float(text[:-1]) / 100 if text.endswith("%") else float(text)
    except ValueError:
        share = -1.0
    if isinstance(value, bool) or not 0 <= share <= 1:
        raise _bad(name, "max_rejected", value, _('a share of the rows such as "20%" (0% to 100%)'))
    return share


def _duration(value: Any, key: str, name: str) -> timedelta:
    try:
        delta = parse_duration(str(value))
    except ValueError:
        raise _bad(name, key, value, _('a duration such as "3d" or "12h"')) from None
    if delta > timedelta(days=3650):
        raise _bad(name, key, value, _("a duration of at most ten years"))
    return delta
