"""The hold-out group: held-out orders enter, are recorded and get nothing; `report lift` compares."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tests.playbook.shop import Shop, order, shop  # noqa: F401 - the fixture
from unpaid.config import ConfigError
from unpaid.model import Status
from unpaid.playbook.model import parse_playbook

T0 = datetime(2026, 11, 2, 10, tzinfo=timezone.utc)
CONFIG = """timezone = "UTC"
templates_dir = "templates"
cancel_reasons = ["Expired"]

[sources.shop]
type = "memory"

[channels.email]
type = "outbox"
path = "outbox"

[segments.unpaid]
sources = ["shop"]

[playbooks.remind]
segment = "unpaid"
channel = "email"
holdout = "{share}"
end = {{ after = "10d", reason = "Expired" }}

[[playbooks.remind.steps]]
name = "letter"
action = "send"
template = "letter"
"""


@pytest.fixture
def lab(shop, tmp_path):
    """The playbook tests' shop, with a config of one playbook whose hold-out share the test picks."""
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "letter.txt").write_text("Subject: Order {{ order.number }}\n\nPlease pay.\n")

    def configure(share: str) -> Shop:
        (tmp_path / "unpaid.toml").write_text(CONFIG.format(share=share), encoding="utf-8")
        return shop

    return configure


def playbook(share):
    from unpaid.playbook.model import Segment

    body = {"segment": "s", "steps": [{"name": "letter", "action": "send", "template": "t", "channel": "e"}]}
    if share is not None:
        body["holdout"] = share
    return parse_playbook("p", body, "playbooks.p", {"s": Segment("s")})


def test_the_hold_out_group_is_the_share_asked_for_and_fixed_by_order_id():
    pb = playbook("20%")
    ids = [f"shop:{i}" for i in range(10_000)]
    held = {i for i in ids if pb.holds_out(i)}
    assert 1900 < len(held) < 2100
    assert held == {i for i in ids if playbook("20%").holds_out(i)}  # the same on every run
    assert held < {i for i in ids if playbook("30%").holds_out(i)}  # a bigger share keeps the smaller one's
    assert not any(playbook(None).holds_out(i) for i in ids)


@pytest.mark.parametrize("value", ["60%", "-1%", "ten", 10, "%", "nan%"])
def test_a_bad_share_names_the_field(value):
    with pytest.raises(ConfigError, match=r"playbooks\.p\.holdout"):
        playbook(value)


def test_held_out_orders_enter_are_recorded_and_get_no_action_then_lift(lab):
    shop = lab("50%")
    orders = [order("shop", str(i), T0 - timedelta(hours=1), email=f"c{i}@example.com") for i in range(40)]
    shop.add(*orders)
    pb = playbook("50%")
    held = {o.id for o in orders if pb.holds_out(o.id)}
    worked = {o.id for o in orders} - held
    assert held and worked
    rows = shop.run(T0)
    assert {r["order_id"] for r in rows if r["result"] == "entered"} == held | worked  # every order enters
    assert {m["order_id"] for m in shop.outbox()} == worked  # only the worked ones got the letter
    with shop.store() as store:
        marked = {r[0] for r in store.conn.execute(
            "SELECT order_id FROM history WHERE kind = 'playbook'"
            " AND CAST(json_extract(data, '$.holdout') AS TEXT) IN ('1', 'true')")}  # JSON true on both stores
    assert marked == held
    plan = shop.plan(T0 + timedelta(hours=1), "--until", "+20d")
    assert {r["order_id"] for r in plan if "held out" in r["reason"]} == held
    assert not [r for r in plan if r["order_id"] in held and r["kind"].startswith("act")]

    # three of the worked and one of the held-out pay
    paid = sorted(worked)[:3] + sorted(held)[:1]
    with shop.store() as store, store.transaction():
        store.conn.executemany("UPDATE orders SET status = 'paid', paid_at = ? WHERE id = ?",
                               [("2026-11-03T10:00:00Z", i) for i in paid])
    result = shop.cli(["--now", "2026-11-04T00:00:00Z", "--format", "json", "report", "lift"])
    assert result.exit_code == 0, result.output
    [row] = result.json()
    assert (row["worked"], row["worked_paid"], row["held_out"], row["held_out_paid"]) == (len(worked), 3, len(held), 1)
    assert row["lift"] == round(3 / len(worked) - 1 / len(held), 4)
    assert row["lift_low"] < row["lift"] < row["lift_high"]


def test_held_out_orders_finish_quietly_at_the_end(lab):
    shop = lab("50%")
    orders = [order("shop", str(i), T0 - timedelta(hours=1), email=f"c{i}@example.com") for i in range(10)]
    shop.add(*orders)
    held = {o.id for o in orders if playbook("50%").holds_out(o.id)}
    shop.run(T0)
    later = shop.run(T0 + timedelta(days=11))
    assert {r["order_id"] for r in later if r["result"] == "finished"} >= held
    assert all(r["result"] in ("finished", "done", "skipped") for r in later if r["order_id"] in held)
    assert not [r for r in later if r["order_id"] in held and r["result"] == "done"]


def test_no_hold_out_no_lift_rows(lab):
    shop = lab("0%")
    shop.add(order("shop", "1", T0 - timedelta(hours=1)))
    shop.run(T0)
    result = shop.cli(["--now", "2026-11-04T00:00:00Z", "--format", "json", "report", "lift"])
    assert result.json() == []


def test_forecast_counts_the_plan_per_day_and_expects_payments_at_each_steps_past_rate(lab):
    shop = lab("0%")
    shop.add(*(order("shop", f"old{i}", T0 - timedelta(hours=1), email=f"o{i}@example.com") for i in range(4)))
    shop.run(T0)  # four letters
    with shop.store() as store, store.transaction():  # one of them paid a day later: 1 payment per 4 letters
        store.conn.execute("UPDATE orders SET status = 'paid', paid_at = '2026-11-03T10:00:00Z' WHERE id = 'shop:old0'")
    t1 = T0 + timedelta(days=2)
    shop.add(*(order("shop", f"new{i}", t1 - timedelta(hours=1), email=f"n{i}@example.com") for i in range(3)))
    result = shop.cli(["--now", t1.isoformat(), "--format", "json", "report", "forecast", "--ahead", "14d"])
    assert result.exit_code == 0, result.output
    days = {r["day"]: r for r in result.json()}
    # today: the three new orders' letters, each expected to bring 1/4 of a payment
    assert (days["2026-11-04"]["messages"], days["2026-11-04"]["expected_payments"]) == (3, 0.75)
    # the end (a cancel) ten days after entry: the three unpaid old orders, then the three new ones
    assert days["2026-11-12"]["status_changes"] == 3 and days["2026-11-14"]["status_changes"] == 3
    assert sum(r["calls"] + r["offers"] for r in days.values()) == 0


def test_forecast_of_an_unknown_playbook_names_it(lab):
    shop = lab("0%")
    result = shop.cli(["--now", T0.isoformat(), "report", "forecast", "--playbook", "nope"])
    assert result.exit_code == 2 and result.stderr.startswith("Error: --playbook: no playbook 'nope'")


def test_a_held_out_order_that_pays_leaves_like_any_other(lab):
    shop = lab("50%")
    orders = [order("shop", str(i), T0 - timedelta(hours=1), email=f"c{i}@example.com") for i in range(10)]
    shop.add(*orders)
    held = sorted(o.id for o in orders if playbook("50%").holds_out(o.id))
    shop.run(T0)
    with shop.store() as store, store.transaction():
        store.conn.execute("UPDATE orders SET status = 'paid', paid_at = ? WHERE id = ?", ("2026-11-02T12:00:00Z", held[0]))
    rows = shop.run(T0 + timedelta(hours=3))
    assert [r["result"] for r in rows if r["order_id"] == held[0]] == ["exited"]
