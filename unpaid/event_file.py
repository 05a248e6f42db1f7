"""Read opens and clicks exported by a mail service (CSV or JSON Lines) into rows for the events table.

Each record names the order (``order``: ``gc:123``, or the source's own id with a default source) or
the customer's ``email`` (every unpaid order of that customer then gets the event), the ``kind``
(``open``/``click``, also ``opened``/``clicked``) and the time ``at``. Pure: no store access; the
caller resolves e-mails and checks order ids.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass
from datetime import datetime, tzinfo
from pathlib import Path
from typing import Iterator

from unpaid.clock import parse_when
from unpaid.config import EVENT_KINDS
from unpaid.i18n import _
from unpaid.model import normalize_email

_KINDS = {k: k for k in EVENT_KINDS} | {"opened": "open", "clicked": "click"}
_HEADERS = {"order": ("order", "order_id", "deal", "заказ"), "email": ("email", "e-mail", "почта"),
            "kind": ("kind", "event", "type", "событие"), "at": ("at", "time", "date", "timestamp", "дата")}


@dataclass(frozen=True)
class EventRecord:
    """One event read from the file: an order id or a normalized e-mail, a kind and a time."""

    line: int
    order_id: str | None
    email: str | None
    kind: str
    at: datetime


@dataclass(frozen=True)
class BadRecord:
    line: int
    reason: str


def read_events(path: Path, zone: tzinfo, source: str | None = None) -> Iterator[EventRecord | BadRecord]:
    """Records of ``path`` in order; a ``.jsonl``/``.json`` file is JSON Lines, anything else CSV."""
    text = path.read_text(encoding="utf-8-sig")
    if path.suffix.lower() in (".jsonl", ".json", ".ndjson"):
        for n, raw in enumerate(text.splitlines(), start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except json.JSONDecodeError as exc:
                yield BadRecord(n, _("not JSON ({error})").format(error=exc.msg))
                continue
            if not isinstance(item, dict):
                yield BadRecord(n, _("not a JSON object"))
                continue
            yield _record(n, {k.lower(): v for k, v in item.items()}, zone, source)
        return
    dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t") if text.strip() else csv.excel
    reader = csv.reader(io.StringIO(text), dialect)
    header = [h.strip().lower() for h in next(reader, [])]
    columns = {name: next((header.index(a) for a in aliases if a in header), None) for name, aliases in _HEADERS.items()}
    if columns["kind"] is None or columns["at"] is None or (columns["order"] is None and columns["email"] is None):
        if header:
            yield BadRecord(1, _("the header needs kind, at and order or email columns (found: {columns})").format(
                columns=", ".join(header)))
        else:
            yield BadRecord(1, _("the header needs kind, at and order or email columns (found: nothing)"))
        return
    for row in reader:
        if not any(cell.strip() for cell in row):
            continue
        cells = {name: row[i] if i is not None and i < len(row) else None for name, i in columns.items()}
        yield _record(reader.line_num, cells, zone, source)


def _record(line: int, cells: dict, zone: tzinfo, source: str | None) -> EventRecord | BadRecord:
    kind = _KINDS.get(str(cells.get("kind") or "").strip().lower())
    if kind is None:
        return BadRecord(line, _("kind {kind!r} is not one of {kinds}").format(kind=cells.get("kind"),
                                                                            kinds=", ".join(_KINDS)))
    try:
        at = parse_when(str(cells.get("at") or ""), zone)
    except ValueError as exc:
        return BadRecord(line, "at: {error}".format(error=exc))
    order = str(cells.get("order") or "").strip()
    if order and ":" not in order:
        if not source:
            return BadRecord(line, _("order {order!r} has no source prefix; write SOURCE:{bare} or pass --source").format(
                order=order, bare=order))
        order = f"{source}:{order}"
    email = normalize_email(str(cells.get("email") or "").strip())
    if not order and not email:
        return BadRecord(line, _("neither an order nor an e-mail"))
    return EventRecord(line, order or None, None if order else email, kind, at)
