from datetime import timedelta

from unpaid.connector import Temporary
from unpaid.model import Status
from unpaid.store import Store
from unpaid.testing.fakes import backend

NOW = "--now 2026-11-24T09:00:00Z"
TWO_SOURCES = '[sources.gc]\ntype = "memory"\n\n[sources.shop]\ntype = "memory"\n'


def seed_shops(cli, shop, make, tmp_path):
    """Anna: three unpaid course orders in shop; Boris: an unpaid book in shop, paid in gc; one without e-mail."""
    (tmp_path / "unpaid.toml").write_text(TWO_SOURCES)
    shop.put(make("1", age=timedelta(days=3)), make("2", Status.PAYMENT_WAITING, age=timedelta(hours=5)),
             make("3", age=timedelta(days=1)),
             make("4", email="boris@example.com", product="book"),
             make("5", email=None, name="No Contact"))
    backend("gc").put(make("9", Status.PAID, source="gc", email="Boris@Example.com", product="book"))
    assert cli(f"{NOW} sync").exit_code == 0


def decisions(result):
    assert result.exit_code in (0, 1), result.output
    return [(r["id"], r["action"], r["reason"]) for r in result.json()]


def test_dry_run_prints_every_decision_and_changes_nothing(cli, shop, make, tmp_path):
    seed_shops(cli, shop, make, tmp_path)
    result = cli(f"{NOW} dedupe --format json")
    assert decisions(result) == [
        ("shop:2", "keep", "kept the newest of 3 actual orders"),
        ("shop:3", "false", "duplicate of shop:2 (kept the newest)"),
        ("shop:1", "false", "duplicate of shop:2 (kept the newest)"),
        ("shop:4", "false", "paid twin gc:9"),
        ("shop:5", "skip", "no customer e-mail or phone: cannot look for twins"),
    ]
    assert result.stderr == ("5 orders looked at: 3 to mark False, 1 kept, 1 skipped — "
                             "run `unpaid dedupe --apply` to do it\n")
    assert not any(call[0] == "push_status" for call in shop.calls)
    table = cli(f"{NOW} dedupe")
    assert "paid twin gc:9" in table.stdout and table.stdout.splitlines()[0].split()[:2] == ["order", "status"]


def test_apply_pushes_each_false_records_it_and_a_second_run_proposes_nothing(cli, shop, make, tmp_path, cli_db):
    seed_shops(cli, shop, make, tmp_path)
    result = cli(f"{NOW} dedupe --apply --format json", env={"UNPAID_ACTOR": "anna"})
    assert result.exit_code == 0, result.output
    assert [(r["id"], r["action"], r["result"]) for r in result.json()] == [
        ("shop:2", "keep", None), ("shop:3", "false", "done"), ("shop:1", "false", "done"),
        ("shop:4", "false", "done"), ("shop:5", "skip", None)]
    assert result.stderr == "marked 3 orders False (5 orders looked at: 3 to mark False, 1 kept, 1 skipped)\n"
    assert {n: o.status for n, o in shop.orders.items()} == {
        "1": Status.FALSE, "2": Status.PAYMENT_WAITING, "3": Status.FALSE, "4": Status.FALSE, "5": Status.NEW}
    with Store.open(cli_db) as store:
        [entry] = store.history.for_order("shop:4")
        assert (entry.actor, entry.kind) == ("user:anna", "dedupe")
        assert entry.data == {"from": "new", "to": "false", "reason": "paid twin gc:9", "twin": "gc:9"}
        assert [e.key for e in store.ledger.for_order("shop:4")] == ["shop:4|dedupe|status:false|0"]
    assert [o["id"] for o in cli(f"{NOW} orders --format json").json()] == ["shop:2", "shop:5"]

    again = cli(f"{NOW} dedupe --apply --format json")
    assert again.exit_code == 0 and [(r["id"], r["action"]) for r in again.json()] == [("shop:5", "skip")]
    assert [a for _, a, _ in decisions(cli(f"{NOW} dedupe --format json"))] == ["skip"]


def test_apply_goes_on_past_failures_and_exits_1(cli, shop, make, tmp_path):
    seed_shops(cli, shop, make, tmp_path)
    shop.fail_next(Temporary("shop", "timed out"))
    result = cli(f"{NOW} dedupe --apply --format json")
    assert result.exit_code == 1
    assert [(r["id"], r["result"]) for r in result.json() if r["action"] == "false"] == [
        ("shop:3", "failed: shop: timed out"), ("shop:1", "done"), ("shop:4", "done")]
    assert "Warning: shop:3: shop: timed out" in result.stderr and "marked 2 orders False, 1 failed" in result.stderr
    assert shop.orders["3"].status is Status.NEW
    # The failed one is proposed again; nothing else is.
    assert [(i, a) for i, a, _ in decisions(cli(f"{NOW} dedupe --format json")) if a == "false"] == [
        ("shop:3", "false")]


def test_source_filter_keeps_twins_from_other_sources(cli, shop, make, tmp_path):
    seed_shops(cli, shop, make, tmp_path)
    backend("gc").put(make("8", source="gc", email="boris@example.com", product="book", age=timedelta(hours=1)))
    assert cli(f"{NOW} sync gc").exit_code == 0
    only_gc = decisions(cli(f"{NOW} dedupe --source gc --format json"))
    assert only_gc == [("gc:8", "false", "paid twin gc:9")]
    unknown = cli(f"{NOW} dedupe --source nope")
    assert unknown.exit_code == 2 and "unknown source 'nope'" in unknown.stderr


def test_apply_goes_on_past_an_unexpected_error_of_one_source(cli, shop, make, tmp_path, cli_db):
    seed_shops(cli, shop, make, tmp_path)
    backend("gc").put(make("8", source="gc", email="boris@example.com", product="book", age=timedelta(hours=1)))
    assert cli(f"{NOW} sync gc").exit_code == 0
    shop.faults.append(PermissionError(13, "Permission denied"))  # a plugin's bug, not a typed error
    result = cli(f"{NOW} dedupe --apply --format json")
    assert result.exit_code == 1 and "Traceback" not in result.output
    failed = "failed: shop: unexpected PermissionError in the connector: [Errno 13] Permission denied; nothing was " \
             "pushed — check the order at the source, run again with -v for details and report it"
    assert sorted((r["id"], r["result"]) for r in result.json() if r["action"] == "false") == [
        ("gc:8", "done"), ("shop:1", failed), ("shop:3", failed), ("shop:4", failed)]
    assert "marked 1 order False, 3 failed" in result.stderr
    assert backend("gc").orders["8"].status is Status.FALSE and shop.orders["3"].status is Status.NEW
    with Store.open(cli_db) as store:
        assert [e.state for e in store.ledger.for_order("shop:3")] == ["failed"]
