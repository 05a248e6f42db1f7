"""The checks behind ``unpaid doctor``: each one says ok, warn, skip or fail, and for a failure the fix.

Checks run in order and never raise: a check that cannot run because an earlier one failed is
skipped with the reason, so one broken thing gives one failure, not a cascade.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from unpaid.errors import ExitCode, UnpaidError
from unpaid.i18n import _, lookup, ngettext

if TYPE_CHECKING:
    from unpaid.config import Config
    from unpaid.plugins import Plugins

OK, WARN, SKIP, FAIL = "ok", "warn", "skip", "fail"
#: A nonexistent order id: reading it is the cheapest call that proves the credentials work.


@dataclass(frozen=True)
class Check:
    """One line of the report; ``exit_code`` matters only for failures."""

    name: str
    result: str
    detail: str = ""
    fix: str = ""
    exit_code: int = ExitCode.OK

    def as_dict(self) -> dict:
        return asdict(self)


def _fail(name: str, exc: UnpaidError) -> Check:
    return Check(name, FAIL, exc.message, exc.fix or "", int(exc.exit_code))


def worst(checks: list[Check]) -> int:
    """The exit code of the worst failure (3 source > 2 usage > 1 failed), 0 when none failed."""
    return max((c.exit_code for c in checks if c.result == FAIL), default=ExitCode.OK)


def run_checks(load_config: Callable[[], "Config"], get_plugins: Callable[[], "Plugins"], db_path: Callable[[], Path],
               online: bool = False) -> Iterator[Check]:
    """Yield every check; the callables defer each expensive step until its check runs."""
    try:
        config = load_config()
    except UnpaidError as exc:
        yield _fail("config", exc)
        config = None
    else:
        if config.path is None:
            yield Check("config", FAIL, _("no unpaid.toml in this folder or the user config dir"),
                        _("create one with `unpaid init`, or pass --config FILE"), ExitCode.USAGE)
        else:
            count = len(config.sources)
            yield Check("config", OK, ngettext("{path}: {n} source", "{path}: {n} sources", count)
                        .format(path=config.path, n=count))
    try:
        plugins = get_plugins()
        connectors = plugins.connectors
        plugins.channels  # noqa: B018 - loads the channel plugins too: a broken one is reported here
    except UnpaidError as exc:
        yield _fail("plugins", exc)
        plugins = None
    else:
        yield from _plugin_checks(plugins, connectors)
    if config is not None and plugins is not None:
        for name in sorted(config.sources):
            yield from _source_checks(config, plugins, name, online, db_path)
        try:
            channels = sorted(config.section("channels"))
        except UnpaidError as exc:
            yield _fail("channels", exc)
            channels = []
        for name in channels:
            yield from _channel_checks(config, plugins, name, online)
    yield _store_check(db_path)
    yield _keyring_check()


def _plugin_checks(plugins: "Plugins", connectors: dict) -> Iterator[Check]:
    names = sorted(n for n, i in plugins.info.items() if not i.default)
    none = _("none")
    types = ", ".join(sorted(connectors)) or none
    yield Check("plugins", OK, _("{n} loaded ({names}); connector types: {types}")
                .format(n=len(names), names=", ".join(names) or none, types=types))
    for problem in plugins.problems:
        yield Check(f"plugin {problem.plugin}", FAIL, problem.error, problem.fix, ExitCode.USAGE)


def _source_checks(config: "Config", plugins: "Plugins", name: str, online: bool,
                   db_path: Callable[[], Path]) -> Iterator[Check]:
    from unpaid.sources import check_settings, load_secrets

    source = config.sources[name]
    label = f"source {name}"
    try:
        spec = plugins.connector_spec(source.type)
    except UnpaidError as exc:
        yield _fail(f"{label}: type", exc)
        return
    yield Check(f"{label}: type", OK, f"{source.type} ({lookup(spec.title)})")
    try:
        check_settings(config.where, name, source.settings, spec.settings, "sources")
        secrets = load_secrets(name, spec.settings)
    except UnpaidError as exc:
        yield _fail(f"{label}: settings", exc)
        return
    held = ", ".join(sorted(secrets)) or _("none needed")
    yield Check(f"{label}: settings", OK, _("settings valid; secrets: {held}").format(held=held))
    if not online:
        yield Check(f"{label}: online", SKIP, _("not checked"), _("run `unpaid doctor --online` to call the source"))
        return
    yield _online_check(config, plugins, name, label, db_path)


def _online_check(config: "Config", plugins: "Plugins", name: str, label: str, db_path: Callable[[], Path]) -> Check:
    from unpaid.connector import Capability, Connector
    from unpaid.sources import open_connector

    try:
        with open_connector(config, name, plugins, db_path=db_path()) as connector:
            overridden = type(connector).probe is not Connector.probe
            if not overridden and Capability.FETCH_ONE not in connector.spec.capabilities:
                return Check(f"{label}: online", SKIP, _("the connector offers no cheap read to test with"))
            said = connector.probe()
    except UnpaidError as exc:
        return _fail(f"{label}: online", exc)
    return Check(f"{label}: online", OK, said)


def _channel_checks(config: "Config", plugins: "Plugins", name: str, online: bool) -> Iterator[Check]:
    """One line per problem of ``[channels.NAME]``; with ``online`` a connection to its server (nothing sent)."""
    from unpaid.preflight import check_channel

    label = f"channel {name}"
    problems = check_channel(config, name, plugins)
    for p in problems:
        yield Check(f"{label}: settings", FAIL, f"{p.where}: {p.message}", p.fix, int(p.exit_code))
    if problems:
        return
    yield Check(f"{label}: settings", OK, _("{type}: settings valid")
                .format(type=config.section("channels")[name].get("type")))
    if not online:
        yield Check(f"{label}: online", SKIP, _("not checked"), _("run `unpaid doctor --online` to connect to it"))
        return
    problems = check_channel(config, name, plugins, online=True)
    for p in problems:
        yield Check(f"{label}: online", FAIL, f"{p.where}: {p.message}", p.fix, int(p.exit_code))
    if not problems:
        yield Check(f"{label}: online", OK, _("reachable; nothing was sent"))


def _store_check(db_path: Callable[[], Path]) -> Check:
    from unpaid.store import Store, schema

    try:
        path = db_path()
        if isinstance(path, str):  # a postgresql:// URL (config, --db, UNPAID_DB)
            return _postgres_check(path)
        if not path.exists():
            return Check("store", OK, _("{path} does not exist yet; the first `unpaid sync` creates it")
                         .format(path=path))
        before = path.stat().st_mode & 0o777
        with Store.open(path, create=False):
            pass  # opening migrates, insists on WAL and makes the file owner-only, or raises a StoreError
        mode = path.stat().st_mode & 0o777
    except UnpaidError as exc:
        return _fail("store", exc)
    if mode & 0o077:
        return Check("store", FAIL, _("{path} is readable by others (mode {mode:04o}); it holds customers' contacts")
                     .format(path=path, mode=mode), f"chmod 600 {path}", ExitCode.USAGE)
    if before != mode:
        return Check("store", WARN, _("{path} was readable by others (mode {before:04o}); "
                                      "made it owner-only (mode {mode:04o})")
                     .format(path=path, before=before, mode=mode))
    return Check("store", OK, _("SQLite file {path} (schema {schema}, WAL, mode {mode:04o})")
                 .format(path=path, schema=schema.LATEST, mode=mode))


def _postgres_check(url: str) -> Check:
    """Reachable, which server, which schema, what the login may do; read-only: doctor writes nothing."""
    from unpaid.store import postgres, schema

    try:
        target = postgres.parse(url)
        version, number, missing = postgres.inspect(url)
    except UnpaidError as exc:
        return _fail("store", exc)
    where = _("PostgreSQL {version} at {target}").format(version=version, target=target.label)
    if number > schema.LATEST:
        return Check("store", FAIL, _("{where} holds schema {number}, newer than this unpaid's {latest}").format(
            where=where, number=number, latest=schema.LATEST),
            _("upgrade unpaid on this machine: `pip install -U 'unpaid[postgres]'`"), ExitCode.USAGE)
    if missing:
        return Check("store", FAIL, _("{where}: {user!r} lacks {missing}").format(
            where=where, user=target.user, missing="; ".join(missing)),
            _("grant them as docs/teams.md shows (or connect as the database's owner)"), ExitCode.USAGE)
    if number < schema.LATEST:
        state = _("empty; the first `unpaid sync` creates the tables") if number == 0 else \
            _("schema {number}; the next command migrates it to {latest}").format(number=number, latest=schema.LATEST)
        return Check("store", OK, f"{where} ({state})")
    return Check("store", OK, _("{where} (schema {number}, shared by every machine configured with it)").format(
        where=where, number=number))


def _keyring_check() -> Check:
    from unpaid.secrets import keyring_backend

    backend = keyring_backend()
    if backend.startswith("unavailable") or backend.startswith(("keyring.backends.fail", "keyring.backends.null")):
        return Check("keyring", WARN, _("no usable keyring backend ({backend})").format(backend=backend),
                     _("set secrets as UNPAID_SECRET_<SOURCE>_<KEY> environment variables, "
                       "or `pip install keyrings.alt`"))
    return Check("keyring", OK, backend)
