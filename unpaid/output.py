"""Rows -> table / json / jsonl / csv on a stream.

The data format never depends on whether stdout is a terminal; scripts pass ``--format json``.
JSON and JSONL are streamed row by row; CSV cells that a spreadsheet would run as a formula are
neutralized with a leading apostrophe. Text meant for a terminal (tables, ``key: value`` lines) shows
control characters written out (``\x1b``) instead of sending them; JSON keeps the data as it is.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Mapping, Sequence, TextIO

from unpaid.i18n import _, lookup
from unpaid.text import terminal_safe

FORMATS = ("table", "json", "jsonl", "csv")
# Characters that make Excel, LibreOffice or Google Sheets evaluate a cell (OWASP CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# One encoder each for every row: json.dumps with options builds a new encoder per call, which costs as
# much as encoding an order.
json_row = json.JSONEncoder(ensure_ascii=False, default=str).encode
_cell_json = json.JSONEncoder(ensure_ascii=False).encode


@dataclass(frozen=True)
class Column:
    """A table column: the row key, its header and an optional cell formatter."""

    key: str
    header: str
    fmt: Callable[[Any], str] | None = None


def csv_safe(value: Any) -> Any:
    """Prefix a string a spreadsheet would evaluate (``=cmd|...``, ``+1+2``, ``@SUM``) with ``'``."""
    if isinstance(value, str) and value.startswith(_FORMULA_START):
        return "'" + value
    return value


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, (list, tuple)):
        return ", ".join(_cell(v) for v in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False)
    return str(value)


def render(rows: Iterable[Mapping[str, Any]], fmt: str, out: TextIO,
           columns: Sequence[Column] | None = None, encoded: bool = False) -> int:
    """Write ``rows`` to ``out`` in ``fmt``; return how many rows were written.

    ``columns`` chooses and labels the table's columns (the other formats carry every key, so
    scripts get the whole documented record). ``encoded``: for json and jsonl, the rows are already
    JSON texts (as this module would write them).
    """
    encode = str if encoded else json_row
    if fmt == "json":
        return _json(rows, out, encode)
    if fmt == "jsonl":
        n = 0
        for chunk in _chunks(rows):
            out.write("".join(encode(row) + "\n" for row in chunk))
            n += len(chunk)
        return n
    if fmt == "csv":
        return _csv(rows, out)
    return _table(rows, out, columns)


def _json(rows: Iterable[Any], out: TextIO, encode: Callable[[Any], str]) -> int:
    n = 0
    out.write("[")
    for chunk in _chunks(rows):
        out.write(("\n  " if not n else ",\n  ") + ",\n  ".join(map(encode, chunk)))
        n += len(chunk)
    out.write("\n]\n" if n else "]\n")
    return n


def _chunks(rows: Iterable[Mapping[str, Any]], size: int = 256) -> Iterable[list]:
    """Rows a few hundred at a time: one write per chunk, not per row (a write costs as much as encoding
    a row); memory holds one chunk, and a slow source still shows its first rows after a chunk."""
    chunk: list = []
    try:
        for row in rows:
            chunk.append(row)
            if len(chunk) >= size:
                yield chunk
                chunk = []
    except Exception:
        if chunk:  # the rows read before a failure are written, as they were one by one
            yield chunk
        raise
    if chunk:
        yield chunk


def _csv(rows: Iterable[Mapping[str, Any]], out: TextIO) -> int:
    writer = None
    fields: list[str] = []
    n = 0
    for row in rows:
        if writer is None:  # the first row's keys are the columns; others' extra keys are left out
            fields = list(row.keys())
            writer = csv.writer(out, lineterminator="\n")
            writer.writerow(fields)
        writer.writerow([_csv_cell(row[k]) if k in row else "" for k in fields])
        n += 1
    return n


def write_csv(header: Sequence[str], rows: Iterable[Sequence[Any]], out: TextIO) -> int:
    """Write rows whose cells are final (formula guard applied) under ``header``, a chunk per write; no
    rows, no header, as :func:`render` does; return how many rows were written."""
    writer = csv.writer(out, lineterminator="\n")
    n = 0
    for chunk in _chunks(rows):
        if not n:
            writer.writerow(header)
        writer.writerows(chunk)
        n += len(chunk)
    return n


def write_texts(blocks: Iterable[tuple[str | bytes, int]], fmt: str, out: TextIO, header: Sequence[str] = ()) -> int:
    """Write blocks of rows already written as ``fmt`` (JSON texts joined by ``,\\n  `` for json, JSON texts
    or CSV lines each ended by a line feed for jsonl and csv; ``str`` or UTF-8 ``bytes``; see
    ``Orders.export``), one write per block, as :func:`render` and :func:`write_csv` would write them
    (``header`` above the CSV rows, none without rows); return how many rows were written. Bytes go to
    the binary stream under ``out`` when it has one in UTF-8."""
    import codecs
    import os

    raw = getattr(out, "buffer", None)
    if raw is not None and (codecs.lookup(getattr(out, "encoding", None) or "ascii").name != "utf-8"
                            or os.linesep != "\n"):  # where a text stream would write its line ends otherwise
        raw = None
    n = 0
    for block, rows in blocks:
        if not rows:
            continue
        if fmt == "json":  # the block's rows are joined already: the text before them
            out.write(",\n  " if n else "[\n  ")
        elif not n and fmt == "csv":
            csv.writer(out, lineterminator="\n").writerow(header)
        if type(block) is bytes:
            if raw is None:
                out.write(block.decode())
            else:  # checked as UTF-8 (a store can hold a text that is not; it fails here, as in out.write)
                block.decode()
                out.flush()
                raw.write(block)
        else:
            out.write(block)
        n += rows
    if fmt == "json":
        out.write("\n]\n" if n else "[]\n")
    return n


def _csv_cell(value: Any) -> Any:
    """A CSV cell: a string as :func:`csv_safe` makes it, a list or mapping as JSON (which never starts
    like a formula)."""
    if isinstance(value, str):
        return "'" + value if value.startswith(_FORMULA_START) else value
    if isinstance(value, (list, tuple, dict)):
        return _cell_json(value)
    return value


def _table(rows: Iterable[Mapping[str, Any]], out: TextIO, columns: Sequence[Column] | None) -> int:
    from tabulate import tabulate  # imported here: tabulate costs ~50 ms at start-up

    data = list(rows)
    if not data:
        return 0
    cols = list(columns) if columns else [Column(k, k) for k in data[0].keys()]
    body = [[terminal_safe(c.fmt(row.get(c.key)) if c.fmt else _cell(row.get(c.key)), newlines=True) for c in cols]
            for row in data]
    # Headers are English keys kept in tables built at import time: shown in the active language.
    headers = [lookup(c.header) for c in cols]
    out.write(tabulate(body, headers=headers, tablefmt="simple", disable_numparse=True) + "\n")
    return len(data)


def render_one(record: Mapping[str, Any], fmt: str, out: TextIO) -> None:
    """Write one record: a JSON object, or ``key: value`` lines for humans."""
    if fmt in ("json", "jsonl"):
        out.write(json.dumps(record, ensure_ascii=False, default=str, indent=2 if fmt == "json" else None) + "\n")
        return
    if fmt == "csv":
        _csv([record], out)
        return
    keys = {key: lookup(key) for key in record}
    width = max((len(k) for k in keys.values()), default=0)
    for key, value in record.items():
        out.write(f"{terminal_safe(keys[key]).ljust(width)}  {terminal_safe(_cell(value), newlines=True)}\n")
