"""Opt-in pytest fixtures: ``pytest_plugins = ["unpaid.testing.fixtures"]`` in a conftest.

The store of a test run: by default each ``cli`` test works on a SQLite file in its tmp_path; with
``UNPAID_TEST_STORE=postgres`` on a fresh database of a throw-away PostgreSQL server (``pg_server``), and
then only the tests whose store follows that choice run (the ones using ``cli_db``): the rest are deselected,
as they have nothing new to tell there (a test of both stores, ``tmp_store``/``store_target``, runs on
PostgreSQL in the default pass already). ``@pytest.mark.sqlite_only("why")`` marks a test about SQLite
itself (its file, its locks, its journal): that pass skips it with the reason.
"""

from __future__ import annotations

import shlex
import sys
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import pytest

from unpaid import plugins as plugin_loader

if TYPE_CHECKING:
    from unpaid.testing.pgserver import Server


STORE_ENV = "UNPAID_TEST_STORE"


def chosen_store() -> str:
    """The store this run puts ``cli`` tests on: ``sqlite`` (the default) or ``postgres``."""
    import os

    return os.environ.get(STORE_ENV, "sqlite")


def pytest_configure(config) -> None:
    config.addinivalue_line("markers", "sqlite_only(reason): a test about SQLite itself; "
                                       f"{STORE_ENV}=postgres skips it with the reason")


def pytest_report_header(config) -> list[str]:
    if chosen_store() != "postgres":
        return []
    from unpaid.testing import pgserver

    reason = pgserver.missing()
    if reason:
        return [f"store: PostgreSQL, but every test that needs it SKIPS: {reason}"]
    return [f"store: PostgreSQL (a throw-away server from {pgserver.bin_dir()})"]


def pytest_terminal_summary(terminalreporter) -> None:
    """The header is hidden under -q: the store of the pass (and why its tests skipped) ends the run too."""
    for line in pytest_report_header(terminalreporter.config):
        terminalreporter.write_line(line)


def _follows_the_store(item) -> bool:
    """Whether a test's store is the one the run chose (it uses ``cli_db``). Tests parametrised over both
    stores (``store_target``) and tests of the PostgreSQL server itself run in the default pass already."""
    return "cli_db" in getattr(item, "fixturenames", ())


def pytest_collection_modifyitems(config, items) -> None:
    if chosen_store() != "postgres":
        return
    keep, drop = [], []
    for item in items:
        (keep if _follows_the_store(item) else drop).append(item)
        marker = item.get_closest_marker("sqlite_only")
        if marker is not None:
            why = marker.args[0] if marker.args else marker.kwargs.get("reason", "")
            item.add_marker(pytest.mark.skip(reason=f"SQLite only: {why}"))
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep


@dataclass
class CliResult:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr

    def json(self):
        import json

        return json.loads(self.stdout)


def run_cli(args: list[str] | str, env: dict[str, str] | None = None, input: str | None = None) -> CliResult:
    """Run ``unpaid`` in-process through ``main()`` (error handling included); capture its streams."""
    from click.testing import CliRunner

    from unpaid.cli import main

    if isinstance(args, str):
        args = shlex.split(args)
    runner = CliRunner()
    with runner.isolation(input=input, env=env) as (out, err, *_):
        try:
            main(list(args))
            code = 0
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        # print() output sits in the wrappers' buffers until flushed, as it would at process exit.
        sys.stdout.flush()
        sys.stderr.flush()
        stdout = out.getvalue().decode("utf-8", "replace")
        stderr = err.getvalue().decode("utf-8", "replace") if err is not None else ""
    return CliResult(code, stdout, stderr)


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Connectors keep request budgets and caches in the user's cache folder: in tests, a fresh one each,
    so that no test spends another's budget (or the real account's)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path_factory.mktemp("xdg-cache")))


@pytest.fixture(autouse=True)
def _english_unless_asked(monkeypatch):
    """The language comes from the machine's locale when nothing sets it: tests (unpaid's and every plugin's)
    pin English, so a run on a Russian desktop reads as CI does; a test about languages sets its own."""
    monkeypatch.setenv("UNPAID_LANG", "en")
    from unpaid.i18n import speaking

    with speaking("en"):
        yield


@pytest.fixture(autouse=True)
def _secrets_forgotten_after():
    """Secrets a test used are blanked from every later message of the process: a test's key ("wrong")
    must not blank the next test's words."""
    yield
    from unpaid import secrets

    secrets._known.clear()


@pytest.fixture
def memory_keyring(tmp_path, monkeypatch) -> Iterator[Path]:
    """Route keyring to a JSON file in tmp_path (shared with subprocesses); never the real keyring."""
    import keyring

    from unpaid.testing.keyring import FileKeyring

    path = tmp_path / "keyring.json"
    monkeypatch.setenv("UNPAID_TEST_KEYRING", str(path))
    monkeypatch.setenv("PYTHON_KEYRING_BACKEND", "unpaid.testing.keyring.FileKeyring")
    previous = keyring.get_keyring()
    keyring.set_keyring(FileKeyring())
    yield path
    keyring.set_keyring(previous)


@pytest.fixture
def register_plugin() -> Iterator[Callable[..., plugin_loader.Plugins]]:
    """Install plugins for one test: ``register_plugin(MemoryPlugin, name="memory")``.

    Builds a fresh manager with the defaults and only the given plugins (no entry points), and
    restores the previous one afterwards.
    """
    previous = plugin_loader._current
    extras: list[tuple[str, object]] = []

    def register(plugin: object, name: str | None = None, entry_points=()) -> plugin_loader.Plugins:
        extras.append((name or getattr(plugin, "__name__", type(plugin).__name__), plugin))
        loaded = plugin_loader.load(entry_points=list(entry_points), environ={}, extra=extras)
        plugin_loader.set_plugins(loaded)
        return loaded

    yield register
    plugin_loader.set_plugins(previous)


@pytest.fixture
def fixed_now() -> datetime:
    """A fixed moment all time-dependent tests can share."""
    return datetime(2026, 11, 24, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="session")
def pg_server() -> Iterator["Server"]:
    """One throw-away PostgreSQL server for the session (skips, with the reason, where none can start)."""
    from unpaid.testing import pgserver

    reason = pgserver.missing()
    if reason:
        pytest.skip(reason)
    server = pgserver.Server()
    yield server
    server.stop()


@pytest.fixture
def pg_url(pg_server, monkeypatch) -> str:
    """The URL of a fresh, migrated PostgreSQL database; its password in UNPAID_DB_PASSWORD."""
    from unpaid.testing import pgserver

    monkeypatch.setenv("UNPAID_DB_PASSWORD", pgserver.PASSWORD)
    return pg_server.new_database()


@pytest.fixture
def pg_statements(monkeypatch) -> Callable[[], list[str]]:
    """Start listing the statements PostgreSQL stores send from now on; the call returns the (live) list.
    Each is a round trip, from a manager's computer to the database."""
    from unpaid.store import pg

    run = pg.Connection.run

    def start() -> list[str]:
        sent: list[str] = []

        def listed(self, cur, text, args):
            sent.append(text)
            return run(self, cur, text, args)

        monkeypatch.setattr(pg.Connection, "run", listed)
        return sent

    return start


@pytest.fixture(params=["sqlite", "postgres"])
def new_store_target(request, tmp_path_factory) -> Callable[[], str]:
    """Fresh stores on demand, once per backend (a property test opens one per example): each call gives a
    new SQLite file, or the URL of a new, migrated PostgreSQL database."""
    if request.param == "sqlite":
        return lambda: str(tmp_path_factory.mktemp("store") / "unpaid.db")
    from unpaid.testing import pgserver

    server = request.getfixturevalue("pg_server")
    request.getfixturevalue("monkeypatch").setenv("UNPAID_DB_PASSWORD", pgserver.PASSWORD)
    return server.new_database


@pytest.fixture(params=["sqlite", "postgres"])
def store_target(request, tmp_path) -> str:
    """Where a store lives, once per backend: a SQLite file in tmp_path, then a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return str(tmp_path / "unpaid.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def tmp_store(store_target):
    """A fresh, migrated store: a test using it runs on SQLite and on PostgreSQL."""
    from unpaid.store import Store

    store = Store.open(store_target)
    yield store
    store.close()


@pytest.fixture
def cli_db(request, tmp_path) -> str:
    """The store the ``cli`` fixture points UNPAID_DB at: ``unpaid.db`` in tmp_path, or with
    ``UNPAID_TEST_STORE=postgres`` a fresh PostgreSQL database, so the CLI tests run on either backend."""
    if chosen_store() == "postgres":
        return request.getfixturevalue("pg_url")
    return str(tmp_path / "unpaid.db")


@pytest.fixture
def cli(tmp_path, monkeypatch, memory_keyring, cli_db) -> Callable[..., CliResult]:
    """Run ``unpaid`` in-process with a store (see ``cli_db``) and working directory in tmp_path."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("UNPAID_DB", cli_db)
    monkeypatch.delenv("UNPAID_CONFIG", raising=False)
    monkeypatch.delenv("UNPAID_NOW", raising=False)
    monkeypatch.delenv("UNPAID_FORMAT", raising=False)
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg-config"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg-data"))

    def invoke(args, env: dict[str, str] | None = None, input: str | None = None) -> CliResult:
        return run_cli(args, env=env, input=input)

    return invoke
