"""The export budget as a school spends it: request counts of each command, counted by the emulator.

GetCourse allows about 100 export requests per 2 hours for the whole account. The figures the docs
promise (docs/connectors/getcourse.md, "What each command costs"):

- a sync with nothing new: at most 3 requests;
- `take` on an order whose stored copy is fresher than `fresh_within`: no export, under a second;
- cron `sync && run` every 15 minutes for a school with 200 due actions a day, plus 8 managers doing
  20 desk actions an hour each: at most 50 of the 100 requests in 2 hours.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from unpaid import plugins

from .conftest import DEVELOPER, SECRET, deal

MOSCOW = ZoneInfo("Europe/Moscow")
CONFIG = '''timezone = "Europe/Moscow"

[sources.school]
type = "getcourse"
account = "school"
base_url = "{url}"
first_wait = "0"
poll_interval = "0.01"
poll_max = "0.05"
retry_wait = "0.01"
{extra}

[channels.mail]
type = "outbox"
path = "outbox"

[segments.unpaid]
sources = ["school"]
min_age = "1h"

[playbooks.remind]
segment = "unpaid"
channel = "mail"
cap = false

[[playbooks.remind.steps]]
name = "first"
action = "send"
template = "first"
'''


def local(moment: datetime) -> str:
    return moment.astimezone(MOSCOW).strftime("%Y-%m-%d %H:%M:%S")


@pytest.fixture
def school(emulator, tmp_path, monkeypatch, cli):
    """A school on the emulator with a reminder playbook; ``school(extra, developer)`` writes the config."""
    monkeypatch.setenv("UNPAID_LOAD_PLUGINS", "unpaid-getcourse")
    monkeypatch.setenv("UNPAID_SECRET_SCHOOL_SECRET_KEY", SECRET)
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "first.txt").write_text("Subject: Order {{ order.number }}\n\nPay: {{ order.total }}\n",
                                                     encoding="utf-8")
    plugins.set_plugins(None)

    def configure(extra: str = "", developer: bool = False):
        if developer:
            monkeypatch.setenv("UNPAID_SECRET_SCHOOL_DEVELOPER_KEY", DEVELOPER)
        (tmp_path / "unpaid.toml").write_text(CONFIG.format(url=emulator.base_url, extra=extra), encoding="utf-8")

    yield configure
    plugins.set_plugins(None)


def unpaid(cli, now: datetime, *args: str, code: int = 0):
    result = cli(["--now", now.isoformat(), *args])
    assert result.exit_code == code, (args, result.output)
    return result


def exports(emulator) -> int:
    return emulator.requests("/pl/api/account/")


def synced(emulator, school, cli, *deals: int, **config) -> datetime:
    """Configure the school, add ``deals`` created two hours ago, sync; the moment of the sync."""
    school(**config)
    now = datetime.now(timezone.utc).replace(microsecond=0)
    for n in deals or (1,):
        emulator.account.put_deal(deal(n, created_at=local(now - timedelta(hours=2))))
    unpaid(cli, now, "sync", "school")
    return now


def test_a_sync_with_nothing_new_costs_at_most_3_requests(emulator, school, cli):
    now = synced(emulator, school, cli)
    before = exports(emulator)
    unpaid(cli, now + timedelta(minutes=15), "sync", "school")
    assert exports(emulator) - before <= 3


def test_take_on_a_fresh_copy_needs_no_export_and_a_stale_one_one_sync(emulator, school, cli):
    now = synced(emulator, school, cli)
    before = exports(emulator)
    unpaid(cli, now + timedelta(minutes=1), "take", "school:7001", "--manager", "anna")
    assert exports(emulator) == before  # the copy is 1 minute old: fresher than fresh_within (2m)
    assert emulator.account.deals[7001]["status"] == "in_work"
    unpaid(cli, now + timedelta(minutes=10), "status", "school:7001", "payment_waiting")
    assert exports(emulator) - before <= 3  # stale: one incremental sync re-reads every change at once


def test_a_stale_copy_that_was_paid_meanwhile_is_not_touched(emulator, school, cli):
    now = synced(emulator, school, cli)
    emulator.account.set_status(emulator.account.deals[7001], "payed")
    result = unpaid(cli, now + timedelta(minutes=5), "status", "school:7001", "in_work", code=1)
    assert "changed at the source" in result.stderr or "paid" in result.output.lower()
    assert emulator.account.deals[7001]["status"] == "payed"


@pytest.mark.parametrize("developer, extra", [(True, ""), (False, 'fresh_within = "10m"')],
                         ids=["developer-key", "export-only"])
def test_cron_sync_run_and_a_busy_desk_stay_within_half_the_budget(emulator, school, cli, developer, extra):
    """*/15 `sync && run` for 2 hours, 200 due actions a day, 8 managers x 20 desk actions an hour."""
    school(extra, developer)
    acc = emulator.account
    now = datetime.now(timezone.utc).replace(second=0, microsecond=0)
    # The connector asks GetCourse for changes from the account's real day (GetCourse's own clock, not --now):
    # the orders made 70 minutes before each cycle must fall on that day, so no cycle starts before 01:15 in
    # Moscow (run at 00:15-00:40 there, the first cycles' orders fell on the day before: 12 letters of 24).
    start = max(now, now.astimezone(MOSCOW).replace(hour=1, minute=15).astimezone(timezone.utc))
    for n in range(1, 31):  # the backlog: created over the last day, due now
        acc.put_deal(deal(n, created_at=local(start - timedelta(hours=2, minutes=40 * n))))
    unpaid(cli, start - timedelta(minutes=15), "sync", "school")  # the first, full sync: before the window
    unpaid(cli, start - timedelta(minutes=15), "run")
    before, sent_before = exports(emulator), len(list(emulator_outbox(cli)))
    n, desk_actions = 30, 0
    for cycle in range(8):  # 2 hours of cron
        now = start + timedelta(minutes=15 * cycle)
        for _ in range(3):  # ~200 due actions a day: 24 new orders in 2 hours, each due an hour later
            n += 1
            acc.put_deal(deal(n, created_at=local(now - timedelta(hours=1, minutes=10))))
        acc.set_status(acc.deals[7000 + 1 + cycle], "payed")  # some pay meanwhile
        unpaid(cli, now, "sync", "school")
        unpaid(cli, now, "run")
        for i in range(40):  # 8 managers x 20 actions an hour = 40 in 15 minutes
            at = now + timedelta(seconds=22.5 * i)
            order = f"school:{7000 + 10 + (cycle * 40 + i) % 20}"
            unpaid(cli, at, "status", order, "in_work" if (cycle * 40 + i) // 20 % 2 == 0 else "payment_waiting")
            desk_actions += 1
    used = exports(emulator) - before
    sent = len(list(emulator_outbox(cli))) - sent_before
    assert desk_actions == 320 and sent >= 20  # 30 + 24 orders, less those paid meanwhile
    assert used <= 50, f"{used} export requests in 2 hours"
    print(f"\n{'developer key' if developer else 'export API only'}: {used} export requests in 2 hours "
          f"(8 syncs, 8 runs sending {sent} letters, {desk_actions} desk status changes)")


def test_a_run_rechecks_all_its_due_orders_with_one_export(emulator, school, cli):
    now = synced(emulator, school, cli, *range(1, 11))
    emulator.account.set_status(emulator.account.deals[7003], "payed")
    before = exports(emulator)
    result = unpaid(cli, now + timedelta(minutes=30), "run")  # the copies are 30 minutes old: stale
    assert exports(emulator) - before <= 3  # one sync for all ten, not an export per order
    assert len(list(emulator_outbox(cli))) == 9  # the order paid meanwhile got nothing
    assert "school:7003" not in result.output or "paid" in result.output


def test_without_the_deal_index_nothing_is_closed_as_gone(emulator, school, cli, cli_db):
    from unpaid.store import Store

    def lose_the_index():  # lost, or never built by an older version
        with Store.open(cli_db) as store, store.transaction():
            store.conn.execute("DELETE FROM source_state WHERE key LIKE 'deal:%'")

    now = synced(emulator, school, cli, 1, 2, 3)
    lose_the_index()
    unpaid(cli, now + timedelta(minutes=30), "run")
    assert len(list(emulator_outbox(cli))) == 3  # a fresh read needs no index: nothing closed, all sent
    lose_the_index()  # the run's re-read filled it again; without it, a write cannot name the deal
    failed = unpaid(cli, now + timedelta(minutes=31), "status", "school:7001", "in_work", code=3)
    assert "re-reads every deal" in failed.stderr and emulator.account.deals[7001]["status"] == "new"
    unpaid(cli, now + timedelta(minutes=45), "sync", "school")  # rebuilds the index
    unpaid(cli, now + timedelta(minutes=46), "status", "school:7001", "in_work")
    assert emulator.account.deals[7001]["status"] == "in_work"


def test_sync_full_reads_everything_again(emulator, school, cli):
    now = synced(emulator, school, cli, 1, 2)
    unpaid(cli, now + timedelta(minutes=15), "sync", "--full", "school")
    assert list(emulator.account.exports.values())[-1].query.get("created_at[from]") == "2014-01-01"


def emulator_outbox(cli):
    from pathlib import Path

    return Path("outbox").glob("*.eml") if Path("outbox").exists() else []


def comments_kept(db: str) -> int:
    from unpaid.store import Store

    with Store.open(db) as store:
        return store.conn.execute("SELECT count(*) FROM history WHERE kind = 'comment'").fetchone()[0]


def test_a_comment_reaches_getcourse_once_and_a_refused_one_is_not_kept(emulator, school, cli, cli_db, monkeypatch):
    now = synced(emulator, school, cli)
    without = unpaid(cli, now, "comment", "school:7001", "перезвонить после 18", "--manager", "anna", code=2)
    assert "developer_key" in without.stderr and comments_kept(cli_db) == 0
    school('author_user_id = 77', developer=True)
    emulator.inject("500", "/pl/api/v1/deal/add-comment", count=10)
    unpaid(cli, now, "comment", "school:7001", "перезвонить после 18", "--manager", "anna", code=3)
    assert comments_kept(cli_db) == 0 and emulator.account.comments == []
    emulator.faults.clear()
    unpaid(cli, now, "comment", "school:7001", "перезвонить после 18", "--manager", "anna")
    assert comments_kept(cli_db) == 1
    assert emulator.account.comments == [{"deal_id": 7001, "text": "перезвонить после 18", "user_id": 77}]


def test_a_desk_action_during_our_own_sync_waits_and_uses_what_it_read(emulator, school, cli, cli_db):
    import threading

    from unpaid.freshness import mark_synced
    from unpaid.source_state import StoreState
    from unpaid.store import Store
    from unpaid_getcourse.state import ExportMarker, account_scope

    now = synced(emulator, school, cli)
    later = now + timedelta(minutes=15)
    cron = ExportMarker(lambda: StoreState(cli_db, "school").scoped(account_scope("school")))
    cron.hold()  # cron's sync is exporting when the manager acts

    def cron_finishes():
        with Store.open(cli_db) as store, store.transaction():
            mark_synced(store, "school", later)
        cron.release()

    threading.Timer(0.3, cron_finishes).start()
    before = exports(emulator)
    unpaid(cli, later, "status", "school:7001", "in_work")
    assert exports(emulator) == before  # no 905, no second export: cron's read served
    assert emulator.account.deals[7001]["status"] == "in_work"
