"""How a CSV file is written: its encoding, delimiter, line endings, and which column is which.

The encoding is decided from the bytes, line by line: a UTF-8 BOM means UTF-8; otherwise the first
line with non-ASCII bytes decides (valid UTF-8 -> UTF-8, else Windows-1251, what Russian Excel
writes). Every later line must agree, so a file that mixes encodings fails with the line named
instead of turning into mojibake. The delimiter is the most frequent of ``, ; TAB |`` in the header.
"""

from __future__ import annotations

import codecs
import csv
import io
import re
from collections import deque
from typing import BinaryIO, Iterator, Mapping

from unpaid.connector import BadSource
from unpaid.errors import ConfigError

from unpaid_csv.i18n import N_, Said, _

DELIMITERS = (",", ";", "\t", "|")
ENCODING_NAMES = {"utf-8": "UTF-8", "cp1251": "Windows-1251"}
_QUOTE = N_("unbalanced quote: a value opens with \" and never closes")
RESAVE = N_("re-save the whole file in one encoding (in Excel: Save As > CSV UTF-8)")

#: Field -> header names recognised without configuration (compared after :func:`normalize`), the most
#: specific first; a column taken by an earlier field is not offered to a later one ("Номер" is the id
#: only when there is no "Номер заказа").
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "order id", "номер заказа", "id заказа", "ид заказа", "order", "order no", "заказ", "номер"),
    "number": ("number", "order number", "№", "номер счета", "номер"),
    "status": ("status", "order status", "state", "статус", "статус заказа"),
    "created": ("created", "created at", "дата создания", "order date", "created date", "дата заказа", "date",
                "дата", "создан"),
    "email": ("email", "e-mail", "e mail", "mail", "почта", "эл. почта", "электронная почта", "email пользователя"),
    "phone": ("phone", "telephone", "tel", "mobile", "телефон", "тел", "телефон пользователя"),
    "name": ("name", "customer", "customer name", "client", "buyer", "пользователь", "фио", "имя", "клиент",
             "покупатель"),
    "product": ("product", "title", "item", "offer", "товар", "продукт", "предложение", "название",
                "состав заказа"),
    "product_id": ("product id", "offer id", "sku", "item id", "id товара", "id предложения", "id продукта",
                   "код товара", "код продукта", "артикул"),
    "amount": ("amount", "total", "sum", "price", "cost", "стоимость", "сумма", "цена", "итого", "стоимость, руб."),
    "currency": ("currency", "валюта"),
    "paid": ("paid", "paid amount", "amount paid", "оплачено", "получено"),
    "manager": ("manager", "менеджер"),
    "payment_link": ("payment link", "payment url", "pay link", "ссылка на оплату", "ссылка оплаты"),
    "cancel_reason": ("cancel reason", "cancellation reason", "reason", "причина отказа", "причина отмены"),
}
REQUIRED = ("id", "status", "created", "amount")


def normalize(header: str) -> str:
    """Compare headers case-, space-, underscore- and ё-insensitively."""
    return " ".join(header.replace("\ufeff", "").replace("_", " ").lower().replace("ё", "е").split())


def sniff_delimiter(header_line: str) -> str:
    """The most frequent candidate delimiter outside quotes in the header line (``,`` when none)."""
    outside = header_line.split('"')[::2]
    counts = {d: sum(part.count(d) for part in outside) for d in DELIMITERS}
    best = max(DELIMITERS, key=lambda d: counts[d])
    return best if counts[best] else ","


def encoding_label(encoding: str | None) -> str:
    return ENCODING_NAMES.get(encoding or "utf-8", encoding or "UTF-8")


class Lines:
    """Decoded physical lines of a file (line endings kept), deciding and checking the encoding."""

    def __init__(self, raw: BinaryIO, where: str, source: str, encoding: str | None = None, keep_raw: bool = False):
        self.raw, self.where, self.source = raw, where, source
        self.forced = encoding is not None
        self.encoding = codecs.lookup(encoding).name if encoding else None
        self.decided_at: int | None = None
        self.bom = False
        self.number = 0
        self.keep_raw = keep_raw
        self.pending: list[bytes] = []

    def take(self) -> bytes:
        """The raw bytes of the lines read since the last call (``keep_raw`` only)."""
        data = b"".join(self.pending)
        self.pending.clear()
        return data

    def __iter__(self) -> Iterator[str]:
        for line in self.raw:
            self.number += 1
            if self.keep_raw:
                self.pending.append(line)
            if self.number == 1 and line.startswith(codecs.BOM_UTF8):
                self.bom = True
                line = line[3:]
                if not self.forced:
                    self.encoding, self.decided_at = "utf-8", 1
            if line.isascii():  # the common case: no decision to make, no error possible
                yield line.decode("ascii")
            else:
                yield self._decode(line)

    def _decode(self, line: bytes) -> str:
        if self.forced:
            try:
                return line.decode(self.encoding)
            except UnicodeDecodeError as exc:
                raise self._error(_("the line is not {encoding} (byte 0x{byte:02X})").format(
                    encoding=encoding_label(self.encoding), byte=line[exc.start]),
                    _("fix the `encoding` setting or remove it to detect the encoding")) from None
        if self.encoding is None:
            try:
                text = line.decode("utf-8")
                self.encoding = "utf-8"
            except UnicodeDecodeError:
                text = self._cp1251(line)
                self.encoding = "cp1251"
            self.decided_at = self.number
            return text
        if self.encoding == "utf-8":
            try:
                return line.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise self._mixed(_("the line is not UTF-8 (byte 0x{byte:02X}), but line {first} is {encoding}: "
                                    "the file mixes encodings"), line[exc.start]) from None
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return self._cp1251(line)
        raise self._mixed(_("the line is UTF-8, but line {first} is {encoding}: the file mixes encodings"))

    def _cp1251(self, line: bytes) -> str:
        try:
            return line.decode("cp1251")
        except UnicodeDecodeError as exc:
            raise self._error(_("the line is neither UTF-8 nor Windows-1251 text (byte 0x{byte:02X})").format(
                byte=line[exc.start]),
                _("export the file again as CSV (UTF-8), or set `encoding` for it")) from None

    def _mixed(self, template: str, byte: int = 0) -> BadSource:
        """``template`` (translated) names the line's ``{encoding}``-breaking ``{byte}`` and the ``{first}`` line."""
        return self._error(template.format(first=self.decided_at, encoding=encoding_label(self.encoding), byte=byte),
                           _(RESAVE))

    def _error(self, problem: str, fix: str) -> BadSource:
        return BadSource(self.source, f"{self.where}:{self.number}: {problem}", fix)


class CsvFile:
    """One pass over a CSV file: the dialect, the header row, then the records with line numbers.

    A record is checked against the header: one with a different number of fields (an unquoted
    delimiter inside a value, a row cut short) or with an unbalanced quote is yielded with a
    ``problem`` instead of being trusted. An unbalanced quote would otherwise swallow every line up
    to the next quote character, so only its first line is given up: the lines after it are read
    again as records of their own.
    """

    def __init__(self, raw: BinaryIO, where: str, source: str, encoding: str | None = None,
                 delimiter: str | None = None, keep_raw: bool = False):
        self.where, self.source = where, source
        self.lines = Lines(raw, where, source, encoding, keep_raw)
        self.keep_raw = keep_raw
        self.back: deque[tuple[int, str, bytes]] = deque()  # lines to read again after a broken record
        self.taken: list[tuple[int, str, bytes]] = []  # the physical lines of the current record
        stream = iter(self.lines)
        first = next(stream, None)
        while first is not None and not first.strip():
            first = next(stream, None)
        if first is None:
            raise BadSource(source, _("{where} is empty: no header row").format(where=where),
                            _("export the orders again with column names in the first row"))
        if "\x00" in first:
            raise BadSource(source, _("{where} is not a text file (it holds NUL bytes)").format(where=where),
                            _("point `path` at the CSV export, or export the orders again as CSV"))
        self.delimiter = delimiter or sniff_delimiter(first)
        self.head = self.lines.take()
        try:
            self.header = next(csv.reader([first], delimiter=self.delimiter), [])
        except csv.Error as exc:  # e.g. a lone carriage return inside the header line
            raise BadSource(source, _("{where}: the header row is not CSV ({error})").format(where=where, error=exc),
                            _("export the orders again as CSV with one header row")) from None
        self.width = len(self.header)
        self.reader = csv.reader(_Feed(self, stream, self.lines.number), delimiter=self.delimiter)

    def take(self) -> bytes:
        """The raw bytes of the last record read (``keep_raw`` only)."""
        return b"".join(item[2] for item in self.taken)

    def records(self, blank: bool = False) -> Iterator[tuple[int, list[str], str | None]]:
        """Yield ``(first line number, fields, problem)`` per record; blank lines only when ``blank``.

        ``problem`` is None for a sound record, else why it cannot be trusted (its fields are then
        whatever the reader made of it).
        """
        width, taken, reader = self.width, self.taken, self.reader
        while True:
            taken.clear()
            try:
                fields = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                if not taken:
                    return
                yield self._broken(Said(N_("not CSV ({error})"), error=str(exc)))
                continue
            if len(fields) == width:
                if len(taken) == 1 or (self._balanced() and not self._swallowed()):
                    yield taken[0][0], fields, None
                    continue
                yield self._broken(Said(_QUOTE))
                continue
            if not fields or not any(fields):
                if blank or len(taken) > 1:
                    yield taken[0][0], fields, None
                continue
            if len(taken) > 1:
                yield self._broken(Said(_QUOTE))
                continue
            yield taken[0][0], fields, _width_problem(len(fields), width, self.delimiter)

    def _balanced(self) -> bool:
        # Quotes come in pairs in a sound record (opening and closing, or a doubled "" inside);
        # an odd count means the reader ran into the end of the file inside a quoted value.
        return sum(item[1].count('"') for item in self.taken) % 2 == 0

    def _swallowed(self) -> bool:
        # Two stray quotes in one column pair up across the rows between them, and the merged record
        # can have the header's width. A line inside it that holds a whole row gives it away — read
        # as a record, or counted by its delimiters when its own stray quote spoils the reading: the
        # second line of a real multi-line value (an address) does not hold a field per column.
        if self.width <= 2:
            return False
        lines = [item[1] for item in self.taken[1:]]
        if any(line.count(self.delimiter) + 1 >= self.width for line in lines):
            return True
        return any(len(fields) == self.width for fields in csv.reader(lines, delimiter=self.delimiter) if fields)

    def _broken(self, problem: str) -> tuple[int, list[str], str]:
        """Give up the record's first line only; the lines after it are read again."""
        first, rest = self.taken[0], self.taken[1:]
        self.back.extendleft(reversed(rest))
        del self.taken[1:]
        text = first[1].rstrip("\r\n")
        return first[0], [text], problem

    def encode_record(self, fields: list[str], original: bytes) -> bytes:
        """Serialize ``fields`` like ``original`` was written: delimiter, quoting, line ending, encoding."""
        ending = b"\r\n" if original.endswith(b"\r\n") else b"\n" if original.endswith(b"\n") else b""
        text = original.decode("latin-1").lstrip("\ufeff")
        quote_all = text.startswith('"') and text.count('"') >= 2 * len(fields)
        out = io.StringIO()
        # "\r\n" as terminator makes the writer quote fields holding either character; it is cut off below.
        csv.writer(out, delimiter=self.delimiter, lineterminator="\r\n",
                   quoting=csv.QUOTE_ALL if quote_all else csv.QUOTE_MINIMAL).writerow(fields)
        encoding = self.lines.encoding or "utf-8"
        try:
            return out.getvalue()[:-2].encode(encoding) + ending
        except UnicodeEncodeError as exc:
            raise BadSource(self.source, _("{where}: {text!r} cannot be written in {encoding}, the file's "
                                           "encoding").format(where=self.where, text=exc.object[exc.start:exc.end],
                                                              encoding=encoding_label(encoding)),
                            _("use characters that encoding has, or re-save the file as CSV UTF-8")) from None


class _Feed:
    """Physical lines for the csv reader, with room to read some again after a broken record.

    An iterator class, not a generator: a generator that reached the end of the file could not
    hand out the lines pushed back after it.
    """

    def __init__(self, table: CsvFile, stream: Iterator[str], number: int):
        self.table, self.stream, self.number = table, stream, number
        self.back, self.taken, self.lines = table.back, table.taken, table.lines

    def __iter__(self) -> "_Feed":
        return self

    def __next__(self) -> str:
        if self.back:
            item = self.back.popleft()
        else:
            text = next(self.stream)  # StopIteration ends the reader's record, or the file
            self.number += 1
            item = (self.number, text, self.lines.take() if self.table.keep_raw else b"")
        self.taken.append(item)
        return item[1]


def _width_problem(found: int, width: int, delimiter: str) -> str:
    shown = Said(N_("a tab")) if delimiter == "\t" else repr(delimiter)
    if found > width:
        return Said(N_("{found} fields where the header has {width}: a value holding {delimiter} is not in quotes "
                       "(the columns after it are shifted)"), found=found, width=width, delimiter=shown)
    return Said(N_("{found} fields where the header has {width}: the row is cut short"), found=found, width=width)


def map_columns(header: list[str], configured: Mapping[str, str], where: str, source: str) -> dict[str, int]:
    """Field -> column index, from ``[sources.X.columns]`` first, then the default aliases.

    Raises BadSource naming the file, the missing column, the headers found and the config key.
    """
    found = ", ".join(repr(h.strip()) for h in header if h.strip()) or _("none")
    unknown = sorted(set(configured) - set(ALIASES))
    if unknown:
        raise ConfigError(_("[sources.{source}.columns] has unknown field {field!r}").format(
                              source=source, field=unknown[0]),
                          _("use fields from: {fields}").format(fields=", ".join(ALIASES)))
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(normalize(name), i)
    columns: dict[str, int] = {}
    taken = {index.get(normalize(str(name))) for name in configured.values()}
    for field, aliases in ALIASES.items():
        if field in configured:
            i = index.get(normalize(str(configured[field])))
            if i is None:
                raise BadSource(source, _("{where} has no column {column!r} (set as `{field}` in "
                                          "[sources.{source}.columns]; headers found: {found})").format(
                                    where=where, column=configured[field], field=field, source=source, found=found),
                                _("fix [sources.{source}.columns] {field} = \"...\" to one of the headers").format(
                                    source=source, field=field))
            columns[field] = i
            continue
        i = next((index[a] for a in aliases if a in index and index[a] not in taken), None)
        if i is not None:
            columns[field] = i
            taken.add(i)
    missing = [f for f in REQUIRED if f not in columns]
    if not ("email" in columns or "phone" in columns):
        missing.append("email")
    if missing:
        field = missing[0]
        raise BadSource(source, _("{where} has no {field} column (headers found: {found})").format(
                            where=where, field=field, found=found),
                        _("name it under [sources.{source}.columns], e.g. {field} = \"{example}\"").format(
                            source=source, field=field, example=_example(field)))
    return columns


def extra_columns(header: list[str], columns: Mapping[str, int], configured: Mapping[str, str], where: str,
                  source: str) -> dict[str, int]:
    """Key -> index of the columns no field took (a payment method, a UTM tag), kept as the order's extras.

    ``[sources.X.extra]`` names them (``payment_method = "Способ оплаты"``) so that conditions can
    say ``order.extra.payment_method``; other columns are kept under their header, lower-cased, with
    ``_`` for spaces.
    """
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(normalize(name), i)
    taken = set(columns.values())
    out: dict[str, int] = {}
    for key, name in configured.items():
        if not re.fullmatch(r"[a-z_][a-z0-9_]*", key):
            raise ConfigError(_("[sources.{source}.extra] {key!r} is not a usable key").format(source=source, key=key),
                              _("use lower-case latin letters, digits and _, e.g. payment_method"))
        i = index.get(normalize(name))
        if i is None:
            raise BadSource(source, _("{where} has no column {column!r} (set as `{key}` in "
                                      "[sources.{source}.extra])").format(where=where, column=name, key=key,
                                                                          source=source),
                            _("fix [sources.{source}.extra] {key} = \"...\" to one of the headers").format(
                                source=source, key=key))
        out[key] = i
        taken.add(i)
    for i, name in enumerate(header):
        if i not in taken and name.strip():
            out.setdefault(normalize(name).replace(" ", "_"), i)
    return out


def _example(field: str) -> str:
    return {"id": "Номер заказа", "status": "Статус", "created": "Дата создания", "amount": "Стоимость",
            "email": "Email"}.get(field, field)
