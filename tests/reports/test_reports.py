"""Every report over the known store of world.py; each expected figure is worked out from its table."""

from __future__ import annotations

import pytest


def by(rows, **key):
    [row] = [r for r in rows if all(r[k] == v for k, v in key.items())]
    return row


def rub(minor):
    return {"minor": minor, "currency": "RUB"}


def test_recovery_credits_only_payments_after_a_recent_touch(rows):
    out = rows("recovery")
    assert [r["currency"] for r in out] == ["RUB", "USD"]
    r = by(out, currency="RUB")
    # the cohort: A..I and K entered in November (J never entered, M is October's, L is USD)
    assert r["entered"] == 10 and r["touched"] == 9  # I was never touched
    assert r["paid"] == 5  # A, B, C, D, E
    assert (r["recovered"], r["paid_outside_window"], r["paid_before_touch"], r["created_by_manager"]) == (2, 1, 1, 1)
    assert r["recovery_rate"] == 0.2
    assert r["recovered_revenue"] == rub(10000 + 20000)
    assert r["discount_given"] == rub(10000 * 10 // 100)
    assert r["net_recovered_revenue"] == rub(30000 - 1000)
    # A paid 2 days after entry, B 5 days 2 hours after: the median of the two
    assert r["median_days_to_pay"] == round((2 + (5 + 2 / 24)) / 2, 2)
    usd = by(out, currency="USD")
    assert (usd["entered"], usd["recovered"], usd["recovered_revenue"]) == (1, 1, {"minor": 1000, "currency": "USD"})


def test_a_touch_exactly_one_window_before_the_payment_counts(rows):
    assert by(rows("recovery", "--window", "19d"), currency="RUB")["recovered"] == 3  # C: 19 days to the second
    assert by(rows("recovery", "--window", "455h"), currency="RUB")["recovered"] == 2  # an hour short


def test_a_longer_window_credits_the_late_payment(rows):
    r = by(rows("recovery", "--window", "20d"), currency="RUB")
    assert (r["recovered"], r["paid_outside_window"]) == (3, 0)  # C paid 19 days after its letter
    assert r["recovered_revenue"] == rub(10000 + 20000 + 30000)


@pytest.mark.parametrize("args, expected", [
    (("--source", "gc"), (3, 3, 2, 0)),        # D, E, G: D paid first, E is the manager's own
    (("--product", "p2"), (3, 3, 2, 0)),       # C, E, G
    (("--playbook", "remind"), (10, 9, 5, 2)),
])
def test_recovery_filters(rows, args, expected):
    r = by(rows("recovery", *args), currency="RUB")
    assert (r["entered"], r["touched"], r["paid"], r["recovered"]) == expected


def test_the_period_picks_orders_by_creation(rows, report):
    october = report("recovery", "--since", "2026-10-01", "--until", "2026-11-01", "--format", "json").json()
    assert [(r["entered"], r["recovered"]) for r in october] == [(1, 1)]  # M alone


def test_reasons_by_count_and_share_in_every_dimension(rows):
    out = rows("reasons")
    # F and H: Too expensive, G: Changed mind
    assert by(out, by="all", reason="Too expensive")["count"] == 2
    assert by(out, by="all", reason="Too expensive")["share"] == round(2 / 3, 4)
    assert by(out, by="all", reason="Changed mind")["share"] == round(1 / 3, 4)
    assert [r["reason"] for r in out if r["by"] == "all"] == ["Too expensive", "Changed mind"]  # most first
    assert by(out, by="product", group="p1", reason="Too expensive")["share"] == 1.0
    assert by(out, by="source", group="gc", reason="Changed mind")["count"] == 1
    assert by(out, by="manager", group="olga", reason="Too expensive")["count"] == 1  # F
    assert by(out, by="manager", group="(none)", reason="Too expensive")["share"] == 0.5  # H of G, H
    assert by(out, by="step", group="letter", reason="Too expensive")["count"] == 2
    assert {r["by"] for r in out} == {"all", "product", "source", "manager", "step"}


def test_managers(rows):
    [olga] = rows("managers")
    # B promised, F no answer then refused, K duplicate: the no-answer did not reach anybody
    assert (olga["manager"], olga["calls"], olga["reached"], olga["promises"], olga["promises_kept"]) == \
        ("olga", 4, 3, 1, 1)
    assert olga["payments_after_calls"] == 1 and olga["recovered_revenue"] == rub(20000)  # B
    assert olga["reach_rate"] == 0.75 and olga["kept_rate"] == 1.0


def test_a_promise_paid_after_its_day_is_not_kept(report, cli_db):
    from unpaid.store import Store

    with Store.open(cli_db) as store, store.transaction():
        store.conn.execute("UPDATE orders SET paid_at = '2026-11-07T00:00:00Z' WHERE id = 'shop:B'")
    result = report("managers", "--since", "2026-11-01", "--format", "json")
    assert result.json()[0]["promises_kept"] == 0


def test_steps(rows):
    out = rows("steps")
    letter = by(out, step="letter", currency="RUB")
    # letters to A B C D E F G H K; A opened after its letter (B's open came before it)
    assert (letter["playbook"], letter["sent"], letter["opened"]) == ("remind", 9, 1)
    # B's last playbook action before paying was the letter (the call after it was a manager's)
    assert (letter["paid_after"], letter["revenue"], letter["discount_cost"]) == (1, rub(20000), rub(0))
    offer = by(out, step="offer")
    assert (offer["sent"], offer["opened"], offer["paid_after"]) == (1, 0, 1)  # A
    assert offer["revenue"] == rub(10000) and offer["discount_cost"] == rub(1000)
    assert by(out, step="letter", currency="USD")["paid_after"] == 1


def test_offers(rows):
    [ten] = rows("offers")
    assert (ten["kind"], ten["percent"], ten["sent"], ten["opened"], ten["paid_after"]) == ("discount", 10, 1, 0, 1)
    assert ten["revenue"] == rub(10000) and ten["discount_cost"] == rub(1000)


def test_opened_is_null_when_no_opens_are_known(report, cli_db):
    from unpaid.store import Store

    with Store.open(cli_db) as store, store.transaction():
        store.conn.execute("DELETE FROM events")
    out = report("steps", "--since", "2026-11-01", "--format", "json").json()
    assert {r["opened"] for r in out} == {None}


def test_funnel(rows):
    out = {r["stage"]: r["count"] for r in rows("funnel")}
    # new: A..L (M is October's); actual: all but J; touched: all but I and J; paid: A, B, L recovered
    assert out == {"new": 12, "actual": 11, "touched": 10, "promised": 1, "paid": 3, "cancelled": 3, "false": 1}
    assert by(rows("funnel"), stage="touched")["share"] == round(10 / 12, 4)


@pytest.mark.parametrize("fmt", ["table", "csv", "jsonl"])
def test_every_format(report, fmt):
    out = report("recovery", "--since", "2026-11-01", "--format", fmt).stdout
    assert "RUB" in out and "USD" in out
    if fmt == "table":
        assert "RUB300.00" in out and "20.0%" in out  # the recovered revenue, 30000 kopecks, of 10 entered


def test_tables_speak_the_shops_language(report, tmp_path):
    (tmp_path / "unpaid.toml").write_text('timezone = "UTC"\nlanguage = "ru"\n', encoding="utf-8")
    out = report("recovery", "--since", "2026-11-01").stdout
    assert "возвращены" in out and "300,00 ₽" in out and "20,0%" in out and "3,54" in out
    assert report("recovery", "--since", "2026-11-01", "--format", "json").json()[0]["median_days_to_pay"] == 3.54
    (tmp_path / "unpaid.toml").write_text('timezone = "UTC"\nlanguage = "uk"\n', encoding="utf-8")
    assert "повернуті" in report("recovery", "--since", "2026-11-01").stdout


def test_table_of_every_report(report):
    for name in ("recovery", "reasons", "managers", "steps", "offers", "funnel"):
        assert report(name, "--since", "2026-11-01").stdout.strip(), name
