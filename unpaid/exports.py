"""`unpaid orders --format json|jsonl|csv` over many orders, read by several processes at once.

The export's orders are cut into ranges of the creation index (:meth:`Orders.split_keys`). Worker processes
take the ranges in turns (worker ``w`` every ``w``-th), each builds a whole range's texts in memory (a few MB)
and hands them over a pipe; this process writes them in the ranges' order. So the output is the bytes one
process writes, memory stays bounded by a range per worker, and SQLite's work, most of an export's time,
runs on several CPUs.

Every worker reads one and the same snapshot: a short-lived process holds other writers out
(:meth:`Store.writers_held`, never waiting for one) while the workers begin their reads. When someone is
writing at that moment, the export runs in one process instead. No process is forked while this one holds a
lock of the store: SQLite's own record of the locks a process holds would be copied into the child.
"""

from __future__ import annotations

import os
import select
import shutil
import struct
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO, Callable, Iterator

if TYPE_CHECKING:
    from unpaid.store import Store
    from unpaid.store.orders import OrderQuery

#: Orders per range: a worker holds one range's texts (a few MB) while it waits for its turn.
RANGE_ROWS = 20_000
#: Below this many orders, ``--jobs`` left to its default exports in one process.
PARALLEL_FROM = 50_000
#: The longest the holder keeps writers out, whatever happens to this process (they wait up to 10 s).
HOLD_AT_MOST = 5.0

_FRAME = struct.Struct("<BQQ")  # kind, bytes that follow, rows
_READY, _BLOCK, _END = 0, 1, 2


def blocks(store: "Store", q: "OrderQuery", fmt: str, jobs: int, open_store: Callable[[], "Store"]
           ) -> Iterator[tuple[bytes, int]] | None:
    """:meth:`Orders.export`'s blocks of all of ``q``'s orders, read by ``jobs`` worker processes; None when
    the export runs in one process (a single range; another writer busy at this moment; workers slower to
    begin their reads than writers may be held)."""
    from unpaid import workers

    keys = store.orders.split_keys(q, RANGE_ROWS)
    if not keys:
        return None
    ranges = list(zip([None, *keys], [*keys, None]))
    jobs = min(jobs, len(ranges))
    folder = Path(tempfile.mkdtemp(prefix="unpaid-export-"))
    pids: dict[int, int] = {}  # pid -> worker (or -1: the holder)
    pipes: list[BinaryIO] = []
    try:
        held, holder = _hold(open_store, folder, pids)
        try:
            if not held:
                shutil.rmtree(folder, ignore_errors=True)
                return None
            for w in range(jobs):
                read, write = os.pipe()
                pid = workers.start(lambda w=w, read=read, write=write: _work(
                    open_store, q, fmt, ranges[w::jobs], read, write), folder / f"error-{w}.json")
                os.close(write)
                pids[pid] = w
                pipes.append(os.fdopen(read, "rb"))
            for pipe in pipes:  # each has begun its read of the same snapshot
                if _frame(pipe)[0] != _READY:
                    _failed(pids, pipes.index(pipe), folder)
        finally:
            shared = _let_go(holder, pids)
    except BaseException:
        _close(pipes, pids, folder)
        raise
    if not shared:  # the workers took longer to begin than writers may be held: their reads may differ
        _close(pipes, pids, folder)
        return None
    return _merged(pipes, pids, len(ranges), folder)


def _merged(pipes: list[BinaryIO], pids: dict[int, int], ranges: int, folder: Path
            ) -> Iterator[tuple[bytes, int]]:
    from unpaid import workers

    try:
        for i in range(ranges):
            w = i % len(pipes)
            while True:
                kind, size, rows = _frame(pipes[w])
                if kind == _END:
                    break
                text = pipes[w].read(size) if kind == _BLOCK else b""
                if len(text) != size or kind != _BLOCK:  # the worker ended mid-range
                    _failed(pids, w, folder)
                yield text, rows
        for pid, w in list(pids.items()):
            _, status = os.waitpid(pid, 0)
            del pids[pid]
            if status != 0:
                workers.raise_failure(folder / f"error-{w}.json", status)
    finally:
        _close(pipes, pids, folder)


def _close(pipes: list[BinaryIO], pids: dict[int, int], folder: Path) -> None:
    from unpaid import workers

    for pipe in pipes:
        pipe.close()
    workers.stop(list(pids))
    pids.clear()
    shutil.rmtree(folder, ignore_errors=True)


def _frame(pipe: BinaryIO) -> tuple[int, int, int]:
    head = pipe.read(_FRAME.size)
    return _FRAME.unpack(head) if len(head) == _FRAME.size else (-1, 0, 0)  # -1: the worker is gone


def _failed(pids: dict[int, int], w: int, folder: Path) -> None:
    """Worker ``w`` ended early: raise what it reported."""
    from unpaid import workers

    pid = next(p for p, i in pids.items() if i == w)
    _, status = os.waitpid(pid, 0)
    del pids[pid]
    workers.raise_failure(folder / f"error-{w}.json", status)


def _work(open_store: Callable[[], "Store"], q: "OrderQuery", fmt: str, ranges: list, read: int, write: int) -> None:
    os.close(read)
    out = os.fdopen(write, "wb", buffering=1 << 20)
    store = open_store()
    store.begin_read()
    out.write(_FRAME.pack(_READY, 0, 0))
    out.flush()
    for start, end in ranges:
        texts = [(t if type(t) is bytes else t.encode(), rows)
                 for t, rows in store.orders.export(store.orders.in_range(q, start, end), fmt)]
        for text, rows in texts:
            out.write(_FRAME.pack(_BLOCK, len(text), rows))
            out.write(text)
        out.write(_FRAME.pack(_END, 0, 0))
        out.flush()
    out.close()
    store.close()


def _hold(open_store: Callable[[], "Store"], folder: Path, pids: dict[int, int]) -> tuple[bool, tuple[int, int]]:
    """Start the process that holds writers out: whether it holds them, and its two pipe ends (its answers;
    the one that lets writers go)."""
    from unpaid import workers

    said, tell = os.pipe()
    wait, release = os.pipe()

    def holder() -> None:
        os.close(said)
        os.close(release)
        store = open_store()
        with store.writers_held() as held:
            os.write(tell, b"1" if held else b"0")
            if held:  # until told, or the longest it may, whatever happens to the parent
                told, _, _ = select.select([wait], [], [], HOLD_AT_MOST)
                os.write(tell, b"k" if told else b"t")  # kept until told, or let go on its own
        store.close()

    pid = workers.start(holder, folder / "error-holder.json")
    pids[pid] = -1
    os.close(tell)
    os.close(wait)
    answer = os.read(said, 1)
    return answer == b"1", (said, release)


def _let_go(holder: tuple[int, int], pids: dict[int, int]) -> bool:
    """Let writers go; whether the holder kept them out until now (the workers then read one snapshot)."""
    said, release = holder
    try:
        os.write(release, b"x")
    except BrokenPipeError:  # it held nothing and is gone already (unhandled, the CLI would take it for a
        pass                 # reader of stdout that went away, and end quietly)
    finally:
        os.close(release)
    kept = os.read(said, 1) == b"k"
    os.close(said)
    for pid, w in list(pids.items()):
        if w == -1:
            os.waitpid(pid, 0)
            del pids[pid]
    return kept
