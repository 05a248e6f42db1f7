"""What every proof shares: the seed and the size of the run, `unpaid` as a real process, a shop on disk.

The shop is a real config file, a CSV export read by the `unpaid-csv` plugin, a real SQLite store and, when
given a port, the `smtp` channel pointed at a loopback server. Nothing of unpaid runs in the test process.
"""

from __future__ import annotations

import csv
import json
import math
import os
import random
import shutil
import subprocess
import sys
import threading
import time
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path


REPO = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
LEASE = timedelta(minutes=16)  # past the runner's 15-minute claim lease: a killed run's claims have expired
UNPAID = [sys.executable, "-m", "unpaid"]
MUTANT = [sys.executable, str(Path(__file__).with_name("mutant.py"))]
HEADER = ["id", "number", "created_at", "status", "name", "email", "phone", "product_id", "product", "amount",
          "currency", "manager", "payment_link", "cancel_reason"]


def full() -> bool:
    """``UNPAID_PROOFS=full`` (``make proofs``): the long run; otherwise the fast part that CI runs."""
    return os.environ.get("UNPAID_PROOFS", "") == "full"


def size(ci: int, long: int) -> int:
    return long if full() else ci


def seed() -> int:
    """The run's seed: ``UNPAID_PROOFS_SEED`` or a fresh one (printed in the table's header)."""
    global _SEED
    if _SEED is None:
        _SEED = int(os.environ.get("UNPAID_PROOFS_SEED") or random.SystemRandom().randrange(10**6))
    return _SEED


_SEED: int | None = None


def rng(case: str) -> random.Random:
    """A random stream per case, so one case's draws do not shift another's."""
    return random.Random(f"{seed()}:{case}")


def crashed(text: str, verbose: bool = False) -> bool:
    """The CLI's catch-all for an exception nobody expected, or a traceback nobody asked for (``-v`` asks)."""
    return ("unexpected" in text and "report it" in text) or (
        not verbose and "Traceback (most recent call last)" in text)


@dataclass
class Result:
    args: list[str]
    code: int | None
    stdout: str
    stderr: str

    @property
    def argv(self) -> list[str]:
        """What was asked of unpaid: the arguments after ``--now TIME``."""
        return self.args[self.args.index("--now") + 2:]

    @property
    def crashed(self) -> bool:
        return crashed(self.stdout + self.stderr, "-v" in self.args)


@dataclass
class Tally:
    """Every process a proof ran: how many, and which ended in a traceback."""

    runs: int = 0
    crashes: list[Result] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, result: Result) -> Result:
        with self.lock:  # processes may be finished from several threads
            self.runs += 1
            if result.crashed:
                self.crashes.append(result)
        return result


def base_env(root: Path, **extra: str) -> dict[str, str]:
    """The environment of an unpaid process: none of ours leaks in; user dirs and keyring point into ``root``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("UNPAID_")}
    env.update(XDG_CACHE_HOME=str(root / "cache"), XDG_DATA_HOME=str(root / "data"),
               XDG_CONFIG_HOME=str(root / "config"), PYTHON_KEYRING_BACKEND="keyring.backends.fail.Keyring",
               PYTHONPATH=str(REPO), UNPAID_ACTOR="proofs", **extra)
    return env


class Shop:
    """A shop on disk; ``unpaid(now, ...)`` runs the CLI as a process, ``spawn`` starts one and returns it."""

    def __init__(self, root: Path, *, smtp_port: int | None = None, steps: list[dict] | None = None,
                 source: dict | None = None, tables: dict[str, dict] | None = None,
                 env: dict[str, str] | None = None, command: list[str] = UNPAID, tally: Tally | None = None,
                 db: str | None = None):
        """``steps`` of the playbook ``remind`` (default: two letters 2 h apart), sent through the ``mail`` channel
        (``smtp`` on ``smtp_port``, else an outbox); ``source`` replaces the CSV source ``shop``; ``tables``
        add or replace whole tables of the config; ``env`` adds to the processes' environment; ``db`` is the store (a PostgreSQL URL), else unpaid.db in the root."""
        self.root, self.tally, self.command = root, tally or Tally(), command
        self.config, self.db, self.csv = root / "unpaid.toml", db or root / "unpaid.db", root / "orders.csv"
        self.orders: list[list[str]] = []
        self.env = base_env(root, UNPAID_CONFIG=str(self.config), UNPAID_DB=str(self.db),
                            **({"UNPAID_DB_PASSWORD": os.environ["UNPAID_DB_PASSWORD"]} if db else {}), **(env or {}))
        (root / "templates").mkdir(parents=True, exist_ok=True)
        for name in ("first", "second", "call"):
            (root / "templates" / f"{name}.txt").write_text(
                f"Subject: {name} reminder for order {{{{ order.number }}}}\n\nPay here: {{{{ payment_link }}}}\n")
        channel = {"type": "smtp", "host": "127.0.0.1", "port": smtp_port, "security": "none",
                   "sender": "billing@shop.example", "timeout": 0.5} if smtp_port else {"type": "outbox"}
        self.config.write_text(config({
            "sources.shop": source or {"type": "csv", "path": "orders.csv"},
            "channels.mail": channel,
            "segments.unpaid": {"sources": ["shop"], "min_age": "1h"},
            "playbooks.remind": {"segment": "unpaid", "channel": "mail", "cap": False},
            **(tables or {}),
        }, steps or LETTERS), encoding="utf-8")
        self.write()

    def add(self, n: int, created: datetime, status: str = "new") -> None:
        """``n`` more orders in the shop's export, each with its own customer."""
        for _ in range(n):
            i = len(self.orders) + 1
            self.orders.append([str(i), f"N{i}", created.isoformat(), status, f"Customer {i}", f"c{i}@example.com",
                                f"+7999{i:07d}", "course-1", "Course", "4990.00", "RUB", "", f"https://pay/{i}", ""])
        self.write()

    def write(self) -> None:
        tmp = self.csv.with_suffix(".tmp")
        with tmp.open("w", newline="", encoding="utf-8") as f:
            csv.writer(f).writerows([HEADER, *self.orders])
        tmp.replace(self.csv)  # whole file at once: a sync never reads half of it

    def args(self, now: datetime, *args: str) -> list[str]:
        return [*self.command, "--now", now.isoformat(), *args]

    def spawn(self, now: datetime, *args: str, env: dict[str, str] | None = None) -> subprocess.Popen:
        return subprocess.Popen(self.args(now, *args), cwd=self.root, env=env or self.env, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def host_env(self, n: int) -> dict[str, str]:
        """The environment of a process as if on another host: a config folder of its own (a copy of the shop's
        unpaid.toml beside the same templates and export), its own user dirs, the same store."""
        host = self.root / f"host{n}"
        if not host.exists():
            host.mkdir()
            for name in ("templates", "orders.csv"):
                (host / name).symlink_to(self.root / name)
            shutil.copy(self.config, host / "unpaid.toml")
        return {**base_env(host, UNPAID_DB=str(self.db)), "UNPAID_CONFIG": str(host / "unpaid.toml"),
                **{k: v for k, v in self.env.items() if k == "UNPAID_DB_PASSWORD"}}

    def finish(self, proc: subprocess.Popen, timeout: float = 120) -> Result:
        out, err = proc.communicate(timeout=timeout)
        return self.tally.add(Result(proc.args, proc.returncode, out, err))

    def unpaid(self, now: datetime, *args: str, timeout: float = 120) -> Result:
        return self.finish(self.spawn(now, *args), timeout)

    def rows(self, sql: str) -> list[tuple]:
        """Rows of a read-only query on the store, read with the database's own driver (no unpaid code)."""
        if isinstance(self.db, str):
            import psycopg

            with psycopg.connect(self.db, password=self.env.get("UNPAID_DB_PASSWORD")) as conn:
                return [tuple(r) for r in conn.execute(sql)]
        import sqlite3

        with closing(sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)) as conn:
            return conn.execute(sql).fetchall()

    def kill_after(self, proc: subprocess.Popen, delay: float) -> bool:
        """SIGKILL ``proc`` after ``delay`` seconds; False when it had ended by itself by then."""
        deadline = time.monotonic() + delay
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False
            time.sleep(0.002)
        if proc.poll() is not None:
            return False
        proc.kill()
        return True


def toml_key(key: str) -> str:
    return key if key.replace("_", "a").replace("-", "a").isalnum() and key.isascii() else json.dumps(key)


def toml_value(value) -> str:
    """Any value the proofs generate, as TOML (floats nan/inf included; an oversized integer stays invalid)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and not math.isfinite(value):
        return "nan" if math.isnan(value) else ("inf" if value > 0 else "-inf")
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return json.dumps(value)


def toml_table(fields: dict) -> str:
    return "\n".join(f"{toml_key(k)} = {toml_value(v)}" for k, v in fields.items())


def config(tables: dict[str, dict], steps: list[dict]) -> str:
    """unpaid.toml text: UTC, the given tables, and ``steps`` for the playbook ``remind``."""
    parts = ['timezone = "UTC"'] + [f"[{name}]\n{toml_table(fields)}" for name, fields in tables.items()]
    parts += [f"[[playbooks.remind.steps]]\n{toml_table(step)}" for step in steps]
    return "\n\n".join(parts) + "\n"


LETTERS = [{"name": "first", "action": "send", "template": "first"},
           {"name": "second", "action": "send", "template": "second", "after": "2h"}]
