"""Connector state in the store: survives processes, atomic updates, scopes kept apart."""

from __future__ import annotations

import multiprocessing

from unpaid.source_state import MemoryState, StoreState
from unpaid.store import Store


def _spend(path: str, times: int) -> None:
    state = StoreState(path, "gc").scoped("account:school")
    for _ in range(times):
        state.update("sent", lambda n: n + 1, 0)
    state.close()


def test_values_survive_a_new_connection(tmp_path):
    db = tmp_path / "u.db"
    Store.open(db).close()
    first = StoreState(db, "gc")
    first.put("index", {"42": ["7", "A-1"]})
    first.put_many({"a": 1, "b": [1, 2]})
    first.close()
    again = StoreState(db, "gc")
    assert again.get("index") == {"42": ["7", "A-1"]}
    assert again.get_many(["a", "b", "zzz"]) == {"a": 1, "b": [1, 2]}
    assert again.get("missing", "dflt") == "dflt"
    again.delete("a")
    assert again.get("a") is None


def test_scopes_are_separate(tmp_path):
    state = StoreState(tmp_path / "u.db", "gc")
    state.put("k", 1)
    other = state.scoped("awo")
    assert other.get("k") is None
    other.put("k", 2)
    assert state.get("k") == 1 and other.get("k") == 2


def test_update_is_atomic_across_processes(tmp_path):
    db = tmp_path / "u.db"
    Store.open(db).close()
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_spend, args=(str(db), 50)) for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    assert StoreState(db, "x").scoped("account:school").get("sent") == 200


def test_memory_state_behaves_the_same():
    state = MemoryState("gc")
    assert state.update("n", lambda n: n + 2, 1) == 3
    assert state.get("n") == 3
    assert state.scoped("other").get("n") is None
    assert state.scoped("gc").get("n") == 3
