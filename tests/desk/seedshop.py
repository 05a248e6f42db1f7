"""A shop for the desk's seed days: one source, example or inline playbooks, an outbox, the CLI with --now."""

from __future__ import annotations

import json
import os
import shlex
import shutil
from dataclasses import replace
from datetime import datetime, timedelta, timezone
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from unpaid.model import Customer, LineItem, Money, Order, Status
from unpaid.testing.fakes import BACKENDS, MemoryPlugin, backend
from tests.desk.conftest import TEMPLATES

EXAMPLES = Path(__file__).resolve().parents[2] / "examples" / "playbooks"
CONFIG = """
timezone = "{zone}"
playbook_files = [{files}]
templates_dir = "templates"
cancel_reasons = ["Too expensive", "Changed mind", "Too many attempts"]

[sources.{source}]
type = "memory"

[channels.email]
type = "outbox"
path = "outbox"

[desk]
{desk}
"""
#: Seed 004's partner pharmacy as its managers work it: orders unpaid for 7 days enter with a 15% bonus
#: and a call task; letters, postponements and cancellations are the managers' own buttons.

class Day:
    """One shop: an example playbook run like cron, and managers at the desk, all through the CLI."""

    def __init__(self, root: Path, cli, zone: str):
        self.root, self.cli, self.zone = root, cli, ZoneInfo(zone)

    def __call__(self, args: str, now: datetime, code: int = 0, fmt: str | None = None):
        argv = ["--now", now.isoformat()] + (["--format", fmt] if fmt else []) + shlex.split(args)
        result = self.cli(argv)
        assert result.exit_code == code, (args, now, result.output)
        return result

    def store(self):
        from unpaid.store import Store

        return Store.open(os.environ["UNPAID_DB"])  # the cli fixture's store: a file, or PostgreSQL

    def at(self, text: str) -> datetime:
        """A local time of the shop, as UTC."""
        return datetime.fromisoformat(text).replace(tzinfo=self.zone).astimezone(timezone.utc)

    def run(self, now: datetime) -> list[dict]:
        return self("run", now, fmt="json").json()

    def run_until(self, start: datetime, end: datetime, every: timedelta = timedelta(hours=1)) -> list[dict]:
        rows, t = [], start
        while t <= end:
            rows += [dict(r, ran_at=t) for r in self.run(t)]
            t += every
        return rows

    def queue(self, now: datetime, args: str = "") -> tuple[str, list[dict]]:
        """(the count line, the rows)."""
        result = self(f"queue {args}", now, fmt="json")
        return result.stderr.splitlines()[0], result.json()

    def ids(self, now: datetime, args: str = "") -> list[str]:
        return [r["order_id"] for r in self.queue(now, args)[1]]

    def history(self, order_id: str, now: datetime) -> list[dict]:
        return self(f"show {order_id}", now, fmt="json").json()["history"]

    def outbox(self) -> list[dict]:
        path = self.root / "outbox"
        return sorted((json.loads(p.read_text()) for p in path.glob("*.json")), key=lambda m: m["key"]) \
            if path.is_dir() else []

    def subjects(self, order_id: str) -> list[str]:
        return [m["subject"] for m in self.outbox() if m["order_id"] == order_id]


@pytest.fixture
def shop(tmp_path, cli, register_plugin, monkeypatch):
    """``shop(zone, source, playbook files..., desk=...)`` -> a :class:`Day`."""
    BACKENDS.clear()
    register_plugin(MemoryPlugin, name="memory")

    def make(zone: str, source: str, *files: Path, desk: str = "") -> Day:
        names = ", ".join(f'"{f}"' for f in files)
        (tmp_path / "unpaid.toml").write_text(CONFIG.format(zone=zone, files=names, source=source, desk=desk),
                                              encoding="utf-8")
        folder = tmp_path / "templates"
        shutil.copytree(EXAMPLES / "templates", folder)
        for name, text in TEMPLATES.items():
            (folder / f"{name}.txt").write_text(text, encoding="utf-8")
        monkeypatch.setenv("UNPAID_CONFIG", str(tmp_path / "unpaid.toml"))
        return Day(tmp_path, cli, zone)

    yield make
    BACKENDS.clear()


def order(source: str, native: str, created: datetime, *, phone: str | None = "+380671234567",
          total: int = 150_000, currency: str = "UAH") -> Order:
    return Order(source, native, Status.NEW, created, Money(total, currency),
                 Customer(f"c{native}@example.com", phone, "Olena Shevchenko"), (LineItem("pills", "Pills"),),
                 number=native, native_status="new", payment_link=f"https://pay.example.com/{native}")


def pay(source: str, native: str, at: datetime) -> None:
    b = backend(source)
    b.orders[native] = replace(b.orders[native], status=Status.PAID, native_status="paid", updated_at=at, paid_at=at)


def status(source: str, native: str) -> Status:
    return backend(source).orders[native].status
