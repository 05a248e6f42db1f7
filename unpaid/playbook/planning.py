"""The rows of `unpaid plan`: every decision of the chosen playbooks, computed in one process or in several.

Playbooks are planned one after another and, within one, cases chunk by chunk in the store's order. What a
planner remembers while it goes (messages booked against the frequency cap, the one chain of a purchase) is
kept per customer, so the cases of two customers never depend on each other: split by customer, a plan can be
computed by several processes at once and merged back into exactly the rows, in exactly the order, that one
process writes (:func:`in_parallel`).
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timedelta, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable, Iterator

from unpaid.clock import to_iso
from unpaid.playbook.cases import candidate_chunks, load_cases
from unpaid.playbook.planner import Planner, local_minute

if TYPE_CHECKING:
    from unpaid.playbook.load import Library
    from unpaid.playbook.planner import Case
    from unpaid.store import Store

#: Below this many candidate orders, ``--jobs`` left to its default plans in one process: starting another
#: costs more than it saves.
PARALLEL_FROM = 5_000


@dataclass
class PlanScope:
    """What one plan covers, and where it reads."""

    store: "Store"
    lib: "Library"
    names: list[str]
    now: datetime
    zone: tzinfo
    optouts: set[str]
    default_country: str
    horizon: datetime | None = None
    ids: list[str] | None = None  # --order: one order's story, stale outs included
    #: The Message-ID of a held send (a :class:`unpaid.review.Channels`), or None.
    message_id: Callable[[Any], str | None] | None = None
    counts: dict[str, int] = field(default_factory=dict)


class _Rows:
    """Cases' decisions as the plan's rows, counted by kind."""

    def __init__(self, scope: PlanScope):
        self.scope = scope
        self.shown: dict = {}  # moment -> its texts: most decisions share a few moments (now, the next slot)

    def of(self, planner: Planner, case: "Case") -> Iterator[dict]:
        scope, counts = self.scope, self.scope.counts
        for d in planner.decide(case, scope.now, scope.horizon, book=True):
            kind = d.kind if d.due or d.kind not in ("act", "enter", "skip") else f"{d.kind} later"
            if d.kind == "out" and scope.ids is None and d.stale:
                continue
            counts[d.kind] = counts.get(d.kind, 0) + 1
            texts = self.shown.get(d.at)
            if texts is None:
                if len(self.shown) > 100_000:
                    self.shown.clear()
                texts = self.shown[d.at] = (to_iso(d.at), local_minute(d.at, scope.zone))
            row = d.as_dict(texts[0])
            row["kind"] = kind
            row["when"] = texts[1]
            if kind == "review" and row["key"] and scope.message_id is not None:
                # Rows of actions held for review get the Message-ID a mail log shows (docs/review.md).
                entry = scope.store.ledger.get(row["key"])
                if entry is not None and (mid := scope.message_id(entry)):
                    row["message_id"] = mid
                    row["reason"] += f" (Message-ID {mid})"
            yield row


def plan_rows(scope: PlanScope) -> Iterator[dict]:
    """Every row of the plan, lazily (a page of a plan of a million orders reads only what it shows)."""
    rows = _Rows(scope)
    for name in scope.names:
        pb = scope.lib.playbooks[name]
        planner = Planner(pb, scope.lib.channels, scope.zone)
        for chunk in candidate_chunks(scope.store, pb, scope.now, scope.horizon, scope.ids):
            for case in _cases(scope, pb, chunk):
                yield from rows.of(planner, case)


def _cases(scope: PlanScope, pb, ids: list[str]) -> list["Case"]:
    cap_since = scope.now - (pb.cap.per if pb.cap else timedelta(days=1))
    return load_cases(scope.store, pb, ids, scope.now, scope.optouts, cap_since, scope.default_country)


# ---- several processes ----

#: Per playbook, its chunks; per chunk, its orders in the order load_cases builds their cases, each with the
#: number of the process that plans it.
Layout = list[tuple[str, list[list[tuple[str, int]]]]]


def layout(scope: PlanScope, jobs: int) -> tuple[Layout, int]:
    """The plan's candidates, split by customer between ``jobs`` processes; and how many there are."""
    from unpaid.store.orders import SORTS

    out: Layout = []
    total = 0
    for name in scope.names:
        chunks = []
        for chunk in candidate_chunks(scope.store, scope.lib.playbooks[name], scope.now, scope.horizon):
            found = scope.store.conn.execute(
                f"SELECT id, customer_key FROM orders WHERE id IN ({', '.join('?' * len(chunk))})"
                f" ORDER BY {SORTS['oldest']}", chunk).fetchall()
            # Every order of one customer goes to one process: what a planner books is per customer.
            chunks.append([(oid, zlib.crc32((key or oid).encode()) % jobs) for oid, key in found])
            total += len(found)
        out.append((name, chunks))
    return out, total


def in_parallel(scope: PlanScope, plan: Layout, jobs: int, encode: Callable[[dict], str],
                open_store: Callable[[], "Store"]) -> Iterator[str]:
    """The plan's rows as encoded by ``encode`` (JSON texts), computed by ``jobs`` processes (this one and
    ``jobs - 1`` forked ones, each with its own connection from ``open_store``) and merged into the order of
    :func:`plan_rows`; ``scope.counts`` holds every process's counts at the end.

    Each process writes its orders to a file of its own (constant memory), in the layout's order: a line
    ``[order id, n]``, then the case's ``n`` rows (none for an order gone meanwhile); a last line with its
    counts. A process that fails stops the plan with its error."""
    from unpaid import workers

    folder = Path(tempfile.mkdtemp(prefix="unpaid-plan-"))
    children: dict[int, int] = {}
    try:
        for part in range(1, jobs):
            pid = workers.start(lambda part=part: _child(scope, plan, part, folder, encode, open_store),
                                folder / f"error-{part}.json")
            children[pid] = part
        _write_part(scope, plan, 0, folder, encode)
        for pid, part in list(children.items()):
            _, status = os.waitpid(pid, 0)
            del children[pid]
            if status != 0:
                workers.raise_failure(folder / f"error-{part}.json", status)
        yield from _merged(scope, plan, jobs, folder)
    finally:
        workers.stop(list(children))
        shutil.rmtree(folder, ignore_errors=True)


def _child(scope: PlanScope, plan: Layout, part: int, folder: Path, encode, open_store) -> None:
    store = open_store()
    try:
        scope.store = store
        scope.counts = {}
        _write_part(scope, plan, part, folder, encode)
    finally:
        store.close()


def _write_part(scope: PlanScope, plan: Layout, part: int, folder: Path, encode) -> None:
    rows = _Rows(scope)
    with open(folder / f"part-{part}.txt", "w", encoding="utf-8") as out:
        for name, chunks in plan:
            pb = scope.lib.playbooks[name]
            planner = Planner(pb, scope.lib.channels, scope.zone)
            for chunk in chunks:
                mine = [oid for oid, owner in chunk if owner == part]
                if not mine:
                    continue
                cases = {case.order.id: case for case in _cases(scope, pb, mine)}
                for oid in mine:  # in the layout's order, every one: the merge takes them in that order
                    case = cases.get(oid)  # None: the order was gone when this process read it
                    texts = [encode(row) for row in rows.of(planner, case)] if case is not None else []
                    out.write(json.dumps([oid, len(texts)]) + "\n")
                    if texts:
                        out.write("\n".join(texts) + "\n")
        out.write(json.dumps({"counts": scope.counts}) + "\n")


def _merged(scope: PlanScope, plan: Layout, jobs: int, folder: Path) -> Iterator[str]:
    parts = [open(folder / f"part-{part}.txt", encoding="utf-8") for part in range(jobs)]
    try:
        for _name, chunks in plan:
            for chunk in chunks:
                for oid, owner in chunk:
                    head = _head(parts[owner])
                    if not isinstance(head, list) or head[0] != oid:  # never a row dropped unnoticed
                        raise RuntimeError(f"planning process {owner} wrote {head!r} where {oid!r} was due")
                    for _ in range(head[1]):
                        yield parts[owner].readline()[:-1]
        for part, f in enumerate(parts):
            tail = _head(f)
            if not isinstance(tail, dict):
                raise RuntimeError(f"planning process {part} wrote {tail!r} past its last order")
            if part:  # this process counted its own already
                for kind, n in tail["counts"].items():
                    scope.counts[kind] = scope.counts.get(kind, 0) + n
    finally:
        for f in parts:
            f.close()


def _head(f) -> Any:
    """The next case's ``[order id, rows]``, or the part's closing ``{"counts": ...}`` (or None at its end)."""
    line = f.readline()
    return json.loads(line) if line else None
