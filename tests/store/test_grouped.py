"""Store.grouped: writes only the store sees commit together, and every ordinary transaction commits them first."""

import os
import signal
import subprocess
import sys
import textwrap
from contextlib import nullcontext

import pytest

from unpaid.store import Store
from unpaid.store.orders import OrderQuery
from tests.store.test_store import T0, order


def stored(store: Store) -> list[str]:
    """The orders another connection sees committed."""
    return sorted(o.native_id for o in store.orders.query(OrderQuery(statuses=None)))


@pytest.fixture
def pair(store_target):
    """Two connections to one store: the writer and an onlooker."""
    writer, onlooker = Store.open(store_target), Store.open(store_target)
    yield writer, onlooker
    writer.close()
    onlooker.close()


def test_grouped_blocks_are_committed_by_the_next_transaction_together_with_it(pair):
    writer, onlooker = pair
    for n in ("1", "2"):
        with writer.grouped():
            writer.orders.upsert([order(n)], T0)
    assert stored(onlooker) == []  # nothing committed yet
    assert stored(writer) == ["1", "2"]  # the writer reads its own blocks
    with writer.transaction():  # e.g. a claim that must be durable before its send
        writer.orders.upsert([order("3")], T0)
    assert stored(onlooker) == ["1", "2", "3"]


def test_an_exception_undoes_its_own_block_only(pair):
    writer, onlooker = pair
    with writer.grouped():
        writer.orders.upsert([order("1")], T0)
    with pytest.raises(RuntimeError), writer.grouped():
        writer.orders.upsert([order("2")], T0)
        raise RuntimeError("this step failed")
    with writer.grouped():
        writer.orders.upsert([order("3")], T0)
    writer.flush()
    assert stored(onlooker) == ["1", "3"]


def test_a_transaction_inside_a_grouped_block_joins_it(pair):
    writer, onlooker = pair
    with writer.grouped():
        with writer.transaction():
            writer.orders.upsert([order("1")], T0)
        assert stored(onlooker) == []
    assert stored(onlooker) == []
    writer.flush()
    assert stored(onlooker) == ["1"]


def test_a_group_commits_after_its_number_of_blocks_and_at_close(store_target, monkeypatch):
    import unpaid.store as store_module

    monkeypatch.setattr(store_module, "GROUP_BLOCKS", 3)
    writer, onlooker = Store.open(store_target), Store.open(store_target)
    try:
        for n in "1234":
            with writer.grouped():
                writer.orders.upsert([order(n)], T0)
        assert stored(onlooker) == ["1", "2", "3"]  # the writer lock is not held for a whole run
        writer.close()
        assert stored(onlooker) == ["1", "2", "3", "4"]
    finally:
        onlooker.close()


def test_flush_without_a_group_does_nothing_and_an_outer_transaction_decides(pair):
    writer, onlooker = pair
    writer.flush()
    with writer.transaction():
        with writer.grouped():
            writer.orders.upsert([order("1")], T0)
        writer.flush()  # inside someone else's transaction: not its to commit
        assert stored(onlooker) == []
    assert stored(onlooker) == ["1"]


def test_a_killed_process_leaves_none_of_its_uncommitted_blocks(store_target, tmp_path):
    script = textwrap.dedent(f"""
        import os, signal
        from unpaid.store import Store
        from tests.store.test_store import T0, order
        store = Store.open({store_target!r})
        with store.transaction():
            store.orders.upsert([order("1")], T0)
        for n in ("2", "3"):
            with store.grouped():
                store.orders.upsert([order(n)], T0)
        os.kill(os.getpid(), signal.SIGKILL)
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=os.getcwd(), env={**os.environ}, timeout=60)
    assert proc.returncode == -signal.SIGKILL
    with Store.open(store_target) as store:
        assert stored(store) == ["1"]


def test_the_group_size_is_the_one_the_playbooks_page_gives():
    from pathlib import Path

    from unpaid.store import GROUP_BLOCKS

    text = (Path(__file__).resolve().parents[2] / "docs" / "playbooks.md").read_text(encoding="utf-8")
    assert f"up to {GROUP_BLOCKS} at a time" in text


def test_a_failed_first_block_leaves_the_next_ones_their_own_savepoints(pair):
    writer, onlooker = pair
    for n, fails in (("1", True), ("2", False), ("3", True)):
        with pytest.raises(RuntimeError) if fails else nullcontext(), writer.grouped():
            writer.orders.upsert([order(n)], T0)
            if fails:
                raise RuntimeError("this step failed")
    writer.flush()
    assert stored(onlooker) == ["2"]
