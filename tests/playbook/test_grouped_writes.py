"""A run commits its enrollments and closings in groups (Store.grouped), yet every send still finds its claim,
and the enrollment before it, committed, and the store free for other writers while it sends."""

from __future__ import annotations

import os
import sqlite3
from datetime import datetime, timedelta, timezone

from unpaid import hookimpl
from unpaid.channel import Channel, ChannelSpec, Receipt
from unpaid.connector import Setting
from unpaid.model import Customer, LineItem, Money, Order, Status
from unpaid.store import Store
from unpaid.testing.fakes import BACKENDS, backend

NOW = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
SEEN: list[dict] = []

CONFIG = """
timezone = "UTC"

[sources.shop]
type = "memory"

[channels.probe]
type = "probe"

[segments.unpaid]
min_age = "1h"

[playbooks.remind]
segment = "unpaid"
channel = "probe"
cap = false

[[playbooks.remind.steps]]
name = "letter"
action = "send"
template = "letter"
"""


class ProbeChannel(Channel):
    """Looks at the store from a connection of its own while it "sends"."""

    def __init__(self, name: str):
        self.name, self.dedupes = name, False

    def send(self, message) -> Receipt:
        target = os.environ["UNPAID_DB"]
        with Store.open(target) as store:
            key = message.idempotency_key
            order_id = store.conn.execute("SELECT order_id FROM ledger WHERE key = ?", (key,)).fetchone()[0]
            enrolled = store.conn.execute("SELECT COUNT(*) FROM enrollments WHERE order_id = ?",
                                          (order_id,)).fetchone()[0]
            SEEN.append({"state": store.ledger.get(key).state, "enrolled": enrolled, "free": _writer_free(store)})
        return Receipt(self.name, message_id=key)


def _writer_free(store: Store) -> bool:
    """Whether another writer could begin now, without waiting for the run."""
    if store.postgres:
        from unpaid.store.pg import WRITER_LOCK

        with store.transaction(exclusive=False):
            return store.conn.execute("SELECT pg_try_advisory_xact_lock(?)", (WRITER_LOCK,)).fetchone()[0]
    probe = sqlite3.connect(store.path, timeout=0)
    try:
        probe.execute("BEGIN IMMEDIATE")
        probe.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        probe.close()


class ProbePlugin:
    @staticmethod
    @hookimpl
    def register_channels(register):
        register(ChannelSpec("probe", "Looks at the store while sending", lambda n, s, _: ProbeChannel(n),
                             (Setting("address", "email or phone", default="email"),), dedupes=False, address="any"))


def test_each_send_finds_its_claim_and_enrollment_committed_and_the_store_free(tmp_path, cli, register_plugin,
                                                                              monkeypatch):
    from unpaid.testing.fakes import MemoryPlugin

    BACKENDS.clear()
    SEEN.clear()
    register_plugin(MemoryPlugin, name="memory")
    register_plugin(ProbePlugin, name="probe")
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "letter.txt").write_text("Subject: Order {{ order.number }}\n\nPlease pay\n",
                                                       encoding="utf-8")
    (tmp_path / "unpaid.toml").write_text(CONFIG, encoding="utf-8")
    monkeypatch.setenv("UNPAID_CONFIG", str(tmp_path / "unpaid.toml"))
    orders = [Order("shop", str(n), Status.NEW, NOW - timedelta(hours=3, minutes=n), Money(100_000, "RUB"),
                    Customer(email=f"c{n}@example.com", phone=None, name=f"C{n}"),
                    (LineItem("p", "Course", 1, Money(100_000, "RUB")),), number=str(n)) for n in range(12)]
    backend("shop").put(*orders)
    assert cli(["--now", NOW.isoformat(), "sync"]).exit_code == 0
    result = cli(["--now", NOW.isoformat(), "--format", "json", "run"])
    assert result.exit_code == 0, result.output
    assert len(SEEN) == 12
    assert all(s == {"state": "claimed", "enrolled": 1, "free": True} for s in SEEN), SEEN
    with Store.open(os.environ["UNPAID_DB"]) as store:  # and the run's last grouped writes were committed
        states = store.conn.execute("SELECT state, COUNT(*) FROM enrollments GROUP BY state").fetchall()
    assert [tuple(r) for r in states] == [("finished", 12)], states
    BACKENDS.clear()
