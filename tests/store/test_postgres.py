"""The PostgreSQL store's own behaviour, against a real server: choosing it by URL, and every bad input as one
line with its fix and exit code, nothing written, the password never shown."""

from __future__ import annotations

import pytest

from unpaid.errors import StoreError
from unpaid.store import Store, schema
from unpaid.store.postgres import parse
from unpaid.testing import pgserver


def test_a_url_opens_a_migrated_postgresql_store(pg_url):
    with Store.open(pg_url) as store:
        assert store.postgres and store.schema_version() == schema.LATEST
        assert "@" in str(store.path) and pgserver.PASSWORD not in str(store.path)


@pytest.mark.parametrize("url, says", [
    ("postgresql://anna:secret@db.example.com/unpaid", "holds a password"),
    ("postgresql://anna@db.example.com:54x2/unpaid", "not a PostgreSQL URL"),
    ("postgresql://anna@db.example.com/", "names no database"),
    ("postgresql://db.example.com/unpaid", "names no user"),
    ("postgresql://anna@db.example.com/unpaid?sslmod=require", "unknown database URL parameter 'sslmod'"),
    ("postgresql://anna@db.example.com/unpaid?sslmode=yes", "sslmode='yes' is not a PostgreSQL sslmode"),
])
def test_a_url_with_a_typo_is_refused_before_connecting(url, says):
    with pytest.raises(StoreError, match=says) as caught:
        parse(url)
    assert "secret" not in str(caught.value)


@pytest.mark.parametrize("value, misspelt", [
    ("postgresq://anna@db.example.com/unpaid", True),
    ("postgress://anna@db.example.com/unpaid", True),
    ("postgresql:/anna@db.example.com/unpaid", True),
    ("postgresql//anna@db.example.com/unpaid", True),
    ("pgsql://anna@db.example.com/unpaid", True),
    ("sqlite:///var/lib/unpaid/unpaid.db", True),
    ("  postgresql://anna@db.example.com/unpaid", True),
    ("postgresql://anna@db.example.com/unpaid", False),
    ("POSTGRES://anna@db.example.com/unpaid", False),
    ("unpaid.db", False),
    ("/var/lib/unpaid/unpaid.db", False),
    ("~/shop/unpaid.db", False),
    ("C:/shop/unpaid.db", False),
])
def test_a_value_that_reads_as_a_url_but_not_postgresql_is_told_apart_from_a_file(value, misspelt):
    from unpaid.store.dialect import is_misspelt_url

    assert is_misspelt_url(value) is misspelt


def _only(path) -> list[str]:
    return sorted(p.name for p in path.iterdir())


def test_a_misspelt_url_is_refused_and_no_empty_store_is_made_in_its_name(cli, tmp_path):
    """Taken for a file name, "postgresq://anna@host/db" made a folder "postgresq:" with an empty SQLite store
    in it, and the command answered from that: 0 orders, exit 0."""
    before = _only(tmp_path)
    result = cli(["--db", "postgresq://anna:secret@db.example.com/unpaid", "orders"])
    assert result.exit_code == 2, result.output
    assert "--db / UNPAID_DB: 'postgresq://anna:***@db.example.com/unpaid' is neither a PostgreSQL URL nor a file" \
        in result.stderr and "postgresql://USER@HOST:5432/DBNAME" in result.stderr
    assert "secret" not in result.output and result.stderr.count("\n") == 1
    (tmp_path / "unpaid.toml").write_text('db = "sqlite:///srv/unpaid.db"\n', encoding="utf-8")
    config = cli(["--config", str(tmp_path / "unpaid.toml"), "orders"], env={"UNPAID_DB": None})
    assert config.exit_code == 2 and "unpaid.toml: `db` 'sqlite:///srv/unpaid.db' is neither" in config.stderr
    migrate = cli(["migrate", "--to", "postgress://anna@db.example.com/unpaid", "--dry-run"])
    assert migrate.exit_code == 2 and "--to: 'postgress://" in migrate.stderr, migrate.output
    assert _only(tmp_path) == sorted([*before, "unpaid.toml"])
    with pytest.raises(StoreError, match="neither a PostgreSQL URL nor a file name") as caught:
        Store.open("postgresql:/anna:secret@db.example.com/unpaid")
    assert "'postgresql:/anna:***@db.example.com/unpaid'" in str(caught.value) and "secret" not in str(caught.value)
    assert not (tmp_path / "postgresql:").exists()


def test_sslmode_is_passed_to_the_server(pg_server, pg_url, cli):
    # The test server has no SSL: sslmode=require must fail (honoured), sslmode=disable must work.
    refused = cli(["--db", pg_url + "?sslmode=require", "orders"])
    assert refused.exit_code == 2 and "SSL" in refused.stderr and "Traceback" not in refused.output
    assert cli(["--db", pg_url + "?sslmode=disable", "orders"]).exit_code == 0


def test_a_password_in_the_config_file_is_refused_and_not_shown(pg_url, cli, tmp_path):
    with_password = pg_url.replace("@", f":{pgserver.PASSWORD}@", 1)
    (tmp_path / "unpaid.toml").write_text(f'db = "{with_password}"\n', encoding="utf-8")
    result = cli(["--config", str(tmp_path / "unpaid.toml"), "orders"], env={"UNPAID_DB": None})
    assert result.exit_code == 2, result.output
    assert "`db` the database URL holds a password" in result.stderr
    assert "UNPAID_DB_PASSWORD" in result.stderr and pgserver.PASSWORD not in result.output


def test_the_config_file_can_name_the_database(pg_url, cli, tmp_path):
    (tmp_path / "unpaid.toml").write_text(f'db = "{pg_url}"\n', encoding="utf-8")
    result = cli(["--config", str(tmp_path / "unpaid.toml"), "--format", "json", "doctor"], env={"UNPAID_DB": None})
    store = next(c for c in result.json() if c["name"] == "store")
    assert store["result"] == "ok" and store["detail"].startswith("PostgreSQL ") and f"schema {schema.LATEST}" in store["detail"]


def test_an_unreachable_server_is_one_line_with_exit_3(pg_server, cli):
    url = f"postgresql://anna@127.0.0.1:{pgserver._free_port()}/unpaid"
    result = cli(["--db", url, "orders"])
    assert result.exit_code == 3, result.output
    assert result.stderr.count("\n") == 1 and "cannot reach the database server (Connection refused)" in result.stderr
    assert "\t" not in result.stderr and "Is the server running" not in result.stderr  # libpq's hint: the fix says it
    assert "Traceback" not in result.output


def test_a_wrong_password_is_one_line_with_exit_3_and_not_shown(pg_url, cli):
    result = cli(["--db", pg_url, "orders"], env={"UNPAID_DB_PASSWORD": "not-the-password"})
    assert result.exit_code == 3, result.output
    assert "refused the login of 'unpaid_admin'" in result.stderr and "UNPAID_DB_PASSWORD" in result.stderr
    assert "not-the-password" not in result.output and result.stderr.count("\n") == 1


def test_a_missing_database_names_the_command_that_creates_it(pg_server, cli):
    result = cli(["--db", pg_server.url("no_such_db"), "orders"])
    assert result.exit_code == 2 and "createdb -O unpaid_admin no_such_db" in result.stderr


def test_a_newer_schema_is_refused_and_left_untouched(pg_server, pg_url, cli):
    with Store.open(pg_url) as store:
        store.conn.execute("UPDATE unpaid_schema SET version = ?", (schema.LATEST + 1,))
    result = cli(["--db", pg_url, "orders"])
    assert result.exit_code == 2 and "newer unpaid" in result.stderr, result.output
    doctor = cli(["--db", pg_url, "doctor"])
    assert doctor.exit_code == 2 and "newer than this unpaid" in doctor.output
    with pg_server.admin(pg_url.rsplit("/", 1)[1]) as conn:
        assert conn.execute("SELECT version FROM unpaid_schema").fetchone()[0] == schema.LATEST + 1


def test_a_login_without_privileges_is_told_what_to_grant_and_nothing_is_written(pg_server, cli):
    empty = pg_server.new_database(empty=True)
    dbname = empty.rsplit("/", 1)[1]
    with pg_server.admin(dbname) as conn:
        if not _role(conn, "clerk"):
            conn.execute("CREATE ROLE clerk LOGIN PASSWORD 'clerk-pass'")
        conn.execute("REVOKE CREATE ON SCHEMA public FROM PUBLIC")
    url = empty.replace(pgserver.ADMIN, "clerk")
    env = {"UNPAID_DB_PASSWORD": "clerk-pass"}
    result = cli(["--db", url, "orders"], env=env)
    assert result.exit_code == 2, result.output
    assert "permission denied" in result.stderr and "grant" in result.stderr and "Traceback" not in result.output
    doctor = cli(["--db", url, "doctor"], env=env)
    assert doctor.exit_code == 2 and "lacks CREATE on the schema" in doctor.output
    with pg_server.admin(dbname) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0


def test_doctor_on_an_empty_database_writes_nothing(pg_server, cli):
    empty = pg_server.new_database(empty=True)
    result = cli(["--db", empty, "--format", "json", "doctor"])
    store = next(c for c in result.json() if c["name"] == "store")
    assert store["result"] == "ok" and "empty; the first `unpaid sync` creates the tables" in store["detail"]
    with pg_server.admin(empty.rsplit("/", 1)[1]) as conn:
        assert conn.execute("SELECT count(*) FROM pg_tables WHERE schemaname = 'public'").fetchone()[0] == 0


def _role(conn, name: str) -> bool:
    return conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (name,)).fetchone() is not None


def test_a_host_with_a_fast_clock_cannot_take_a_live_claim(pg_url):
    """Leases follow the database server's clock (no --now): a host two hours ahead sees anna's claim live."""
    from datetime import datetime, timedelta, timezone

    host = datetime.now(timezone.utc)
    with Store.open(pg_url) as anna, Store.open(pg_url) as bob:
        anna.db_clock = bob.db_clock = True
        assert anna.claims.try_claim("shop:1", "anna", host, host + timedelta(minutes=30)).manager == "anna"
        skewed = host + timedelta(hours=2)
        assert bob.claims.try_claim("shop:1", "bob", skewed, skewed + timedelta(minutes=30)).manager == "anna"
        assert bob.claims.get("shop:1", skewed).manager == "anna"
        assert bob.ledger.claim("k", order_id="shop:1", playbook="p", step="s", repeat=0, action="email",
                                due_at=None, run_id="r1", now=host, lease_until=host + timedelta(minutes=5))
        assert bob.ledger.expire_leases(skewed) == []  # anna's host, 2 h behind bob's, is not cut off


def test_an_injected_now_is_the_clock_of_leases_too(pg_url):
    """--now / UNPAID_NOW (db_clock off) replays a moment: leases then compare with it, as on SQLite."""
    from datetime import datetime, timedelta, timezone

    t0 = datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)
    with Store.open(pg_url) as store:
        store.claims.try_claim("shop:1", "anna", t0, t0 + timedelta(minutes=30))
        assert store.claims.try_claim("shop:1", "bob", t0 + timedelta(hours=1), t0 + timedelta(hours=2)).manager == "bob"


def test_rows_are_read_by_each_statements_own_column_names_and_only_writes_count_as_changes(pg_url):
    """The PostgreSQL connection names a row's columns from each result (row classes are shared between
    results with the same names), and counts as changes the rows a write touched, not the rows a read
    returned: as sqlite3 does."""
    with Store.open(pg_url) as store:
        conn = store.conn
        first = conn.execute("SELECT 1 AS a, 2 AS b").fetchone()
        second = conn.execute("SELECT 3 AS b, 4 AS a").fetchone()
        assert (first["a"], first["b"], second["a"], second["b"]) == (1, 2, 4, 3)
        assert type(conn.execute("SELECT 5 AS a, 6 AS b").fetchone()) is type(first)
        assert conn.execute("SELECT 1 AS a WHERE FALSE").fetchone() is None
        before = conn.total_changes
        conn.execute("SELECT * FROM generate_series(1, 5)").fetchall()
        assert conn.total_changes == before
        with store.transaction():
            conn.execute("INSERT INTO source_state (scope, key, value, updated_at) VALUES"
                         " ('t', 'a', '1', 'x'), ('t', 'b', '2', 'x')")
        assert conn.execute("UPDATE source_state SET value = '3' WHERE scope = 't'").rowcount == 2
        assert conn.total_changes == before + 4


def test_a_connection_lost_under_a_command_is_exit_3_and_says_to_run_it_again(pg_server, pg_url, cli, monkeypatch):
    """The server ends the session (a restart, an admin, a cut network) while `queue` reads: one line, exit 3 as
    for a server that cannot be reached, not 2 ("fix the command"), and no traceback."""
    from unpaid.desk import claiming

    read = claiming.load_queue

    def cut_then_read(store, *args, **kwargs):
        pid = store.conn.execute("SELECT pg_backend_pid()").fetchone()[0]
        with pg_server.admin() as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
        return read(store, *args, **kwargs)

    assert cli(["--db", pg_url, "orders"]).exit_code == 0  # the store made
    monkeypatch.setattr(claiming, "load_queue", cut_then_read)
    result = cli(["--db", pg_url, "queue"])
    assert result.exit_code == 3, result.output
    assert "the connection to the database server was lost" in result.stderr
    assert "run the command again once the server is back" in result.stderr
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.output


def test_opening_a_store_that_is_up_to_date_is_one_statement(pg_url, pg_statements):
    """Every command opens the store, and each round trip costs the network's latency from a manager's computer
    to the database: the schema check made five of them (the version read twice, the functions once)."""
    Store.open(pg_url).close()  # made and migrated
    sent = pg_statements()
    with Store.open(pg_url) as store:
        assert store.schema_version() == schema.LATEST
    assert sent[0] == "SELECT version, functions, clock_timestamp() FROM unpaid_schema"  # the leases' clock too
    assert len(sent) == 2, sent  # the open's one, and schema_version's above


def test_an_empty_database_is_migrated_from_nothing_on_the_one_statement_path(pg_server, pg_url):
    empty = pg_server.new_database(empty=True)
    with Store.open(empty, migrate=False) as store:
        assert store.schema_version() == 0  # the table is missing: no error, nothing written
    with Store.open(empty) as store:
        assert store.schema_version() == schema.LATEST
        assert not store.conn.in_transaction
