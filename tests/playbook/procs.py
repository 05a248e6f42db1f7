"""A shop on disk for runner tests: the ``cli`` fixture's store (a SQLite file, or PostgreSQL), orders in a
JSON file, the ``procplug`` log channel.

``world.run(now, ...)`` runs ``unpaid`` in-process; ``world.spawn(now, ...)`` starts it as a real process
(``sys.executable -m unpaid``) that finds the plugin through an entry point on PYTHONPATH.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from tests.playbook import procplug
from tests.playbook.shop import order

REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 24, 12, 0, tzinfo=timezone.utc)
LETTER = {"name": "letter", "action": "send", "template": "letter"}
CANCEL = {"name": "close", "action": "cancel", "reason": "Expired"}


def toml_value(v) -> str:
    if isinstance(v, dict):
        return "{ " + ", ".join(f"{k} = {toml_value(x)}" for k, x in v.items()) + " }"
    return json.dumps(v)


def toml_table(fields: dict) -> str:
    return "\n".join(f"{k} = {toml_value(v)}" for k, v in fields.items())


class World:
    def __init__(self, root: Path, cli, monkeypatch, db: str):
        self.root, self.cli = root, cli
        self.db, self.config = db, root / "unpaid.toml"
        self.log, self.orders_file = root / "sent.log", root / "orders.json"
        self.pushes = self.orders_file.with_suffix(".pushes")
        (root / "templates").mkdir()
        (root / "templates" / "letter.txt").write_text("Subject: Order {{ order.number }}\n\nPay: {{ payment_link }}\n")
        site = root / "site" / "unpaid_procplug-0.1.dist-info"
        site.mkdir(parents=True)
        (site / "METADATA").write_text("Metadata-Version: 2.1\nName: unpaid-procplug\nVersion: 0.1\n")
        (site / "entry_points.txt").write_text("[unpaid]\nprocplug = tests.playbook.procplug\n")
        self.env = {k: v for k, v in os.environ.items() if not k.startswith("UNPAID_") or k == "UNPAID_DB_PASSWORD"}
        self.env.update(PYTHONPATH=f"{root / 'site'}{os.pathsep}{REPO}", UNPAID_LOAD_PLUGINS="procplug",
                        UNPAID_ACTOR="tester")
        monkeypatch.setenv("UNPAID_CONFIG", str(self.config))
        self.configure()

    def configure(self, *steps: dict, channel: str = "log", cap: bool = True, mail: dict | None = None,
                  **settings) -> None:
        """(Re)write the config: one playbook ``remind`` with ``steps``; ``settings`` go to the channel/source.

        ``mail`` replaces the whole ``[channels.mail]`` table (e.g. ``{"type": "smtp", ...}``)."""
        push = {"push_delay": settings.pop("push_delay")} if "push_delay" in settings else {}
        body = "\n".join(f"[[playbooks.remind.steps]]\n{toml_table(s)}\n" for s in (steps or (LETTER,)))
        mail_table = toml_table(mail) if mail else f'type = "{channel}"\n' + toml_table({"path": str(self.log),
                                                                                          **settings})
        self.config.write_text(f"""
timezone = "UTC"
optout = []

[sources.shop]
type = "jsonfile"
{toml_table({"path": str(self.orders_file), **push})}

[channels.mail]
{mail_table}

[channels.sms]
type = "{channel}"
{toml_table({"path": str(self.log), "address": "phone"})}

[segments.unpaid]
sources = ["shop"]
min_age = "1h"

[playbooks.remind]
segment = "unpaid"
channel = "mail"
{"" if cap else "cap = false"}

{body}""")

    def add(self, *orders) -> None:
        from unpaid.store import Store

        orders = [replace(o, source="shop") for o in orders]
        with Store.open(self.db) as store, store.transaction():
            store.orders.upsert(orders, orders[0].created_at)
        procplug.save_orders(self.orders_file, orders)

    def many(self, n: int, created: datetime = T0 - timedelta(hours=2), **kw) -> list[str]:
        self.add(*(order("shop", str(i), created, email=f"c{i}@example.com", **kw) for i in range(1, n + 1)))
        return [f"shop:{i}|remind|letter|0" for i in range(1, n + 1)]

    def pay(self, native: str) -> None:
        data = json.loads(self.orders_file.read_text())
        data[native]["status"] = "paid"
        self.orders_file.write_text(json.dumps(data))

    def args(self, now: datetime, *args: str) -> list[str]:
        return ["--config", str(self.config), "--db", str(self.db), "--now", now.isoformat(),
                "--format", "json", *args]

    def run(self, now: datetime, *args: str, code: int | None = 0, command: str = "run"):
        result = self.cli(self.args(now, command, *args))
        if code is not None:
            assert result.exit_code == code, result.output
        return result

    def spawn(self, now: datetime, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, "-m", "unpaid", *self.args(now, "run", *args)], cwd=self.root,
                                env=self.env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def wait_for(self, proc: subprocess.Popen, path: Path, prefix: str, count: int = 1, limit: float = 60) -> None:
        """Block until ``path`` has ``count`` lines starting with ``prefix`` (the run is at a known point)."""
        deadline = time.monotonic() + limit
        while sum(line.startswith(prefix) for line in procplug.lines(path)) < count:
            if proc.poll() is not None:
                pytest.fail(f"the run ended early ({proc.returncode}): {proc.communicate()}")
            if time.monotonic() > deadline:
                proc.kill()
                pytest.fail(f"no {prefix!r} in {path} after {limit} s")
            time.sleep(0.01)

    def sent(self) -> list[str]:
        return procplug.sent_keys(self.log)

    def started(self) -> list[str]:
        return [line.split(" ", 1)[1] for line in procplug.lines(self.log) if line.startswith("start ")]

    def ledger(self, key: str):
        from unpaid.store import Store

        with Store.open(self.db) as store:
            return store.ledger.get(key)

    def store(self):
        from unpaid.store import Store

        return Store.open(self.db)


@pytest.fixture
def world(tmp_path, cli, cli_db, register_plugin, monkeypatch):
    register_plugin(procplug, name="procplug")
    return World(tmp_path, cli, monkeypatch, cli_db)
