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
from itertools import chain
from typing import BinaryIO, Iterator, Mapping

from unpaid.connector import InvalidData

DELIMITERS = (",", ";", "\t", "|")
ENCODING_NAMES = {"utf-8": "UTF-8", "cp1251": "Windows-1251"}
RESAVE = "re-save the whole file in one encoding (in Excel: Save As > CSV UTF-8)"

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
    "product_id": ("product id", "offer id", "sku", "item id", "id товара", "id предложения", "id продукта"),
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
                raise self._error(f"is not {encoding_label(self.encoding)} (byte 0x{line[exc.start]:02X})",
                                  "fix the `encoding` setting or remove it to detect the encoding") from None
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
                raise self._mixed(f"is not UTF-8 (byte 0x{line[exc.start]:02X})") from None
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return self._cp1251(line)
        raise self._mixed("is UTF-8")

    def _cp1251(self, line: bytes) -> str:
        try:
            return line.decode("cp1251")
        except UnicodeDecodeError as exc:
            raise self._error(f"is neither UTF-8 nor Windows-1251 text (byte 0x{line[exc.start]:02X})",
                              "export the file again as CSV (UTF-8), or set `encoding` for it") from None

    def _mixed(self, what: str) -> InvalidData:
        return self._error(f"{what}, but line {self.decided_at} is {encoding_label(self.encoding)}: "
                           "the file mixes encodings", RESAVE)

    def _error(self, problem: str, fix: str) -> InvalidData:
        return InvalidData(self.source, f"{self.where}:{self.number}: the line {problem}", fix)


class CsvFile:
    """One pass over a CSV file: the dialect, the header row, then the records with line numbers."""

    def __init__(self, raw: BinaryIO, where: str, source: str, encoding: str | None = None,
                 delimiter: str | None = None, keep_raw: bool = False):
        self.where, self.source = where, source
        self.lines = Lines(raw, where, source, encoding, keep_raw)
        stream = iter(self.lines)
        first = next(stream, None)
        while first is not None and not first.strip():
            first = next(stream, None)
        if first is None:
            raise InvalidData(source, f"{where} is empty: no header row",
                              "export the orders again with column names in the first row")
        self.delimiter = delimiter or sniff_delimiter(first)
        self.reader = csv.reader(chain([first], stream), delimiter=self.delimiter)
        self.header = self._next() or []
        self.line = self.lines.number

    def _next(self) -> list[str] | None:
        try:
            return next(self.reader, None)
        except csv.Error as exc:
            raise InvalidData(self.source, f"{self.where}:{self.lines.number}: not CSV: {exc}",
                              "export the file again as CSV, or fix that line") from None

    def records(self, blank: bool = False) -> Iterator[tuple[int, list[str]]]:
        """Yield ``(first line number, fields)`` per record; blank lines only when ``blank``."""
        while True:
            start = self.line + 1
            fields = self._next()
            if fields is None:
                return
            self.line = self.lines.number
            if blank or any(fields):
                yield start, fields

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
            raise InvalidData(self.source, f"{self.where}: {exc.object[exc.start:exc.end]!r} cannot be written "
                              f"in {encoding_label(encoding)}, the file's encoding",
                              "use characters that encoding has, or re-save the file as CSV UTF-8") from None


def map_columns(header: list[str], configured: Mapping[str, str], where: str, source: str) -> dict[str, int]:
    """Field -> column index, from ``[sources.X.columns]`` first, then the default aliases.

    Raises InvalidData naming the file, the missing column, the headers found and the config key.
    """
    found = ", ".join(repr(h.strip()) for h in header if h.strip()) or "none"
    unknown = sorted(set(configured) - set(ALIASES))
    if unknown:
        raise InvalidData(source, f"[sources.{source}.columns] has unknown field {unknown[0]!r}",
                          f"use fields from: {', '.join(ALIASES)}")
    index: dict[str, int] = {}
    for i, name in enumerate(header):
        index.setdefault(normalize(name), i)
    columns: dict[str, int] = {}
    taken = {index.get(normalize(str(name))) for name in configured.values()}
    for field, aliases in ALIASES.items():
        if field in configured:
            i = index.get(normalize(str(configured[field])))
            if i is None:
                raise InvalidData(source, f"{where} has no column {configured[field]!r} "
                                  f"(set as `{field}` in [sources.{source}.columns]; headers found: {found})",
                                  f"fix [sources.{source}.columns] {field} = \"...\" to one of the headers")
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
        raise InvalidData(source, f"{where} has no {field} column (headers found: {found})",
                          f"name it under [sources.{source}.columns], e.g. {field} = \"{_example(field)}\"")
    return columns


def _example(field: str) -> str:
    return {"id": "Номер заказа", "status": "Статус", "created": "Дата создания", "amount": "Стоимость",
            "email": "Email"}.get(field, field)
