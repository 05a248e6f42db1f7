"""Paging through an AutoWebOffice search so that it always ends.

The API gives no next-page marker. A walk ends on an empty page (or the "No items" text), a short
page, or a page identical to the one before — a framework that clamps the page number repeats the
last page forever when asked past the end, and an invoice count that is an exact multiple of the
page size would otherwise never stop. As a last guard a walk may not take more pages than the
reported total allows (:func:`ceiling`); past it the sync stops with an error instead of spending
the account's request budget all day.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import Any, Callable, Iterator

from unpaid.connector import InvalidData

from unpaid_autoweboffice.i18n import _

#: Pages allowed beyond what the total needs: invoices created while the walk runs shift the pages.
MARGIN = 2
#: The ceiling when no total can be had (ids that are not numbers): ten million rows at 1000 a page.
FALLBACK = 10_000

Rows = list[dict[str, Any]]


def ceiling(total: int | None, page_size: int) -> int:
    """Pages a walk of ``total`` rows may take, margin included."""
    if total is None:
        return FALLBACK
    return math.ceil(max(0, total) / max(1, page_size)) + MARGIN


def walk(source: str, entity: str, fetch: Callable[[int], Rows], page_size: int, *, start: int = 0,
         limit: Callable[[], int] | None = None) -> Iterator[tuple[int, Rows]]:
    """Yield ``(page, rows)`` from ``fetch(page)`` until the end (see the module doc).

    ``limit()`` is asked once, when a second page is needed (a one-page read costs nothing more).
    """
    page, previous, allowed = start, None, None
    while True:
        if page > start and allowed is None:
            allowed = limit() if limit is not None else FALLBACK
        if allowed is not None and page - start >= allowed:
            raise InvalidData(source, _("AutoWebOffice kept answering the {entity} search past page {page} ({allowed} "
                                        "pages at most for the rows it holds); stopped there").format(
                                  entity=entity, page=page - start, allowed=allowed),
                              _("the server is paging wrongly: what was read is stored and the next sync resumes; "
                                "report it if it happens again"))
        rows = fetch(page)
        if not rows:
            return
        signature = _signature(rows)
        if signature == previous:
            return  # the last page again: the server clamps the page number past the end
        yield page, rows
        if len(rows) < page_size:
            return
        previous = signature
        page += 1


def _signature(rows: Rows) -> str:
    return hashlib.sha1(json.dumps(rows, sort_keys=True, ensure_ascii=False).encode("utf-8")).hexdigest()
