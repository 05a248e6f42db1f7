"""Invoice lines for a stream of invoices, in few requests.

The API filters ``accountline`` by one ``id_account`` at a time; asking once per invoice would
cost one request per invoice, far beyond 20 requests per 5 s. Instead the table is walked
newest-first (``id_account DESC``) only as far down as the oldest invoice in hand: a recent window
costs a few pages, a full sync one pass over the table. Invoices created after the walk began
(their lines may be newer than the walk's first page) are asked for one by one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Iterable

from unpaid.connector import Reject
from unpaid_autoweboffice.i18n import _
from unpaid_autoweboffice.mapping import Line, MappingError, line_from_native, text

if TYPE_CHECKING:
    from unpaid_autoweboffice.client import AwoClient

SORT = "id_account DESC, id_account_line DESC"
#: Up to this many invoices, one search each costs less than walking the table.
FEW = 3


def _num(value: str) -> int:
    return int(value) if value.isdigit() else -1


class LineIndex:
    """Lines by invoice id, filled by a lazy newest-first walk of ``accountline``."""

    def __init__(self, client: "AwoClient", currency: str, page_size: int = 1000):
        self.client = client
        self.currency = currency
        self.page_size = page_size
        self._lines: dict[str, dict[str, Line]] = {}
        self._page = 0
        self._walk = client.pages("accountline", page_size=page_size, sort=SORT)  # ends however the server pages
        self._done = False
        self._low: int | None = None  # every invoice above this id has all its lines read
        self._top: int | None = None  # the highest invoice id when the walk began
        self.rejects: list[Reject] = []

    def take(self, invoice_ids: Iterable[str]) -> dict[str, list[Line]]:
        """The lines of these invoices (removed from the index: each is asked for once)."""
        ids = [i for i in invoice_ids if i]
        if self._page == 0 and len(ids) <= FEW:  # a handful of invoices: cheaper asked one by one
            return {invoice_id: self.for_invoice(invoice_id) for invoice_id in ids}
        numeric = [_num(i) for i in ids if _num(i) >= 0]
        if numeric:
            self._walk_down_to(min(numeric))
        found: dict[str, list[Line]] = {}
        for invoice_id in ids:
            # Newer than the walk's first page: its lines may have been written after the walk began.
            if _num(invoice_id) < 0 or (self._top is not None and 0 <= self._top < _num(invoice_id)):
                found[invoice_id] = self.for_invoice(invoice_id)
            else:
                found[invoice_id] = list(self._lines.pop(invoice_id, {}).values())
        return found

    def for_invoice(self, invoice_id: str) -> list[Line]:
        """One invoice's lines by its own search (the server may ignore the key: re-checked here)."""
        lines: dict[str, Line] = {}
        for _page, rows in self.client.pages("accountline", {"id_account": invoice_id}, page_size=self.page_size):
            for row in rows:
                if text(row, "id_account") == invoice_id:
                    line = self._read(row)
                    if line:
                        lines[line.id_line] = line
            if all(text(r, "id_account") != invoice_id for r in rows):
                break  # the filter was ignored and the rows run past this invoice: stop paging the table
        return list(lines.values())

    def _walk_down_to(self, lowest: int) -> None:
        while not self._done and (self._low is None or self._low >= lowest):
            _page, rows = next(self._walk, (None, []))
            self._page += 1
            self._done = len(rows) < self.page_size
            lines = [line for line in map(self._read, rows) if line is not None]
            if self._top is None:
                self._top = max((_num(line.id_account) for line in lines), default=-1)
            for line in lines:
                self._lines.setdefault(line.id_account, {})[line.id_line] = line
                number = _num(line.id_account)
                self._low = number if self._low is None else min(self._low, number)

    def _read(self, row: dict) -> Line | None:
        try:
            return line_from_native(row, self.currency)
        except MappingError as exc:
            self.rejects.append(Reject(_("invoice line {line} of invoice {id}").format(
                                           line=text(row, "id_account_line") or "?", id=text(row, "id_account") or "?"),
                                       str(exc)))
            return None
