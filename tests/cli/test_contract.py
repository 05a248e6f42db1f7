"""One error contract: bad input never reaches the catch-all, exit codes follow docs/exit-codes.md, and a
command asked for JSON answers in JSON — on errors too."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import click
import pytest

from tests.cli.conftest import NOW

REPO = Path(__file__).resolve().parents[2]
CATCH_ALL = "unexpected"


def assert_contract(result, code: int, *, named: str | None = None) -> None:
    """Exit ``code``, one ``Error:`` line naming ``named``, no traceback and never the catch-all."""
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert CATCH_ALL not in result.stderr, result.stderr
    if named is not None:
        assert named in result.stderr, result.stderr


# ---- the offenders of issue 10, one row each ----

OFFENDERS = [
    ("orders --older-than 99999999999w", "--older-than"),
    ("orders --newer-than 99999999999w", "--newer-than"),
    (f"orders --limit {10**30}", "--limit"),
    (f"orders --page {10**30}", "--page"),
    ("orders --older-than 1" + "0" * 5000 + "d", "--older-than"),
    ("postpone shop:1 -m anna --days 999999999", "--days"),
    ("postpone shop:1 -m anna --until +99999999999w", "--until"),
    ("outcome shop:1 thinking -m anna --days 999999999", "--days"),
    ("outcome shop:1 callback -m anna --at +99999999999w", "--at"),
    ("plan --until +99999999999w", "--until"),
    ("plan --until 99999-01-01", "--until"),
    ("run --lease 99999999999w", "--lease"),
    ("queue --date +99999999999w", "--date"),
    ("events add shop:1 open --at 1600-01-01", "--at"),
    ("--now 0001-01-01T00:00+05:00 orders", "--now"),
    ("show " + "x" * 100_000, "ORDER"),
    ("events add " + "x" * 1000 + " open", "ORDER"),
    ("run --resolve " + "k" * 1000 + " --as sent", "--resolve"),
]


@pytest.mark.parametrize("args, named", OFFENDERS, ids=[a for a, _ in OFFENDERS])
def test_absurd_values_are_usage_errors_naming_the_option(cli, seed, make, args, named):
    seed(make("1"))
    assert_contract(cli(f"--now {NOW} {args}"), 2, named=named)


@pytest.mark.parametrize("setting", ['page_size = "lots"', "page_size = 0", "retries = -3", 'timeout = "forever"',
                                     'poll_max = "99999999999w"', 'timezone = "Mars/Olympus"', "budget = 1e300"])
def test_getcourse_settings_are_checked_and_named(cli, monkeypatch, tmp_path, setting):
    pytest.importorskip("unpaid_getcourse")
    monkeypatch.setenv("UNPAID_LOAD_PLUGINS", "getcourse")
    monkeypatch.setenv("UNPAID_SECRET_SCHOOL_SECRET_KEY", "k")
    (tmp_path / "unpaid.toml").write_text(
        f'[sources.school]\ntype = "getcourse"\naccount = "school"\n{setting}\n')
    key = setting.split(" =")[0]
    assert_contract(cli("sync school"), 2, named=f"[sources.school] {key}")


@pytest.mark.parametrize("setting", ['page_size = "lots"', "page_size = 5000", 'recheck_days = "x"',
                                     'timeout = "soon"', 'timezone = "Nowhere/Else"'])
def test_autoweboffice_settings_are_checked_and_named(cli, monkeypatch, tmp_path, setting):
    pytest.importorskip("unpaid_autoweboffice")
    monkeypatch.setenv("UNPAID_LOAD_PLUGINS", "autoweboffice")
    monkeypatch.setenv("UNPAID_SECRET_AWO_GET_KEY", "k")
    (tmp_path / "unpaid.toml").write_text(f'[sources.awo]\ntype = "autoweboffice"\nsubdomain = "x"\n{setting}\n')
    key = setting.split(" =")[0]
    assert_contract(cli("sync awo"), 2, named=f"[sources.awo] {key}")


def test_a_plugin_that_trusts_its_settings_still_gives_a_config_error(cli, tmp_path, register_plugin):
    from dataclasses import replace

    from unpaid.testing.fakes import SPEC, hookimpl

    def trusting(name, settings, secrets):
        return int("lots")  # the ValueError a plugin reading page_size = "lots" unchecked would raise

    class Trusting:
        @staticmethod
        @hookimpl
        def register_connectors(register):
            register(replace(SPEC, name="trusting", factory=trusting))

    register_plugin(Trusting, name="trusting")
    (tmp_path / "unpaid.toml").write_text('[sources.shop]\ntype = "trusting"\n')
    assert_contract(cli(f"--now {NOW} sync"), 2, named="[sources.shop]")


@pytest.mark.parametrize("desk", ["page_size = 100000000000000000000", 'postpone = "99999999999w"', "attempts = 0"])
def test_desk_settings_are_bounded(cli, seed, make, tmp_path, desk):
    seed(make("1"))
    config = tmp_path / "unpaid.toml"
    config.write_text(config.read_text() + f"\n[desk]\n{desk}\n")
    assert_contract(cli(f"--now {NOW} queue"), 2, named=f"desk.{desk.split(' =')[0]}")


# ---- the store ----


@pytest.mark.sqlite_only("wrecks the pages of the SQLite file")
def test_a_damaged_store_is_named_with_exit_2(cli, seed, make, tmp_path):
    seed(*(make(str(i)) for i in range(1, 200)))
    db = tmp_path / "unpaid.db"
    subprocess.run([sys.executable, "-c", "import sqlite3, sys; sqlite3.connect(sys.argv[1]).execute("
                    "'PRAGMA wal_checkpoint(TRUNCATE)')", str(db)], check=True)
    with open(db, "r+b") as fh:  # keep the header, wreck the pages after it
        fh.seek(4096)
        fh.write(b"\xff" * (db.stat().st_size - 4096))
    result = cli(f"--now {NOW} orders --all")
    assert_contract(result, 2, named=str(db))
    assert "not a usable unpaid database" in result.stderr


@pytest.mark.sqlite_only("the mode of the SQLite file")
@pytest.mark.skipif(os.geteuid() == 0, reason="root writes to read-only files")
def test_a_read_only_store_is_named_with_exit_2(cli, seed, make, tmp_path):
    seed(make("1"))
    db = tmp_path / "unpaid.db"
    os.chmod(db, 0o444)
    try:
        assert_contract(cli(f"--now {NOW} sync"), 2, named="read-only")
    finally:
        os.chmod(db, 0o600)


def test_a_sqlite_error_in_a_query_becomes_the_store_error():
    import sqlite3

    from unpaid.store import store_error

    assert "is read-only" in str(store_error(Path("x.db"), sqlite3.OperationalError("attempt to write a readonly database")))
    assert "not a usable" in str(store_error(Path("x.db"), sqlite3.DatabaseError("database disk image is malformed")))


# ---- JSON, also on errors ----


@pytest.mark.parametrize("args, code", [
    ("show shop:404", 2),
    ("status shop:1 nonsense", 2),
    ("orders --limit x", 2),
    ("orders --older-than 99999999999w", 2),
    ("postpone shop:1 -m anna --days 0", 2),
    ("no-such-command", 2),
])
@pytest.mark.parametrize("where", ["global", "command", "env"])
def test_errors_are_json_on_stdout_when_json_was_asked(cli, seed, make, args, code, where):
    seed(make("1"))
    env = None
    if where == "global":
        line = f"--now {NOW} --format json {args}"
    elif where == "command":
        line = f"--now {NOW} {args} --format json"
    else:
        line, env = f"--now {NOW} {args}", {"UNPAID_FORMAT": "jsonl"}
    result = cli(line, env=env)
    assert result.exit_code == code, result.output
    answer = json.loads(result.stdout)
    assert answer["exit"] == code and answer["error"]
    assert result.stderr.strip()  # people still read the line on stderr


def test_format_with_an_equals_sign_and_the_last_one_wins(cli, seed, make):
    seed(make("1"))
    assert json.loads(cli(f"--now {NOW} show shop:404 --format=json").stdout)["exit"] == 2
    assert cli(f"--now {NOW} --format json show shop:404 --format table").stdout == ""


def test_errors_stay_off_stdout_without_json(cli, seed, make):
    seed(make("1"))
    result = cli(f"--now {NOW} show shop:404")
    assert result.exit_code == 2 and result.stdout == ""


@pytest.mark.parametrize("args", [
    "status shop:1 cancelled --reason-text test",
    "comment shop:1 hello -m anna",
    "postpone shop:1 -m anna --days 3",
    "outcome shop:1 thinking -m anna",
    "take shop:1 -m anna",
    "release shop:1",
    "edit shop:1 -m anna --name Anna",
    "events add shop:1 open",
])
def test_commands_that_change_one_thing_answer_one_json_object(cli, seed, make, shop, args):
    seed(make("1"))
    result = cli(f"--now {NOW} {args} --format json")
    assert result.exit_code == 0, result.output
    answer = json.loads(result.stdout)
    assert isinstance(answer, dict) and answer.get("order_id") == "shop:1"


def leaf_commands():
    from unpaid.cli import cli as root

    ctx = click.Context(root)
    out = []

    def walk(cmd, path):
        if isinstance(cmd, click.Group):
            for name in cmd.list_commands(ctx):
                walk(cmd.get_command(ctx, name), path + [name])
            if not cmd.invoke_without_command:
                return
        out.append((path, cmd))

    walk(root, [])
    return out


def test_every_command_accepts_format_json():
    missing = [" ".join(path) for path, cmd in leaf_commands()
               if not any("--format" in getattr(p, "opts", ()) and "json" in getattr(p.type, "choices", ())
                          for p in cmd.params)]
    assert missing == []


# ---- the sweep: every option that takes a number, a duration or a date, with absurd values ----

ABSURD = ["99999999999w", str(10**30), "-1", "0", "99999-01-01", "+99999999999w", "-99999999999w", "1e309", "nan",
          "1" + "0" * 5000, "0001-01-01", ""]
FILL = {"order_ref": "shop:1", "order_id": "shop:1", "status_text": "cancelled", "outcome_text": "thinking",
        "kind": "open", "text": "hello", "source": "shop", "sources": "shop", "address": "anna@example.com"}


def _sweep_cases():
    cases = []
    for path, cmd in leaf_commands():
        if path[:1] in (["demo"], ["init"], ["auth"]):
            continue  # they build folders, write files or prompt; their options take no numbers or dates
        args = [FILL[p.name] for p in cmd.params if isinstance(p, click.Argument) and p.name in FILL]
        extra = ["-m", "anna"] if any(p.name == "manager" for p in cmd.params) else []
        if path == ["events", "import"]:
            args = ["events.csv"]
        if path == ["playbooks", "check"]:
            args = ["unpaid.toml"]
        for p in cmd.params:
            if not isinstance(p, click.Option) or p.is_flag:
                continue
            numeric = isinstance(p.type, (click.types.IntParamType, click.types.FloatParamType))
            timed = (p.metavar or "") in ("AGE", "TIME", "DATE") or p.name in ("until", "at", "on", "call_on", "day")
            if numeric or timed:
                for value in ABSURD:
                    cases.append((path, [*args, *extra, p.opts[-1], value]))
    return cases


SWEEP = _sweep_cases()


def test_the_sweep_covers_every_numeric_duration_and_date_option():
    options = {(tuple(path), argv[-2]) for path, argv in SWEEP}
    assert len(options) >= 20, sorted(options)


def test_absurd_values_never_reach_the_catch_all(cli, seed, make, tmp_path):
    seed(make("1"), make("2"))
    (tmp_path / "events.csv").write_text("order,kind,at\nshop:1,open,2026-11-24T08:00\n")
    failures = []
    for path, argv in SWEEP:
        result = cli(["--now", NOW, *path, *argv])
        if result.exit_code not in (0, 1, 2, 3) or CATCH_ALL in result.stderr or "Traceback" in result.output:
            failures.append((path, argv, result.exit_code, result.stderr[-300:]))
    assert failures == []


def test_absurd_global_now_is_a_usage_error(cli):
    for value in ABSURD:
        result = cli(["--now", value, "orders"])
        assert result.exit_code in (0, 2), (value, result.output)  # "" means: the system clock
        assert CATCH_ALL not in result.stderr


# ---- a closed pipe ----


def test_a_closed_pipe_ends_quietly_with_exit_0(tmp_path, cli_db):
    """``unpaid orders --format json | head -1``: the reader leaves early; unpaid exits 0 and says nothing."""
    env = {**os.environ, "UNPAID_DB": cli_db, "UNPAID_LOAD_PLUGINS": "csv",
           "PYTHONPATH": str(REPO)}
    (tmp_path / "orders.csv").write_text("id,created_at,status,email,amount\n" + "".join(
        f"{i},2026-11-20T10:00:00+03:00,new,c{i}@example.com,1000\n" for i in range(1, 3001)))
    (tmp_path / "unpaid.toml").write_text('[sources.shop]\ntype = "csv"\npath = "orders.csv"\n')
    base = [sys.executable, "-m", "unpaid", "--now", NOW]
    pytest.importorskip("unpaid_csv")
    subprocess.run([*base, "sync"], cwd=tmp_path, env=env, check=True, capture_output=True)
    for fmt in ("json", "jsonl", "table", "csv"):
        proc = subprocess.Popen([*base, "orders", "--all", "--format", fmt, "--limit", "3000"], cwd=tmp_path,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        proc.stdout.readline()
        proc.stdout.close()  # what `head -1` does
        stderr = proc.stderr.read().decode()
        assert proc.wait(timeout=60) == 0, (fmt, stderr)
        assert stderr.strip() in ("", "3000 orders (showing 1–3000)"), (fmt, stderr)


def test_a_broken_pipe_that_is_not_stdout_is_an_error_not_a_quiet_exit(cli, monkeypatch):
    """Only a reader of stdout that left ends quietly: any other pipe or socket breaking is reported (exit 1)."""
    from unpaid.store.orders import Orders

    def broken(self, q):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(Orders, "count", broken)
    result = cli(f"--now {NOW} orders --all --format json")
    assert result.exit_code == 1
    assert "unexpected OSError: [Errno 32] Broken pipe" in result.stderr
    assert json.loads(result.stdout)["exit"] == 1
