"""Reaching a PostgreSQL store: the URL checked, the password found, the connection made, and every way
that can fail turned into one line with its fix (exit 2 for what the user must change, 3 for a server that
cannot be reached or refuses the login).

The password never sits in the URL: it comes from ``UNPAID_DB_PASSWORD`` or the keyring (service
``unpaid``, user ``db:USER@HOST:PORT/DBNAME``), and is redacted from every output like the other secrets.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from urllib.parse import parse_qsl, unquote, urlsplit

from unpaid.errors import ExitCode, StoreError
from unpaid.i18n import _

PASSWORD_ENV = "UNPAID_DB_PASSWORD"
SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
# Connection parameters a URL may carry besides sslmode; anything else is taken for a typo.
PARAMS = {"sslmode", "sslrootcert", "sslcert", "sslkey", "connect_timeout", "application_name", "host",
          "target_session_attrs", "options"}
CONNECT_TIMEOUT = 10


@dataclass(frozen=True)
class Target:
    """A checked PostgreSQL URL, without any password."""

    user: str
    host: str
    port: int
    dbname: str
    params: tuple[tuple[str, str], ...]

    @property
    def label(self) -> str:
        """The URL as shown in messages (never a password)."""
        query = "&".join(f"{k}={v}" for k, v in self.params)
        return f"postgresql://{self.user}@{self.host}:{self.port}/{self.dbname}" + (f"?{query}" if query else "")

    @property
    def keyring_user(self) -> str:
        return f"db:{self.user}@{self.host}:{self.port}/{self.dbname}"


def misspelt_url(value: str, where: str = "--db / UNPAID_DB") -> StoreError:
    """The error for a value that reads as a URL unpaid cannot open (:func:`unpaid.store.dialect.is_misspelt_url`)."""
    shown = value
    head, at, tail = value.partition("@")
    prefix, slash, userinfo = head.rpartition("/")
    user, colon, _password = userinfo.partition(":")
    if at and colon:  # a password written in it stays unshown
        shown = f"{prefix}{slash}{user}:***@{tail}"
    return StoreError(_("{where}: {value!r} is neither a PostgreSQL URL nor a file name").format(
        where=where, value=shown),
        _("write a PostgreSQL database as {example}, a SQLite store as a file path (no scheme)").format(
            example="postgresql://USER@HOST:5432/DBNAME"))


def parse(url: str, *, where: str = "--db / UNPAID_DB") -> Target:
    """Check a PostgreSQL URL; StoreError naming ``where`` and the fix for a password in it or a typo."""
    example = "postgresql://USER@HOST:5432/DBNAME?sslmode=require"
    try:
        parts = urlsplit(url)
        port = parts.port or 5432
    except ValueError as exc:
        raise StoreError(_("{where}: {url!r} is not a PostgreSQL URL ({error})").format(where=where, url=url, error=exc),
                         _("write it as {example}").format(example=example)) from None
    if parts.password is not None:
        raise StoreError(_("{where}: the database URL holds a password").format(where=where),
                         _("remove it from the URL and set {env} or put it in the keyring (docs/teams.md); "
                           "a password in a file or command line is readable by others").format(env=PASSWORD_ENV))
    dbname = unquote(parts.path.lstrip("/"))
    if not dbname or "/" in dbname:
        raise StoreError(_("{where}: the database URL names no database").format(where=where),
                         _("write it as {example}").format(example=example))
    if not parts.username:
        raise StoreError(_("{where}: the database URL names no user").format(where=where),
                         _("write it as {example}").format(example=example))
    params = tuple(parse_qsl(parts.query, keep_blank_values=True))
    for key, value in params:
        if key not in PARAMS:
            raise StoreError(_("{where}: unknown database URL parameter {key!r}").format(where=where, key=key),
                             _("use one of {names}, e.g. ?sslmode=require").format(names=", ".join(sorted(PARAMS))))
        if key == "sslmode" and value not in SSLMODES:
            raise StoreError(_("{where}: sslmode={value!r} is not a PostgreSQL sslmode").format(where=where, value=value),
                             _("use one of {names}").format(names=", ".join(SSLMODES)))
    host = parts.hostname or ""
    if not host and not dict(params).get("host"):
        raise StoreError(_("{where}: the database URL names no host").format(where=where),
                         _("write it as {example}").format(example=example))
    return Target(unquote(parts.username), host, port, dbname, params)


def password(target: Target) -> str | None:
    """UNPAID_DB_PASSWORD, else the keyring's entry for this user and database, else None (trust, .pgpass)."""
    from unpaid.secrets import remember

    value = os.environ.get(PASSWORD_ENV)
    if not value:
        try:
            import keyring

            value = keyring.get_password("unpaid", target.keyring_user)
        except Exception:  # noqa: BLE001 - no usable keyring backend: behave as "not set"
            value = None
    if value:
        remember(value)
    return value or None


def connect(url: str):
    """An open :class:`unpaid.store.pg.Connection` to ``url``; StoreError (one line, a fix) otherwise."""
    target = parse(url)
    try:
        import psycopg
    except ImportError:
        raise StoreError(_("{target}: PostgreSQL support is not installed").format(target=target.label),
                         _("install it with `pip install 'unpaid[postgres]'`")) from None
    from unpaid.store.pg import Connection

    kwargs = dict(target.params)
    kwargs.setdefault("connect_timeout", str(CONNECT_TIMEOUT))
    kwargs.setdefault("application_name", "unpaid")
    # unpaid's statements are short: the JIT compiler took 1.4 s to speed up a 1.1 s count of the call queue
    # (200,000 open calls) by nothing. Off for unpaid's sessions only, set at connection start (no round trip).
    kwargs["options"] = " ".join(filter(None, ("-c jit=off", kwargs.get("options"))))
    if target.host:
        kwargs.setdefault("host", target.host)
    secret = password(target)
    try:
        raw = psycopg.connect(user=target.user, port=target.port, dbname=target.dbname, password=secret,
                              autocommit=True, **kwargs)
    except psycopg.Error as exc:
        raise connect_error(target, exc, secret is not None) from None
    return Connection(raw, target.label)


def connect_error(target: Target, exc: Exception, had_password: bool) -> StoreError:
    """What a failed connection means, and what to do about it."""
    # libpq's last line that is not an indented hint, without "connection to server at ..., port N failed:"
    # (the URL shown says where): "Connection refused", "FATAL: password authentication failed for user ...".
    lines = [line for line in str(exc).splitlines() if line.strip() and not line[0].isspace()]
    text = " ".join((lines[-1] if lines else type(exc).__name__).split()).rsplit(" failed: ", 1)[-1]
    where = target.label
    if "password authentication failed" in text or "no password supplied" in text or "password" in text.lower():
        fix = (_("check the password in {env} or the keyring").format(env=PASSWORD_ENV) if had_password
               else _("set {env}, or store the password with `keyring set unpaid {entry}`").format(
                   env=PASSWORD_ENV, entry=target.keyring_user))
        return StoreError(_("{where}: the server refused the login of {user!r}").format(where=where, user=target.user),
                          fix, exit_code=ExitCode.SOURCE)
    if "does not exist" in text and "database" in text:
        return StoreError(_("{where}: database {name!r} does not exist").format(where=where, name=target.dbname),
                          _("create it: `createdb -O {user} {name}` (see docs/teams.md)").format(
                              user=target.user, name=target.dbname))
    if "SSL" in text or "ssl" in text:
        return StoreError(_("{where}: SSL connection failed ({error})").format(where=where, error=text),
                          _("check sslmode in the URL and the server's SSL set-up"))
    return StoreError(_("{where}: cannot reach the database server ({error})").format(where=where, error=text),
                      _("check the host and port in the URL, the network, and that PostgreSQL is running"),
                      exit_code=ExitCode.SOURCE)


#: SQLSTATEs of a connection that ended under the command: class 08 (connection exception), and the server
#: shutting down or restarting (57P01-57P03). psycopg's own "the connection is closed" carries none.
_CONNECTION_LOST = ("08", "57P01", "57P02", "57P03")


def connection_lost(exc: Exception) -> bool:
    """Whether ``exc`` (a psycopg error) says the connection to the server is gone, not that a statement failed."""
    import psycopg

    state = getattr(exc, "sqlstate", None)
    if state is None:
        return isinstance(exc, psycopg.OperationalError)
    return state.startswith(_CONNECTION_LOST)


def query_error(label: str, exc: Exception) -> StoreError:
    """The StoreError for a statement PostgreSQL refused: privileges first, as they need an admin; a connection
    lost under the command (server restarted, network cut, backend terminated) is exit 3, as one that cannot
    be made: try again later, nothing to fix in the command."""
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if connection_lost(exc):
        return StoreError(_("{where}: the connection to the database server was lost ({error})").format(
            where=label, error=text),
            _("run the command again once the server is back (`unpaid doctor` checks it): the work it "
              "committed before is kept"), exit_code=ExitCode.SOURCE)
    if "permission denied" in text or "must be owner" in text:
        return StoreError(f"{label}: {text}",
                          _("grant the role the privileges of docs/teams.md (owner of the database's tables)"))
    return StoreError(f"{label}: {text}", _("check the database server's log; run `unpaid doctor`"))


def inspect(url: str) -> tuple[str, int, list[str]]:
    """For ``unpaid doctor``, read-only: the server's version, the store's schema number (0: empty), and what
    the login may not do that unpaid needs (missing privileges, as lines). StoreError when unreachable."""
    from unpaid.store import schema

    conn = connect(url)
    try:
        version = conn.execute("SHOW server_version").fetchone()[0]
        has_schema = conn.execute("SELECT to_regclass('unpaid_schema')").fetchone()[0] is not None
        number = conn.execute("SELECT version FROM unpaid_schema").fetchone()[0] if has_schema else 0
        missing: list[str] = []
        if number < schema.LATEST and not conn.execute(
                "SELECT has_schema_privilege(current_schema(), 'CREATE')").fetchone()[0]:
            missing.append("CREATE on the schema (to create or migrate the tables)")
        if has_schema:
            tables = [r[0] for r in conn.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = current_schema() ORDER BY tablename")]
            for table in tables:
                row = conn.execute("SELECT has_table_privilege(?, 'SELECT, INSERT, UPDATE, DELETE')", (table,))
                if not row.fetchone()[0]:
                    missing.append(f"SELECT, INSERT, UPDATE, DELETE on table {table}")
        return version, number, missing
    except StoreError:
        raise
    except Exception as exc:  # psycopg's errors: imported only with it
        raise query_error(conn.label, exc) from None
    finally:
        conn.close()
