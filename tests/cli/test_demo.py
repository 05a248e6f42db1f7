import csv
import io
import json
import os
from datetime import datetime, timedelta, timezone

import pytest

from unpaid.demo import BUNDLED_NOW, BUNDLED_ROWS, BUNDLED_SEED, HEADER, bundled_path, copy_shifted, write_csv
from unpaid.model import FINISHED, Status

NOW = datetime(2027, 3, 1, 9, 0, tzinfo=timezone.utc)


def _rows(path):
    with open(path, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_the_bundled_shop_is_what_the_generator_makes():
    out = io.StringIO()
    write_csv(out, BUNDLED_ROWS, BUNDLED_SEED, BUNDLED_NOW)
    assert bundled_path().read_text(encoding="utf-8") == out.getvalue()


def test_generated_rows_look_like_a_real_export():
    out = io.StringIO()
    write_csv(out, 2000, 3, NOW)
    reader = csv.DictReader(io.StringIO(out.getvalue()))
    assert tuple(reader.fieldnames) == HEADER
    rows = list(reader)
    assert len(rows) == 2000 and len({r["id"] for r in rows}) == 2000
    statuses = {r["status"] for r in rows}
    # Every status a shop's export holds; a refund flag and a code no mapping knows come from connectors.
    assert statuses == {s.value for s in Status} - {"refunded", "unmapped"}
    times = [datetime.fromisoformat(r["created_at"]) for r in rows]
    assert times == sorted(times) and max(times) < NOW and min(times) > NOW - timedelta(weeks=8, days=1)
    assert all(r["amount"].endswith(".00") and r["currency"] == "RUB" for r in rows)
    assert all(r["email"].split("@")[1].startswith("example.") for r in rows if r["email"])
    assert all(r["phone"].startswith("+79") and len(r["phone"]) == 12 for r in rows if r["phone"])
    assert any(not r["email"] for r in rows) and any(not r["phone"] for r in rows)
    assert all(r["email"] or r["phone"] for r in rows)
    assert all(bool(r["cancel_reason"]) == (r["status"] == "cancelled") for r in rows)
    customers = {(r["email"], r["phone"]) for r in rows}
    assert 1.8 < len(rows) / len(customers) < 3.5
    again = io.StringIO()
    write_csv(again, 2000, 3, NOW)
    assert again.getvalue() == out.getvalue()


def test_copy_shifted_moves_the_shop_to_the_present(tmp_path):
    count = copy_shifted(tmp_path / "orders.csv", NOW)
    original, shifted = _rows(bundled_path()), _rows(tmp_path / "orders.csv")
    assert count == len(original) == len(shifted)
    newest = datetime.fromisoformat(shifted[-1]["created_at"])
    assert NOW - timedelta(days=1) < newest < NOW
    before, after = (datetime.fromisoformat(r["created_at"]) for r in (original[0], shifted[0]))
    assert (after - before) % timedelta(days=1) == timedelta(0) and after.time() == before.time()
    assert [r["id"] for r in shifted] == [r["id"] for r in original]


@pytest.fixture
def with_csv(monkeypatch):
    pytest.importorskip("unpaid_csv", reason="the demo serves its shop through the unpaid-csv plugin")
    monkeypatch.setenv("UNPAID_LOAD_PLUGINS", "csv")


def test_demo_syncs_dedupes_and_lists_todays_work(cli, with_csv, tmp_path):
    from unpaid.dedupe import FALSE, plan
    from unpaid.store import Store
    from unpaid.store.orders import OrderQuery

    shop = tmp_path / "shop"
    result = cli(["--now", NOW.isoformat(), "demo", "--dir", str(shop)])
    assert result.exit_code == 0, result.output
    assert "Traceback" not in result.output
    with Store.open(shop / "unpaid.db") as store:
        assert store.orders.count(OrderQuery(statuses=None)) == BUNDLED_ROWS
        falsed = store.orders.count(OrderQuery(statuses=frozenset({Status.FALSE})))
        actual = store.orders.count(OrderQuery())
        every = list(store.orders.query(OrderQuery(statuses=None)))
        newest = next(store.orders.query(OrderQuery(), limit=1))
        dedupe_entries = store.history.query(kinds=["dedupe"])
    bundled_false = sum(1 for r in _rows(bundled_path()) if r["status"] == "false")
    assert falsed > bundled_false  # dedupe did mark some
    assert len(dedupe_entries) == falsed - bundled_false
    assert [d for d in plan(every) if d.action == FALSE] == []  # nothing left to dedupe
    assert result.stdout.count("→ False: ") == falsed - bundled_false
    assert f"{actual} actual unpaid orders need work" in result.stderr
    assert NOW - timedelta(days=1) < newest.created_at < NOW
    listing = [line for line in result.stdout.rsplit("→", 1)[-1].splitlines() if line.startswith("shop:")]
    assert listing[0].startswith(newest.id + " ")  # today's work, newest first
    assert f"unpaid show {newest.id}" in result.stderr
    # the bundled playbook: actual orders with an e-mail, 1 hour to 7 days old, get a reminder;
    # one per customer, since the frequency cap allows one message a day
    mails = sorted((shop / "outbox").glob("*.json"))
    reminded = [json.loads(p.read_text(encoding="utf-8"))["order_id"] for p in mails]
    by_id = {o.id: o for o in every}
    eligible = {o.id for o in every if o.status not in FINISHED and o.customer.email
                and NOW - timedelta(days=7, hours=1) < o.created_at <= NOW - timedelta(hours=1)}
    customers = [by_id[i].customer.key for i in reminded]
    assert reminded and set(reminded) <= eligible
    assert len(customers) == len(set(customers)) == len({by_id[i].customer.key for i in eligible})
    assert "Run " in result.stderr and f"{len(reminded)} done" in result.stderr

    again = cli(["--now", NOW.isoformat(), "demo", "--dir", str(shop)])
    assert again.exit_code == 2 and "already holds a shop" in again.stderr


def test_demo_without_the_csv_plugin_says_how_to_install_it(cli, tmp_path):
    result = cli(["demo", "--dir", str(tmp_path / "shop")])
    assert result.exit_code == 2
    assert "pip install unpaid-csv" in result.stderr
    assert not (tmp_path / "shop").exists()


@pytest.mark.parametrize("kind", ["getcourse", "autoweboffice"])
def test_demo_serves_the_shop_from_a_connector_emulator(cli, tmp_path, monkeypatch, kind):
    from unpaid.secrets import env_var
    from unpaid.store import Store
    from unpaid.store.orders import OrderQuery

    pytest.importorskip(f"unpaid_{kind}")
    monkeypatch.setenv("UNPAID_LOAD_PLUGINS", kind)
    # the GetCourse export budget lives in the user cache dir: one shared file would run out after 50 runs
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    shop = tmp_path / "shop"
    result = cli(["--now", NOW.isoformat(), "demo", "--dir", str(shop), "--source", kind])
    assert result.exit_code == 0, result.output
    assert f"the {kind} emulator on http://127.0.0.1:" in result.stderr
    config = (shop / "unpaid.toml").read_text(encoding="utf-8")
    assert f'type = "{kind}"' in config and "key" not in config.split("[sources.shop]")[1]  # keys stay out
    with Store.open(shop / "unpaid.db") as store:
        every = list(store.orders.query(OrderQuery(statuses=None)))
        actual = store.orders.count(OrderQuery())
    assert every and {o.source for o in every} == {"shop"}
    assert all(o.created_at < NOW for o in every) and max(o.created_at for o in every) > NOW - timedelta(days=3)
    assert f"{actual} actual unpaid orders need work" in result.stderr
    assert not [k for k in os.environ if k.startswith(env_var("shop", ""))]  # the keys were only lent


def test_demo_refuses_an_unknown_source_type(cli, with_csv, tmp_path):
    result = cli(["demo", "--dir", str(tmp_path / "shop"), "--source", "nope"])
    assert result.exit_code == 2 and "no connector of type 'nope'" in result.stderr
    assert not (tmp_path / "shop").exists()


def test_at_night_the_tour_runs_at_noon_so_its_letters_go_out():
    from unpaid.cli.demo import _daytime

    msk = timezone(timedelta(hours=3))
    assert _daytime(datetime(2026, 12, 1, 14, 0, tzinfo=msk)) is None  # inside the window: real time
    assert _daytime(datetime(2026, 12, 1, 23, 30, tzinfo=msk)) == "2026-12-01T12:00:00+03:00"
    assert _daytime(datetime(2026, 12, 1, 3, 0, tzinfo=msk)) == "2026-11-30T12:00:00+03:00"
